"""Migrations: bring any database to head, match the tables, and the server refuses an old schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from callcenter.app import create_app
from callcenter.errors import DatabaseNotMigrated
from callcenter.storage.database import Database
from callcenter.storage.migrate import head_revision, upgrade
from callcenter.storage.tables import metadata
from tests.conftest import make_settings


async def test_migrated_schema_matches_the_tables(db_url):
    db = Database(db_url)
    try:
        assert await db.current_revision() == head_revision()
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        assert diff == []
        assert await upgrade(db) == head_revision()  # idempotent
    finally:
        await db.dispose()


async def test_server_refuses_an_unmigrated_database(tmp_path, aiohttp_client):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app(make_settings(url))
    with pytest.raises(DatabaseNotMigrated, match="callcenter migrate"):
        await aiohttp_client(app)
    db = Database(url)
    try:
        await upgrade(db)
        await db.check_migrated()
    finally:
        await db.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    from sqlalchemy import text

    db = Database(sqlite_url)
    try:
        async with db.read() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.dispose()
