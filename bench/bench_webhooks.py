"""Webhooks: what recording events adds to the call log's writes and to a client create, and
deliveries per second to a local receiver.

1. ``CallLog.store_many`` of ``--calls`` calls (each stored started, then ended: two group
   commits of 200) with the events recorded, beside the same with event recording switched
   off (the floor);
2. ``ClientService.create`` ``--clients`` times, with and without its ``client.created``
   event;
3. ``--deliveries`` pending deliveries sent by ``WebhookSender.run_once`` (``--workers`` at a
   time) to an aiohttp receiver on 127.0.0.1 answering 200: deliveries/s.

SQLite by default; ``--pg URL`` runs the same on a fresh PostgreSQL database too.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web  # noqa: E402

from bench.fixtures import NOW, WORK, Goals, fresh_pg_database, migrated_sqlite  # noqa: E402
from callcenter.domain.call_records import CallRecord  # noqa: E402
from callcenter.services import change_events  # noqa: E402
from callcenter.services.call_log import CallLog  # noqa: E402
from callcenter.services.clients import ClientService  # noqa: E402
from callcenter.services.context import Actor  # noqa: E402
from callcenter.services.webhook_delivery import WebhookSender  # noqa: E402
from callcenter.services.webhooks import WebhookService  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402

SYSTEM = Actor.system("bench")
#: recording events may add at most this share to the call log's writes / a client create
GOAL_CALL_OVERHEAD = 0.5
GOAL_DELIVERIES_PER_SECOND = 100


@contextmanager
def events_off():
    """Event recording switched off: the floor to compare with."""
    saved = change_events.calls_changed, change_events.client_created

    async def calls_none(*args, **kwargs):
        return 0

    async def client_none(*args, **kwargs):
        return None

    change_events.calls_changed, change_events.client_created = calls_none, client_none
    try:
        yield
    finally:
        change_events.calls_changed, change_events.client_created = saved


def calls(first: int, count: int) -> tuple[list[CallRecord], list[CallRecord]]:
    starts, ends = [], []
    for i in range(first, first + count):
        start = CallRecord(key=f"bench.{i}", linkedid=f"bench.{i}", direction="inbound",
                           started_at=NOW + timedelta(seconds=i), caller=f"7916{i % 5000:07d}",
                           caller_name="Иван Петров", queue="shop")
        answered = i % 3 != 0
        ends.append(CallRecord(**{**{f: getattr(start, f) for f in start.__slots__},
                                  "ended_at": start.started_at + timedelta(seconds=30),
                                  "outcome": "answered" if answered else "missed",
                                  "answered_by": "PJSIP/101" if answered else None,
                                  "answered_at": start.started_at + timedelta(seconds=5)
                                  if answered else None,
                                  "talk_seconds": 25.0 if answered else 0.0}))
        starts.append(start)
    return starts, ends


async def time_call_log(db: Database, first: int, count: int) -> float:
    log = CallLog(db, lambda: NOW, "RU", lambda endpoint: None)
    starts, ends = calls(first, count)
    started = time.perf_counter()
    await log.store_many(starts)
    await log.store_many(ends)
    return time.perf_counter() - started


async def time_clients(db: Database, first: int, count: int) -> float:
    service = ClientService(db, lambda: NOW, region="RU", shop_timezone="Europe/Moscow",
                            own_clients_only=False)
    started = time.perf_counter()
    for i in range(first, first + count):
        await service.create(SYSTEM, {
            "name": f"Клиент {i}", "city": "Тула", "force": True,
            "phones": [{"number": f"+7985{i:07d}"}]})
    return time.perf_counter() - started


async def deliveries_per_second(db: Database, count: int, workers: int) -> float:
    app = web.Application()
    app.router.add_post("/hook", lambda request: web.Response(text="ok"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    service = WebhookService(db, lambda: NOW, allow_private=True)
    await service.create(SYSTEM, {"url": f"http://127.0.0.1:{port}/hook", "events": ["*"]})
    events = [{"id": 10_000_000 + i, "type": "client.created", "at": NOW,
               "payload": {"client": {"id": i, "name": "Анна"}}} for i in range(count)]
    async with db.write() as conn:
        await service.consume(conn, events)
    sender = WebhookSender(db, lambda: NOW, workers=workers, timeout_seconds=10,
                           allow_private=True)
    try:
        started = time.perf_counter()
        sent = await sender.run_once()
        took = time.perf_counter() - started
    finally:
        await sender.stop(grace_seconds=0)
        await runner.cleanup()
    assert sent == count, (sent, count)
    return count / took


async def one_database(label: str, url: str, args, goals: Goals) -> list[str]:
    db = Database(url)
    try:
        await time_call_log(db, 0, 200)  # warm up
        floors, withs = [], []
        for round_ in range(3):  # alternately, the best of three each: the machine is shared
            with events_off():
                floors.append(await time_call_log(db, 10_000 + round_ * 100_000, args.calls))
            withs.append(await time_call_log(db, 1_000_000 + round_ * 100_000, args.calls))
        floor, with_events = min(floors), min(withs)
        extra = with_events / floor - 1
        print(f"{label}: call log, {args.calls} calls started + ended: {with_events:.2f} s "
              f"with events, {floor:.2f} s without (+{extra:.0%}) "
              f"[{goals.check(f'{label}.call_log_overhead', extra < GOAL_CALL_OVERHEAD)}]")
        with events_off():
            client_floor = await time_clients(db, 0, args.clients)
        client_with = await time_clients(db, 100_000, args.clients)
        with events_off():
            client_floor = min(client_floor, await time_clients(db, 200_000, args.clients))
        per, per_floor = client_with / args.clients * 1000, client_floor / args.clients * 1000
        print(f"{label}: client create: {per:.2f} ms with its event, {per_floor:.2f} ms without")
        rate = await deliveries_per_second(db, args.deliveries, args.workers)
        print(f"{label}: {args.deliveries} deliveries, {args.workers} workers: {rate:.0f}/s "
              f"[{goals.check(f'{label}.deliveries', rate >= GOAL_DELIVERIES_PER_SECOND)}]")
    finally:
        await db.dispose()
    return [f"{label}.call_log_seconds {with_events:.3f} (floor {floor:.3f})",
            f"{label}.client_create_ms {per:.2f} (floor {per_floor:.2f})",
            f"{label}.deliveries_per_second {rate:.0f}"]


async def run(args) -> int:
    goals = Goals()
    url = await migrated_sqlite(WORK / "webhooks.sqlite3")
    summary = await one_database("sqlite", url, args, goals)
    if args.pg:
        pg = await fresh_pg_database(args.pg, "bench_webhooks")
        summary += await one_database("postgres", pg, args, goals)
    print("summary:")
    for line in summary:
        print("  " + line)
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg", help="a PostgreSQL server URL (a role that may create databases)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.clients, args.deliveries = 1000, 100, 300
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
