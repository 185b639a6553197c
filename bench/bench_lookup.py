"""Who is calling: caller lookup and the client card with 1,000,000 clients, on SQLite or
PostgreSQL (``--pg URL``), beside the plain driver doing the same query in the same run.

The database (a migrated SQLite file; 1,000,000 clients, a fifth of them with a second phone,
realistic Russian numbers: 90% mobile, the rest Moscow/St Petersburg landlines; the first
20,000 clients with 0-4 orders each) is built once with Core ``insert(...)`` executemany and
cached in ``/tmp/callcenter-bench/`` under the schema (``--rebuild`` to build it again). With
``--pg URL`` (a role that may create databases) it is copied into a database
``callcenter_bench_lookup`` on that server. Then, through the product's ``Database``:

1. number -> client ids: a number written in a random way ("8 (916) 123-45-67", "+7 916 ...",
   "79161234567", ...) -> ``normalise_phone`` -> ``client_card.client_ids_for_number`` on the
   screen pop's lane, as the server runs it; half the numbers are clients', half are not.
   Beside it the same query with the plain driver (stdlib ``sqlite3`` / one plain asyncpg
   connection). Goals: the query's p99 at most 3x the plain driver's; the whole p99 < 2 ms.
2. the client card (``ClientService.card``: phones, e-mails, orders, notes, history, calls,
   tasks) of clients with orders. Goal: p99 < 5 ms.
3. the full ``CallService.lookup`` of the screen pop (number -> card), reported.

    python bench/bench_lookup.py [--lookups 20000] [--cards 2000] [--quick] [--rebuild]
                                 [--pg postgresql+asyncpg://USER@HOST:PORT/postgres]
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

from fixtures import NOW, WORK, CpuShare, Goals, as_typed, insert_clients  # noqa: E402
from fixtures import latency_line  # noqa: E402
from fixtures import asyncpg_dsn, copy_sqlite_to_pg, fresh_pg_database  # noqa: E402
from fixtures import insert_orders, migrated_sqlite, schema_key  # noqa: E402
from fixtures import percentiles, russian_number, settings_for, sqlite_url  # noqa: E402

from sqlalchemy import select, text  # noqa: E402

from callcenter.app import build_services  # noqa: E402
from callcenter.domain.phones import normalise_phone  # noqa: E402
from callcenter.http.ws_hub import WebSocketHub  # noqa: E402
from callcenter.services.telephony import CARD_READER, Telephony  # noqa: E402
from callcenter.storage.client_card import client_ids_for_number  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from callcenter.storage.tables import client_phones  # noqa: E402

GOAL_P99_MS = 2.0
GOAL_TIMES_PLAIN = 3.0
GOAL_CARD_P99_MS = 5.0
WITH_ORDERS = 20_000  # the first clients have orders: the cards asked for are theirs
PLAIN_SQL = "SELECT client_id FROM client_phones WHERE e164 = {}"
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
    path = WORK / f"clients-{count}-{schema_key()}.sqlite3"
    if path.exists() and not rebuild:
        print(f"using the cached database {path} ({path.stat().st_size / 1e6:,.0f} MB)")
        return path
    partial = path.with_suffix(".partial")
    print(f"building {path} with {count:,} clients (once; cached afterwards) ...", flush=True)
    start = time.perf_counter()
    await migrated_sqlite(partial)
    rng = random.Random(2026)
    insert_clients(partial, client_numbers(count, rng), rng, progress=count >= 200_000)
    insert_orders(partial, range(1, min(count, WITH_ORDERS) + 1), rng)
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
        if db.is_sqlite:
            rows = await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + PLAIN_SQL.format("'+79161234567'"))
            return "; ".join(str(r[-1]) for r in rows)
        rows = await conn.exec_driver_sql("EXPLAIN " + PLAIN_SQL.format("'+79161234567'"))
        return "; ".join(str(r[0]).strip() for r in rows)


class PlainDriver:
    """The same query with the plain driver, no pool and no SQLAlchemy: stdlib ``sqlite3``
    (synchronously, as the product's quick path runs it) or one asyncpg connection."""

    def __init__(self, db: Database, path: Path | None) -> None:
        self.db, self.path = db, path
        self.sqlite: sqlite3.Connection | None = None
        self.pg = None

    async def open(self) -> None:
        if self.db.is_sqlite:
            self.sqlite = sqlite3.connect(self.path)
        else:
            import asyncpg

            self.pg = await asyncpg.connect(asyncpg_dsn(self.db.url))

    async def client_ids(self, e164: str) -> list:
        if self.sqlite is not None:
            return self.sqlite.execute(PLAIN_SQL.format("?"), (e164,)).fetchall()
        return await self.pg.fetch(PLAIN_SQL.format("$1"), e164)

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()


async def bench_numbers(db: Database, plain: PlainDriver, typed: list[tuple[str, bool]]) -> dict:
    """Each lookup through the product, then the same query with the plain driver: the two
    alternate, so whatever else the machine does falls on both alike."""
    total, normalise, query, floor = [], [], [], []
    found = {True: 0, False: 0}
    for i, (raw, known) in enumerate(typed):
        t0 = time.perf_counter()
        e164 = normalise_phone(raw).e164
        t1 = time.perf_counter()
        hits = await client_ids_for_number(db, e164, lane="telephony")
        t2 = time.perf_counter()
        rows = await plain.client_ids(e164)
        t3 = time.perf_counter()
        assert bool(hits) == known == bool(rows), (raw, e164, hits)
        if i >= WARM_UP:
            total.append((t2 - t0) * 1000)
            normalise.append((t1 - t0) * 1000)
            query.append((t2 - t1) * 1000)
            floor.append((t3 - t2) * 1000)
            found[known] += 1
    return {"total": percentiles(total), "normalise": percentiles(normalise),
            "query": percentiles(query), "floor": percentiles(floor), "found": found}


async def bench_cards(telephony: Telephony, clients, card_ids: list[int],
                      asked: list[tuple[str, bool]]) -> dict:
    cards = []
    for i, client_id in enumerate(card_ids):
        t0 = time.perf_counter()
        card = await clients.card(CARD_READER, client_id, lane="telephony")
        elapsed = (time.perf_counter() - t0) * 1000
        assert card["id"] == client_id
        if i >= WARM_UP // 5:
            cards.append(elapsed)
    times = {True: [], False: []}
    for i, (raw, known) in enumerate(asked):
        t0 = time.perf_counter()
        result = await telephony.calls.lookup(raw)
        elapsed = (time.perf_counter() - t0) * 1000
        assert (result["client"] is not None or bool(result["candidates"])) == known, raw
        if i >= WARM_UP // 5:
            times[known].append(elapsed)
    return {"card": percentiles(cards), "all": percentiles(times[True] + times[False]),
            "known": percentiles(times[True]), "unknown": percentiles(times[False])}


async def pg_database(path: Path, server_url: str, count: int) -> str:
    """The cached SQLite database copied into PostgreSQL (once per schema and size)."""
    import asyncpg

    name = "callcenter_bench_lookup"
    marker = f"{count}-{schema_key()}"
    target = None
    try:
        from sqlalchemy.engine import make_url

        target = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        conn = await asyncpg.connect(asyncpg_dsn(target))
        try:
            if await conn.fetchval("SELECT obj_description('clients'::regclass)") == marker:
                print(f"using the PostgreSQL database {name} ({count:,} clients)")
                return target
        finally:
            await conn.close()
    except (asyncpg.PostgresError, OSError):
        pass
    print(f"copying {count:,} clients into the PostgreSQL database {name} (once) ...",
          flush=True)
    start = time.perf_counter()
    target = await fresh_pg_database(server_url, name)
    await copy_sqlite_to_pg(path, target, ("shops", "clients", "client_phones", "orders"))
    conn = await asyncpg.connect(asyncpg_dsn(target))
    try:
        await conn.execute(f"COMMENT ON TABLE clients IS '{marker}'")
    finally:
        await conn.close()
    print(f"copied in {time.perf_counter() - start:.0f} s")
    return target


async def run(args: argparse.Namespace) -> int:
    path = await cached_database(args.clients, args.rebuild)
    url = sqlite_url(path)
    if args.pg:
        url = await pg_database(path, args.pg, args.clients)
    db = Database(url)
    plain = PlainDriver(db, path)
    rng = random.Random(7)
    backend = "PostgreSQL" if args.pg else "SQLite"
    try:
        print(f"{backend}; query plan: {await query_plan(db)}")
        half = (args.lookups + WARM_UP) // 2
        known, unknown = await sample_numbers(db, half, rng)
        numbers = [(as_typed(n, rng), True) for n in known] + \
                  [(as_typed(n, rng), False) for n in unknown]
        rng.shuffle(numbers)
        print(f"{len(numbers) - WARM_UP:,} lookups (+{WARM_UP} warm-up), half of them clients'")
        cpu = CpuShare({"this benchmark": os.getpid()})
        await plain.open()
        result = await bench_numbers(db, plain, numbers)

        settings = settings_for(url)
        services = build_services(settings, db, lambda: NOW)
        telephony = Telephony(settings, db, lambda: NOW, services.clients, services.accounts,
                              WebSocketHub())
        with_orders = [rng.randint(1, min(args.clients, WITH_ORDERS))
                       for _ in range(args.cards + WARM_UP // 5)]
        pbx_forms = [(rng.choice((n[1:], "8" + n[2:], n)), True) for n in known[:args.cards]]
        pbx_forms += [(rng.choice((n[1:], "8" + n[2:], n)), False) for n in unknown[:args.cards]]
        rng.shuffle(pbx_forms)
        cards = await bench_cards(telephony, services.clients, with_orders,
                                  pbx_forms[:args.cards + WARM_UP // 5])
        print(f"CPU while measuring: {cpu.line()}\n")
    finally:
        await plain.close()
        await db.dispose()

    t, q, f, c, k = result["total"], result["query"], result["floor"], cards["all"], cards["card"]
    plain_name = "plain sqlite3" if db.is_sqlite else "plain asyncpg"
    print(latency_line("number -> client ids (normalise + query)", t))
    print(latency_line("  of which normalise_phone", result["normalise"]))
    print(latency_line("  of which client_ids_for_number", q))
    print(latency_line(f"  the same query in {plain_name}", f))
    print(f"  found: {result['found'][True]:,} clients' numbers, "
          f"{result['found'][False]:,} unknown (all as expected)")
    print(latency_line("client card (ClientService.card, one query)", k))
    print(latency_line("CallService.lookup (number -> card)", c))
    print(latency_line("  known callers (card built)", cards["known"]))
    print(latency_line("  unknown numbers", cards["unknown"]))
    goals = Goals()
    ratio = q["p99"] / f["p99"]
    print("\nsummary:")
    print(f"  lookup.number_to_client_ids  p50 {t['p50']:.3f} ms  p99 {t['p99']:.3f} ms  "
          f"(goal p99 < {GOAL_P99_MS:g} ms: "
          f"{goals.check('lookup.number_to_client_ids', t['p99'] < GOAL_P99_MS)})  "
          f"[{args.clients:,} clients, {backend}]")
    print(f"  lookup.query_vs_plain        p99 {q['p99']:.3f} ms vs {plain_name} "
          f"{f['p99']:.3f} ms = {ratio:.1f}x  (goal <= {GOAL_TIMES_PLAIN:g}x: "
          f"{goals.check('lookup.query_vs_plain', ratio <= GOAL_TIMES_PLAIN)})")
    print(f"  lookup.card                  p50 {k['p50']:.2f} ms  p99 {k['p99']:.2f} ms  "
          f"(goal p99 < {GOAL_CARD_P99_MS:g} ms: "
          f"{goals.check('lookup.card', k['p99'] < GOAL_CARD_P99_MS)})")
    print(f"  lookup.call_service_lookup   p50 {c['p50']:.2f} ms  p99 {c['p99']:.2f} ms  "
          f"(known callers p99 {cards['known']['p99']:.2f} ms)")
    return goals.exit_code()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--cards", type=int, default=2_000,
                        help="cards and CallService.lookup calls")
    parser.add_argument("--rebuild", action="store_true", help="build the cached database again")
    parser.add_argument("--pg", metavar="URL",
                        help="run on PostgreSQL: a postgresql+asyncpg:// URL of a role that may "
                             "create databases (the database callcenter_bench_lookup is made)")
    parser.add_argument("--quick", action="store_true", help="4,000 lookups, 500 cards")
    args = parser.parse_args(argv)
    if args.quick:
        args.lookups, args.cards = 4_000, 500
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
