"""The event outbox and the message queue, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from callcenter.services.outbox import MAX_ATTEMPTS, EventOutbox
from callcenter.storage import events as events_repo
from callcenter.storage import messages as messages_repo
from callcenter.storage.database import Database
from callcenter.storage.tables import events, messages
from tests.conftest import FrozenClock


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    yield database
    await database.dispose()


async def _record(db, n, type_="client.created"):
    clock = FrozenClock()
    ids = []
    async with db.write() as conn:
        for i in range(n):
            ids.append(await events_repo.record_event(
                conn, type=type_, at=clock(), payload={"n": i, "name": "Иван"},
                entity="client", entity_id=i + 1))
    return ids


async def test_an_unknown_event_type_is_refused(db):
    async with db.write() as conn:
        with pytest.raises(ValueError):
            await events_repo.record_event(conn, type="client.exploded", at=FrozenClock()(),
                                           payload={})


async def test_an_event_of_a_rolled_back_change_never_exists(db):
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await events_repo.record_event(conn, type="client.created", at=FrozenClock()(),
                                           payload={})
            raise RuntimeError("the change failed")
    async with db.read() as conn:
        assert (await conn.execute(select(events))).all() == []


async def test_every_consumer_gets_every_event_once_in_order(db):
    ids = await _record(db, 250)
    seen: dict[str, list[int]] = {"a": [], "b": []}

    async def consumer(name):
        async def consume(conn, batch):
            seen[name].extend(e["id"] for e in batch)
        return consume

    outbox = EventOutbox(db, FrozenClock())
    outbox.add_consumer("a", await consumer("a"))
    outbox.add_consumer("b", await consumer("b"))
    assert await outbox.dispatch_once() == 200
    assert await outbox.dispatch_once() == 50
    assert await outbox.dispatch_once() == 0
    assert seen["a"] == ids and seen["b"] == ids
    async with db.read() as conn:
        assert await events_repo.pending_count(conn) == 0


async def test_a_failing_event_does_not_hold_up_the_others_and_is_given_up_on(db):
    ids = await _record(db, 5)
    bad = ids[2]
    delivered = Counter()

    async def consume(conn, batch):
        for event in batch:
            if event["id"] == bad:
                raise ValueError("no such template")
            delivered[event["id"]] += 1

    outbox = EventOutbox(db, FrozenClock())
    outbox.add_consumer("picky", consume)
    await outbox.dispatch_once()
    # the failed batch's good events were handed out again one by one: the consumer's own
    # unique keys make that harmless; each was marked dispatched exactly once
    assert set(delivered) == set(ids) - {bad}
    for attempt in range(2, MAX_ATTEMPTS + 1):
        await outbox.dispatch_once()
    async with db.read() as conn:
        rows = {r.id: r for r in await conn.execute(select(events))}
        assert await events_repo.pending_count(conn) == 0
    assert rows[bad].attempts == MAX_ATTEMPTS
    assert "no such template" in rows[bad].error
    assert all(rows[i].error is None for i in ids if i != bad)


async def test_a_woken_outbox_dispatches_at_once(db):
    got = asyncio.Event()

    async def consume(conn, batch):
        got.set()

    outbox = EventOutbox(db, FrozenClock(), poll_seconds=60)
    outbox.add_consumer("x", consume)
    await outbox.start()
    try:
        await asyncio.sleep(0.05)
        await _record(db, 1)
        outbox.wake()
        await asyncio.wait_for(got.wait(), timeout=5)
    finally:
        await outbox.stop()


async def test_two_dispatchers_on_one_database_hand_out_each_event_once(db_url):
    first, second = Database(db_url), Database(db_url)
    try:
        ids = await _record(first, 600)
        seen = Counter()

        async def consume(conn, batch):
            await asyncio.sleep(0.01)  # both are inside their transaction at the same time
            seen.update(e["id"] for e in batch)

        outboxes = []
        for database in (first, second):
            outbox = EventOutbox(database, FrozenClock())
            outbox.add_consumer("count", consume)
            outboxes.append(outbox)

        async def drain(outbox):
            while await outbox.dispatch_once(limit=50):
                pass

        await asyncio.gather(*(drain(o) for o in outboxes))
        assert sorted(seen) == ids and set(seen.values()) == {1}
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_message_is_queued_once_per_dedupe_key(db):
    clock = FrozenClock()
    async with db.write() as conn:
        first = await messages_repo.queue_message(
            conn, kind="notification", channel="email", to_address="ivan@example.ru",
            subject="Заказ отправлен", body="Трек-номер RA123456789RU", now=clock(),
            dedupe_key="order:1:order_shipped:email", headers={"X-Test": "1"})
        again = await messages_repo.queue_message(
            conn, kind="notification", channel="email", to_address="ivan@example.ru",
            body="другой текст", now=clock(), dedupe_key="order:1:order_shipped:email")
    assert first is not None and again is None
    async with db.read() as conn:
        rows = (await conn.execute(select(messages))).all()
    assert len(rows) == 1 and rows[0].body == "Трек-номер RA123456789RU"
    assert rows[0].status == "queued" and rows[0].headers == {"X-Test": "1"}
    with pytest.raises(ValueError):
        async with db.write() as conn:
            await messages_repo.queue_message(conn, kind="spam", channel="email", to_address="x",
                                              body="x", now=clock(), dedupe_key="k")
