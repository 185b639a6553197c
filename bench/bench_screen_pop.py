"""Screen-pop latency: from the PBX writing a ring event to the card arriving in the browser.

Set-up: a migrated SQLite file with 200 operators (``PJSIP/1000`` ... ``PJSIP/1199``) and 3,000
clients with orders; the real server, ``python -m callcenter serve``, in its own process, with
its AMI pointed at an ``AmiSimulator`` run here; 200 browsers (one aiohttp session each, logged
in with ``POST /api/login``, a ``/ws`` websocket offering permessage-deflate as browsers do).

Load: inbound queue calls arriving at ``--rate`` calls/s (Poisson) for ``--seconds`` seconds,
each built by ``SyntheticCalls`` (~100 AMI events, answered or abandoned, real timing) for a
random 2-5 of the 200 operators, from a known client (half) or an unknown number (half).

Measured: a ``CallTracker`` here, fed the same events in the same order as the server's, tells
which event makes the server emit ``OperatorRinging`` for each (Linkedid, operator) -- for these
calls the operator channel's ``Newchannel``, the first event naming it -- and the time
(``time.time()``) just before that event's bytes were written to the server's AMI socket. The
browser of that operator notes ``time.time()`` when the ``call.ringing`` frame whose
``call.linkedid`` matches arrives.  Latency = arrival - write.

Goals: p99 < 50 ms; every ring produces its frame (0 missing).

    python bench/bench_screen_pop.py [--rate 20] [--seconds 60] [--operators 200] [--quick]
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
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import NOW, PASSWORD, ROOT, WORK, CpuShare, LoopLag, create_operators  # noqa: E402
from fixtures import free_port, wait_http  # noqa: E402
from fixtures import insert_clients, insert_orders, latency_line, migrated_sqlite  # noqa: E402
from fixtures import percentiles, russian_number, settings_for, verdict  # noqa: E402

import aiohttp  # noqa: E402

from callcenter.ami.message_text import render_message  # noqa: E402
from callcenter.ami.sim import AmiSimulator  # noqa: E402
from callcenter.ami.synthetic import SyntheticCalls  # noqa: E402
from callcenter.app import build_services  # noqa: E402
from callcenter.domain.calls import CallTracker, OperatorRinging, TrackerConfig  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402

AMI_USER, AMI_SECRET = "callcenter", "bench-ami-secret"
GOAL_P99_MS = 50.0
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


async def prepare_database(path: Path, operators: int, clients: int) -> tuple[str, list[str]]:
    """Migrated file with the operators, clients (with orders); returns (url, known numbers)."""
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
    return url, [n[0] for n in numbers]


def start_server(url: str, http_port: int, ami_port: int, command: str) -> subprocess.Popen:
    env = dict(os.environ, CALLCENTER_DB_URL=url, CALLCENTER_HTTP_HOST="127.0.0.1",
               CALLCENTER_HTTP_PORT=str(http_port), CALLCENTER_AMI_HOST="127.0.0.1",
               CALLCENTER_AMI_PORT=str(ami_port), CALLCENTER_AMI_USERNAME=AMI_USER,
               CALLCENTER_AMI_SECRET=AMI_SECRET, CALLCENTER_SECRET_KEY="bench-secret-key",
               CALLCENTER_LOG_LEVEL="WARNING", CALLCENTER_RECORDINGS_DIR=str(WORK / "recordings"))
    argv = shlex.split(command) if command else [sys.executable, "-m", "callcenter", "serve"]
    with open(LOG, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


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
                      known: list[str], rng: random.Random
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
        for key in rings:
            written.setdefault(key, at)
            known_caller[key] = caller_known.get(key[0], False)


async def run(args: argparse.Namespace) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    db_path = WORK / "screen-pop.sqlite3"
    print(f"preparing: {args.operators} operators, {args.clients:,} clients with orders ...",
          flush=True)
    url, known = await prepare_database(db_path, args.operators, args.clients)
    endpoints = [f"PJSIP/{1000 + i}" for i in range(args.operators)]
    sim = TimedSimulator(AMI_USER, AMI_SECRET, seed=1, operators=endpoints)
    ami_port = await sim.start()
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    server = start_server(url, http_port, ami_port, args.server_command)
    browsers: list[Browser] = []
    arrivals: dict[tuple[str, str], float] = {}
    try:
        await wait_http(f"{base}/api/openapi.json", server, LOG)
        await sim.wait_for_clients(1, timeout=30)
        limit = asyncio.Semaphore(8)

        async def connect(browser: Browser) -> None:
            async with limit:
                await browser.open(arrivals)

        browsers = [Browser(base, f"op{1000 + i}", endpoints[i]) for i in range(args.operators)]
        await asyncio.gather(*(connect(b) for b in browsers))
        await asyncio.wait_for(asyncio.gather(*(b.hello.wait() for b in browsers)), 30)
        await asyncio.sleep(1.0)  # let the AMI resync and logins settle
        print(f"{len(browsers)} browsers connected; {args.rate:g} calls/s for {args.seconds:g} s "
              f"(2-5 random operators rung per call)", flush=True)

        load_before = os.getloadavg()[0]
        cpu = CpuShare({"server": python_pid(server.pid), "PBX + browsers": os.getpid()})
        lag = LoopLag()
        lag.start()
        written, known_caller, started = await drive_calls(
            sim, args.rate, args.seconds, endpoints, known, random.Random(args.seed))
        cpu_line, lag_ms = cpu.line(), lag.take_ms()
        await lag.stop()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not all(k in arrivals for k in written):
            await asyncio.sleep(0.05)
        load_after = os.getloadavg()[0]
    finally:
        await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(python_pid(server.pid), signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        await asyncio.sleep(0.2)  # let the simulator's session see the server go
        await sim.stop()

    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for (linkedid, endpoint), at in written.items():
                out.write(json.dumps({"linkedid": linkedid, "endpoint": endpoint, "written": at,
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
    print(f"\n{started:,} calls, {len(written):,} rings; load average {load_before:.1f} -> "
          f"{load_after:.1f}\nCPU: {cpu_line}\nthe PBX/browsers' event loop ran late by up to "
          f"{lag_ms:.0f} ms (a bound on how much of a latency this process itself added)\n")
    print(latency_line("ring written -> call.ringing in browser", every))
    print(latency_line("  known callers (card looked up)", percentiles(latencies[True])))
    print(latency_line("  unknown numbers", percentiles(latencies[False])))
    print("p99 in each 10 s of the run: " + ", ".join(
        f"{percentiles(by_window[w])['p99']:.0f}" for w in sorted(by_window)) + " ms")
    print(f"rings without a frame: {len(missing)}   frames for no ring: {unexpected}")
    if missing:
        print(f"  e.g. {missing[:5]}; server log: {LOG}")
    print("\nsummary:")
    print(f"  screen_pop.latency   p50 {every['p50']:.1f} ms  p90 {every['p90']:.1f} ms  "
          f"p99 {every['p99']:.1f} ms  max {every['max']:.1f} ms  (goal p99 < {GOAL_P99_MS:g} ms: "
          f"{verdict(every['p99'] < GOAL_P99_MS)})  [{args.operators} operators, "
          f"{args.rate:g} calls/s]")
    print(f"  screen_pop.missing   {len(missing)} of {len(written):,} rings "
          f"(goal 0: {verdict(not missing)})")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return 0


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
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 15.0
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
