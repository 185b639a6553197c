"""Who is calling: caller lookup with 1,000,000 clients on SQLite.

The database (a migrated SQLite file; 1,000,000 clients, a fifth of them with a second phone,
realistic Russian numbers: 90% mobile, the rest Moscow/St Petersburg landlines) is built once with
Core ``insert(...)`` executemany and cached in ``/tmp/callcenter-bench/`` under the schema head
(``--rebuild`` to build it again).  Then, through the product's ``Database`` (WAL, as served):

1. number -> client ids: a number written in a random way ("8 (916) 123-45-67", "+7 916 ...",
   "79161234567", ...) -> ``normalise_phone`` -> ``storage.clients.client_ids_by_phone``, on a
   connection from the pool like the server; half the numbers are clients', half are not.
   Goal: p99 < 2 ms.
2. the full ``CallService.lookup`` of the screen pop (the whole client card: phones, e-mails,
   orders, notes, history, calls, tasks), reported separately.

    python bench/bench_lookup.py [--lookups 20000] [--cards 2000] [--quick] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import NOW, WORK, CpuShare, as_typed, insert_clients, latency_line  # noqa: E402
from fixtures import migrated_sqlite  # noqa: E402
from fixtures import percentiles, russian_number, settings_for, sqlite_url, verdict  # noqa: E402

from sqlalchemy import select, text  # noqa: E402

from callcenter.app import build_services  # noqa: E402
from callcenter.domain.phones import normalise_phone  # noqa: E402
from callcenter.http.ws_hub import WebSocketHub  # noqa: E402
from callcenter.services.telephony import Telephony  # noqa: E402
from callcenter.storage.clients import client_ids_by_phone  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from callcenter.storage.migrate import head_revision  # noqa: E402
from callcenter.storage.tables import client_phones  # noqa: E402

GOAL_P99_MS = 2.0
WARM_UP = 500


def client_numbers(count: int, rng: random.Random):
    """``count`` lists of distinct E.164 numbers (one or two per client), generated lazily."""
    seen: set[str] = set()

    def fresh() -> str:
        while True:
            number = russian_number(rng)
            if number not in seen:
                seen.add(number)
                return number

    for _ in range(count):
        yield [fresh(), fresh()] if rng.random() < 0.2 else [fresh()]


async def cached_database(count: int, rebuild: bool) -> Path:
    path = WORK / f"clients-{count}-{head_revision()}.sqlite3"
    if path.exists() and not rebuild:
        print(f"using the cached database {path} ({path.stat().st_size / 1e6:,.0f} MB)")
        return path
    partial = path.with_suffix(".partial")
    print(f"building {path} with {count:,} clients (once; cached afterwards) ...", flush=True)
    start = time.perf_counter()
    await migrated_sqlite(partial)
    rng = random.Random(2026)
    insert_clients(partial, client_numbers(count, rng), rng, progress=count >= 200_000)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    print(f"built in {time.perf_counter() - start:.0f} s ({path.stat().st_size / 1e6:,.0f} MB)")
    return path


async def sample_numbers(db: Database, count: int, rng: random.Random) -> tuple[list, list]:
    """``count`` numbers of clients and ``count`` numbers nobody has (E.164)."""
    async with db.read() as conn:
        top = (await conn.execute(text("SELECT max(id) FROM client_phones"))).scalar_one()
        ids = rng.sample(range(1, top + 1), count)
        known: list[str] = []
        for i in range(0, count, 500):
            rows = await conn.execute(select(client_phones.c.e164)
                                      .where(client_phones.c.id.in_(ids[i:i + 500])))
            known += [r.e164 for r in rows]
        unknown: list[str] = []
        while len(unknown) < count:
            batch = list({russian_number(rng) for _ in range(500)})
            taken = {r.e164 for r in await conn.execute(
                select(client_phones.c.e164).where(client_phones.c.e164.in_(batch)))}
            unknown += [n for n in batch if n not in taken]
    return known, unknown[:count]


async def query_plan(db: Database) -> str:
    async with db.read() as conn:
        rows = await conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT client_phones.client_id, client_phones.e164 "
            "FROM client_phones WHERE client_phones.e164 IN ('+79161234567')")
        return "; ".join(str(r[-1]) for r in rows)


async def bench_numbers(db: Database, typed: list[tuple[str, bool]]) -> dict:
    total, normalise, query = [], [], []
    found = {True: 0, False: 0}
    for i, (raw, known) in enumerate(typed):
        t0 = time.perf_counter()
        e164 = normalise_phone(raw).e164
        t1 = time.perf_counter()
        async with db.read() as conn:
            hits = await client_ids_by_phone(conn, [e164])
        t2 = time.perf_counter()
        assert bool(hits) == known, (raw, e164, hits)
        if i >= WARM_UP:
            total.append((t2 - t0) * 1000)
            normalise.append((t1 - t0) * 1000)
            query.append((t2 - t1) * 1000)
            found[known] += 1
    return {"total": percentiles(total), "normalise": percentiles(normalise),
            "query": percentiles(query), "found": found}


def bench_sqlite_floor(path: Path, typed: list[tuple[str, bool]]) -> dict:
    """The same lookups with the stdlib ``sqlite3`` module, synchronously: what SQLite and the
    index cost by themselves (no pool, no SQLAlchemy, no aiosqlite thread)."""
    conn = sqlite3.connect(path)
    try:
        times = []
        for i, (raw, known) in enumerate(typed):
            e164 = normalise_phone(raw).e164
            t0 = time.perf_counter()
            rows = conn.execute("SELECT client_id, e164 FROM client_phones WHERE e164 IN (?)",
                                (e164,)).fetchall()
            elapsed = (time.perf_counter() - t0) * 1000
            assert bool(rows) == known
            if i >= WARM_UP:
                times.append(elapsed)
    finally:
        conn.close()
    return percentiles(times)


async def bench_cards(telephony: Telephony, asked: list[tuple[str, bool]]) -> dict:
    times = {True: [], False: []}
    for i, (raw, known) in enumerate(asked):
        t0 = time.perf_counter()
        result = await telephony.calls.lookup(raw)
        elapsed = (time.perf_counter() - t0) * 1000
        assert (result["client"] is not None or bool(result["candidates"])) == known, raw
        if i >= WARM_UP // 5:
            times[known].append(elapsed)
    return {"all": percentiles(times[True] + times[False]), "known": percentiles(times[True]),
            "unknown": percentiles(times[False])}


async def run(args: argparse.Namespace) -> int:
    path = await cached_database(args.clients, args.rebuild)
    url = sqlite_url(path)
    db = Database(url)
    rng = random.Random(7)
    try:
        print(f"query plan: {await query_plan(db)}")
        half = (args.lookups + WARM_UP) // 2
        known, unknown = await sample_numbers(db, half, rng)
        numbers = [(as_typed(n, rng), True) for n in known] + \
                  [(as_typed(n, rng), False) for n in unknown]
        rng.shuffle(numbers)
        print(f"{len(numbers) - WARM_UP:,} lookups (+{WARM_UP} warm-up), half of them clients'")
        cpu = CpuShare({"this benchmark": os.getpid()})
        result = await bench_numbers(db, numbers)
        floor = bench_sqlite_floor(path, numbers)

        settings = settings_for(url)
        services = build_services(settings, db, lambda: NOW)
        telephony = Telephony(settings, db, lambda: NOW, services.clients, services.accounts,
                              WebSocketHub())
        pbx_forms = [(rng.choice((n[1:], "8" + n[2:], n)), True) for n in known[:args.cards]]
        pbx_forms += [(rng.choice((n[1:], "8" + n[2:], n)), False) for n in unknown[:args.cards]]
        rng.shuffle(pbx_forms)
        cards = await bench_cards(telephony, pbx_forms[:args.cards + WARM_UP // 5])
        print(f"CPU while measuring: {cpu.line()}\n")
    finally:
        await db.dispose()

    t, c = result["total"], cards["all"]
    print(latency_line("number -> client ids (normalise + query)", t))
    print(latency_line("  of which normalise_phone", result["normalise"]))
    print(latency_line("  of which client_ids_by_phone (+ pool)", result["query"]))
    print(latency_line("  (the query in plain sqlite3, for scale)", floor))
    print(f"  found: {result['found'][True]:,} clients' numbers, "
          f"{result['found'][False]:,} unknown (all as expected)")
    print(latency_line("CallService.lookup (whole card)", c))
    print(latency_line("  known callers (card built)", cards["known"]))
    print(latency_line("  unknown numbers", cards["unknown"]))
    print("\nsummary:")
    print(f"  lookup.number_to_client_ids  p50 {t['p50']:.2f} ms  p99 {t['p99']:.2f} ms  "
          f"(goal p99 < {GOAL_P99_MS:g} ms: {verdict(t['p99'] < GOAL_P99_MS)})  "
          f"[{args.clients:,} clients]")
    print(f"  lookup.call_service_lookup   p50 {c['p50']:.2f} ms  p99 {c['p99']:.2f} ms  "
          f"(known callers p99 {cards['known']['p99']:.2f} ms)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--cards", type=int, default=2_000, help="full CallService.lookup calls")
    parser.add_argument("--rebuild", action="store_true", help="build the cached database again")
    parser.add_argument("--quick", action="store_true", help="4,000 lookups, 500 cards")
    args = parser.parse_args(argv)
    if args.quick:
        args.lookups, args.cards = 4_000, 500
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
