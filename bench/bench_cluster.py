"""Screen pops through nginx, several server processes, one killed (-9) under load.

Set-up: bench_screen_pop's database (``--operators`` operators ``PJSIP/1000``..., 3,000 clients
with orders), on PostgreSQL (``--pg URL``, a role that may create databases:
``callcenter_bench_cluster`` is made) or, for one process, SQLite; ``--servers`` real ``python -m
callcenter serve`` processes (tests/cluster/harness.py) behind Debian's nginx running the shipped
deploy/nginx/callcenter.conf; the PBX (bench_screen_pop's ``TimedSimulator``, every process has
its own AMI link to it, written to without waiting for the others' to drain, as Asterisk does) in
this process; the browsers in ``--browser-processes`` child processes
(the script again, ``--browsers-child``): each logs in and opens ``/ws`` through nginx, notes which
process its hello names, and when the link closes reconnects as web/live.js does (first retry
after 0.75-1 s, doubling, at most 5 s apart).

Load: bench_screen_pop's ``drive_calls``: inbound queue calls at ``--rate`` calls/s for
``--seconds``, 2-5 random operators rung per call. Latency = the ring event's write to the AMI
socket -> the ``call.ringing`` frame in that operator's browser (bench_screen_pop's definition),
counted per process (the one the page was connected to when the ring was written).

The kill (``--kill-after``, with two processes or more): one process gets SIGKILL mid-run.
Pages on the others must miss nothing; pages on it reconnect through nginx (gap from the kill to
their new hello; rings written to them while away: got on reconnect -- the server repeats the calls
still ringing -- or lost). ``--restart-after`` seconds later it is started again and a few new
pages are opened: least_conn must send them to it, and its pops must reach them. After the run,
the database: every call the PBX ended stored once, one open missed-call task per number at most,
one attempt per missed call.

Floors, as bench_screen_pop: a raw websocket push of the same size at the same moments (straight
from this process to the browsers' processes, no nginx) and the pop's number lookup in the plain
driver. Also printed: CPU of every process and the time it waited for a core, the load average,
each event loop's lag, the PostgreSQL connections in use against max_connections and what this
database's sessions wait for, warnings and errors in the servers' logs
(/tmp/callcenter-bench/serve-PORT.log), among them the AMI links a server dropped itself.

Goals: p99 < 100 ms above 20 calls/s (< 50 ms at 20 and below); 0 rings without a frame (pages
not cut by the kill); 0 lost on the surviving processes; every cut page back in < 5 s; every call
stored exactly once; missed-call tasks once.

    python bench/bench_cluster.py --pg postgresql+asyncpg://USER@HOST:PORT/postgres
                                  [--servers 3] [--operators 1000] [--rate 50] [--quick]
    python bench/bench_cluster.py --servers 1 --operators 200 --rate 50      # SQLite, one process
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import logging
import math
import os
import random
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # tests.cluster.harness
sys.path.insert(0, str(BENCH))

from bench_screen_pop import AMI_SECRET, AMI_USER, GOAL_P99_FAST_MS, GOAL_P99_MS  # noqa: E402
from bench_screen_pop import Browser, DriverProbe, FloorServer, TimedSimulator  # noqa: E402
from bench_screen_pop import drive_calls, prepare_database  # noqa: E402
from fixtures import PASSWORD, WORK, Goals, LoopLag, asyncpg_dsn  # noqa: E402
from fixtures import copy_sqlite_to_pg, fresh_pg_database, latency_line  # noqa: E402
from fixtures import machine_busy_seconds, percentiles, process_cpu_seconds  # noqa: E402

import aiohttp  # noqa: E402

from callcenter.ami.message_text import render_message  # noqa: E402

from tests.cluster.harness import Nginx, Server, free_port, nginx_binary  # noqa: E402

SECRET = "bench-cluster-secret-key-0123456789abcdef"
PG_DATABASE = "callcenter_bench_cluster"
GOAL_RECONNECT_S = 5.0
LOGIN_TRIES = 5
PROBE_PAGES = 6  # new pages opened after the restart (one more page each for op1000...)
NGINX_FAIL_TIMEOUT_S = 5.0  # deploy/nginx/callcenter.conf: fail_timeout=5s


class LagSamples(LoopLag):
    """LoopLag that keeps every lag, for a p99 beside the worst."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(interval)
        self.samples: list[float] = []

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            lag = loop.time() - before - self.interval
            self.samples.append(lag * 1000)
            self.worst = max(self.worst, lag)


class ClusterBrowser(Browser):
    """bench_screen_pop's browser, through nginx, sending its Origin as a browser does, noting
    each hello's server process and each close, and reconnecting the way web/live.js does."""

    def __init__(self, base: str, login: str, endpoint: str) -> None:
        super().__init__(base, login, endpoint)
        self.hellos: list[tuple[float, str | None]] = []
        self.closes: list[tuple[float, int | None]] = []
        self.refused: list[str] = []  # answers other than 200 / 101 at the start
        self.stopping = False

    async def open(self, arrivals: dict[tuple[str, str], float]) -> None:
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        for attempt in range(LOGIN_TRIES):  # a refused login is tried again, as a person would
            async with self.session.post(f"{self.base}/api/login",
                                         json={"login": self.login, "password": PASSWORD}) as resp:
                if resp.status == 200:
                    break
                self.refused.append(f"login {resp.status} {(await resp.text())[:120]}")
                if resp.status < 500 or attempt == LOGIN_TRIES - 1:
                    raise AssertionError((self.login, self.refused))
            await asyncio.sleep(1.0)
        for attempt in range(LOGIN_TRIES):
            try:
                await self._connect()
                break
            except aiohttp.WSServerHandshakeError as exc:
                self.refused.append(f"/ws {exc.status}")
                if attempt == LOGIN_TRIES - 1:
                    raise
                await asyncio.sleep(1.0)
        self.task = asyncio.create_task(self._live(arrivals))

    async def _connect(self) -> None:
        assert self.session is not None
        self.ws = await self.session.ws_connect(
            f"{self.base.replace('http', 'ws')}/ws", compress=15, max_msg_size=0,
            headers={"Origin": self.base}, timeout=aiohttp.ClientWSTimeout(ws_close=2.0))

    async def _live(self, arrivals: dict[tuple[str, str], float]) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            opened = loop.time()
            await self._read(arrivals)
            if self.stopping:
                return
            self.closes.append((time.time(), self.ws.close_code if self.ws else None))
            if loop.time() - opened > 10.0:  # a healthy link: start the backoff afresh
                attempt = 0
            while not self.stopping:
                await asyncio.sleep(min(1.0 * 2 ** attempt, 5.0) * random.uniform(0.75, 1.0))
                attempt += 1
                try:
                    await self._connect()
                    break
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    continue
            if self.stopping:
                return

    async def _read(self, arrivals: dict[tuple[str, str], float]) -> None:
        assert self.ws is not None
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async for msg in self.ws:
                at = time.time()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                self.frames += 1
                if '"call.ringing"' in msg.data[:40]:
                    data = json.loads(msg.data)
                    arrivals.setdefault((data["call"]["linkedid"], self.endpoint), at)
                elif '"hello"' in msg.data[:20]:
                    self.hellos.append((at, json.loads(msg.data).get("server")))
                    self.hello.set()

    async def close(self) -> None:
        self.stopping = True
        await super().close()


class EndingSimulator(TimedSimulator):
    """TimedSimulator that notes which calls it ended and which of those were abandoned (the
    calls the database must hold exactly once, and the missed ones), and writes to every
    server's AMI socket without waiting for any to drain, as Asterisk does (one output queue
    per manager session): a process that falls behind delays its own pages, not the others'
    (TimedSimulator awaits each session in turn, so the slowest would hold up the rest)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ended: set[str] = set()
        self.abandoned: set[str] = set()

    async def write_timed(self, events) -> float:
        now = self.clock()
        for fields in events:
            self.pbx.observe(fields, now)
            kind = fields.get("Event")
            if kind == "QueueCallerAbandon":
                self.abandoned.add(fields["Linkedid"])
            elif kind == "Hangup" and fields.get("Uniqueid") == fields.get("Linkedid"):
                self.ended.add(fields["Linkedid"])  # the caller's leg hangs up last
        data = "".join(render_message(e) for e in events).encode("utf-8")
        written_at = time.time()
        for session in [s for s in self._sessions if s.logged_in]:
            # whole messages only: a reply being sent holds the session's lock while it
            # drains, its bytes already queued, so this never lands inside one
            if not session.writer.is_closing():
                session.writer.write(data)
        return written_at


class CpuSampler:
    """CPU of named processes, sampled every second, so a process killed mid-run still counts
    for the time it lived (fixtures.CpuShare reads /proc once at the end); a group (this
    database's PostgreSQL backends) is summed over the processes it has at each sample."""

    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self.groups: dict[str, Callable[[], list[int]]] = {}
        self.first: dict[tuple[str, int], tuple[float, float]] = {}
        self.last: dict[tuple[str, int], tuple[float, float]] = {}
        self.task: asyncio.Task | None = None

    def sample(self) -> None:
        members = [(name, pid) for name, pid in self.pids.items()]
        members += [(name, pid) for name, find in self.groups.items() for pid in find()]
        for key in members:
            with contextlib.suppress(OSError, IndexError, ValueError):
                # CPU used, and time its main thread was runnable but waited for a core
                waited = int(Path(f"/proc/{key[1]}/schedstat").read_text().split()[1]) / 1e9
                cpu = (process_cpu_seconds(key[1]), waited)
                self.first.setdefault(key, cpu)
                self.last[key] = cpu

    def start(self) -> None:
        self.began, self.busy0 = time.monotonic(), machine_busy_seconds()

        async def every_second() -> None:
            while True:
                self.sample()
                await asyncio.sleep(1.0)

        self.task = asyncio.get_running_loop().create_task(every_second())

    async def stop(self) -> str:
        """``"server :8081 31% (waited 12%), ..., other processes 40% of one core"``."""
        self.sample()
        wall = max(time.monotonic() - self.began, 1e-9)
        busy = (machine_busy_seconds() - self.busy0) / wall
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        used: dict[str, float] = {}
        waited: dict[str, float] = {}
        for key, (cpu, wait) in self.last.items():
            used[key[0]] = used.get(key[0], 0.0) + (cpu - self.first[key][0]) / wall
            waited[key[0]] = waited.get(key[0], 0.0) + (wait - self.first[key][1]) / wall
        others = max(0.0, busy - sum(used.values()))
        # what they asked for: the CPU they got plus the time they were ready but had no core
        servers = sum(used[n] + waited[n] for n in used if n.startswith("server"))
        every = sum(used[n] + waited[n] for n in used) + others
        return ", ".join([f"{n} {s:.0%} (waited {waited[n]:.0%})" for n, s in used.items()]
                         + [f"other processes {others:.0%}"]) + \
            f" of one core over {wall:.0f} s ({os.cpu_count()} cores; waited: the time its " \
            f"main thread was ready to run but had no core)\nasked for (CPU used + waited): " \
            f"the servers {servers:.2f} cores, everything measured {every:.2f} cores, of " \
            f"{os.cpu_count()}"


def backends_of(database: str) -> Callable[[], list[int]]:
    """The PostgreSQL backends serving ``database`` (their process titles name it)."""
    def find() -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    title = (proc / "cmdline").read_bytes()
                    if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                        found.append(int(proc.name))
        return found

    return find


def child_pid(pid: int) -> int:
    """nginx's worker (the master's first child), or ``pid`` itself."""
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
    return pid


def raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    return hard


# -- the browsers' processes ------------------------------------------------------------------

async def browsers_process(spec: dict) -> int:
    """A child: browsers ``op{first}``... through nginx and one raw websocket to the floor
    server; says "ready" once every browser got its hello, answers "count" with the pops
    arrived so far; on "stop" (or end of input) writes what arrived when,
    every hello and close, the floor and its own loop's lag to ``spec["out"]``."""
    arrivals: dict[tuple[str, str], float] = {}
    floor_ms: list[float] = []
    limit = asyncio.Semaphore(8)
    browsers = [ClusterBrowser(spec["base"], f"op{n}", f"PJSIP/{n}")
                for n in range(spec["first"], spec["first"] + spec["count"])]

    async def connect(browser: ClusterBrowser) -> None:
        async with limit:
            await browser.open(arrivals)

    session = aiohttp.ClientSession()
    try:
        await asyncio.gather(*(connect(b) for b in browsers))
        await asyncio.wait_for(asyncio.gather(*(b.hello.wait() for b in browsers)), 60)
        raw = await session.ws_connect(spec["floor"], max_msg_size=0)

        async def read_floor() -> None:
            async for msg in raw:
                at = time.time()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    floor_ms.append((at - float(msg.data[24:msg.data.index(",", 24)])) * 1000)

        floor_task = asyncio.create_task(read_floor())
        lag = LagSamples()
        lag.start()
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "count":
            print(len(arrivals), flush=True)
        lag_worst = lag.take_ms()
        await lag.stop()
        floor_task.cancel()
        await asyncio.gather(floor_task, return_exceptions=True)
        with open(spec["out"], "w", encoding="utf-8") as f:
            json.dump({"arrivals": [[k[0], k[1], at] for k, at in arrivals.items()],
                       "hellos": {b.endpoint: b.hellos for b in browsers},
                       "closes": {b.endpoint: b.closes for b in browsers},
                       "refused": [r for b in browsers for r in b.refused],
                       "floor_ms": floor_ms, "lag_worst_ms": lag_worst,
                       "lag_p99_ms": percentiles(lag.samples)["p99"]}, f)
    finally:
        await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
        await session.close()
    return 0


async def settle(children: list[subprocess.Popen], loop, quiet: float = 3.0,
                 most: float = 60.0) -> float:
    """Wait (5 s at least, ``most`` at worst) until no pop arrived in the browsers for
    ``quiet`` seconds: a server that fell behind still sends the rings written before the end."""
    async def count() -> int:
        total = 0
        for child in children:
            child.stdin.write("count\n")
            child.stdin.flush()
            total += int(await loop.run_in_executor(None, child.stdout.readline))
        return total

    began = loop.time()
    await asyncio.sleep(5.0)
    last, still = await count(), loop.time()
    while loop.time() - began < most and loop.time() - still < quiet:
        await asyncio.sleep(0.5)
        now = await count()
        if now != last:
            last, still = now, loop.time()
    return still - began


def start_browsers(spec: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--browsers-child", json.dumps(spec)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


# -- the cluster ------------------------------------------------------------------------------

def server_env(url: str, ami_port: int, max_pages: int) -> dict[str, str]:
    """As tests/cluster/test_nginx_three_processes.py runs them, with scratch folders here."""
    scratch = WORK / "cluster"
    return {"CALLCENTER_DB_URL": url, "CALLCENTER_SECRET_KEY": SECRET,
            "CALLCENTER_AMI_HOST": "127.0.0.1", "CALLCENTER_AMI_PORT": str(ami_port),
            "CALLCENTER_AMI_USERNAME": AMI_USER, "CALLCENTER_AMI_SECRET": AMI_SECRET,
            "CALLCENTER_TRUSTED_PROXIES": "127.0.0.1",
            "CALLCENTER_MAX_WEBSOCKETS_PER_USER": str(max_pages),
            "CALLCENTER_SPOOL_DIR": str(scratch / "spool"),
            "CALLCENTER_RECORDINGS_DIR": str(scratch / "recordings"),
            "CALLCENTER_MONITOR_DIR": str(scratch / "monitor"),
            "CALLCENTER_BACKUP_DIR": str(scratch / "backups"),
            "CALLCENTER_DOCUMENTS_DIR": str(scratch / "documents"),
            "CALLCENTER_ASTERISK_CDR_FILE": "", "CALLCENTER_BACKUP_TIME": "",
            "CALLCENTER_LOG_LEVEL": "WARNING"}


async def node_of(server: Server, login: str) -> str | None:
    """The process id a server's hellos name, asked straight at its port (not through nginx)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(f"{server.url}/api/login",
                                json={"login": login, "password": PASSWORD}) as resp:
            assert resp.status == 200, await resp.text()
        async with session.ws_connect(f"{server.url.replace('http', 'ws')}/ws") as ws:
            while True:
                msg = await ws.receive_json(timeout=10)
                if msg.get("type") == "hello":
                    return msg.get("server")


async def watch_pg(url: str, stop: asyncio.Event, peak: dict) -> None:
    """Every half second: the PostgreSQL connections in use (this database's, all clients',
    the most seen of each) and what this database's active sessions wait for, by statement."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        peak["max_connections"] = int(await conn.fetchval("SHOW max_connections"))
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT datname = current_database() AS ours, state, wait_event_type, "
                "wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 48) AS query "
                "FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()")
            peak["ours"] = max(peak["ours"], sum(1 for r in rows if r["ours"]) + 1)
            peak["all"] = max(peak["all"], len(rows) + 1)
            for r in rows:
                if r["ours"] and r["state"] == "active":
                    what = (f"{r['wait_event_type'] or 'CPU'}:{r['wait_event'] or '-'} "
                            f"{r['query']}")
                    peak["active"][what] = peak["active"].get(what, 0) + 1
            peak["samples"] += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        await conn.close()


async def stored(url: str) -> dict:
    """What the database holds after the run: calls and missed-call tasks."""
    queries = {
        "calls": "SELECT count(*), count(DISTINCT call_key), count(DISTINCT linkedid), "
                 "coalesce(sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0), "
                 "coalesce(sum(CASE WHEN status = 'completed' AND direction = 'inbound' AND "
                 "outcome = 'missed' THEN 1 ELSE 0 END), 0) FROM calls",
        "completed": "SELECT linkedid FROM calls WHERE status = 'completed'",
        "missed_ids": "SELECT linkedid FROM calls WHERE status = 'completed' AND "
                      "direction = 'inbound' AND outcome = 'missed'",
        "tasks": "SELECT count(*), coalesce(sum(attempts), 0), count(DISTINCT phone_e164), "
                 "coalesce(sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) "
                 "FROM tasks WHERE kind = 'missed_call'",
        "doubled": "SELECT count(*) FROM (SELECT phone_e164 FROM tasks WHERE kind = "
                   "'missed_call' AND status = 'open' GROUP BY phone_e164 "
                   "HAVING count(*) > 1) AS d",
    }
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        try:
            got = {k: conn.execute(q).fetchall() for k, q in queries.items()}
        finally:
            conn.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            got = {k: [tuple(r) for r in await conn.fetch(q)] for k, q in queries.items()}
        finally:
            await conn.close()
    rows, keys, linkedids, completed, missed = got["calls"][0]
    tasks, attempts, numbers, open_tasks = got["tasks"][0]
    return {"rows": rows, "keys": keys, "linkedids": linkedids, "completed": completed,
            "missed": missed, "completed_ids": {r[0] for r in got["completed"]},
            "missed_ids": {r[0] for r in got["missed_ids"]},
            "tasks": tasks, "attempts": attempts, "numbers": numbers, "open": open_tasks,
            "doubled": got["doubled"][0][0]}


def log_errors(servers: list[Server]) -> Counter:
    """Lines of the servers' logs that say WARNING, ERROR, CRITICAL, Traceback or connection
    trouble, without their time stamps and numbers, counted."""
    marks = ("WARNING", "ERROR", "CRITICAL", "Traceback", "too many clients",
             "TooManyConnections", "remaining connection slots")
    found: Counter = Counter()
    for server in servers:
        with contextlib.suppress(OSError):
            for line in server.log_path.read_text(errors="replace").splitlines():
                if any(m in line for m in marks):
                    line = re.sub(r"^\d{4}-\d\d-\d\d [\d:,]+ ", "", line)
                    found[re.sub(r"\d+(\.\d+)?", "N", line)[:160]] += 1
    return found


class Kill:
    """The kill -9 of one process mid-run, its restart, and the pages opened after it."""

    def __init__(self, victim: Server, after: float, restart_after: float | None) -> None:
        self.victim, self.after, self.restart_after = victim, after, restart_after
        self.at: float | None = None
        self.restarted_at: float | None = None
        self.new_node: str | None = None
        self.probes: list[ClusterBrowser] = []
        self.probe_arrivals: dict[tuple[str, str], float] = {}
        self.error: str | None = None

    async def run(self, sim: EndingSimulator, servers: list[Server], nginx_url: str,
                  cpu: CpuSampler) -> None:
        await asyncio.sleep(self.after)
        self.at = time.time()
        await asyncio.to_thread(self.victim.kill)
        print(f"  killed (-9) the process on :{self.victim.port} at "
              f"{self.after:.1f} s", flush=True)
        if self.restart_after is None:
            return
        await asyncio.sleep(self.restart_after)
        try:
            self.victim.start()
            cpu.pids[f"server :{self.victim.port} (restarted)"] = self.victim.process.pid
            await asyncio.to_thread(self.victim.wait_ready, 30)
            await sim.wait_for_clients(len(servers), timeout=30)
            self.restarted_at = time.time()
            self.new_node = await node_of(self.victim, "op1000")
            print(f"  restarted it: up and linked to the PBX "
                  f"{self.restarted_at - self.at:.1f} s after the kill", flush=True)
            # nginx skips a process that failed for fail_timeout; then least_conn sends it the
            # new pages (it has none)
            await asyncio.sleep(max(0.0, self.at + NGINX_FAIL_TIMEOUT_S + 0.5 - time.time()))
            for i in range(PROBE_PAGES):
                page = ClusterBrowser(nginx_url, f"op{1000 + i}", f"PJSIP/{1000 + i}")
                self.probes.append(page)
                await page.open(self.probe_arrivals)
                await asyncio.wait_for(page.hello.wait(), 10)
        except Exception as exc:  # reported with the figures, the run goes on
            self.error = f"{type(exc).__name__}: {exc}"[:300]


# -- the run ----------------------------------------------------------------------------------

async def run(args: argparse.Namespace) -> int:
    if nginx_binary() is None:
        raise SystemExit("nginx is not installed (scripts/setup.sh --test installs it)")
    if args.servers > 1 and not args.pg:
        raise SystemExit("several processes share one PostgreSQL database: pass --pg URL")
    files = raise_open_files()
    WORK.mkdir(parents=True, exist_ok=True)
    for old in WORK.glob("serve-*.log"):
        old.unlink()
    for old in (WORK / "cluster" / "spool").glob("*"):  # a spool would be stored at start
        old.unlink()
    db_path = WORK / "cluster.sqlite3"
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"preparing ({backend}): {args.operators} operators, {args.clients:,} clients with "
          f"orders ...", flush=True)
    url, known = await prepare_database(db_path, args.operators, args.clients)
    if args.pg:
        url = await fresh_pg_database(args.pg, PG_DATABASE)
        await copy_sqlite_to_pg(db_path, url, ("users", "shops", "clients", "client_phones",
                                               "orders"))
    endpoints = [f"PJSIP/{1000 + i}" for i in range(args.operators)]
    sim = EndingSimulator(AMI_USER, AMI_SECRET, seed=1, operators=endpoints)
    ami_port = await sim.start()
    floor = FloorServer()
    floor_url = await floor.start()
    floor.probe = DriverProbe(url, known)
    await floor.probe.open()
    env = server_env(url, ami_port, max_pages=PROBE_PAGES + 10)
    servers = [Server(free_port(), env, WORK) for _ in range(args.servers)]
    nginx = Nginx(WORK / "cluster-nginx", [s.port for s in servers], f"127.0.0.1:{free_port()}",
                  worker_connections=max(4096, 4 * args.operators + 1024))
    children: list[subprocess.Popen] = []
    outs = [WORK / f"cluster-browsers-{i}.json" for i in range(args.browser_processes)]
    kill: Kill | None = None
    pg_peak = {"ours": 0, "all": 0, "max_connections": 0, "active": {}, "samples": 0}
    pg_stop = asyncio.Event()
    pg_task = None
    cpu = CpuSampler()
    loop = asyncio.get_running_loop()
    try:
        for server in servers:
            server.start()
        for server in servers:
            await asyncio.to_thread(server.wait_ready, 60)
        await sim.wait_for_clients(len(servers), timeout=30)
        nginx.start()
        nodes = {await node_of(s, "op1000"): s for s in servers}
        label = {node: f":{s.port}" for node, s in nodes.items()}
        if args.pg:
            pg_task = loop.create_task(watch_pg(url, pg_stop, pg_peak))
        share = math.ceil(args.operators / len(outs))
        for i, out in enumerate(outs):
            out.unlink(missing_ok=True)
            first = 1000 + i * share
            count = min(share, 1000 + args.operators - first)
            children.append(start_browsers({"base": nginx.url, "first": first, "count": count,
                                            "floor": floor_url, "out": str(out)}))
        for child in children:
            line = await asyncio.wait_for(loop.run_in_executor(None, child.stdout.readline), 240)
            if line.strip() != "ready":
                raise SystemExit(f"a browsers' process failed (exit {child.poll()})")
        await asyncio.sleep(1.0)  # let the AMI resync and logins settle
        print(f"{args.operators} browsers connected through nginx (in {len(children)} "
              f"process(es) of their own) to {len(servers)} server process(es) on {backend}; "
              f"{args.rate:g} calls/s for {args.seconds:g} s; open files limit {files}",
              flush=True)

        for s in servers:
            cpu.pids[f"server :{s.port}"] = s.process.pid
        cpu.pids["PBX+floor"] = os.getpid()
        for i, child in enumerate(children):
            cpu.pids[f"browsers {i + 1}"] = child.pid
        cpu.pids["nginx"] = child_pid(nginx.process.pid)
        if args.pg:
            cpu.groups["PostgreSQL (this database)"] = backends_of(PG_DATABASE)
        load_before = os.getloadavg()[0]
        cpu.start()
        lag = LagSamples()
        lag.start()
        kill_task = None
        if len(servers) > 1 and args.kill_after is not None and args.kill_after >= 0:
            kill = Kill(servers[0], args.kill_after, args.restart_after or None)
            kill_task = loop.create_task(kill.run(sim, servers, nginx.url, cpu))
        written, known_caller, started = await drive_calls(
            sim, args.rate, args.seconds, endpoints, known, random.Random(args.seed), floor)
        pbx_lag = (lag.take_ms(), percentiles(lag.samples)["p99"])
        await lag.stop()
        cpu_line = await cpu.stop()
        if kill_task is not None:
            await kill_task
        settled = await settle(children, loop)  # frames still on their way
        load_after = os.getloadavg()[0]
        deadline = time.monotonic() + 60  # the call logs' last batches
        while True:
            db = await stored(url)
            if db["completed"] >= len(sim.ended) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        db = await stored(url)  # nothing more after the last batch
        for child in children:
            child.stdin.write("stop\n")
            child.stdin.flush()
        for child in children:
            await loop.run_in_executor(None, child.wait, 60)
        reports = [json.loads(out.read_text(encoding="utf-8")) for out in outs]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        if kill is not None:
            await asyncio.gather(*(p.close() for p in kill.probes), return_exceptions=True)
        pg_stop.set()
        if pg_task is not None:
            await asyncio.gather(pg_task, return_exceptions=True)
        nginx.stop()
        for server in servers:
            await asyncio.to_thread(server.stop)
        await floor.stop()
        await floor.probe.close()
        await asyncio.sleep(0.2)
        await sim.stop()

    report = Report(args, backend, written, reports, label, kill, url)
    report.started = started
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as dump:
            for key, at in written.items():
                dump.write(json.dumps({
                    "linkedid": key[0], "endpoint": key[1], "written": at,
                    "arrived": report.arrivals.get(key), "known": known_caller[key],
                    "server": report.name(report.node_at(key[1], at))}) + "\n")
    print(f"\n{started:,} calls, {len(written):,} rings (pops settled within {settled:.1f} s of "
          f"the calls' end); load average {load_before:.1f} -> "
          f"{load_after:.1f}\nCPU: {cpu_line}\nevent loops ran late by up to "
          f"{pbx_lag[0]:.0f} ms (PBX; p99 {pbx_lag[1]:.1f} ms), "
          + ", ".join(f"{r['lag_worst_ms']:.0f} ms (browsers {i + 1}; p99 "
                      f"{r['lag_p99_ms']:.1f} ms)" for i, r in enumerate(reports)))
    if args.pg:
        print(f"PostgreSQL connections at most: {pg_peak['ours']} to this database, "
              f"{pg_peak['all']} in all, of max_connections {pg_peak['max_connections']}; "
              f"this database's active sessions, per sample (of {pg_peak['samples']}):")
        for what, n in sorted(pg_peak["active"].items(), key=lambda kv: -kv[1])[:6]:
            print(f"  {n / max(pg_peak['samples'], 1):5.2f}  {what}")
    refused = [r for rep in reports for r in rep["refused"]]
    print(f"refused at the start and tried again (login / websocket): {len(refused)}"
          + (f", e.g. {sorted(set(refused))[:3]}" if refused else ""))
    errors = log_errors(servers)
    print(f"servers' logs ({WORK}/serve-PORT.log): {sum(errors.values())} warning/error lines"
          + "".join(f"\n  {n:4} x {line}" for line, n in errors.most_common(8)))
    report.log_lines = errors
    goals = report.print(sim, db, pbx_floor=(floor, url))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return goals.exit_code()


class Report:
    """The figures, from the rings written here and what each browser noted."""

    def __init__(self, args, backend, written, reports, label, kill, url) -> None:
        self.args, self.backend, self.written, self.kill = args, backend, written, kill
        self.url, self.label = url, label
        self.arrivals: dict[tuple[str, str], float] = {}
        self.hellos: dict[str, list[tuple[float, str | None]]] = {}
        self.closes: dict[str, list[tuple[float, int | None]]] = {}
        self.floor_ms: list[float] = []
        for r in reports:
            self.arrivals.update({(lid, ep): at for lid, ep, at in r["arrivals"]})
            self.hellos.update({ep: [tuple(h) for h in hs] for ep, hs in r["hellos"].items()})
            self.closes.update({ep: [tuple(c) for c in cs] for ep, cs in r["closes"].items()})
            self.floor_ms += r["floor_ms"]

    def name(self, node: str | None) -> str:
        if node is None:
            return "no page"
        if self.kill is not None and node == self.kill.new_node:
            return f":{self.kill.victim.port} restarted"
        return self.label.get(node, node)

    def node_at(self, endpoint: str, at: float) -> str | None:
        """The process the operator's page was connected to at ``at`` (None: it was not)."""
        hellos = self.hellos.get(endpoint, [])
        i = bisect.bisect_right([h[0] for h in hellos], at) - 1
        if i < 0:
            return None
        closes = [c[0] for c in self.closes.get(endpoint, []) if c[0] >= hellos[i][0]]
        return None if closes and closes[0] <= at else hellos[i][1]

    def print(self, sim: EndingSimulator, db: dict, pbx_floor) -> Goals:
        args, kill = self.args, self.kill
        floor, url = pbx_floor
        goals = Goals()
        victim_node = next((n for n, lbl in self.label.items()
                            if kill is not None and lbl == f":{kill.victim.port}"), None)
        cut: dict[str, float | None] = {}  # endpoint -> its first hello after the kill
        if kill is not None and kill.at is not None:
            for endpoint in self.hellos:
                if self.node_at(endpoint, kill.at - 0.001) == victim_node:
                    later = [t for t, _ in self.hellos[endpoint] if t > kill.at]
                    cut[endpoint] = later[0] if later else None
        first_page = {ep: hs[0][1] for ep, hs in self.hellos.items() if hs}
        landed: dict[str, int] = {}
        for node in first_page.values():
            landed[self.name(node)] = landed.get(self.name(node), 0) + 1
        print("pages per process at the start (nginx least_conn): "
              + ", ".join(f"{n} {c}" for n, c in sorted(landed.items())))

        per_node: dict[str, list[float]] = {}
        missing_by: dict[str, list[tuple[str, str]]] = {}
        every: list[float] = []
        by_window: dict[int, list[float]] = {}
        away_got, away_lost, survivors_lost, survivors_after = [], [], [], []
        first_write = min(self.written.values(), default=0.0)
        for key, at in self.written.items():
            endpoint = key[1]
            got = self.arrivals.get(key)
            back = cut.get(endpoint, 0.0) if endpoint in cut else None
            # a cut page's ring written before it was back, whose frame had not come before the
            # kill: it died with the process, or came with the reconnect's repeat
            if endpoint in cut and (back is None or at < back) and (
                    got is None or got >= kill.at):
                (away_got if got is not None else away_lost).append(
                    (got - at) if got is not None else key)
                continue
            node = self.node_at(endpoint, at)
            where = self.name(node)
            if kill is not None and kill.at is not None:
                where += ", before the kill" if at < kill.at else ", after"
            if got is None:
                missing_by.setdefault(where, []).append(key)
            else:
                ms = (got - at) * 1000
                every.append(ms)
                per_node.setdefault(where, []).append(ms)
                by_window.setdefault(int((at - first_write) // 10), []).append(ms)
            if kill is not None and kill.at is not None and at >= kill.at and endpoint not in cut:
                (survivors_lost.append(key) if got is None else survivors_after.append(
                    (got - at) * 1000))
        missing = [k for ks in missing_by.values() for k in ks]
        unexpected = sum(1 for key in self.arrivals if key not in self.written)
        stats = percentiles(every)
        for where in sorted(set(per_node) | set(missing_by),
                            key=lambda w: (w.split(",")[0], w.endswith("after"))):
            print(latency_line(f"  via {where}", percentiles(per_node.get(where, [])))
                  + f"  missing {len(missing_by.get(where, []))}")
        print(latency_line("ring written -> call.ringing, every process", stats))
        raw, plain = percentiles(self.floor_ms), percentiles(floor.probe.times)
        plain_name = "plain sqlite3" if url.startswith("sqlite") else "plain asyncpg"
        print(latency_line("raw websocket push, same size, same moments", raw))
        print(latency_line(f"number lookup in {plain_name}, same moments", plain))
        print("p99 in each 10 s of the run: " + ", ".join(
            f"{percentiles(by_window[w])['p99']:.0f}" for w in sorted(by_window)) + " ms"
            + (f" (the kill at {kill.after:.0f} s)" if kill is not None and kill.at else ""))
        print(f"rings without a frame (pages not cut by the kill): {len(missing)}   frames for "
              f"no ring: {unexpected}")
        if missing:
            print(f"  e.g. {missing[:5]}")
        unplanned = {ep: cs for ep, cs in self.closes.items()
                     if ep not in cut and cs} | {ep: self.closes[ep][1:] for ep in cut
                                                 if len(self.closes.get(ep, [])) > 1}
        closes = sum(len(cs) for cs in unplanned.values())
        print(f"pages closed other than by the kill: {closes}"
              + (f" (codes {sorted({c for cs in unplanned.values() for _, c in cs}, key=str)})"
                 if closes else ""))

        goal = GOAL_P99_MS if args.rate <= 20 else GOAL_P99_FAST_MS
        lines = [
            f"  cluster.latency      p50 {stats['p50']:.1f} ms  p90 {stats['p90']:.1f} ms  "
            f"p99 {stats['p99']:.1f} ms  max {stats['max']:.1f} ms  (goal p99 < {goal:g} ms: "
            f"{goals.check('cluster.latency', stats['p99'] < goal)})  [{args.operators} "
            f"operators, {len(self.label)} process(es), {args.rate:g} calls/s, {self.backend}, "
            f"through nginx]",
            f"  cluster.raw_push     p50 {raw['p50']:.1f} ms  p99 {raw['p99']:.1f} ms  "
            f"(a raw websocket push of the same size, no nginx, for scale)",
            f"  cluster.plain_db     p50 {plain['p50']:.2f} ms  p99 {plain['p99']:.2f} ms  "
            f"(the number lookup in {plain_name}, for scale)",
            f"  cluster.missing      {len(missing)} of {len(every) + len(missing):,} rings "
            f"(goal 0: {goals.check('cluster.missing', not missing)})",
        ]
        if kill is not None:
            gaps = [(t - kill.at) for t in cut.values() if t is not None] if kill.at else []
            not_back = sum(1 for t in cut.values() if t is None)
            g = percentiles(gaps)
            survived = percentiles(survivors_after)
            back_to = {}
            for endpoint, t in cut.items():
                if t is not None:
                    where = self.name(self.node_at(endpoint, t + 0.001))
                    back_to[where] = back_to.get(where, 0) + 1
            print(f"the kill: {len(cut)} pages on :{kill.victim.port} cut; back on "
                  + (", ".join(f"{n} {c}" for n, c in sorted(back_to.items())) or "none")
                  + f"; {not_back} not back")
            print(latency_line("  surviving pages' pops after the kill", survived))
            got_s = [s * 1000 for s in away_got]
            print(latency_line("  cut pages: rings pending or while away", percentiles(got_s))
                  + f"  lost {len(away_lost)}")
            ok_gap = bool(cut) and not not_back and g["max"] < GOAL_RECONNECT_S
            lines += [
                f"  cluster.kill.survivors_lost  {len(survivors_lost)} of "
                f"{len(survivors_lost) + len(survivors_after):,} rings to pages on the surviving "
                f"processes after the kill (goal 0: "
                f"{goals.check('cluster.kill.survivors_lost', not survivors_lost)})",
                f"  cluster.kill.reconnect  {len(cut) - not_back} of {len(cut)} cut pages back: "
                f"gap kill -> hello p50 {g['p50']:.2f} s  p99 {g['p99']:.2f} s  max "
                f"{g['max']:.2f} s  (goal all back, max < {GOAL_RECONNECT_S:g} s: "
                f"{goals.check('cluster.kill.reconnect', ok_gap)})",
                f"  cluster.kill.away    {len(away_got) + len(away_lost)} rings to cut pages "
                f"not popped before the kill or written while away: {len(away_got)} popped on "
                f"reconnect (the call still rang), {len(away_lost)} lost (over before the page "
                f"was back; no goal)",
            ]
            if kill.restart_after:
                lines.append(self.restart_line(kill))
        once = (db["rows"] == db["keys"] == db["linkedids"] == self.started
                and db["completed"] == len(sim.ended) and db["completed_ids"] == sim.ended)
        missed_expected = len(sim.abandoned & sim.ended)
        tasks_once = (db["doubled"] == 0 and db["missed"] == missed_expected
                      and db["attempts"] == db["missed"])
        lines += [
            f"  cluster.stored_once  {db['completed']:,} completed rows for {len(sim.ended):,} "
            f"calls the PBX ended; {db['rows']:,} rows for {self.started:,} calls started "
            f"({db['keys']:,} distinct keys, {db['linkedids']:,} distinct Linkedids); the same "
            f"calls: {db['completed_ids'] == sim.ended} (goal exactly once: "
            f"{goals.check('cluster.stored_once', once)})",
            f"  cluster.missed_tasks {db['tasks']:,} missed-call tasks ({db['open']:,} open) for "
            f"{db['numbers']:,} numbers; numbers with two open: {db['doubled']}; attempts "
            f"{db['attempts']:,} = missed calls stored {db['missed']:,} = abandoned by the PBX "
            f"{missed_expected:,}? (goal one task per number, one attempt per missed call: "
            f"{goals.check('cluster.missed_tasks', tasks_once)})",
        ]
        lost = sim.ended - db["completed_ids"]
        wrongly_missed = db["missed_ids"] - sim.abandoned
        unstored_missed = (sim.abandoned & sim.ended) - db["missed_ids"]
        print(f"calls the PBX ended that no process completed: {len(lost)}"
              + (f" (e.g. {sorted(lost)[:3]})" if lost else "")
              + f"; stored as missed though answered: {len(wrongly_missed)}"
              + (f" (e.g. {sorted(wrongly_missed)[:3]})" if wrongly_missed else "")
              + f"; abandoned but not stored as missed: {len(unstored_missed)}")
        drops = sum(n for line, n in self.log_lines.items() if "AMI down" in line)
        print(f"AMI links dropped by the servers (their own liveness check, in their logs): "
              f"{drops}")
        lines.append(f"  cluster.ami_drops    {drops} AMI links the servers dropped (liveness "
                     f"check: a process too far behind the PBX's stream; no goal)")
        print("\nsummary:")
        print("\n".join(lines))
        return goals

    def restart_line(self, kill: Kill) -> str:
        if kill.error or kill.new_node is None:
            return (f"  cluster.kill.restart not restarted in time: {kill.error or 'no hello'} "
                    f"(no goal)")
        landed = sum(1 for p in kill.probes if p.hellos and p.hellos[0][1] == kill.new_node)
        since = {p.endpoint: p.hellos[0][0] for p in kill.probes if p.hellos
                 and p.hellos[0][1] == kill.new_node}
        rings = [k for k, at in self.written.items() if k[1] in since and at > since[k[1]]]
        popped = sum(1 for k in rings if k in kill.probe_arrivals)
        return (f"  cluster.kill.restart back {kill.restarted_at - kill.at:.1f} s after the "
                f"kill; took {landed} of {len(kill.probes)} new pages; its pops reached them "
                f"for {popped} of {len(rings)} rings (no goal)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=3, help="callcenter serve processes")
    parser.add_argument("--operators", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long calls arrive")
    parser.add_argument("--quick", action="store_true", help="15 s of calls")
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--browser-processes", type=int, default=None,
                        help="child processes the browsers are spread over (default: one per "
                             "500 operators)")
    parser.add_argument("--kill-after", type=float, default=None,
                        help="seconds into the calls to kill -9 one process (default: half-way; "
                             "-1: no kill; with one process there is none)")
    parser.add_argument("--restart-after", type=float, default=None,
                        help="seconds after the kill to start it again (default 10, 3 with "
                             "--quick; 0: not restarted)")
    parser.add_argument("--dump", metavar="FILE", help="write each ring's times as JSON lines")
    parser.add_argument("--pg", metavar="URL",
                        help="a postgresql+asyncpg:// URL of a role that may create databases "
                             f"({PG_DATABASE} is made); needed for more than one process")
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--browsers-child":
        return asyncio.run(browsers_process(json.loads(sys.argv[2])))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 15.0
    if args.kill_after is None:
        args.kill_after = args.seconds / 2
    if args.restart_after is None:
        args.restart_after = 3.0 if args.quick else 10.0
    if args.browser_processes is None:
        args.browser_processes = max(1, math.ceil(args.operators / 500))
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
