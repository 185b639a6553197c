"""The live count of a segment among 100,000 clients with 300,000 orders.

Builds once (cached under /tmp/callcenter-bench/, rebuilt when a migration changes) a database
with ``--clients`` clients (cities, regions, birthdays, tags, an e-mail for most, a phone for
all) and three orders each over the last two years (1-3 items of a few products); then times,
over ``--runs`` runs each, ``storage.segments.count_segment`` — the one query the segment
builder runs as the filter changes — for filters of each kind, and beside them the floor: the
plain driver's ``SELECT count(*)`` over the clients and over the orders.

Goal: p99 of each count < 1 s (the builder's count follows typing).  SQLite always;
PostgreSQL too with ``--pg URL`` (a role that may create databases).  Exits 1 when a goal is
missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fixtures import (  # noqa: E402
    WORK, Goals, _bulk_engine, copy_sqlite_to_pg, fresh_pg_database, migrated_sqlite,
    percentiles, schema_key,
)
from callcenter.domain.segments import compile_bounds, validate_filter  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from callcenter.storage.segments import count_segment  # noqa: E402
from callcenter.storage.tables import (  # noqa: E402
    client_emails, client_phones, clients, orders, shops,
)
from sqlalchemy import insert, text  # noqa: E402

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CITIES = [("Москва", "Москва"), ("Санкт-Петербург", "Санкт-Петербург"),
          ("Екатеринбург", "Свердловская область"), ("Казань", "Татарстан"),
          ("Новосибирск", "Новосибирская область"), ("Тула", "Тульская область")]
TAGS = ["vip", "опт", "розница", "новый", "постоянный"]
PRODUCTS = [("K-1", "Чайник электрический"), ("F-2", "Фильтр для воды"),
            ("TV-55", "Телевизор 55\""), ("M-7", "Микроволновая печь"), ("L-3", "Лампа")]
TABLES = ("shops", "clients", "client_phones", "client_emails", "orders")
FILTERS = {
    "city": {"cities": ["Москва", "казань"]},
    "age + tags": {"age_min": 25, "age_max": 45, "tags_any": ["vip", "опт"]},
    "orders + spend": {"orders_min": 2, "spent_min": "20000"},
    "last order 30 days": {"last_order_within_days": 30},
    "product (Cyrillic)": {"product": "чайник"},
    "combined": {"cities": ["Москва"], "has_email": True, "orders_min": 1,
                 "product": "фильтр", "last_order_after": "2026-01-01"},
}
GOAL_SECONDS = 1.0


def build(path: Path, n_clients: int, per_client: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = _bulk_engine(path)
    try:
        with engine.begin() as conn:
            shop_ids = [conn.execute(insert(shops).values(
                slug=f"shop-{i}", name=f"Магазин {i}", created_at=NOW)
                .returning(shops.c.id)).scalar_one() for i in range(2)]
        order_no = 0
        for start in range(1, n_clients + 1, 20_000):
            batch_c, batch_p, batch_e, batch_o = [], [], [], []
            for cid in range(start, min(start + 20_000, n_clients + 1)):
                city, region = rng.choice(CITIES)
                name = f"Клиент {cid}"
                batch_c.append({
                    "id": cid, "name": name, "search_name": name.casefold(), "city": city,
                    "region": region, "timezone": None, "tags": rng.sample(TAGS, rng.randint(0, 2)),
                    "birthday": date(1950, 1, 1) + timedelta(days=rng.randrange(20_000)),
                    "do_not_call": rng.random() < 0.02, "created_at": NOW, "updated_at": NOW})
                e164 = f"+7916{cid:07d}"
                batch_p.append({"client_id": cid, "number": e164, "e164": e164, "position": 0})
                if rng.random() < 0.8:
                    batch_e.append({"client_id": cid, "email": f"c{cid}@example.com",
                                    "position": 0})
                for _ in range(per_client):
                    order_no += 1
                    items = [{"sku": sku, "name": pname, "qty": 1,
                              "price": f"{rng.randrange(300, 20000)}.00"}
                             for sku, pname in rng.sample(PRODUCTS, rng.randint(1, 3))]
                    batch_o.append({
                        "shop_id": rng.choice(shop_ids), "client_id": cid,
                        "number": f"N{order_no}", "number_key": f"n{order_no}",
                        "status": "delivered", "currency": "RUB", "items": items,
                        "total": sum(Decimal(i["price"]) for i in items),
                        "created_at": NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
                        "updated_at": NOW})
            with engine.begin() as conn:
                conn.execute(insert(clients), batch_c)
                conn.execute(insert(client_phones), batch_p)
                conn.execute(insert(client_emails), batch_e)
                conn.execute(insert(orders), batch_o)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


async def measure(url: str, runs: int, goals: Goals, label: str) -> list[str]:
    db = Database(url)
    lines = []
    try:
        async with db.read() as conn:
            for table in ("clients", "orders"):
                times = []
                for _ in range(runs):
                    began = time.perf_counter()
                    n = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                    times.append(time.perf_counter() - began)
                stats = percentiles([t * 1000 for t in times])
                line = (f"{label} floor: SELECT count(*) FROM {table} = {n:,}: "
                        f"p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms")
                print(line)
                lines.append(line)
            for name, raw in FILTERS.items():
                flt = validate_filter(raw)
                bounds = compile_bounds(flt, NOW.date(), NOW)
                times = []
                for _ in range(runs):
                    began = time.perf_counter()
                    count = await count_segment(conn, flt, bounds)
                    times.append(time.perf_counter() - began)
                stats = percentiles([t * 1000 for t in times])
                ok = goals.check(f"{label} {name}", stats["p99"] / 1000 < GOAL_SECONDS)
                line = (f"{label} count {name!r} = {count:,}: p50 {stats['p50']:.0f} ms, "
                        f"p99 {stats['p99']:.0f} ms (goal < {GOAL_SECONDS:.0f} s) {ok}")
                print(line, flush=True)
                lines.append(line)
    finally:
        await db.dispose()
    return lines


async def main_async(args) -> int:
    goals = Goals()
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"segments-{args.clients}-{args.orders_per_client}-{schema_key()}.sqlite3"
    if not path.exists():
        print(f"building {args.clients:,} clients, {args.clients * args.orders_per_client:,} "
              "orders (once) ...", flush=True)
        partial = path.with_suffix(".partial")
        await migrated_sqlite(partial)
        began = time.perf_counter()
        build(partial, args.clients, args.orders_per_client)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - began:.0f} s")
    lines = await measure(f"sqlite+aiosqlite:///{path}", args.runs, goals, "SQLite")
    if args.pg:
        url = await fresh_pg_database(args.pg, "bench_segments")
        await copy_sqlite_to_pg(path, url, TABLES)
        lines += await measure(url, args.runs, goals, "PostgreSQL")
    print("summary:")
    for line in lines:
        print("  " + line)
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--orders-per-client", type=int, default=3)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg", help="PostgreSQL server URL (a role that may create databases)")
    parser.add_argument("--quick", action="store_true", help="10,000 clients, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.runs = 10_000, 3
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
