"""The database: one async engine, SQLite (WAL) or PostgreSQL, with serialised writes on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from callcenter.domain.json_text import dumps_strict
from callcenter.errors import DatabaseNotMigrated


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; for SQLite the file's folder is created and pragmas set per connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30},
                                     json_serializer=dumps_strict)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               json_serializer=dumps_strict)


class Database:
    """Owns the engine. ``read()`` for queries, ``write()`` for transactions.

    SQLite allows one writer at a time and a deferred transaction that upgrades to a write lock
    fails at once instead of waiting, so writes here are serialised by an asyncio lock.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock:
            async with self.engine.begin() as conn:
                yield conn

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            def _read(sync_conn):
                from alembic.runtime.migration import MigrationContext

                return MigrationContext.configure(sync_conn).get_current_revision()

            return await conn.run_sync(_read)

    async def check_migrated(self) -> None:
        """Raise DatabaseNotMigrated unless the schema is at the newest migration."""
        from callcenter.storage.migrate import head_revision

        current = await self.current_revision()
        head = head_revision()
        if current != head:
            raise DatabaseNotMigrated(
                f"The database {make_url(self.url).render_as_string(hide_password=True)} is at "
                f"migration {current or 'none (empty)'}, the code needs {head}. "
                "Run `callcenter migrate` first.",
                {"current": current, "head": head},
            )

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
