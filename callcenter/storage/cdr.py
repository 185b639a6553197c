"""CDR reconciliation: the read cursors, which calls are already complete, and reading
Asterisk's own cdr table (in another database) — the only SQL about them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import calls, cdr_cursors

_CHUNK = 500
#: The columns of Asterisk's cdr table the reconciliation reads (cdr_pgsql's documented schema
#: with the 1.8+ columns peeraccount, linkedid, sequence).
TABLE_COLUMNS = ("calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel",
                 "lastapp", "lastdata", "duration", "billsec", "disposition", "uniqueid",
                 "userfield", "linkedid", "sequence")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


@dataclass(frozen=True)
class Cursor:
    """How far a source was read: file inode and byte offset, or the newest calldate taken."""

    inode: int | None = None
    position: int = 0
    last_calldate: datetime | None = None


async def get_cursor(conn: AsyncConnection, source: str) -> Cursor:
    row = (await conn.execute(select(cdr_cursors).where(cdr_cursors.c.source == source))).first()
    if row is None:
        return Cursor()
    return Cursor(inode=row.inode, position=row.position, last_calldate=row.last_calldate)


async def save_cursor(conn: AsyncConnection, source: str, cursor: Cursor, now: datetime) -> None:
    values = {"source": source, "inode": cursor.inode, "position": cursor.position,
              "last_calldate": cursor.last_calldate, "updated_at": now}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(cdr_cursors).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source"],
        set_={k: stmt.excluded[k] for k in ("inode", "position", "last_calldate", "updated_at")})
    await conn.execute(stmt)


async def completed_keys(conn: AsyncConnection, keys: Sequence[str]) -> set[str]:
    """The keys among ``keys`` whose call is stored and complete (nothing left to fill in)."""
    done = calls.c.status == "completed" if "status" in calls.c else calls.c.ended_at.is_not(None)
    found: set[str] = set()
    keys = list(keys)
    for start in range(0, len(keys), _CHUNK):
        rows = await conn.execute(select(calls.c.call_key).where(
            calls.c.call_key.in_(keys[start:start + _CHUNK]), done))
        found.update(r.call_key for r in rows)
    return found


async def newest_call_start(conn: AsyncConnection) -> datetime | None:
    """When the newest call in the log started (``None`` for an empty log)."""
    return (await conn.execute(select(func.max(calls.c.started_at)))).scalar_one_or_none()


def check_table_name(name: str) -> str:
    """``cdr`` or ``schema.cdr``: the name goes into SQL text, so only plain identifiers."""
    if not _TABLE_NAME.match(name):
        raise ValueError(f"not a plain table name: {name!r}")
    return name


async def read_table_rows(conn: AsyncConnection, table: str, since: datetime | None,
                          limit: int) -> list[dict[str, Any]]:
    """Rows of Asterisk's cdr table with ``calldate >= since`` (all when ``None``), oldest
    first, at most ``limit``.  ``since`` is naive, in the table's own time."""
    columns = ", ".join(TABLE_COLUMNS)
    where = "WHERE calldate >= :since " if since is not None else ""
    query = text(f"SELECT {columns} FROM {check_table_name(table)} {where}"
                 f"ORDER BY calldate, linkedid LIMIT :limit")
    params: dict[str, Any] = {"limit": limit}
    if since is not None:
        params["since"] = since
    result = await conn.execute(query, params)
    return [dict(r._mapping) for r in result]
