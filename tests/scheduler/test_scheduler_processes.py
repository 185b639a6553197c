"""The scheduler across restarts and server processes: state only in the database, so a restart
catches up in due order, and on PostgreSQL one process of several schedules (its leadership's
advisory lock), another takes over when it stops; no step is done twice, and the pushes of
callbacks fallen due reach the owner's pages on every process once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert, select, update

from callcenter.app import create_app
from callcenter.http.keys import SERVICES
from callcenter.services.context import Actor
from callcenter.storage.tables import audit_log, tasks
from tests.conftest import FrozenClock, make_settings
from tests.scheduler.conftest import START, minutes, utc

SYSTEM = Actor.system("test")
PASSWORD = "secret-pw-10"


async def serve(settings, clock) -> TestClient:
    client = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    return client


def scheduler_of(client: TestClient):
    return client.server.app[SERVICES].scheduler


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def seed(services, count: int, due, owner: int, client_id: int) -> list[int]:
    ids = []
    async with services.db.write() as conn:
        for i in range(count):
            at = due + timedelta(seconds=i)
            ids.append((await conn.execute(insert(tasks).values(
                kind="callback", status="open", title=f"callback {i}", client_id=client_id,
                phone_e164="+74951110001", due_at=at, ready_at=at,
                window_ends_at=utc(2026, 11, 23, 18, 0), assigned_to=owner, attempts=0,
                created_at=START, updated_at=START).returning(tasks.c.id))).scalar_one())
    return ids


async def due_pushes(ws, count: int, quiet: float = 0.5) -> list[dict]:
    """The tasks of the ``tasks.due`` messages on ``ws``: ``count`` of them, and any more that
    come within ``quiet`` seconds after."""
    got: list[dict] = []
    while True:
        try:
            msg = await ws.receive_json(timeout=5.0 if len(got) < count else quiet)
        except asyncio.TimeoutError:
            assert len(got) >= count, f"{len(got)} of {count} tasks.due pushes"
            return got
        if msg["type"] == "tasks.due":
            got.append(msg["task"])


async def page(client: TestClient, login: str):
    assert (await client.post("/api/login", json={"login": login, "password": PASSWORD})
            ).status == 200
    ws = await client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    return ws


async def handovers(services) -> list[int]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(audit_log.c.entity_id).where(
            audit_log.c.action == "task.hand_over").order_by(audit_log.c.id))
        return [int(r.entity_id) for r in rows]


async def people(services) -> tuple[int, int]:
    anna = await services.accounts.create_user(SYSTEM, {
        "login": "anna", "role": "operator", "password": PASSWORD, "name": "Anna",
        "extension": "PJSIP/101"})
    card = await services.clients.create(SYSTEM, {
        "name": "Moscow", "phones": ["+74951110001"], "timezone": "Europe/Moscow",
        "force": True})
    return anna["id"], card["id"]


async def test_a_restart_catches_up_in_due_order_and_does_nothing_twice(db_url):
    clock = FrozenClock(START)
    settings = make_settings(db_url, scheduler_interval_seconds=3600.0)
    first = await serve(settings, clock)
    await scheduler_of(first).wait_for_round()
    services = first.server.app[SERVICES]
    anna, client_id = await people(services)
    # due one after the other while the server is down
    ids = await seed(services, 5, START + minutes(10), anna, client_id)
    await first.close()
    clock.now = START + timedelta(hours=3)
    second = await serve(settings, clock)
    scheduler = scheduler_of(second)
    await scheduler.wait_for_round()
    report = scheduler.last_report
    assert (report.due_pushed, report.handed_over) == (5, 5)  # told, then given to anyone
    services = second.server.app[SERVICES]
    assert await handovers(services) == ids  # in due order
    await second.close()
    third = await serve(settings, clock)  # and once more: nothing left to do
    await scheduler_of(third).wait_for_round()
    assert scheduler_of(third).last_report.total() == 0
    assert await handovers(third.server.app[SERVICES]) == ids
    await third.close()


async def test_one_of_two_processes_schedules_and_the_other_takes_over(db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one server process (one writer): no lock is taken")
    clock = FrozenClock(START)
    settings = make_settings(db_url, scheduler_interval_seconds=0.1)
    first = await serve(settings, clock)
    await wait_until(lambda: _true(scheduler_of(first).is_leader))
    second = await serve(settings, clock)
    await asyncio.sleep(0.5)  # several of its intervals: it keeps trying, and stays out
    assert scheduler_of(first).is_leader and not scheduler_of(second).is_leader
    assert scheduler_of(second).rounds == 0
    services = first.server.app[SERVICES]
    anna, client_id = await people(services)
    # anna has a page on each process: the scheduling one tells its own, the bus the other's
    on_first, on_second = await page(first, "anna"), await page(second, "anna")
    ids = await seed(services, 20, START + minutes(1), anna, client_id)
    long_note = "Перезвонить после обеда, " * 800  # 20,000 characters, 38,400 bytes
    async with services.db.write() as conn:
        await conn.execute(update(tasks).where(tasks.c.id == ids[0]).values(note=long_note))
    clock.now = START + minutes(20)
    await wait_until(lambda: _length_is(handovers(services), 20))
    here, there = await due_pushes(on_first, 20), await due_pushes(on_second, 20)
    for pushed in (here, there):  # each once, on each process
        assert sorted(task["id"] for task in pushed) == ids
    assert next(t for t in here if t["id"] == ids[0])["note"] == long_note
    # a notice holds 7,900 bytes: the other process's pages get the task without its note
    assert next(t for t in there if t["id"] == ids[0])["note"] is None
    assert {t["title"] for t in there} == {t["title"] for t in here}
    assert scheduler_of(second).rounds == 0
    await first.close()  # its lock's connection ends: the other takes over
    await wait_until(lambda: _true(scheduler_of(second).is_leader))
    more = await seed(services := second.server.app[SERVICES], 10, START + minutes(21), anna,
                      client_id)
    clock.now = START + minutes(40)
    await wait_until(lambda: _length_is(handovers(services), 30))
    await asyncio.sleep(0.3)  # more rounds: still once each
    done = Counter(await handovers(services))
    assert set(done) == set(ids + more) and set(done.values()) == {1}
    # the new leader's pushes reach its own pages, once
    assert sorted(task["id"] for task in await due_pushes(on_second, 10)) == more
    await on_first.close()
    await on_second.close()
    await second.close()


async def test_the_process_taking_the_lead_runs_a_round_at_once(db_url):
    """Rounds an hour apart: the process that takes the lead when the leader stops does not
    wait its interval to catch up on what nobody did meanwhile."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one server process (one writer): no lock is taken")
    clock = FrozenClock(START)
    settings = make_settings(db_url, scheduler_interval_seconds=3600.0)
    first = await serve(settings, clock)
    await scheduler_of(first).wait_for_round()
    second = await serve(settings, clock)
    assert scheduler_of(first).is_leader and not scheduler_of(second).is_leader
    services = second.server.app[SERVICES]
    anna, client_id = await people(services)
    ids = await seed(services, 3, START + minutes(1), anna, client_id)
    clock.now = START + minutes(20)
    await first.close()
    await scheduler_of(second).wait_for_round(timeout=5)  # within its leadership's poll
    assert scheduler_of(second).is_leader
    assert scheduler_of(second).last_report.handed_over == 3
    assert await handovers(services) == ids
    await second.close()


async def _true(value) -> bool:
    return bool(value)


async def _length_is(awaitable, n: int) -> bool:
    return len(await awaitable) >= n


async def test_when_the_scheduling_process_loses_its_connection_another_takes_over(db_url):
    """The scheduling process's lock connection is killed on the server (as when the process
    dies or the network drops): the lock is free, and whichever process takes it first (the
    other one, or the first again on a new connection) schedules while the other stays out.
    Every handover is still done once."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one server process (one writer): no lock is taken")
    import asyncpg
    from sqlalchemy.engine import make_url

    clock = FrozenClock(START)
    settings = make_settings(db_url, scheduler_interval_seconds=0.1)
    first = await serve(settings, clock)
    await wait_until(lambda: _true(scheduler_of(first).is_leader))
    second = await serve(settings, clock)
    services = first.server.app[SERVICES]
    anna, client_id = await people(services)
    ids = await seed(services, 10, START + minutes(1), anna, client_id)
    pid = scheduler_of(first).leadership._conn.get_server_pid()
    admin = await asyncpg.connect(make_url(db_url).set(drivername="postgresql")
                                  .render_as_string(hide_password=False))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    a, b = scheduler_of(first), scheduler_of(second)

    async def settled() -> bool:
        conn = a.leadership._conn
        return conn is not None and not conn.is_closed() and conn.get_server_pid() != pid \
            and a.is_leader != b.is_leader

    await wait_until(settled)
    leader, other = (a, b) if a.is_leader else (b, a)
    await asyncio.sleep(0.5)  # several intervals: the other keeps trying and stays out
    assert leader.is_leader and not other.is_leader
    other_rounds = other.rounds
    clock.now = START + minutes(20)
    await wait_until(lambda: _length_is(handovers(services), 10))
    await asyncio.sleep(0.3)
    assert other.rounds == other_rounds
    done = Counter(await handovers(services))
    assert set(done) == set(ids) and set(done.values()) == {1}
    await first.close()
    await second.close()
