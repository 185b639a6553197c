"""Next task with 100,000 open tasks and 50 operators claiming, on SQLite and PostgreSQL, through the service layer (``TaskService.claim_next``: the claim, the task's
row and the client's card), beside the plain driver's SELECT of the same candidate row.

The tasks (built once per run in a migrated SQLite file under ``/tmp/callcenter-bench/``, copied
into PostgreSQL with COPY for ``--pg``): mixed kinds (missed calls, redials, order
confirmations, reminders, callbacks), ranked by the default next-task order, priorities 0-2,
clients in seven zones and with unknown zones (a mobile number with no city: the 07:00-09:00
UTC intersection), so a third of them are due and inside their window now, the rest due later
today, tomorrow, or waiting for their window; a fifth are callbacks, most of them personal ones
of one of the 50 operators; 3% leased already, 1% of do-not-call clients; two open tasks per
client (the card handed out with the task lists them).

Two loads.  Goal (p99 < 20 ms) on the first: 50 operators working at once, each at their own
pace (claim, work 1-4 s, record an outcome, claim again: some 20 claims a second, a day
compressed 30-100 times).  Then the worst case, printed without a goal: all 50 asking at the
same instant, 20 rounds; those claims queue behind each other (SQLite's one writer,
PostgreSQL's pool, one event loop), so the last waits for the 49 before it.  Printed: p50/p99
per claim, double claims (a task handed to an operator while another holds it: must be 0),
the claim of one operator alone, the CPU per claim, and the floor: the candidate SELECT alone,
one at a time with the plain driver (stdlib ``sqlite3`` / one plain asyncpg connection).

    python bench/bench_next_task.py [--tasks 100000] [--rounds 20] [--seconds 30] [--quick]
                                    [--pg postgresql+asyncpg://USER@HOST:PORT/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sqlite3
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import NOW, WORK, CpuShare, Goals, _bulk_engine, asyncpg_dsn  # noqa: E402
from fixtures import copy_sqlite_to_pg, fresh_pg_database, insert_clients  # noqa: E402
from fixtures import latency_line, migrated_sqlite, percentiles, russian_number  # noqa: E402
from fixtures import settings_for  # noqa: E402

from sqlalchemy import insert, select, text, update  # noqa: E402
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402

from callcenter.domain.access import Role  # noqa: E402
from callcenter.services.clients import ClientService  # noqa: E402
from callcenter.services.context import Actor  # noqa: E402
from callcenter.services.outcomes import OutcomeService  # noqa: E402
from callcenter.services.tasks import TaskService  # noqa: E402
from callcenter.storage import tasks as tasks_repo  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from callcenter.storage.tables import clients, tasks, users  # noqa: E402

GOAL_P99_MS = 20.0
OPERATORS = 50
CLIENTS_PER_TASK = 0.5  # two open tasks per client, as a shop's client has one or two
KINDS = ("missed_call", "redial", "order_confirmation", "reminder", "callback")
PG_NAME = "callcenter_bench_next_task"
TABLES = ("users", "clients", "client_phones", "tasks")


class Clock:
    """The benchmark's clock: NOW, moved on by hand (leases are measured from it)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def _service(db: Database, clock: Clock) -> TaskService:
    settings = settings_for(db.url)
    client_service = ClientService(db, clock, region="RU", shop_timezone="Europe/Moscow",
                                   own_clients_only=False)
    return TaskService(db, clock, settings, client_service, OutcomeService(db, clock))


def build(path: Path, n_tasks: int, rng: random.Random, service: TaskService) -> list[int]:
    """Operators, clients and ``n_tasks`` open tasks in the SQLite file at ``path``."""
    engine = _bulk_engine(path)
    with engine.begin() as conn:
        conn.execute(insert(users), [{
            "login": f"op{i}", "name": f"Оператор {i}", "role": "operator",
            "extension": f"PJSIP/{1000 + i}", "password_hash": "x", "active": True,
            "language": "ru", "created_at": NOW, "updated_at": NOW} for i in range(OPERATORS)])
        operator_ids = [r.id for r in conn.execute(select(users.c.id).order_by(users.c.id))]
    engine.dispose()
    n_clients = max(100, int(n_tasks * CLIENTS_PER_TASK))
    insert_clients(path, ([russian_number(rng)] for _ in range(n_clients)), rng)
    engine = _bulk_engine(path)
    with engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT c.id, c.timezone, c.city, c.region, "
            "(SELECT e164 FROM client_phones p WHERE p.client_id = c.id LIMIT 1) AS e164 "
            "FROM clients c")).mappings().all()
        quiet = rng.sample([r["id"] for r in rows], n_clients // 100)
        conn.execute(update(clients).where(clients.c.id.in_(quiet)).values(do_not_call=True))
    placed: dict[tuple, tuple] = {}
    batch: list[dict] = []
    with engine.begin() as conn:
        for i in range(n_tasks):
            client = rows[rng.randrange(len(rows))]
            kind = rng.choice(KINDS)
            # a third due by now, the rest later today or tomorrow, in 5-minute steps
            slot = rng.randrange(-36, 0) if rng.random() < 0.34 else rng.randrange(1, 288)
            due = NOW + timedelta(minutes=5 * slot)
            key = (client["timezone"], client["city"], client["e164"][:5], slot)
            if key not in placed:
                placed[key] = service.placement(client, due)
            ready_at, window_ends_at, zone = placed[key]
            assigned = rng.choice(operator_ids) if kind == "callback" and rng.random() < 0.8 \
                else None
            failures = rng.choice((0, 0, 0, 1, 2)) if kind != "callback" else 0
            leased = rng.random() < 0.03
            batch.append({
                "kind": kind, "status": "open", "client_id": client["id"],
                # one open missed-call task per number: each from a number of its own
                "phone_e164": f"+7800{i:07d}" if kind == "missed_call" else client["e164"],
                "title": f"Задача {i}", "due_at": due,
                "ready_at": ready_at, "window_ends_at": window_ends_at, "timezone": zone,
                "attempts": failures, "failures": failures, "priority": rng.choice((0, 0, 1, 2)),
                "rank": service.rank(kind, failures, assigned), "assigned_to": assigned,
                "claimed_by": (assigned or rng.choice(operator_ids)) if leased else None,
                "claimed_at": NOW if leased else None,
                "lease_until": NOW + timedelta(minutes=10) if leased else None,
                "created_at": NOW, "updated_at": NOW})
            if len(batch) >= 20_000:
                conn.execute(insert(tasks), batch)
                batch.clear()
        if batch:
            conn.execute(insert(tasks), batch)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return operator_ids


claims_cpu = [0.0]  # this process's CPU seconds spent in the last claims() call's claims


async def alone(service: TaskService, actors: list[Actor], count: int) -> list[float]:
    """One operator at a time: the claim's own cost, with no queue in front of it."""
    out = []
    for i in range(count):
        actor = actors[i % len(actors)]
        start = time.perf_counter()
        got = await service.claim_next(actor)
        out.append((time.perf_counter() - start) * 1000)
        if got is not None:
            await service.record_outcome(actor, got["task"]["id"], "paid")
    return out


async def claims(service: TaskService, actors: list[Actor], rounds: int,
                 clock: Clock) -> tuple[list[float], Counter, int]:
    """``rounds`` rounds of every operator claiming at once, then recording an outcome."""
    latencies: list[float] = []
    handed: Counter = Counter()
    empty = 0
    claims_cpu[0] = 0.0

    async def one(actor: Actor):
        start = time.perf_counter()
        got = await service.claim_next(actor)
        latencies.append((time.perf_counter() - start) * 1000)
        return got

    for _ in range(rounds):
        cpu = time.process_time()
        got = await asyncio.gather(*(one(a) for a in actors))
        claims_cpu[0] += time.process_time() - cpu
        done = []
        this_round: Counter = Counter()
        for actor, claim in zip(actors, got):
            if claim is None:
                empty += 1
                continue
            this_round[claim["task"]["id"]] += 1
            # a task handed to two operators in the same round: both hold it at once
            handed[claim["task"]["id"]] = max(handed[claim["task"]["id"]],
                                              this_round[claim["task"]["id"]])
            done.append(service.record_outcome(actor, claim["task"]["id"],
                                               random.choice(("paid", "no_answer", "busy"))))
        await asyncio.gather(*done)
        clock.now += timedelta(seconds=20)
    return latencies, handed, empty


async def working(service: TaskService, actors: list[Actor], seconds: float,
                  clock: Clock) -> tuple[list[float], Counter, int]:
    """50 operators working at once, each at their own pace: claim, work the task for a
    random 1-4 s (a real attempt takes one to several minutes: a day compressed 30-100
    times, some 20 claims and 20 outcomes a second), record the outcome, claim again, for
    ``seconds``.  A double claim here is a task
    handed to an operator while another still holds it (a redial may come back later)."""
    latencies: list[float] = []
    handed: Counter = Counter()
    empty = [0]
    held: set[int] = set()
    stop_at = time.perf_counter() + seconds
    rng = random.Random(11)

    async def operator(actor: Actor, first_pause: float) -> None:
        await asyncio.sleep(first_pause)
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            got = await service.claim_next(actor)
            latencies.append((time.perf_counter() - start) * 1000)
            if got is None:
                empty[0] += 1
                await asyncio.sleep(1.0)
                continue
            task_id = got["task"]["id"]
            if task_id in held:  # handed to a second operator while the first still has it
                handed[task_id] += 1
            held.add(task_id)
            handed[task_id] += 1
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            await service.record_outcome(actor, task_id,
                                         rng.choice(("paid", "no_answer", "busy")))
            held.discard(task_id)

    await asyncio.gather(*(operator(a, rng.uniform(0, 2.5)) for a in actors))
    return latencies, handed, empty[0]


def _candidate_sql(dialect, clock: Clock, user_id: int) -> tuple[str, list]:
    compiled = tasks_repo.candidate_query(user_id, clock(), clock() - timedelta(minutes=10)) \
        .compile(dialect=dialect)
    names = compiled.positiontup
    params = dict(compiled.params)
    return str(compiled), [params[n] for n in names]


def _plain_value(value):
    from datetime import datetime, timezone

    if isinstance(value, datetime):  # SQLite keeps naive UTC text, as UtcDateTime writes it
        return value.astimezone(timezone.utc).replace(tzinfo=None).strftime(
            "%Y-%m-%d %H:%M:%S.%f")
    return value


async def floor(db: Database, clock: Clock, operator_ids: list[int], count: int) -> list[float]:
    """The candidate SELECT alone with the plain driver, one at a time."""
    out: list[float] = []
    if db.is_sqlite:
        sql, args = _candidate_sql(sqlite.dialect(paramstyle="qmark"), clock, operator_ids[0])
        conn = sqlite3.connect(db._sqlite_path)
        try:
            for i in range(count):
                sql_args = [_plain_value(a) for a in args]
                start = time.perf_counter()
                conn.execute(sql, sql_args).fetchall()
                out.append((time.perf_counter() - start) * 1000)
        finally:
            conn.close()
        return out
    import asyncpg

    sql, args = _candidate_sql(postgresql.dialect(paramstyle="numeric_dollar"), clock,
                               operator_ids[0])
    args = [a.replace(tzinfo=None) if hasattr(a, "tzinfo") and a.tzinfo else a for a in args]
    conn = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        stmt = await conn.prepare(sql)
        for _ in range(count):
            start = time.perf_counter()
            await stmt.fetch(*args)
            out.append((time.perf_counter() - start) * 1000)
    finally:
        await conn.close()
    return out


async def run(label: str, url: str, operator_ids: list[int], rounds: int,
              goals: Goals, work_seconds: float) -> list[str]:
    clock = Clock()
    db = Database(url)
    service = _service(db, clock)
    actors = [Actor(uid, f"op{n}", Role.OPERATOR, name=f"op{n}")
              for n, uid in enumerate(operator_ids)]
    try:
        async with db.read() as conn:
            open_tasks = (await conn.execute(text(
                "SELECT count(*) FROM tasks WHERE status = 'open'"))).scalar_one()
        await claims(service, actors, 2, clock)  # warm-up: connections, caches
        cpu = CpuShare({"bench": __import__("os").getpid()})
        latencies, handed, empty = await claims(service, actors, rounds, clock)
        cpu_ms = claims_cpu[0] * 1000 / max(1, len(latencies))
        work_lat, work_handed, work_empty = await working(service, actors, work_seconds, clock)
        single = await alone(service, actors, 100)
        plain = await floor(db, clock, operator_ids, 500)
        doubles = sum(1 for c in handed.values() if c > 1) + \
            sum(1 for c in work_handed.values() if c > 1)
        stats, plain_stats = percentiles(latencies), percentiles(plain)
        work = percentiles(work_lat)
        ok_p99 = goals.check(f"{label} claim p99", work["p99"] < GOAL_P99_MS)
        ok_double = goals.check(f"{label} double claims", doubles == 0)
        print(f"{label}: {open_tasks:,} open tasks, {len(actors)} operators; CPU: {cpu.line()}")
        print("  " + latency_line("50 operators working, each at its pace", work) +
              f"  goal p99 < {GOAL_P99_MS:.0f} ms: {ok_p99}")
        print(f"    ({len(work_lat):,} claims in {work_seconds:.0f} s = "
              f"{len(work_lat) / work_seconds:.0f} claims/s, {work_empty} found nothing)")
        print("  " + latency_line("worst case: all 50 at the same instant", stats) +
              f"  ({rounds} rounds, {empty} found nothing; no goal: they queue)")
        print("  " + latency_line("one operator alone (no queue)", percentiles(single)))
        print(f"  CPU of this process per claim in the rounds: {cpu_ms:.2f} ms")
        print("  " + latency_line("floor: candidate SELECT, plain driver", plain_stats))
        print(f"  double claims: {doubles} (goal 0: {ok_double}); tasks handed out: "
              f"{len(handed):,}")
        return [f"{label} working p50 {work['p50']:.2f} ms p99 {work['p99']:.2f} ms; "
                f"all at once p50 {stats['p50']:.2f} ms p99 {stats['p99']:.2f} ms "
                f"(alone p50 {percentiles(single)['p50']:.2f} ms, CPU {cpu_ms:.2f} ms/claim) "
                f"(floor p50 {plain_stats['p50']:.3f} p99 {plain_stats['p99']:.3f} ms), "
                f"double claims {doubles}"]
    finally:
        await service.close()
        await db.dispose()


async def main_async(args) -> int:
    rng = random.Random(7)
    goals = Goals()
    path = WORK / "next-task.sqlite3"
    url = await migrated_sqlite(path)
    started = time.monotonic()
    builder_db = Database(url)
    operator_ids = build(path, args.tasks, rng, _service(builder_db, Clock()))
    await builder_db.dispose()
    print(f"built {args.tasks:,} tasks in {time.monotonic() - started:.1f} s")
    summary = await run("SQLite", url, operator_ids, args.rounds, goals, args.seconds)
    if args.pg:
        started = time.monotonic()
        pg_url = await fresh_pg_database(args.pg, PG_NAME)
        await copy_sqlite_to_pg(path, pg_url, TABLES)
        print(f"copied into PostgreSQL in {time.monotonic() - started:.1f} s")
        summary += await run("PostgreSQL", pg_url, operator_ids, args.rounds, goals,
                             args.seconds)
    print("summary:")
    for line in summary:
        print("  " + line)
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="how long the 50 operators work at their own pace")
    parser.add_argument("--quick", action="store_true", help="20,000 tasks, 10 rounds")
    parser.add_argument("--pg", help="a PostgreSQL server URL (a role that may create "
                                     "databases) to run on PostgreSQL too")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.rounds = min(args.tasks, 20_000), min(args.rounds, 10)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
