"""Reads are never queued behind writes: while a write transaction is open (SQLite's one writer
busy, its lock held), the API's reads and the screen pop's quick reads go through at once and
see only committed rows; on PostgreSQL the pop's lane and the API's have separate pools."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from sqlalchemy import insert, select

from callcenter.storage.client_card import client_ids_for_number
from callcenter.storage.database import Database
from callcenter.storage.tables import client_phones, clients

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


async def add_client(conn, e164: str) -> int:
    cid = (await conn.execute(insert(clients).values(
        name="Иван", search_name="иван", tags=[], do_not_call=False, created_at=NOW,
        updated_at=NOW).returning(clients.c.id))).scalar_one()
    await conn.execute(insert(client_phones).values(client_id=cid, number=e164, e164=e164,
                                                    position=0))
    return cid


async def test_reads_go_through_while_a_write_is_open(db_url):
    db = Database(db_url)
    try:
        async with db.write() as conn:
            committed = await add_client(conn, "+79161234567")
        writing, release = asyncio.Event(), asyncio.Event()

        async def long_write() -> None:
            async with db.write() as conn:
                await add_client(conn, "+79265550101")
                writing.set()
                await release.wait()

        writer = asyncio.create_task(long_write())
        await asyncio.wait_for(writing.wait(), 5)
        # within a deadline far below the 10 s a reader queued behind the writer would wait
        for lane in ("api", "telephony"):
            assert await asyncio.wait_for(
                client_ids_for_number(db, "+79161234567", lane=lane), 2) == [committed]
            assert await asyncio.wait_for(
                client_ids_for_number(db, "+79265550101", lane=lane), 2) == []
        async with db.read() as conn:
            rows = await asyncio.wait_for(conn.execute(select(clients.c.id)), 2)
            assert [r.id for r in rows] == [committed]
        release.set()
        await writer
        assert await client_ids_for_number(db, "+79265550101") != []
    finally:
        await db.dispose()


async def test_the_pop_lane_busy_leaves_the_api_lane_free(db_url):
    db = Database(db_url)
    try:
        if db.is_sqlite:  # one synchronous connection: nothing to exhaust
            assert await client_ids_for_number(db, "+79990000000", lane="telephony") == []
            return
        pool = await db._pg_pool("telephony")
        held = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            assert await asyncio.wait_for(
                client_ids_for_number(db, "+79990000000", lane="api"), 2) == []
        finally:
            for conn in held:
                await pool.release(conn)
    finally:
        await db.dispose()
