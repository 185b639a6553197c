"""PostgreSQL advisory locks: the SQL of taking, releasing and seeing them.

Several server processes on one PostgreSQL database use them to take turns. Two kinds of key:

* a ``bigint`` key (a session lock held by one process while it does something long, as the
  backup). pg_locks shows it in the database it was taken in as ``classid = key >> 32``,
  ``objid = key & 0xffffffff`` (both unsigned), ``objsubid = 1``;
* a pair ``(space, int4)`` named by a text (:func:`lock_names`, transaction locks): pg_locks
  shows ``objsubid = 2``, so these never collide with the ``bigint`` keys, whatever the hash.

On SQLite nothing is locked here: one process serves it and its writes are serialised.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

#: the space of :func:`lock_names`' keys (the first int4 of the pair)
NAMED_SPACE = 0x0CA1


def name_key(name: str) -> int:
    """The int4 a name is locked by: the same in every process (Python's ``hash`` is not).
    Two names sharing one only take turns where they need not."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest(),
                          "big", signed=True)


async def lock_names(conn: AsyncConnection, names: Iterable[str]) -> None:
    """Transaction locks on these names (``pg_advisory_xact_lock``), waiting for whoever holds
    one; released at commit or rollback. Taken in one order (by key), so two transactions
    wanting overlapping sets wait for each other in turn, never in a cycle. Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    for key in sorted({name_key(n) for n in names}):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                           {"space": NAMED_SPACE, "key": key})


async def try_session_lock(conn: AsyncConnection, key: int) -> bool:
    """Take the session lock ``key`` on this connection if nobody holds it; False otherwise."""
    return bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": key})).scalar())


async def release_session_lock(conn: AsyncConnection, key: int) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


async def session_lock_held(conn: AsyncConnection, key: int) -> bool:
    """Whether any session (of any process) holds the ``bigint`` lock ``key`` in this
    connection's database."""
    return bool((await conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1)"),
        {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF})).scalar())
