"""A database that cannot be reached (down, restarting, out of connections) answers 503 with
the usual error shape, never a 500, and the server keeps serving once it is back."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.http.middleware import database_unreachable
from callcenter.storage.database import make_engine


def wrapped(exc: BaseException) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, exc)


@pytest.mark.parametrize(("exc", "expected"), [
    (ConnectionRefusedError(111, "Connection refused"), True),
    (PoolTimeout("QueuePool limit reached"), True),
    (wrapped(type("TooManyConnectionsError", (Exception,), {})("too many clients")), True),
    (wrapped(type("CannotConnectNowError", (Exception,), {})("starting up")), True),
    (wrapped(type("UniqueViolationError", (Exception,), {})("duplicate key")), False),
    (ValueError("a bug"), False),
    (KeyError("a bug"), False),
    (sqlite3.OperationalError("database is locked"), True),
    (sqlite3.OperationalError("no such table: calls"), False),
])
def test_what_counts_as_the_database_being_away(exc, expected):
    assert database_unreachable(exc) is expected


async def test_a_database_that_went_away_answers_503_and_the_server_recovers(api, db_url):
    anna = await api.login("anna")
    services = api.services
    engines = services.db.engine, services.db.read_engine
    # the same database, at an address where nothing listens (SQLite: a folder that is not)
    if db_url.startswith("sqlite"):
        away = "sqlite+aiosqlite:////nonexistent-folder/for/sure/db.sqlite3"
        services.db.engine = services.db.read_engine = create_async_engine(away)
    else:
        away = make_url(db_url).set(port=1).render_as_string(hide_password=False)
        services.db.engine, services.db.read_engine = (make_engine(away),
                                                       make_engine(away, role="read"))
    try:
        resp = await anna.get("/api/tasks")
        body = await resp.json()
        assert resp.status == 503, body
        assert body["error"]["code"] == "service_unavailable"
        assert "database" in body["error"]["message"]
    finally:
        services.db.engine, services.db.read_engine = engines
    assert (await anna.get("/api/tasks")).status == 200

