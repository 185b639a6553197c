"""Screen-pop latency: from the PBX writing a ring event to the card arriving in the browser.

Set-up: a migrated SQLite file (or, with ``--pg URL``, a PostgreSQL database made from it) with
200 operators (``PJSIP/1000`` ... ``PJSIP/1199``) and 3,000 clients with orders; three
processes, so that no event loop measures another's load: the real server, ``python -m
callcenter serve``; the PBX (an ``AmiSimulator`` the server's AMI connects to) in this one; and
the 200 browsers (one aiohttp session each, logged in with ``POST /api/login``, a ``/ws``
websocket offering permessage-deflate as browsers do) in a child process of their own.

Load: inbound queue calls arriving at ``--rate`` calls/s (Poisson) for ``--seconds`` seconds,
each built by ``SyntheticCalls`` (~100 AMI events, answered or abandoned, real timing) for a
random 2-5 of the 200 operators, from a known client (half) or an unknown number (half).

Measured: a ``CallTracker`` here, fed the same events in the same order as the server's, tells
which event makes the server emit ``OperatorRinging`` for each (Linkedid, operator) -- for these
calls the operator channel's ``Newchannel``, the first event naming it -- and the time
(``time.time()``) just before that event's bytes were written to the server's AMI socket. The
browser of that operator notes ``time.time()`` when the ``call.ringing`` frame whose
``call.linkedid`` matches arrives.  Latency = arrival - write.

Beside it, the floors: with every ring event, the PBX process also pushes a frame of the same
size over a raw aiohttp websocket of its own to the browsers' process (no server, no database),
and runs the pop's number lookup with the plain driver (stdlib ``sqlite3``, or one plain asyncpg
connection): what a push and a query cost on this machine under the same load, in the same run.

Goals: p99 < 50 ms at 20 calls/s (< 100 ms at 50 calls/s and more); every ring produces its frame
(0 missing).

    python bench/bench_screen_pop.py [--rate 20] [--seconds 60] [--operators 200] [--quick]
                                     [--pg postgresql+asyncpg://USER@HOST:PORT/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import json
import logging
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import NOW, PASSWORD, ROOT, WORK, CpuShare, Goals, LoopLag  # noqa: E402
from fixtures import copy_sqlite_to_pg, create_operators, fresh_pg_database  # noqa: E402
from fixtures import listening_socket, wait_http  # noqa: E402
from fixtures import insert_clients, insert_orders, latency_line, migrated_sqlite  # noqa: E402
from fixtures import percentiles, russian_number, settings_for  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from callcenter.ami.message_text import render_message  # noqa: E402
from callcenter.ami.sim import AmiSimulator  # noqa: E402
from callcenter.ami.synthetic import SyntheticCalls  # noqa: E402
from callcenter.app import build_services  # noqa: E402
from callcenter.domain.calls import CallTracker, OperatorRinging, TrackerConfig  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402

AMI_USER, AMI_SECRET = "callcenter", "bench-ami-secret"
GOAL_P99_MS = 50.0  # at up to 20 calls/s
GOAL_P99_FAST_MS = 100.0  # above 20 calls/s (the 50 calls/s)
FLOOR_FRAME = b'{"type":"raw.push","at":%.6f,"pad":"' + b"x" * 4900 + b'"}'
BATCH_WINDOW = 0.002  # events due this close together leave in one write, like one TCP segment
LOG = WORK / "screen-pop-server.log"


class TimedSimulator(AmiSimulator):
    """The simulator, plus a broadcast that says when its bytes went to the socket."""

    async def write_timed(self, events: Sequence[Mapping[str, str]]) -> float:
        """Send ``events`` as one write to every client; the ``time.time()`` of the write."""
        now = self.clock()
        for fields in events:
            self.pbx.observe(fields, now)
        data = "".join(render_message(e) for e in events).encode("utf-8")
        # _Session.send writes before its first await, so the stamp is taken right at the write
        sessions = [s for s in self._sessions if s.logged_in]
        written_at = time.time()
        for session in sessions:
            await session.send(data)
        return written_at


class Browser:
    """One operator's browser: a logged-in session and its /ws, noting call.ringing arrivals."""

    def __init__(self, base: str, login: str, endpoint: str) -> None:
        self.base, self.login, self.endpoint = base, login, endpoint
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.hello = asyncio.Event()
        self.frames = 0
        self.task: asyncio.Task | None = None

    async def open(self, arrivals: dict[tuple[str, str], float]) -> None:
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with self.session.post(f"{self.base}/api/login",
                                     json={"login": self.login, "password": PASSWORD}) as resp:
            assert resp.status == 200, (self.login, resp.status, await resp.text())
        self.ws = await self.session.ws_connect(f"{self.base.replace('http', 'ws')}/ws",
                                                compress=15, max_msg_size=0)
        self.task = asyncio.create_task(self._read(arrivals))

    async def _read(self, arrivals: dict[tuple[str, str], float]) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            at = time.time()
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            self.frames += 1
            if '"call.ringing"' in msg.data[:40]:
                data = json.loads(msg.data)
                arrivals.setdefault((data["call"]["linkedid"], self.endpoint), at)
            elif '"hello"' in msg.data[:20]:
                self.hello.set()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        if self.session is not None:
            await self.session.close()


async def prepare_database(path: Path, operators: int, clients: int,
                           pg: str | None = None) -> tuple[str, list[str]]:
    """Migrated file with the operators, clients (with orders), copied into a fresh PostgreSQL
    database ``callcenter_bench_pop`` when ``pg`` is given; returns (url, known numbers)."""
    url = await migrated_sqlite(path)
    rng = random.Random(42)
    numbers = [[russian_number(rng)] for _ in range(clients)]
    insert_clients(path, numbers, rng)
    insert_orders(path, range(1, clients + 1), rng)
    db = Database(url)
    try:
        services = build_services(settings_for(url), db, lambda: NOW)
        await create_operators(services.accounts, operators, first_extension=1000)
    finally:
        await db.dispose()
    if pg:
        url = await fresh_pg_database(pg, "callcenter_bench_pop")
        await copy_sqlite_to_pg(path, url, ("users", "shops", "clients", "client_phones",
                                            "orders"))
    return url, [n[0] for n in numbers]


def start_server(url: str, sock: socket.socket, ami_port: int, command: str) -> subprocess.Popen:
    """The server in a process of its own, serving on ``sock`` (handed down, then closed here)."""
    env = dict(os.environ, CALLCENTER_DB_URL=url, CALLCENTER_AMI_HOST="127.0.0.1",
               CALLCENTER_AMI_PORT=str(ami_port), CALLCENTER_AMI_USERNAME=AMI_USER,
               CALLCENTER_AMI_SECRET=AMI_SECRET, CALLCENTER_SECRET_KEY="bench-secret-key",
               CALLCENTER_LOG_LEVEL="WARNING", CALLCENTER_RECORDINGS_DIR=str(WORK / "recordings"))
    argv = shlex.split(command) if command else [sys.executable, "-m", "callcenter", "serve"]
    argv += ["--listen-fd", str(sock.fileno())]
    try:
        with open(LOG, "wb") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    pass_fds=(sock.fileno(),))
    finally:
        sock.close()  # the port lives as long as the server does


def python_pid(pid: int) -> int:
    """The server's Python process: ``pid`` itself, or its child when run under a wrapper
    such as ``py-spy record -- python -m callcenter serve``."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        if "python" in Path(argv0).name:
            return pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # already gone
        return pid
    return int(children[0]) if children else pid


async def drive_calls(sim: TimedSimulator, rate: float, seconds: float, endpoints: list[str],
                      known: list[str], rng: random.Random, floor: "FloorServer"
                      ) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], bool], int]:
    """Generate the calls; return the write time of each ring event keyed by (Linkedid,
    endpoint), whether that caller was a client, and the calls started."""
    tracker = CallTracker(TrackerConfig(operator_endpoints=frozenset(endpoints)))
    written: dict[tuple[str, str], float] = {}
    known_caller: dict[tuple[str, str], bool] = {}
    caller_known: dict[str, bool] = {}
    heap: list[tuple[float, int, dict[str, str]]] = []
    order = itertools.count()
    loop = asyncio.get_running_loop()
    start = loop.time()
    next_call, started = 0.0, 0
    while True:
        while next_call < seconds and (not heap or next_call <= heap[0][0]):
            is_known = rng.random() < 0.5
            number = rng.choice(known) if is_known else russian_number(rng)
            number = rng.choice((number[1:], number, "8" + number[2:]))  # as trunks send it
            calls = SyntheticCalls(rng, sim.ids, operators=rng.sample(endpoints, rng.randint(2, 5)),
                                   callers=[number], epoch=1795449448)
            events = calls.next_call()
            caller_known[events[0][1]["Linkedid"]] = is_known
            for offset, fields in events:
                heapq.heappush(heap, (next_call + offset, next(order), fields))
            started += 1
            next_call += rng.expovariate(rate)
        if not heap or heap[0][0] > seconds + 1.0:  # calls still going on are left unfinished
            return written, known_caller, started
        due = heap[0][0]
        delay = start + due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        batch = []
        while heap and heap[0][0] <= due + BATCH_WINDOW and len(batch) < 500:
            batch.append(heapq.heappop(heap)[2])
        rings = []
        for fields in batch:
            for effect in tracker.feed(fields, NOW):
                if type(effect) is OperatorRinging:
                    rings.append((effect.call_key, effect.endpoint))
        at = await sim.write_timed(batch)
        if rings:
            await floor.push()
        for key in rings:
            written.setdefault(key, at)
            known_caller[key] = caller_known.get(key[0], False)


class DriverProbe:
    """The pop's number lookup with the plain driver, timed: the database's own floor."""

    SQL = "SELECT client_id FROM client_phones WHERE e164 = {}"

    def __init__(self, url: str, numbers: list[str]) -> None:
        self.url, self.numbers = url, numbers
        self.sqlite = self.pg = None
        self.times: list[float] = []
        self.tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            import sqlite3

            self.sqlite = sqlite3.connect(self.url.split("///", 1)[1])
        else:
            import asyncpg

            from fixtures import asyncpg_dsn

            self.pg = await asyncpg.connect(asyncpg_dsn(self.url))

    def soon(self) -> None:
        number = random.choice(self.numbers)
        if self.sqlite is not None:
            t0 = time.perf_counter()
            self.sqlite.execute(self.SQL.format("?"), (number,)).fetchall()
            self.times.append((time.perf_counter() - t0) * 1000)
            return

        async def query() -> None:
            t0 = time.perf_counter()
            await self.pg.fetch(self.SQL.format("$1"), number)
            self.times.append((time.perf_counter() - t0) * 1000)

        if not self.tasks:  # one at a time on its one connection
            task = asyncio.get_running_loop().create_task(query())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()


class FloorServer:
    """A raw aiohttp websocket server: the floor a screen pop cannot beat on this machine."""

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.runner: web.AppRunner | None = None
        self.pushed = 0
        self.probe: DriverProbe | None = None

    async def start(self) -> str:
        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            self.sockets.append(ws)
            async for _ in ws:
                pass
            return ws

        app = web.Application()
        app.router.add_get("/raw", handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        sock = listening_socket()
        await web.SockSite(self.runner, sock).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}/raw"

    async def push(self) -> None:
        frame = FLOOR_FRAME % time.time()
        for ws in self.sockets:
            await ws.send_frame(frame, aiohttp.WSMsgType.TEXT)
        self.pushed += 1
        if self.probe is not None:
            self.probe.soon()

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()


# -- the browsers' process --------------------------------------------------------------------

async def browsers_process(base: str, operators: int, floor_url: str, out: str) -> int:
    """The child: ``operators`` browsers and one raw websocket to the floor server; says
    "ready" on stdout once every browser got its hello, and on "stop" from stdin writes what
    arrived when to ``out``."""
    arrivals: dict[tuple[str, str], float] = {}
    floor_ms: list[float] = []
    limit = asyncio.Semaphore(8)
    browsers = [Browser(base, f"op{1000 + i}", f"PJSIP/{1000 + i}") for i in range(operators)]

    async def connect(browser: Browser) -> None:
        async with limit:
            await browser.open(arrivals)

    session = aiohttp.ClientSession()
    try:
        await asyncio.gather(*(connect(b) for b in browsers))
        await asyncio.wait_for(asyncio.gather(*(b.hello.wait() for b in browsers)), 30)
        raw = await session.ws_connect(floor_url, max_msg_size=0)

        async def read_floor() -> None:
            async for msg in raw:
                at = time.time()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    floor_ms.append((at - float(msg.data[24:msg.data.index(",", 24)])) * 1000)

        floor_task = asyncio.create_task(read_floor())
        lag = LoopLag()
        lag.start()
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)
        lag_ms = lag.take_ms()
        await lag.stop()
        floor_task.cancel()
        await asyncio.gather(floor_task, return_exceptions=True)
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"arrivals": [[k[0], k[1], at] for k, at in arrivals.items()],
                       "floor_ms": floor_ms, "lag_ms": lag_ms}, f)
    finally:
        await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
        await session.close()
    return 0


def start_browsers(base: str, operators: int, floor_url: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--browsers-child", base, str(operators), floor_url, str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


# -- the PBX and the report (this process) ----------------------------------------------------

async def run(args: argparse.Namespace) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    db_path = WORK / "screen-pop.sqlite3"
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"preparing ({backend}): {args.operators} operators, {args.clients:,} clients with "
          f"orders ...", flush=True)
    url, known = await prepare_database(db_path, args.operators, args.clients, args.pg)
    endpoints = [f"PJSIP/{1000 + i}" for i in range(args.operators)]
    sim = TimedSimulator(AMI_USER, AMI_SECRET, seed=1, operators=endpoints)
    ami_port = await sim.start()
    floor = FloorServer()
    floor_url = await floor.start()
    floor.probe = DriverProbe(url, known)
    await floor.probe.open()
    sock = listening_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = start_server(url, sock, ami_port, args.server_command)
    browsers: subprocess.Popen | None = None
    out = WORK / "screen-pop-arrivals.json"
    out.unlink(missing_ok=True)
    try:
        await wait_http(f"{base}/api/openapi.json", server, LOG)
        await sim.wait_for_clients(1, timeout=30)
        browsers = start_browsers(base, args.operators, floor_url, out)
        loop = asyncio.get_running_loop()
        line = await asyncio.wait_for(loop.run_in_executor(None, browsers.stdout.readline), 90)
        if line.strip() != "ready":
            raise SystemExit(f"the browsers' process failed (exit {browsers.poll()})")
        await asyncio.sleep(1.0)  # let the AMI resync and logins settle
        print(f"{args.operators} browsers connected (in a process of their own); {args.rate:g} "
              f"calls/s for {args.seconds:g} s (2-5 random operators rung per call)", flush=True)

        load_before = os.getloadavg()[0]
        cpu = CpuShare({"server": python_pid(server.pid), "PBX": os.getpid(),
                        "browsers": browsers.pid})
        lag = LoopLag()
        lag.start()
        written, known_caller, started = await drive_calls(
            sim, args.rate, args.seconds, endpoints, known, random.Random(args.seed), floor)
        cpu_line, lag_ms = cpu.line(), lag.take_ms()
        await lag.stop()
        await asyncio.sleep(5.0 if args.seconds > 5 else 2.0)  # frames still on their way
        load_after = os.getloadavg()[0]
        browsers.stdin.write("stop\n")
        browsers.stdin.flush()
        await loop.run_in_executor(None, browsers.wait, 60)
        report = json.loads(out.read_text(encoding="utf-8"))
    finally:
        if browsers is not None and browsers.poll() is None:
            browsers.kill()
            browsers.wait()
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(python_pid(server.pid), signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        await floor.stop()
        await floor.probe.close()
        await asyncio.sleep(0.2)  # let the simulator's session see the server go
        await sim.stop()

    arrivals = {(linkedid, endpoint): at for linkedid, endpoint, at in report["arrivals"]}
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as dump:
            for (linkedid, endpoint), at in written.items():
                dump.write(json.dumps({"linkedid": linkedid, "endpoint": endpoint, "written": at,
                                       "arrived": arrivals.get((linkedid, endpoint)),
                                       "known": known_caller[(linkedid, endpoint)]}) + "\n")
    latencies: dict[bool, list[float]] = {True: [], False: []}
    by_window: dict[int, list[float]] = {}
    missing = []
    first_write = min(written.values(), default=0.0)
    for key, at in written.items():
        if key in arrivals:
            ms = (arrivals[key] - at) * 1000
            latencies[known_caller[key]].append(ms)
            by_window.setdefault(int((at - first_write) // 10), []).append(ms)
        else:
            missing.append(key)
    unexpected = sum(1 for key in arrivals if key not in written)
    every = percentiles(latencies[True] + latencies[False])
    raw = percentiles(report["floor_ms"])
    plain = percentiles(floor.probe.times)
    plain_name = "plain sqlite3" if url.startswith("sqlite") else "plain asyncpg"
    print(f"\n{started:,} calls, {len(written):,} rings; load average {load_before:.1f} -> "
          f"{load_after:.1f}\nCPU: {cpu_line}\nevent loops ran late by up to {lag_ms:.0f} ms "
          f"(PBX) and {report['lag_ms']:.0f} ms (browsers)\n")
    print(latency_line("ring written -> call.ringing in browser", every))
    print(latency_line("  known callers (card looked up)", percentiles(latencies[True])))
    print(latency_line("  unknown numbers", percentiles(latencies[False])))
    print(latency_line("raw websocket push, same size, same moments", raw))
    print(latency_line(f"number lookup in {plain_name}, same moments", plain))
    print("p99 in each 10 s of the run: " + ", ".join(
        f"{percentiles(by_window[w])['p99']:.0f}" for w in sorted(by_window)) + " ms")
    print(f"rings without a frame: {len(missing)}   frames for no ring: {unexpected}")
    if missing:
        print(f"  e.g. {missing[:5]}; server log: {LOG}")
    goal = GOAL_P99_MS if args.rate <= 20 else GOAL_P99_FAST_MS
    goals = Goals()
    print("\nsummary:")
    print(f"  screen_pop.latency   p50 {every['p50']:.1f} ms  p90 {every['p90']:.1f} ms  "
          f"p99 {every['p99']:.1f} ms  max {every['max']:.1f} ms  (goal p99 < {goal:g} ms: "
          f"{goals.check('screen_pop.latency', every['p99'] < goal)})  [{args.operators} "
          f"operators, {args.rate:g} calls/s, {backend}]")
    print(f"  screen_pop.raw_push  p50 {raw['p50']:.1f} ms  p99 {raw['p99']:.1f} ms  "
          f"(a raw websocket push of the same size, for scale)")
    print(f"  screen_pop.plain_db  p50 {plain['p50']:.2f} ms  p99 {plain['p99']:.2f} ms  "
          f"(the number lookup in {plain_name}, for scale)")
    print(f"  screen_pop.missing   {len(missing)} of {len(written):,} rings "
          f"(goal 0: {goals.check('screen_pop.missing', not missing)})")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return goals.exit_code()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long calls arrive")
    parser.add_argument("--operators", type=int, default=200)
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="15 s of calls")
    parser.add_argument("--dump", metavar="FILE", help="write each ring's times as JSON lines")
    parser.add_argument("--server-command", metavar="CMD",
                        help="run the server with this command instead of `python -m callcenter "
                             "serve` (e.g. under py-spy); it gets the same environment")
    parser.add_argument("--pg", metavar="URL",
                        help="serve from PostgreSQL: a postgresql+asyncpg:// URL of a role that "
                             "may create databases (callcenter_bench_pop is made)")
    if argv is None and len(sys.argv) == 6 and sys.argv[1] == "--browsers-child":
        base, operators, floor_url, out = sys.argv[2:]
        return asyncio.run(browsers_process(base, int(operators), floor_url, out))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 15.0
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
