"""How long an XLSX export of N orders takes and how much memory it holds, against the floor of
a plain openpyxl write-only workbook of the same rows.

    .venv/bin/python bench/bench_exports_xlsx.py [rows]   (default 100000; SQLite file in /tmp)

Rows are inserted straight into a fresh SQLite database, then exported through
DocumentService.export_orders (the same path as GET /api/orders/export.xlsx): pages of 2000
rows through the order list's query, appended in a worker thread. Memory: the process's peak resident size after each
phase (the floor runs first).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import resource
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import insert

from callcenter.services.clients import ClientService
from callcenter.services.context import Actor
from callcenter.services.documents import DocumentService
from callcenter.services.orders import OrderService
from callcenter.storage.database import Database
from callcenter.storage.migrate import upgrade
from callcenter.storage.tables import clients, orders, shops

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


async def seed(db: Database, n: int) -> None:
    async with db.write() as conn:
        await conn.execute(insert(shops).values(id=1, slug="bench", name="Техномир",
                                                created_at=NOW))
        await conn.execute(insert(clients), [
            {"id": i, "name": f"Клиент Ёлкин {i}", "search_name": f"клиент елкин {i}",
             "tags": [], "do_not_call": False, "created_at": NOW, "updated_at": NOW}
            for i in range(1, n // 10 + 2)])
        for start in range(0, n, 5000):
            await conn.execute(insert(orders), [
                {"shop_id": 1, "client_id": i % (n // 10) + 1, "number": f"B-{i}",
                 "number_key": f"b-{i}", "status": "new", "total": Decimal("1234.50"),
                 "currency": "RUB",
                 "items": [{"sku": None, "name": "Чайник", "qty": 1, "price": "1234.50"}],
                 "created_at": NOW - timedelta(minutes=i), "updated_at": NOW}
                for i in range(start, min(n, start + 5000))])


def floor(path: Path, n: int) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    for i in range(n):
        sheet.append([i, f"B-{i}", "Техномир", f"Клиент Ёлкин {i}", "Новый", None,
                      Decimal("1234.50"), "RUB", "Чайник × 1", NOW.replace(tzinfo=None),
                      NOW.replace(tzinfo=None)])
    book.save(path)


def measure(label: str, fn) -> None:
    # tracemalloc slows openpyxl several times over: time without it, then the peak resident
    # size (monotonic, so the export's rise over the floor's shows what it holds)
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:34s} {seconds:7.2f} s   process peak RSS {peak:7.1f} MB")


async def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-xlsx-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    db = Database(url)
    await upgrade(db)
    await seed(db, n)
    clock = lambda: NOW  # noqa: E731
    client_service = ClientService(db, clock, region="RU", shop_timezone="Europe/Moscow",
                                   own_clients_only=False)
    service = DocumentService(db, clock, client_service, OrderService(db, clock, client_service),
                              documents_dir=folder, timezone="Europe/Moscow")
    admin = Actor.system("bench")
    out = folder / "orders.xlsx"
    loop = asyncio.get_running_loop()

    def export():
        asyncio.run_coroutine_threadsafe(service.export_orders(
            admin, out, client_id=None, q=None, status=None, lang="ru"), loop).result()

    print(f"{n} orders")
    await asyncio.to_thread(measure, "floor: plain openpyxl write-only", lambda: floor(
        folder / "floor.xlsx", n))
    await asyncio.to_thread(measure, "export_orders (pages of 2000)", export)
    print(f"file {out.stat().st_size / 1048576:.1f} MB")
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
