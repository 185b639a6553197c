"""The notice bus between server processes, on a real PostgreSQL server: two buses on one
database stand for two processes (each its own LISTENing connection, as in two processes)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from callcenter.services.cluster import LIMIT, ClusterBus, NoticeTooLarge
from callcenter.storage.database import Database


pytestmark = pytest.mark.postgres


class Inbox:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.arrived = asyncio.Event()

    def __call__(self, payload: dict) -> None:
        self.items.append(payload)
        self.arrived.set()

    async def wait(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        async def enough() -> None:
            while len(self.items) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(enough(), timeout)
        return self.items


async def pair(url: str) -> tuple[Database, ClusterBus, ClusterBus]:
    db = Database(url)
    first, second = ClusterBus(db, node="one"), ClusterBus(db, node="two")
    await first.start()
    await second.start()
    return db, first, second


async def stop(db: Database, *buses: ClusterBus) -> None:
    for bus in buses:
        await bus.stop()
    await db.dispose()


async def test_a_notice_reaches_the_other_process_and_not_the_sender(pg_url):
    db, one, two = await pair(pg_url)
    try:
        mine, theirs = Inbox(), Inbox()
        one.on("agent", mine)
        two.on("agent", theirs)
        assert await one.send("agent", {"u": 7, "e": "chosen", "state": "paused",
                                        "reason": "Обед"})
        assert await theirs.wait() == [{"u": 7, "e": "chosen", "state": "paused",
                                        "reason": "Обед"}]
        await asyncio.sleep(0.2)
        assert mine.items == []  # the sender ran its own handlers already
        assert (one.sent, two.received) == (1, 1)
    finally:
        await stop(db, one, two)


async def test_a_notice_sent_in_a_transaction_goes_out_on_commit_only(pg_url):
    db, one, two = await pair(pg_url)
    try:
        inbox = Inbox()
        two.on("user", inbox)
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await one.send("user", {"u": 1}, conn=conn)
                raise RuntimeError("rolled back")
        async with db.write() as conn:
            await one.send("user", {"u": 2}, conn=conn)
            await asyncio.sleep(0.3)
            assert inbox.items == []  # not before the commit
        assert await inbox.wait() == [{"u": 2}]
        await asyncio.sleep(0.2)
        assert inbox.items == [{"u": 2}]
    finally:
        await stop(db, one, two)


async def test_notices_carry_ids_not_details(pg_url):
    db, one, two = await pair(pg_url)
    try:
        with pytest.raises(NoticeTooLarge):
            await one.send("push", {"text": "я" * LIMIT})
        with pytest.raises(NoticeTooLarge):
            one.send_soon("push", {"text": "x" * (LIMIT + 1)})
        # the largest that fits goes through PostgreSQL's own 8,000-byte limit
        inbox = Inbox()
        two.on("push", inbox)
        room = LIMIT - len(one.encode("push", {"text": ""}).encode())
        assert await one.send("push", {"text": "x" * room})
        assert len((await inbox.wait())[0]["text"]) == room
    finally:
        await stop(db, one, two)


async def test_unreadable_notices_and_failing_handlers_do_not_stop_the_bus(pg_url):
    db, one, two = await pair(pg_url)
    try:
        inbox = Inbox()

        def broken(_payload):
            raise RuntimeError("a handler's bug")

        two.on("agent", broken)
        two.on("agent", inbox)
        async with db.write() as conn:  # what another program could put on the channel
            for junk in ("not json", "[1, 2]", '{"n": "x"}', '{"k": "agent", "n": "x", "p": 5}'):
                await conn.execute(text("SELECT pg_notify('callcenter_bus', :p)"), {"p": junk})
        await one.send("agent", {"u": 3})
        items = await inbox.wait()
        assert {"u": 3} in items
    finally:
        await stop(db, one, two)


async def test_a_lost_listening_connection_comes_back_and_runs_the_refresh(pg_url):
    db = Database(pg_url)
    one = ClusterBus(db, node="one", reconnect_seconds=0.1)
    two = ClusterBus(db, node="two", reconnect_seconds=0.1)
    refreshed = asyncio.Event()
    two.on_reconnect.append(refreshed.set)
    await one.start()
    await two.start()
    try:
        assert refreshed.is_set()  # at the first connection too
        refreshed.clear()
        pid = two._conn.get_server_pid()
        async with db.write() as conn:  # the database ends that backend (a restart, a proxy)
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.wait_for(refreshed.wait(), 5.0)
        assert two._conn.get_server_pid() != pid
        inbox = Inbox()
        two.on("user", inbox)
        await one.send("user", {"u": 9})
        assert await inbox.wait() == [{"u": 9}]
    finally:
        await stop(db, one, two)


async def test_on_sqlite_nothing_is_opened_or_sent(sqlite_url):
    db = Database(sqlite_url)
    bus = ClusterBus(db)
    await bus.start()
    try:
        assert not bus.enabled and bus._conn is None
        assert await bus.send("agent", {"u": 1}) is False
    finally:
        await bus.stop()
        await db.dispose()
