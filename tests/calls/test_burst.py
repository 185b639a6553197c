"""A burst of calls has back-pressure: lookups and stores are bounded, stores are grouped,
the API keeps answering, stale pops are dropped, and every call is stored exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from callcenter.app import create_app
from callcenter.domain.call_records import CallEnded, CallRecord, CallStarted, OperatorRinging
from callcenter.http.keys import CALLS, SERVICES
from callcenter.services.call_workers import KeyedWorkers
from callcenter.storage.tables import calls
from tests.conftest import make_settings

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def call(i: int, *, ended: bool = False) -> CallRecord:
    extra = {"ended_at": T0 + timedelta(seconds=i + 20), "outcome": "missed",
             "talk_seconds": 0.0} if ended else {}
    return CallRecord(key=f"1795100000.{i}", linkedid=f"1795100000.{i}", direction="inbound",
                      started_at=T0 + timedelta(seconds=i), caller=f"7926{i:07d}", **extra)


async def test_a_burst_is_bounded_grouped_and_stored_exactly_once(db_url, tmp_path):
    app = create_app(make_settings(db_url, spool_dir=str(tmp_path / "spool")))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        service = app[CALLS].calls
        service.look_up_at_start = True  # every call's caller looked up, also on PostgreSQL
        running = peak = 0
        real_lookup = service.lookup

        async def counting_lookup(*args, **kwargs):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                return await real_lookup(*args, **kwargs)
            finally:
                running -= 1

        service.lookup = counting_lookup
        total = 3000
        effects = []
        for i in range(total):
            effects += [CallStarted(call(i)),
                        OperatorRinging(f"1795100000.{i}", "PJSIP/101", call(i))]
        service.carry_out(effects)
        # the API answers while the burst is carried out
        loop = asyncio.get_running_loop()
        began = loop.time()
        resp = await client.get("/api/health")
        assert resp.status == 200
        assert loop.time() - began < 5
        service.carry_out([CallEnded(call(i, ended=True)) for i in range(total)])
        await service.drain()
        assert 1 <= peak <= service.workers.size  # never one lookup per call at once
        async with app[SERVICES].db.read() as conn:
            count = (await conn.execute(select(func.count()).select_from(calls))).scalar_one()
            keys = (await conn.execute(select(func.count(calls.c.call_key.distinct())))).scalar_one()
            statuses = {r[0] for r in await conn.execute(select(calls.c.status).distinct())}
        assert count == keys == total and statuses == {"completed"}
        # group commits: far fewer transactions than records
        assert service.log.batches < service.log.stored / 10
    finally:
        await client.close()


async def test_pops_of_a_call_that_ended_meanwhile_are_dropped_and_order_is_kept():
    ran: list[tuple[str, str]] = []
    gate = asyncio.Event()

    async def handle(item):
        key, what = item
        if what == "block":
            await gate.wait()
        ran.append(item)

    workers = KeyedWorkers(handle, size=2, droppable=lambda item: item[1] == "pop")
    workers.submit("a", ("a", "block"))
    workers.submit("a", ("a", "pop"))
    workers.submit("a", ("a", "answered"))
    workers.submit("a", ("a", "end"), last=True)  # the pop would come after the end: dropped
    workers.submit("b", ("b", "pop"))  # another call is not held up by a's slow effect
    await asyncio.wait_for(_until(lambda: ("b", "pop") in ran), 5)
    workers.submit("b", ("b", "end"), last=True)
    await asyncio.wait_for(_until(lambda: ("b", "end") in ran), 5)
    assert ("a", "answered") not in ran
    gate.set()
    await asyncio.wait_for(workers.drain(), 5)
    assert [i for i in ran if i[0] == "a"] == [("a", "block"), ("a", "answered"), ("a", "end")]
    assert [i for i in ran if i[0] == "b"] == [("b", "pop"), ("b", "end")]
    assert workers.dropped == 1
    await workers.stop()


async def test_the_backlog_of_droppable_effects_is_bounded():
    seen = []

    async def handle(item):
        seen.append(item)

    workers = KeyedWorkers(handle, size=1, max_queued=100, droppable=lambda item: True)
    for i in range(10_000):
        workers.submit(i, i)
    assert workers.queued <= 100 and workers.dropped >= 9_900
    await workers.drain()
    await workers.stop()


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.005)
