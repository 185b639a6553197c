"""What the benchmarks share: migrated SQLite files, operators, clients, phone numbers, percentiles.

Not a benchmark itself.  Everything here builds state *before* a timed section starts:

* :func:`migrated_sqlite` copies a migrated template (built once per schema head and kept in
  ``/tmp/callcenter-bench/``), so a benchmark does not pay Alembic's start-up each run;
* :func:`cheap_passwords` makes argon2 cheap for benchmark users (the hash records its own
  parameters, so the server's login verifies it just as cheaply; passwords are not what we measure);
* :func:`insert_clients` bulk-inserts clients and phones with SQLAlchemy Core ``executemany``;
* :func:`russian_number` / :func:`as_typed` make realistic Russian E.164 numbers and the many
  ways people and PBXs write them.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import shutil
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, event, insert  # noqa: E402

from callcenter.config import Settings, load_settings  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from callcenter.storage.migrate import head_revision, upgrade  # noqa: E402
from callcenter.storage.tables import client_phones, clients  # noqa: E402

WORK = Path("/tmp/callcenter-bench")
TRACES = ROOT / "tests" / "traces"
PASSWORD = "bench-password"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

FIRST = ("Иван", "Мария", "Ольга", "Алексей", "Сергей", "Анна", "Дмитрий", "Елена", "Наталья",
         "Андрей", "Татьяна", "Михаил", "Юлия", "Павел", "Светлана", "Николай")
LAST = ("Петров", "Смирнова", "Кузнецова", "Иванов", "Соколов", "Попова", "Лебедев", "Козлова",
        "Новиков", "Морозова", "Волков", "Соловьёва", "Васильев", "Зайцева", "Павлов", "Голубева")
CITIES = (("Москва", "Europe/Moscow"), ("Санкт-Петербург", "Europe/Moscow"),
          ("Новосибирск", "Asia/Novosibirsk"), ("Екатеринбург", "Asia/Yekaterinburg"),
          ("Казань", "Europe/Moscow"), ("Калининград", "Europe/Kaliningrad"),
          ("Владивосток", "Asia/Vladivostok"), (None, None))
# mobile ranges dominate what a shop's customers call from; a few Moscow/St Petersburg landlines
_MOBILE_CODES = tuple(range(900, 940)) + tuple(range(950, 970)) + tuple(range(977, 1000))
_LANDLINE_CODES = (495, 499, 812)


# -- numbers and statistics -------------------------------------------------------------------

def russian_number(rng: random.Random) -> str:
    """A plausible Russian E.164 number, ``+7XXXXXXXXXX`` (90% mobile)."""
    code = rng.choice(_MOBILE_CODES) if rng.random() < 0.9 else rng.choice(_LANDLINE_CODES)
    return f"+7{code}{rng.randrange(10**7):07d}"


def as_typed(e164: str, rng: random.Random) -> str:
    """``e164`` (+7...) written one of the ways an operator, a shop or Asterisk writes it."""
    d = e164[2:]  # 10 national digits
    a, b, c, e = d[:3], d[3:6], d[6:8], d[8:]
    return rng.choice((
        f"+7{d}", f"7{d}", f"8{d}", f"8 ({a}) {b}-{c}-{e}", f"+7 ({a}) {b}-{c}-{e}",
        f"+7 {a} {b} {c} {e}", f"8-{a}-{b}-{c}-{e}", f"{a} {b} {c} {e}", d,
    ))


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """count, p50, p90, p99, max of ``values`` (nearest-rank)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan}

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {"count": len(ordered), "p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99),
            "max": ordered[-1]}


def latency_line(label: str, stats: dict[str, float], unit: str = "ms") -> str:
    return (f"{label:<44} n={stats['count']:>6,}  p50 {stats['p50']:7.2f}  p90 {stats['p90']:7.2f}"
            f"  p99 {stats['p99']:7.2f}  max {stats['max']:8.2f} {unit}")


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


class Goals:
    """The goals a benchmark checks; its exit status says whether all were met.

    ``check`` returns the verdict to print beside a figure and remembers a miss; ``exit_code``
    prints the misses and is what ``main`` returns, so ``make bench`` fails on any of them.
    """

    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, name: str, ok: bool) -> str:
        if not ok:
            self.missed.append(name)
        return verdict(ok)

    def exit_code(self) -> int:
        if self.missed:
            print(f"goals missed: {', '.join(self.missed)}")
            return 1
        print("all goals met")
        return 0


def listening_socket() -> socket.socket:
    """A loopback TCP socket on a port the OS picked, already listening: give it to the server
    (``web.SockSite``, or ``callcenter serve --listen-fd`` in a child), so no other process can
    take the port between choosing and serving."""
    return socket.create_server(("127.0.0.1", 0))


# -- databases --------------------------------------------------------------------------------

def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def settings_for(db_url: str, **overrides: object) -> Settings:
    env = {"CALLCENTER_DB_URL": db_url, "CALLCENTER_SECRET_KEY": "bench-secret-key",
           "CALLCENTER_LOG_LEVEL": "WARNING", "CALLCENTER_RECORDINGS_DIR": str(WORK / "recordings")}
    settings = load_settings(environ=env)
    return settings.replace(**overrides) if overrides else settings


def schema_key() -> str:
    """The schema head and a digest of every migration file: cached databases are rebuilt
    when a migration changes, even one edited in place under the same revision."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "callcenter" / "storage" / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return f"{head_revision()}-{digest.hexdigest()[:8]}"


async def migrated_sqlite(path: Path) -> str:
    """A freshly migrated SQLite file at ``path`` (replacing any); returns its URL."""
    WORK.mkdir(parents=True, exist_ok=True)
    template = WORK / f"template-{schema_key()}.sqlite3"
    if not template.exists():
        partial = template.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        db = Database(sqlite_url(partial))
        try:
            await upgrade(db)
        finally:
            await db.dispose()
        partial.rename(template)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, path)
    return sqlite_url(path)


async def fresh_pg_database(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the PostgreSQL server of ``server_url``, dropped and
    created empty, then migrated."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = await asyncpg.connect(user=url.username, password=url.password, host=url.host,
                                  port=url.port or 5432, database=url.database or "postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    target = url.set(database=name).render_as_string(hide_password=False)
    db = Database(target)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    return target


def asyncpg_dsn(url: str) -> str:
    """A ``postgresql+asyncpg://`` URL as a DSN plain asyncpg takes."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def copy_sqlite_to_pg(path: Path, url: str, tables: Sequence[str]) -> None:
    """Copy the rows of ``tables`` from the SQLite file at ``path`` into the (migrated, empty)
    PostgreSQL database at ``url`` with COPY, and move the id sequences past them."""
    import json as _json
    import sqlite3

    import asyncpg

    from callcenter.storage.tables import metadata

    src = sqlite3.connect(path)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for name in tables:
            table = metadata.tables[name]
            columns = [c.name for c in table.columns]
            converters = []
            for c in table.columns:
                kind = type(c.type).__name__
                if kind == "UtcDateTime":
                    converters.append(lambda v: v and datetime.fromisoformat(v))
                elif kind == "JSON":
                    converters.append(lambda v: v if v is None else _json.dumps(_json.loads(v)))
                elif kind == "Boolean":
                    converters.append(lambda v: v if v is None else bool(v))
                elif kind == "Numeric":
                    from decimal import Decimal
                    converters.append(lambda v: v if v is None else Decimal(str(v)))
                elif kind == "Date":
                    from datetime import date
                    converters.append(lambda v: v and date.fromisoformat(v))
                else:
                    converters.append(lambda v: v)
            cursor = src.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} "
                                 f"FROM {name}")
            while True:
                chunk = cursor.fetchmany(50_000)
                if not chunk:
                    break
                records = [tuple(f(v) for f, v in zip(converters, row)) for row in chunk]
                await conn.copy_records_to_table(name, records=records, columns=columns)
            if "id" in columns:
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                   f"coalesce((SELECT max(id) FROM {name}), 1))")
        await conn.execute("ANALYZE")
    finally:
        src.close()
        await conn.close()


def cheap_passwords(accounts) -> None:
    """Make ``AccountService`` hash benchmark passwords with argon2's cheapest parameters."""
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def create_operators(accounts, count: int, *, first_extension: int = 1000,
                           prefix: str = "op") -> list[dict]:
    """``count`` operators ``op1000``... on softphones ``PJSIP/1000``..., password PASSWORD."""
    from callcenter.services.context import Actor

    cheap_passwords(accounts)
    actor = Actor.system("bench")
    users = []
    for i in range(count):
        ext = first_extension + i
        users.append(await accounts.create_user(actor, {
            "login": f"{prefix}{ext}", "name": f"Оператор {ext}", "role": "operator",
            "extension": f"PJSIP/{ext}", "password": PASSWORD}))
    return users


def _bulk_engine(path: Path):
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection, _record) -> None:  # a throw-away build: durability not needed
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.close()

    return engine


def insert_clients(path: Path, numbers: Iterable[Sequence[str]], rng: random.Random, *,
                   chunk: int = 50_000, progress: bool = False) -> int:
    """Bulk-insert one client per item of ``numbers`` (its phones, E.164) into the SQLite file
    at ``path`` with Core ``insert(...)`` + executemany; returns the clients inserted.

    Client ids are assigned here (max(id) + 1 ...) so that phones can be inserted in the same
    batch without reading ids back."""
    engine = _bulk_engine(path)
    total = 0
    try:
        with engine.begin() as conn:
            next_id = (conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM clients")
                       .scalar_one()) + 1
        batch_clients: list[dict] = []
        batch_phones: list[dict] = []

        def flush() -> None:
            with engine.begin() as conn:
                conn.execute(insert(clients), batch_clients)
                conn.execute(insert(client_phones), batch_phones)
            batch_clients.clear()
            batch_phones.clear()

        for phones in numbers:
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            city, tz = rng.choice(CITIES)
            batch_clients.append({
                "id": next_id, "name": name, "search_name": name.casefold(), "company": None,
                "notes": None, "timezone": tz, "city": city, "region": None, "tags": [],
                "assigned_operator_id": None, "birthday": None, "do_not_call": False,
                "created_at": NOW, "updated_at": NOW})
            for position, e164 in enumerate(phones):
                batch_phones.append({"client_id": next_id, "number": as_typed(e164, rng),
                                     "e164": e164, "extension": None,
                                     "label": "mobile" if e164[2] == "9" else "work",
                                     "position": position})
            next_id += 1
            total += 1
            if len(batch_clients) >= chunk:
                flush()
                if progress:
                    print(f"  ... {total:,} clients", flush=True)
        if batch_clients:
            flush()
    finally:
        engine.dispose()
    return total


def insert_orders(path: Path, client_ids: Iterable[int], rng: random.Random,
                  most: int = 4) -> int:
    """0..``most`` orders (1-3 items each) of one shop for each client; returns the orders."""
    from decimal import Decimal

    from callcenter.storage.tables import orders, shops

    engine = _bulk_engine(path)
    try:
        with engine.begin() as conn:
            shop_id = conn.execute(insert(shops).values(
                slug=f"bench-{rng.randrange(10**9)}", name="Техномир", token_hash=None,
                created_at=NOW).returning(shops.c.id)).scalar_one()
            rows = []
            for client_id in client_ids:
                for n in range(rng.randint(0, most)):
                    items = [{"sku": f"K-{rng.randrange(1000)}", "name": "Чайник электрический",
                              "qty": rng.randint(1, 3), "price": f"{rng.randrange(300, 9000)}.00"}
                             for _ in range(rng.randint(1, 3))]
                    total = sum(Decimal(i["price"]) * i["qty"] for i in items)
                    number = f"TM-{client_id}-{n}"
                    rows.append({"shop_id": shop_id, "client_id": client_id,
                                 "external_id": number, "number": number,
                                 "number_key": number.casefold(), "status": "delivered",
                                 "total": total, "currency": "RUB", "items": items,
                                 "created_at": NOW, "updated_at": NOW})
            if rows:
                conn.execute(insert(orders), rows)
    finally:
        engine.dispose()
    return len(rows)


class LoopLag:
    """How late this process's event loop wakes up: a busy loop delays every time noted in it,
    so a benchmark reports this beside latencies it measured from inside the loop."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - before - self.interval)

    def take_ms(self) -> float:
        """The worst lag since the last call, in ms."""
        worst, self.worst = self.worst, 0.0
        return worst * 1000

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores together have spent busy since boot (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuShare:
    """CPU used by some processes over a stretch of time, and by everything else on the
    machine: on a shared box, what other people run explains many a latency tail."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start = self._now()

    def _now(self) -> tuple[float, float, dict[str, float]]:
        return (time.monotonic(), machine_busy_seconds(),
                {name: process_cpu_seconds(pid) for name, pid in self.pids.items()})

    def line(self) -> str:
        """``"server 23%, browsers 15%, other processes 80%"`` (of one core) since the start."""
        wall0, busy0, mine0 = self._start
        wall, busy, mine = self._now()
        wall = max(wall - wall0, 1e-9)
        used = {name: (mine[name] - mine0[name]) / wall for name in mine}
        others = max(0.0, (busy - busy0) / wall - sum(used.values()))
        parts = [f"{name} {share:.0%}" for name, share in used.items()]
        return ", ".join(parts + [f"other processes {others:.0%}"]) + \
            f" of one core ({os.cpu_count()} cores)"


async def wait_http(url: str, server, log: Path, timeout: float = 30) -> None:
    """Wait until ``url`` answers 200 from the server process ``server`` (a Popen)."""
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}); see {log}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer in {timeout:.0f} s; see {log}")
            await asyncio.sleep(0.1)
