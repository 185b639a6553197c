"""The database: SQLite (WAL) or PostgreSQL, with reads and writes on connections of their own.

Three ways in, so that no kind of work waits for another:

* ``write()``: a transaction on the writer engine. On SQLite one connection, serialised by an
  asyncio lock (SQLite has one writer; a deferred transaction that upgrades to a write lock
  fails at once instead of waiting). On PostgreSQL a pool of its own.
* ``read()``: a connection of the reader engine, a pool apart from the writer's, so reads never
  queue behind call stores. On SQLite WAL readers do not block the writer nor it them; on
  PostgreSQL the readers run in autocommit (no BEGIN/ROLLBACK round trips: each statement sees
  the latest commit, as it would in a READ COMMITTED transaction).
* ``quick_rows(statement, params, lane=...)``: the screen pop's short indexed reads, at the
  driver's own speed. On SQLite they run on the event loop thread on a plain ``sqlite3``
  connection (``query_only``): an indexed point query takes a few microseconds, less than one
  hop to a driver thread and back. On PostgreSQL they go through plain asyncpg pools, one per
  ``lane`` ("api" and "telephony"), so a burst of calls cannot take the connections the web API
  needs. Only statements that read a bounded number of rows through an index belong here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator, Mapping

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import ClauseElement

from callcenter.errors import DatabaseNotMigrated

LANES = ("api", "telephony")
# per lane; each pop or card is one statement holding a connection well under 1 ms, so a few
# serve thousands a second; kept small, as every server process opens them on PostgreSQL
PG_QUICK_POOL = (2, 4)  # min_size (opened at start), max_size
SQLITE_READ_POOL = (5, 10)  # pool_size, max_overflow of the SQLite reader engine
PG_POOLS = {"write": (5, 10), "read": (5, 15)}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_path(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:" and \
            not parsed.database.startswith("file:"):
        return parsed.database
    return None


def make_engine(url: str, *, role: str = "write") -> AsyncEngine:
    """An engine for ``url``; ``role`` is "write" or "read" (pool sizes, autocommit on PG).

    For SQLite the file's folder is created and the pragmas set on every connection.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"connect_args": {"timeout": 30}}
        if path and role == "write":
            # one writer at a time (the lock); a few spare for start-up checks and migrations
            options.update(pool_size=1, max_overflow=4)
        elif path:
            options.update(pool_size=SQLITE_READ_POOL[0], max_overflow=SQLITE_READ_POOL[1])
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    size, overflow = PG_POOLS[role]
    options = {"pool_size": size, "max_overflow": overflow, "pool_pre_ping": True}
    if role == "read":
        options["isolation_level"] = "AUTOCOMMIT"
    return create_async_engine(url, **options)


class _Compiled:
    """A statement compiled once for one dialect: SQL text and the order of its parameters."""

    __slots__ = ("sql", "names", "defaults")

    def __init__(self, statement: ClauseElement, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ())
        self.defaults = dict(compiled.params)

    def args(self, params: Mapping[str, Any]) -> tuple:
        merged = {**self.defaults, **params}
        return tuple(merged[name] for name in self.names)


class Database:
    """Owns the engines and the quick-read connections (see the module's docstring)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url, role="write")  # also what migrations run on
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._sqlite_path = _sqlite_path(url) if self.is_sqlite else None
        # an in-memory SQLite database lives in its engine: a second engine would see another
        self.read_engine = self.engine if self.is_sqlite and self._sqlite_path is None \
            else make_engine(url, role="read")
        self._quick_sqlite: sqlite3.Connection | None = None
        self._pg_pools: dict[str, Any] = {}
        self._pg_pools_lock: asyncio.Lock | None = None
        self._compiled: dict[int, tuple[ClauseElement, _Compiled]] = {}
        self._quick_dialect = (sqlite.dialect(paramstyle="qmark") if self.is_sqlite
                               else postgresql.dialect(paramstyle="numeric_dollar"))

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.read_engine.connect() as conn:
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

    # quick reads

    def _compile(self, statement: ClauseElement) -> _Compiled:
        # statements of the quick path are module constants: their id is a stable key, and the
        # statement is kept with its compiled form so that the id is never reused
        hit = self._compiled.get(id(statement))
        if hit is None or hit[0] is not statement:
            hit = (statement, _Compiled(statement, self._quick_dialect))
            self._compiled[id(statement)] = hit
        return hit[1]

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._quick_sqlite is None:
            conn = sqlite3.connect(self._sqlite_path, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            # a reader in WAL mode waits only in rare recovery moments; never long on the loop
            conn.execute("PRAGMA busy_timeout=200")
            self._quick_sqlite = conn
        return self._quick_sqlite

    async def _pg_pool(self, lane: str):
        pool = self._pg_pools.get(lane)
        if pool is not None:
            return pool
        if self._pg_pools_lock is None:
            self._pg_pools_lock = asyncio.Lock()
        async with self._pg_pools_lock:
            if lane not in self._pg_pools:
                import asyncpg

                parsed = make_url(self.url)
                dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

                async def no_reset(_conn) -> None:
                    # these connections only run single read statements in autocommit: there
                    # is no session state to reset, and the reset would cost a round trip
                    return None

                # opened before the first call, so that a burst does not wait for connects
                self._pg_pools[lane] = await asyncpg.create_pool(
                    dsn, min_size=PG_QUICK_POOL[0], max_size=PG_QUICK_POOL[1],
                    reset=no_reset)
            return self._pg_pools[lane]

    async def quick_rows(self, statement: ClauseElement, params: Mapping[str, Any],
                         *, lane: str = "api") -> list[tuple]:
        """Rows (plain tuples, as the driver returns them) of a short indexed read.

        ``statement`` must be a module-level constant (it is compiled once); its result
        columns come back untyped (what the driver gives: ints, text), so return JSON text for
        anything richer. ``lane`` picks the PostgreSQL pool: "telephony" for the screen pop,
        "api" for the web API.
        """
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")
        compiled = self._compile(statement)
        args = compiled.args(params)
        if self.is_sqlite:
            if self._sqlite_path is None:  # an in-memory database: only the engine sees it
                async with self.read() as conn:
                    result = await conn.exec_driver_sql(compiled.sql, args)
                    return [tuple(r) for r in result]
            return self._sqlite_connection().execute(compiled.sql, args).fetchall()
        pool = await self._pg_pool(lane)
        import asyncpg

        for attempt in (1, 2):
            try:
                return [tuple(r) for r in await pool.fetch(compiled.sql, *args)]
            except (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                    ConnectionError):
                if attempt == 2:  # the server restarted: the pool has dropped that connection
                    raise
        raise AssertionError("unreachable")

    # schema and lifecycle

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            def _read(sync_conn):
                from alembic.runtime.migration import MigrationContext

                return MigrationContext.configure(sync_conn).get_current_revision()

            return await conn.run_sync(_read)

    async def check_migrated(self) -> None:
        """Raise DatabaseNotMigrated unless the schema is at the newest migration; then open
        the quick lanes' connections, so the first calls do not wait for them."""
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
        if self.is_sqlite:
            if self._sqlite_path is not None:
                self._sqlite_connection()
        else:
            for lane in LANES:
                await self._pg_pool(lane)

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._quick_sqlite is not None:
            self._quick_sqlite.close()
            self._quick_sqlite = None
        pools, self._pg_pools = list(self._pg_pools.values()), {}
        for pool in pools:
            await pool.close()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self.engine.dispose()
