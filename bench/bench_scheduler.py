"""The scheduler: 10,000 tasks falling due in the same minute, handled by one round, on SQLite and
(with ``--pg URL``) PostgreSQL, beside the floor measured in the same run.

The database (migrated; 500 clients in 8 cities' zones, one operator) gets ``--tasks`` open
tasks that all need the scheduler at 09:00 UTC: a third are personal callbacks overdue for the
handover to anyone (``CALLCENTER_CALLBACK_HANDOVER_MINUTES`` ago and more), a third hold a lease
that ran out with no attempt, a third sit in a calling window that has closed (or were never
placed) and are moved into the next one in their client's zone. Then the product's
``Scheduler.run_round()`` (the same round ``callcenter serve`` runs every interval) handles them
all; a second round must find nothing left. The floor: one plain UPDATE of as many rows with
the bare driver (stdlib ``sqlite3`` / plain asyncpg). Goal: every task handled within the
minute they fell due in (< 60 s). Exits 1 on a missed goal.

    python bench/bench_scheduler.py [--tasks 10000] [--quick] [--pg postgresql+asyncpg://USER@HOST:PORT/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import CITIES, NOW, WORK, Goals, asyncpg_dsn, fresh_pg_database  # noqa: E402
from fixtures import migrated_sqlite, settings_for  # noqa: E402

from sqlalchemy import insert, make_url  # noqa: E402

from callcenter.app import build_services  # noqa: E402
from callcenter.services.cluster import ClusterBus, Leadership  # noqa: E402
from callcenter.services.scheduler import LOCK_KEY, Scheduler  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from callcenter.storage.tables import clients, tasks, users  # noqa: E402

GOAL_SECONDS = 60.0
CLIENTS = 500
HANDOVER_MINUTES = 15


async def seed(db: Database, count: int, rng: random.Random) -> dict[str, int]:
    """The tasks and what they are for; returns how many of each kind of work."""
    now = NOW
    async with db.write() as conn:
        operator = (await conn.execute(insert(users).values(
            login="op1", name="Оператор", role="operator", extension="PJSIP/1001",
            password_hash="x", active=True, language="ru", created_at=now, updated_at=now)
            .returning(users.c.id))).scalar_one()
        await conn.execute(insert(clients), [
            {"id": i, "name": f"Клиент {i}", "search_name": f"клиент {i}", "tags": [],
             "city": CITIES[i % len(CITIES)][0], "timezone": CITIES[i % len(CITIES)][1],
             "do_not_call": False, "created_at": now, "updated_at": now}
            for i in range(1, CLIENTS + 1)])
    rows, work = [], {"handover": 0, "lease": 0, "placement": 0}
    for i in range(count):
        client = rng.randint(1, CLIENTS)
        phone = f"+7916{client:07d}"
        kind = ("handover", "lease", "placement")[i % 3]
        work[kind] += 1
        # every one fell due within the last minute's work: due moments spread over it
        at = now - timedelta(seconds=rng.uniform(0, 59))
        row = {"kind": "callback", "status": "open", "client_id": client, "phone_e164": phone,
               "title": f"task {i}", "attempts": 0, "failures": 0, "priority": 0, "rank": 0,
               "created_at": now - timedelta(hours=1), "updated_at": now - timedelta(hours=1),
               "ready_at": None, "window_ends_at": None, "assigned_to": None,
               "claimed_by": None, "claimed_at": None, "lease_until": None}
        if kind == "handover":
            row.update(assigned_to=operator, due_at=at - timedelta(minutes=HANDOVER_MINUTES),
                       window_ends_at=now + timedelta(hours=6))
            row["ready_at"] = row["due_at"]
        elif kind == "lease":
            row.update(kind="redial", due_at=now - timedelta(minutes=20),
                       ready_at=now - timedelta(minutes=20),
                       window_ends_at=now + timedelta(hours=6), claimed_by=operator,
                       claimed_at=at - timedelta(minutes=10), lease_until=at)
        else:
            row.update(kind="reminder", due_at=now - timedelta(hours=3))
            if i % 2:  # its window closed within the minute; the others were never placed
                row.update(ready_at=now - timedelta(hours=3), window_ends_at=at)
        rows.append(row)
    async with db.write() as conn:
        for start in range(0, len(rows), 2000):
            await conn.execute(insert(tasks), rows[start:start + 2000])
    return work


async def floor(url: str, count: int) -> float:
    """One plain UPDATE of ``count`` task rows with the bare driver, in seconds."""
    if url.startswith("sqlite"):
        path = make_url(url).database

        def run() -> float:
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous=NORMAL")
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE tasks SET note = 'floor', updated_at = updated_at "
                             "WHERE id IN (SELECT id FROM tasks ORDER BY id LIMIT ?)", (count,))
                conn.execute("COMMIT")
                return time.perf_counter() - started
            finally:
                conn.close()

        return await asyncio.to_thread(run)
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        await conn.execute("UPDATE tasks SET note = 'floor' WHERE id IN "
                           "(SELECT id FROM tasks ORDER BY id LIMIT $1)", count)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def one_database(label: str, url: str, count: int, goals: Goals) -> list[str]:
    settings = settings_for(url, callback_handover_minutes=HANDOVER_MINUTES)
    db = Database(url)
    try:
        work = await seed(db, count, random.Random(7))
        services = build_services(settings, db, lambda: NOW)
        # the rounds are run here (not leading); on PostgreSQL the pushes are sent on the bus,
        # as by `callcenter serve`
        scheduler = Scheduler(db, lambda: NOW, interval_seconds=15.0,
                              handover_minutes=HANDOVER_MINUTES, publish=lambda ids, msg: 0,
                              leadership=Leadership(db, LOCK_KEY, name="scheduler"),
                              bus=ClusterBus(db), placement=services.tasks.placement)
        report = await scheduler.run_round()
        again = await scheduler.run_round()
        floor_s = await floor(url, count)
    finally:
        await db.dispose()
    handled = {"handover": report.handed_over, "lease": report.released,
               "placement": report.placed}
    complete = handled == work and again.total() == 0
    print(f"{label}: {count} tasks due in one minute, handled in {report.seconds:.2f} s "
          f"(handed over {report.handed_over}, leases returned {report.released}, "
          f"placed {report.placed}; second round {again.total()} changes in "
          f"{again.seconds:.2f} s)  [{goals.check(f'{label}.all_handled', complete)}]")
    print(f"{label}: steps " + ", ".join(f"{name} {seconds:.2f} s"
                                         for name, seconds in report.step_seconds.items()))
    print(f"{label}: second round steps " + ", ".join(
        f"{name} {seconds * 1000:.0f} ms" for name, seconds in again.step_seconds.items()))
    print(f"{label}: floor, one plain UPDATE of {count} rows with the bare driver: "
          f"{floor_s:.3f} s; the round is {report.seconds / max(floor_s, 1e-9):.0f}x that")
    print(f"{label}: goal < {GOAL_SECONDS:.0f} s  "
          f"[{goals.check(f'{label}.round_seconds', report.seconds < GOAL_SECONDS)}]")
    return [f"  {label}_round_s {report.seconds:.2f} for {count} tasks (goal < "
            f"{GOAL_SECONDS:.0f}; floor {floor_s:.3f} s for one plain UPDATE of as many rows)",
            f"  {label}_all_handled_once {'yes' if complete else 'no'}"]


async def run(args) -> int:
    logging.basicConfig(level=logging.WARNING)
    goals = Goals()
    WORK.mkdir(parents=True, exist_ok=True)
    url = await migrated_sqlite(WORK / "bench-scheduler.sqlite3")
    summary = await one_database("sqlite", url, args.tasks, goals)
    if args.pg:
        url = await fresh_pg_database(args.pg, "callcenter_bench_scheduler")
        summary += await one_database("postgres", url, args.tasks, goals)
    print("summary:")
    for line in summary:
        print(line)
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="2,000 tasks")
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a role allowed to "
                        "create databases): also run there, in database "
                        "callcenter_bench_scheduler")
    args = parser.parse_args()
    if args.quick:
        args.tasks = min(args.tasks, 2_000)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
