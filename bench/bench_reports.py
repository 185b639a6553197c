"""A month's reports over a year of history: 1,000,000 calls, 50 operators.

Builds once (cached under /tmp/callcenter-bench/, rebuilt when a migration changes) a database
with ``--calls`` calls spread over the 12 months before 2026-11-23, ~4 agent-state changes per
answered call plus pauses, redial and callback tasks with their attempts, and confirmed orders;
then times, over ``--runs`` runs each:

* (a) the real reports as the API builds them (``ReportService.operators`` / ``.queues`` for
  October 2026, every query of them), on the plain GROUP BY over the covering indexes of
  migration 0011, with the operators' state time of days that are over kept per day (the
  first report over those days computes and keeps them: printed once, "cold"); beside it the
  state time computed straight from the month's state changes;
* the floor beside it: the plain driver's ``SELECT count(*)`` over the month's calls, and a bare
  GROUP BY of the same rows by operator, direction and outcome;
* (b) the pre-aggregated alternative: the month's call figures from a table of per
  (UTC quarter-hour, operator, endpoint, direction, outcome, outcome pressed, queue) sums, built
  here from the calls (the product does not keep such a table: see the README's "Reports").

Goal: p99 of each report < 1 s.  SQLite always; PostgreSQL too with ``--pg URL`` (a role that
may create databases).  Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fixtures import (  # noqa: E402
    WORK, Goals, asyncpg_dsn, copy_sqlite_to_pg, fresh_pg_database, migrated_sqlite,
    percentiles, schema_key, sqlite_url,
)
from callcenter.domain.calling_hours import parse_calling_hours  # noqa: E402
from callcenter.domain.report_periods import parse_period  # noqa: E402
from callcenter.services.context import Actor  # noqa: E402
from callcenter.services.reports import ReportService  # noqa: E402
from callcenter.storage import reports as repo  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from sqlalchemy import text  # noqa: E402

END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
ZONE = "Europe/Moscow"
MONTH = {"from": "2026-10-01", "to": "2026-10-31"}
OPERATORS = 50
TABLES = ("users", "shops", "clients", "orders", "calls", "agent_state_changes", "tasks",
          "task_attempts", "changes")
DISPOSITIONS = (None, None, "confirmed", "callback", "refused", "no_answer", "paid")
GOAL_SECONDS = 1.0


def _ts(moment: datetime) -> str:
    # the text SQLAlchemy stores in SQLite for a naive UTC datetime
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def build_sqlite(path: Path, calls: int, seed: int = 7) -> None:
    """Fill the migrated SQLite file at ``path`` with the history (plain sqlite3, one
    transaction, durability off: a throw-away build)."""
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    created = _ts(END)
    exts = [f"PJSIP/{1000 + i}" for i in range(OPERATORS)]
    db.executemany(
        "INSERT INTO users (id, login, name, role, extension, password_hash, active, language, "
        "autodial, created_at, updated_at) VALUES (?,?,?,?,?,?,1,'ru',0,?,?)",
        [(i + 1, f"op{i + 1:02d}", f"Оператор {i + 1:02d}", "operator", exts[i], "x", created,
          created) for i in range(OPERATORS)])
    db.execute("INSERT INTO shops (id, slug, name, created_at) VALUES (1, 's', 'S', ?)",
               (created,))
    db.execute("INSERT INTO clients (id, name, search_name, tags, do_not_call, created_at, "
               "updated_at) VALUES (1, 'K', 'k', '[]', 0, ?, ?)", (created, created))
    span = 365 * 86400
    start = END - timedelta(seconds=span)
    call_rows, state_rows = [], []
    for n in range(calls):
        at = start + timedelta(seconds=rng.random() * span)
        op = rng.randrange(OPERATORS)
        inbound = rng.random() < 0.7
        answered = rng.random() < (0.85 if inbound else 0.6)
        wait = rng.randrange(0, 60) if inbound else rng.randrange(3, 30)
        talk = rng.randrange(20, 600) if answered else 0
        answered_at = at + timedelta(seconds=wait) if answered else None
        ended = at + timedelta(seconds=wait + talk)
        outcome = "answered" if answered else ("missed" if inbound else
                                               rng.choice(("no_answer", "busy", "unavailable")))
        rung = [exts[op]] if answered or not inbound else \
            [exts[rng.randrange(OPERATORS)] for _ in range(rng.randrange(1, 4))]
        call_rows.append((
            f"b-{n}", f"b-{n}", "inbound" if inbound else "outbound", "+79161234567", "200",
            json.dumps(rung), exts[op] if answered else None, op + 1 if answered else None,
            "[]", None if inbound else exts[op], _ts(at),
            _ts(answered_at) if answered_at else None, _ts(ended), outcome, talk, wait,
            rng.choice(("sales", "support", "vip")) if inbound else None, "{}",
            rng.choice(DISPOSITIONS) if answered else None, "completed"))
        if answered:
            uid = op + 1
            state_rows += [(uid, _ts(at), "ringing", None), (uid, _ts(answered_at), "talking",
                                                                None),
                           (uid, _ts(ended), "wrap_up", None),
                           (uid, _ts(ended + timedelta(seconds=30)), "ready", None)]
            if rng.random() < 0.03:
                state_rows.append((uid, _ts(ended + timedelta(seconds=40)), "paused",
                                   rng.choice(("lunch", "training", "break"))))
        if len(call_rows) >= 50_000:
            _flush(db, call_rows, state_rows)
    _flush(db, call_rows, state_rows)
    _tasks_and_orders(db, rng, start, span)
    db.commit()
    db.execute("ANALYZE")
    db.close()


def _flush(db: sqlite3.Connection, call_rows: list, state_rows: list) -> None:
    db.executemany(
        "INSERT INTO calls (call_key, linkedid, direction, caller, callee, operators_rung, "
        "answered_by, answered_by_user_id, handled_by, placed_by, started_at, answered_at, "
        "ended_at, outcome, talk_seconds, wait_seconds, queue, variables, disposition, status) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", call_rows)
    db.executemany("INSERT INTO agent_state_changes (user_id, at, state, reason, source) "
                   "VALUES (?,?,?,?,'pbx')", state_rows)
    call_rows.clear()
    state_rows.clear()


def _tasks_and_orders(db: sqlite3.Connection, rng: random.Random, start: datetime,
                      span: int) -> None:
    """100,000 redial and callback tasks with 1-3 attempts each; 40,000 orders confirmed."""
    tasks, attempts = [], []
    outcomes = ("no_answer", "busy", "confirmed", "refused", "callback")
    for t in range(1, 100_001):
        due = start + timedelta(seconds=rng.random() * span)
        kind = "redial" if t % 2 else "callback"
        closed = due + timedelta(minutes=rng.randrange(-10, 120))
        tasks.append((t, kind, "done", "t", _ts(due), _ts(closed), rng.randrange(0, 3),
                      _ts(start), _ts(closed)))
        for k in range(rng.randrange(1, 4)):
            attempts.append((t, _ts(due + timedelta(minutes=30 * k)), rng.choice(outcomes),
                             rng.randrange(1, OPERATORS + 1)))
    db.executemany("INSERT INTO tasks (id, kind, status, title, due_at, closed_at, failures, "
                   "created_at, updated_at, attempts, priority, rank) "
                   "VALUES (?,?,?,?,?,?,?,?,?,1,0,0)", tasks)
    db.executemany("INSERT INTO task_attempts (task_id, at, outcome, user_id, source) "
                   "VALUES (?,?,?,?,'operator')", attempts)
    orders, changes = [], []
    for o in range(1, 40_001):
        at = start + timedelta(seconds=rng.random() * span)
        orders.append((o, f"N{o}", f"N{o}", f"{rng.randrange(500, 20000)}.00", _ts(at), _ts(at)))
        changes.append((o, rng.randrange(1, OPERATORS + 1), _ts(at)))
    db.executemany("INSERT INTO orders (id, shop_id, client_id, number, number_key, status, "
                   "total, currency, items, created_at, updated_at) "
                   "VALUES (?,1,1,?,?,'confirmed',?,'RUB','[]',?,?)", orders)
    db.executemany("INSERT INTO changes (entity, entity_id, client_id, user_id, at, field, old, "
                   "new) VALUES ('order',?,1,?,?,'status','new','confirmed')", changes)


# -- the pre-aggregated alternative (b), for the comparison only ----------------------------

AGG_DDL = """CREATE TABLE IF NOT EXISTS bench_call_quarters (
  bucket INTEGER NOT NULL, answered_by_user_id INTEGER, placed_by VARCHAR(64),
  direction VARCHAR(16) NOT NULL, outcome VARCHAR(16) NOT NULL, disposition VARCHAR(32),
  queue VARCHAR(64), n INTEGER NOT NULL, wait_sum BIGINT, wait_n INTEGER, wait_max INTEGER,
  talk_sum BIGINT, within_sl INTEGER)"""
AGG_FILL = """INSERT INTO bench_call_quarters SELECT {bucket}, answered_by_user_id, placed_by,
  direction, outcome, disposition, queue, count(*), sum(wait_seconds), count(wait_seconds),
  max(wait_seconds), sum(talk_seconds), sum(CASE WHEN wait_seconds <= 20 THEN 1 ELSE 0 END)
  FROM calls WHERE status <> 'in_progress' GROUP BY 1, 2, 3, 4, 5, 6, 7"""
AGG_QUERY = """SELECT answered_by_user_id, placed_by, direction, outcome, disposition, queue,
  sum(n), sum(wait_sum), sum(wait_n), max(wait_max), sum(talk_sum), sum(within_sl)
  FROM bench_call_quarters WHERE bucket >= {lo} AND bucket < {hi} GROUP BY 1, 2, 3, 4, 5, 6"""
FLOOR_COUNT = ("SELECT count(*) FROM calls WHERE started_at >= {a} AND started_at < {b} "
               "AND direction IN ('inbound', 'outbound') AND status <> 'in_progress'")
FLOOR_GROUP = ("SELECT answered_by_user_id, direction, outcome, count(*) FROM calls "
               "WHERE started_at >= {a} AND started_at < {b} AND direction IN "
               "('inbound', 'outbound') AND status <> 'in_progress' GROUP BY 1, 2, 3")


def _agg_build_sql(pg: bool) -> list[str]:
    bucket = ("CAST(floor(extract(epoch from started_at) / 900) AS INTEGER)" if pg
              else "CAST(strftime('%s', started_at) AS INTEGER) / 900")
    return [AGG_DDL, "DELETE FROM bench_call_quarters", AGG_FILL.format(bucket=bucket),
            "CREATE INDEX IF NOT EXISTS ix_bench_call_quarters ON bench_call_quarters (bucket)"]


# -- timing -----------------------------------------------------------------------------------

async def _time(label: str, runs: int, work) -> dict[str, float]:
    await work()  # warm: the first run reads the pages from disk
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        took.append((time.perf_counter() - began) * 1000)
    stats = percentiles(took)
    print(f"  {label:<52} p50 {stats['p50']:8.1f} ms   p99 {stats['p99']:8.1f} ms")
    return stats


async def measure(url: str, runs: int, goals: Goals, name: str) -> dict[str, dict]:
    db = Database(url)
    hours = parse_calling_hours("mon-sun 09:00-21:00", "01-01,01-02,01-07,05-09")
    service = ReportService(db, lambda: END, timezone=ZONE, hours=hours,
                            service_level_seconds=20)
    actor = Actor(user_id=None, login="bench", role=None)
    period = parse_period(MONTH, END, service.zone)
    pg = not db.is_sqlite
    out: dict[str, dict] = {}
    print(f"{name}: October 2026 ({period.start:%Y-%m-%d %H:%M}Z .. {period.end:%Y-%m-%d %H:%M}Z)"
          f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    try:
        async with db.write() as conn:  # the state time kept per day: measured cold first
            await conn.execute(text("DELETE FROM report_state_days"))
            await conn.execute(text("DELETE FROM report_state_days_done"))
        began = time.perf_counter()
        report = await service.operators(actor, MONTH)
        cold = (time.perf_counter() - began) * 1000
        print(f"  month: {report['totals']['calls_in'] + report['totals']['calls_out']} calls, "
              f"{len(report['operators'])} operators")
        print(f"  {'(a) operators report, cold (31 days of state time kept)':<52} "
              f"once    {cold:8.1f} ms")
        out["operators_cold"] = {"p50": cold, "p99": cold}

        async def states_live():
            async with db.read() as conn:
                await repo.state_spans(conn, period.start, period.end, END)
        out["operators"] = await _time("(a) operators report (ReportService, all queries)",
                                       runs, lambda: service.operators(actor, MONTH))
        out["queues"] = await _time("(a) queues report", runs,
                                    lambda: service.queues(actor, MONTH))

        async def groups_only():
            async with db.read() as conn:
                await repo.call_groups(conn, period.start, period.end, 20)
        out["groups"] = await _time("(a) its call GROUP BY alone", runs, groups_only)

        out["states"] = await _time("state spans computed over the month (not kept)", runs,
                                    states_live)
        if pg:
            import asyncpg
            conn = await asyncpg.connect(asyncpg_dsn(url))
            a, b = "$1", "$2"
            lo_hi = (period.start.replace(tzinfo=None), period.end.replace(tzinfo=None))

            async def plain(sql):
                await conn.fetch(sql.format(a=a, b=b), *lo_hi)

            async def agg():
                lo, hi = int(period.start.timestamp()) // 900, int(period.end.timestamp()) // 900
                await conn.fetch(AGG_QUERY.format(lo=lo, hi=hi))
            out["floor_count"] = await _time("floor: plain asyncpg count(*)", runs,
                                             lambda: plain(FLOOR_COUNT))
            out["floor_group"] = await _time("floor: plain asyncpg bare GROUP BY", runs,
                                             lambda: plain(FLOOR_GROUP))
            out["agg"] = await _time("(b) pre-aggregated quarter-hours, same figures", runs, agg)
            await conn.close()
        else:
            path = url.split("///", 1)[1]
            raw = sqlite3.connect(path)
            lo_hi = (_ts(period.start), _ts(period.end))

            async def plain(sql):
                raw.execute(sql.format(a="?", b="?"), lo_hi).fetchall()

            async def agg():
                lo, hi = int(period.start.timestamp()) // 900, int(period.end.timestamp()) // 900
                raw.execute(AGG_QUERY.format(lo=lo, hi=hi)).fetchall()
            out["floor_count"] = await _time("floor: plain sqlite3 count(*)", runs,
                                             lambda: plain(FLOOR_COUNT))
            out["floor_group"] = await _time("floor: plain sqlite3 bare GROUP BY", runs,
                                             lambda: plain(FLOOR_GROUP))
            out["agg"] = await _time("(b) pre-aggregated quarter-hours, same figures", runs, agg)
            raw.close()
        print(f"  load average after: {os.getloadavg()[0]:.1f}")
        for key in ("operators", "queues"):
            ok = out[key]["p99"] < GOAL_SECONDS * 1000
            print(f"  {name} {key} p99 {out[key]['p99']:.1f} ms < 1000 ms: "
                  f"{goals.check(f'{name} {key} report', ok)}")
    finally:
        await db.dispose()
    return out


async def prepare_sqlite(calls: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"reports-{calls}-{schema_key()}.sqlite3"
    if path.exists():
        return path
    partial = WORK / "reports-build.partial.sqlite3"
    await migrated_sqlite(partial)
    began = time.perf_counter()
    build_sqlite(partial, calls)
    raw = sqlite3.connect(partial)
    for sql in _agg_build_sql(pg=False):
        raw.execute(sql)
    raw.commit()
    raw.execute("VACUUM")
    raw.close()
    partial.rename(path)
    print(f"built {path.name} in {time.perf_counter() - began:.0f} s")
    return path


async def prepare_pg(server_url: str, path: Path, calls: int) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"cc_bench_reports_{calls}"
    marker = WORK / f"{name}.built"
    key = schema_key()
    target = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    if marker.exists() and marker.read_text() == key:
        try:
            conn = await asyncpg.connect(asyncpg_dsn(target))
            count = await conn.fetchval("SELECT count(*) FROM calls")
            await conn.close()
            if count == calls:
                return target
        except Exception:  # noqa: BLE001 - any trouble: build it again
            pass
    began = time.perf_counter()
    target = await fresh_pg_database(server_url, name)
    await copy_sqlite_to_pg(path, target, TABLES)
    conn = await asyncpg.connect(asyncpg_dsn(target))
    try:
        for sql in _agg_build_sql(pg=True):
            await conn.execute(sql)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    marker.write_text(key)
    print(f"built PostgreSQL {name} in {time.perf_counter() - began:.0f} s")
    return target


async def main_async(args) -> int:
    goals = Goals()
    path = await prepare_sqlite(args.calls)
    results = {"sqlite": await measure(sqlite_url(path), args.runs, goals, "sqlite")}
    if args.pg:
        url = await prepare_pg(args.pg, path, args.calls)
        results["postgres"] = await measure(url, args.runs, goals, "postgres")
    print("summary:")
    for name, figures in results.items():
        for key, stats in figures.items():
            print(f"  {name} {key}: p50 {stats['p50']:.1f} ms p99 {stats['p99']:.1f} ms")
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", metavar="URL", help="also on this PostgreSQL server")
    parser.add_argument("--quick", action="store_true", help="100,000 calls, 5 runs")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.runs = 100_000, 5
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
