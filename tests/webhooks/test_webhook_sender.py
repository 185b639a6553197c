"""The sender alone, on a real database (SQLite and PostgreSQL) and a real HTTP server: the
retry schedule to the end on a fixed clock, restarts, two senders, refused addresses after DNS,
one delivery per webhook and event however often the event is handed out."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from callcenter.domain.webhooks import BACKOFF, verify_signature
from callcenter.services.context import Actor
from callcenter.services.webhook_delivery import AddressRefused, CheckedResolver, WebhookSender
from callcenter.services.webhooks import WebhookService
from callcenter.storage.database import Database
from callcenter.storage.tables import webhook_deliveries
from tests.conftest import FrozenClock

SYSTEM = Actor.system("test")
SECRET = "whsec_sender_secret_0000"


def dead_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def event(event_id: int, event_type: str = "client.created") -> dict:
    return {"id": event_id, "type": event_type,
            "at": datetime(2026, 11, 23, 9, tzinfo=timezone.utc),
            "payload": {"client": {"id": event_id, "name": "Анна"}}}


@pytest.fixture
async def parts(db_url):
    db = Database(db_url)
    clock = FrozenClock()
    service = WebhookService(db, clock, allow_private=True)
    senders = []

    def sender(**kw) -> WebhookSender:
        made = WebhookSender(db, clock, **{"workers": 2, "timeout_seconds": 2.0,
                                           "allow_private": True, **kw})
        senders.append(made)
        return made
    yield db, clock, service, sender
    for made in senders:
        await made.stop(grace_seconds=0)
    await db.dispose()


async def add_events(db, service, *events) -> None:
    async with db.write() as conn:
        await service.consume(conn, list(events))


async def rows(db) -> list[dict]:
    async with db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(
            select(webhook_deliveries).order_by(webhook_deliveries.c.id))]


async def test_a_dead_port_is_retried_on_the_schedule_then_given_up(parts):
    db, clock, service, sender = parts
    await service.create(SYSTEM, {"url": f"http://127.0.0.1:{dead_port()}/hook",
                                  "events": ["*"], "secret": SECRET})
    await add_events(db, service, event(1))
    worker = sender()
    attempts = []
    for wait in (*BACKOFF, None):
        assert await worker.run_once() == 1
        (row,) = await rows(db)
        attempts.append((row["status"], row["attempts"]))
        assert row["last_error"].startswith("cannot connect"), row["last_error"]
        assert await worker.run_once() == 0  # nothing due before the next time
        if wait is not None:
            assert row["next_attempt_at"] == clock() + wait
            clock.advance(seconds=wait.total_seconds())
    assert attempts == [("pending", n) for n in range(1, 8)] + [("failed", 8)]
    clock.advance(days=2)
    assert await worker.run_once() == 0  # given up: never tried again by itself


async def test_an_event_handed_out_twice_makes_one_delivery_per_webhook(parts, receiver):
    db, clock, service, sender = parts
    both = await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    missed = await service.create(SYSTEM, {"url": receiver.url, "events": ["call.missed"]})
    off = await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    await service.update(SYSTEM, off["id"], {"active": False})
    await add_events(db, service, event(5), event(6, "call.missed"))
    await add_events(db, service, event(5), event(6, "call.missed"))
    stored = await rows(db)
    assert sorted((r["webhook_id"], r["event_id"]) for r in stored) == sorted(
        [(both["id"], 5), (both["id"], 6), (missed["id"], 6)])
    assert await sender().run_once() == 3
    assert len(receiver.got) == 3
    secret_of = {both["id"]: both["secret"], missed["id"]: missed["secret"]}
    hook_of = {str(r["id"]): r["webhook_id"] for r in stored}
    for received in receiver.got:
        secret = secret_of[hook_of[received.headers["X-Callcenter-Delivery"]]]
        assert verify_signature(received.headers["X-Callcenter-Signature"], received.body,
                                secret, int(clock().timestamp()))


async def test_pending_at_stop_are_delivered_after_start_and_none_twice(parts, receiver):
    db, clock, service, sender = parts
    await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    first = sender()
    await first.start()
    await first.stop()
    await add_events(db, service, *(event(n) for n in range(1, 6)))  # queued while stopped
    second = sender()
    await second.start()
    await receiver.wait_for(lambda: len(receiver.got) == 5)
    await asyncio.sleep(0.3)
    await second.stop()
    third = sender()
    await third.start()
    await asyncio.sleep(0.5)
    await third.stop()
    assert sorted(r.json["id"] for r in receiver.got) == [1, 2, 3, 4, 5]
    assert {r["status"] for r in await rows(db)} == {"delivered"}


async def test_a_delivery_cut_short_by_a_stop_is_handed_back(parts, receiver):
    db, clock, service, sender = parts
    await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    receiver.delay = 5.0
    await add_events(db, service, event(1))
    first = sender()
    await first.start()
    await receiver.wait_for(lambda: receiver.got)
    await first.stop(grace_seconds=0.1)
    (row,) = await rows(db)
    assert (row["status"], row["attempts"], row["lease_until"]) == ("pending", 0, None), \
        row["last_error"]
    receiver.delay = 0
    second = sender()
    await second.start()
    await receiver.wait_for(lambda: len(receiver.got) == 2)
    await asyncio.sleep(0.3)
    (row,) = await rows(db)
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    assert receiver.got[0].body == receiver.got[1].body  # at least once, the same body


async def test_two_senders_never_send_one_row(parts, receiver):
    db, clock, service, sender = parts
    await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    await add_events(db, service, *(event(n) for n in range(1, 41)))
    one, two = sender(workers=4), sender(workers=4)
    made = await asyncio.gather(one.run_once(), two.run_once())
    assert sum(made) == 40
    assert sorted(r.json["id"] for r in receiver.got) == list(range(1, 41))


async def test_refused_addresses_after_dns_and_as_literals(parts, receiver):
    db, clock, service, sender = parts
    with pytest.raises(AddressRefused):
        await CheckedResolver(allow_private=False).resolve("localhost", 80)
    assert await CheckedResolver(allow_private=True).resolve("localhost", 80)
    await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    await add_events(db, service, event(1))
    strict = sender(allow_private=False)  # registered while allowed, refused when sent
    assert await strict.run_once() == 1
    (row,) = await rows(db)
    assert row["last_error"].startswith("address refused") and row["status"] == "pending"
    assert receiver.got == []


async def test_a_body_is_stored_once_and_sent_as_is(parts):
    db, clock, service, sender = parts
    hook = await service.create(SYSTEM, {"url": "https://hooks.example.com/x", "events": ["*"]})
    await add_events(db, service, event(9))
    (row,) = await rows(db)
    assert row["body"] == ('{"id":9,"type":"client.created","at":"2026-11-23T09:00:00Z",'
                           '"data":{"client":{"id":9,"name":"Анна"}}}')
    async with db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(webhook_deliveries)
                                   .where(webhook_deliveries.c.webhook_id == hook["id"])
                                   )).scalar_one() == 1


async def test_the_log_keeps_finished_deliveries_for_30_days(parts, receiver):
    db, clock, service, sender = parts
    await service.create(SYSTEM, {"url": receiver.url, "events": ["*"]})
    await add_events(db, service, event(1), event(2))
    assert await sender().run_once() == 2
    clock.advance(days=10)
    await add_events(db, service, event(3))  # still pending when the old ones go
    worker = sender()
    await worker._purge(clock() + timedelta(days=21))
    assert [r["event_id"] for r in await rows(db)] == [3]
