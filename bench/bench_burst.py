"""A burst of calls: the API stays responsive, memory stays bounded, every call is stored once.

Three processes, so that no event loop measures another's load: the real server
(``python -m callcenter serve``), the AMI simulator (``python -m callcenter.ami.sim --rate ...
--speed 0``: ``--calls`` synthetic inbound queue calls, ~100 events each, sent as fast as it
can), and this one, which asks ``GET /api/health`` every 10 ms during the burst and reads the
server's peak RSS (``VmHWM``) at the end.

Printed beside each figure, the floor on this machine: ``/api/health`` with no burst, and the
rate at which the plain driver (sqlite3 / asyncpg, one transaction per 200 rows) inserts call
rows. Checked: every call stored exactly once (rows == distinct keys == calls, all completed).

Goals: ``/api/health`` p99 during the burst < 200 ms; every call stored exactly once; peak RSS
< 400 MB at 20,000 calls. Exits 1 when a goal is missed.

    python bench/bench_burst.py [--calls 20000] [--pg postgresql+asyncpg://...] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import ROOT, WORK, Goals, asyncpg_dsn, fresh_pg_database  # noqa: E402
from fixtures import latency_line, listening_socket, migrated_sqlite, percentiles  # noqa: E402

AMI_USER, AMI_SECRET = "bench", "bench-ami-secret"
LOG = WORK / "burst-server.log"
GOAL_HEALTH_P99_MS = 200.0
GOAL_RSS_MB = 400.0


def free_port() -> int:
    with listening_socket() as sock:  # the simulator binds it again at once
        return sock.getsockname()[1]


def start_server(url: str, sock, ami_port: int, spool: Path) -> subprocess.Popen:
    env = dict(os.environ, CALLCENTER_DB_URL=url, CALLCENTER_AMI_HOST="127.0.0.1",
               CALLCENTER_AMI_PORT=str(ami_port), CALLCENTER_AMI_USERNAME=AMI_USER,
               CALLCENTER_AMI_SECRET=AMI_SECRET, CALLCENTER_SECRET_KEY="bench-secret-key",
               CALLCENTER_LOG_LEVEL="WARNING", CALLCENTER_SPOOL_DIR=str(spool),
               CALLCENTER_RECORDINGS_DIR=str(WORK / "recordings"))
    argv = [sys.executable, "-m", "callcenter", "serve", "--listen-fd", str(sock.fileno())]
    try:
        with open(LOG, "wb") as log:
            return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),))
    finally:
        sock.close()


def start_simulator(port: int, calls: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "callcenter.ami.sim", "--port", str(port), "--username",
         AMI_USER, "--secret", AMI_SECRET, "--rate", "1000", "--count", str(calls),
         "--speed", "0", "--seed", "7"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def count_calls(url: str) -> tuple[int, int, int]:
    """(rows, distinct keys, completed rows) in the calls table."""
    query = ("SELECT count(*), count(DISTINCT call_key), "
             "sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) FROM calls")
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1], timeout=30) as conn:
            rows, keys, done = conn.execute(query).fetchone()
    else:
        import asyncpg

        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            rows, keys, done = await conn.fetchrow(query)
        finally:
            await conn.close()
    return rows, keys, done or 0


async def plain_insert_rate(url: str, rows: int) -> float:
    """Rows per second the plain driver inserts into a scratch copy of a call row."""
    now = datetime(2026, 12, 1, tzinfo=UTC).isoformat()
    data = [(f"floor.{i}", "inbound", f"7926{i:07d}", now, "answered") for i in range(rows)]
    ddl = ("CREATE TABLE floor_calls (id INTEGER PRIMARY KEY, call_key VARCHAR(128) UNIQUE, "
           "direction VARCHAR(16), caller VARCHAR(64), started_at VARCHAR(40), "
           "outcome VARCHAR(16))")
    began = time.perf_counter()
    if url.startswith("sqlite"):
        path = WORK / "burst-floor.sqlite3"
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(ddl)
        began = time.perf_counter()
        for start in range(0, rows, 200):
            with conn:
                conn.executemany("INSERT INTO floor_calls (call_key, direction, caller, "
                                 "started_at, outcome) VALUES (?, ?, ?, ?, ?)",
                                 data[start:start + 200])
        conn.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(ddl.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
            began = time.perf_counter()
            for start in range(0, rows, 200):
                async with conn.transaction():
                    await conn.executemany("INSERT INTO floor_calls (call_key, direction, "
                                           "caller, started_at, outcome) VALUES "
                                           "($1, $2, $3, $4, $5)", data[start:start + 200])
            await conn.execute("DROP TABLE floor_calls")
        finally:
            await conn.close()
    return rows / (time.perf_counter() - began)


async def health_latencies(session, base: str, stop: asyncio.Event,
                           every: float = 0.01) -> list[float]:
    out = []
    while not stop.is_set():
        began = time.perf_counter()
        async with session.get(base + "/api/health") as resp:
            await resp.read()
        out.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(every)
    return out


async def run(args) -> int:
    import aiohttp

    WORK.mkdir(parents=True, exist_ok=True)
    if args.pg:
        url = await fresh_pg_database(args.pg, "cc_bench_burst")
        label = "PostgreSQL"
    else:
        url = await migrated_sqlite(WORK / "burst.sqlite3")
        label = "SQLite"
    spool = WORK / "burst-spool"
    ami_port = free_port()
    sim = start_simulator(ami_port, args.calls)
    sock = listening_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = start_server(url, sock, ami_port, spool)
    goals = Goals()
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 30
            while True:  # up, and linked to the PBX
                if server.poll() is not None:
                    raise SystemExit(f"the server exited; see {LOG}")
                try:
                    async with session.get(base + "/api/health") as resp:
                        if resp.status == 200 and (await resp.json()).get("ami", {}).get(
                                "status") == "connected":
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not connect to the simulator; see {LOG}")
                await asyncio.sleep(0.1)
            # the floor: health with nothing happening (the simulator has not sent yet? it
            # starts at once on login, so this floor is taken after the burst instead)
            stop = asyncio.Event()
            probe = asyncio.create_task(health_latencies(session, base, stop))
            began = time.monotonic()
            stored = (0, 0, 0)
            while time.monotonic() - began < args.timeout:
                stored = await count_calls(url)
                if stored[2] >= args.calls:
                    break
                await asyncio.sleep(0.2)
            elapsed = time.monotonic() - began
            stop.set()
            during = await probe
            rss = peak_rss_mb(server.pid)
            stop = asyncio.Event()
            idle_probe = asyncio.create_task(health_latencies(session, base, stop))
            await asyncio.sleep(2)
            stop.set()
            idle = await idle_probe
        floor_rate = await plain_insert_rate(url, min(args.calls, 20_000))
    finally:
        server.terminate()
        sim.terminate()
        server.wait(30)
        sim.wait(30)
    rows, keys, done = stored
    d, i = percentiles(during), percentiles(idle)
    print(f"burst of {args.calls:,} calls on {label}: stored in {elapsed:.1f} s "
          f"({done / max(elapsed, 1e-9):,.0f} calls/s; floor: plain driver inserts "
          f"{floor_rate:,.0f} rows/s)")
    print(latency_line("/api/health during the burst", d),
          goals.check("health p99", d["p99"] < GOAL_HEALTH_P99_MS))
    print(latency_line("/api/health, no burst (floor)", i))
    once = rows == keys == done == args.calls
    print(f"rows {rows:,}, distinct keys {keys:,}, completed {done:,} of {args.calls:,}",
          goals.check("stored exactly once", once))
    print(f"server peak RSS {rss:.0f} MB", goals.check("peak RSS",
                                                        rss < GOAL_RSS_MB * max(1, args.calls
                                                                                / 20_000)))
    print("summary:")
    print(f"  health_p99_ms_during_burst {d['p99']:.1f} (goal < {GOAL_HEALTH_P99_MS:.0f}; "
          f"floor {i['p99']:.1f})")
    print(f"  calls_stored_once {once}")
    print(f"  peak_rss_mb {rss:.0f}")
    print(f"  store_rate_calls_per_s {done / max(elapsed, 1e-9):.0f} (plain driver "
          f"{floor_rate:.0f} rows/s)")
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a role allowed to "
                        "create databases); default SQLite")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for every call to be stored")
    parser.add_argument("--quick", action="store_true", help="a short run (2,000 calls)")
    args = parser.parse_args()
    if args.quick:
        args.calls = min(args.calls, 2_000)
        args.timeout = min(args.timeout, 120.0)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
