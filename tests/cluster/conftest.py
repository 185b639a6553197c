"""Several server processes on one PostgreSQL database: a freshly migrated PostgreSQL database
per test (there is nothing to share on SQLite, where one process serves)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _pg_admin, _run, create_from_template


@pytest.fixture
def pg_url(pg_template) -> str:
    name = f"cc_test_{uuid.uuid4().hex[:10]}"
    _run(_pg_admin(create_from_template(name, pg_template)))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
