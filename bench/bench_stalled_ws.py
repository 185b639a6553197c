"""One browser that stops reading its websocket must not slow anyone else down.

The real app (``create_app``: the real ``WebSocketHub`` and the real ``/ws`` handler with session
auth, heartbeat and permessage-deflate) runs in a child process; this script re-runs itself as
that child (``--serve``), adding bench-only routes: ``POST /bench/publish`` makes the server
publish screen-pop-sized messages (~5 KB of JSON: a ``call.ringing`` with a client card and
orders, stamped with ``time.time()`` just before ``hub.publish``) to every connected user (or to
given users) at a rate; ``GET /bench/state`` lists the hub's connections; ``GET /bench/handed``
says when the hub's writers handed each message to each socket.

Here: ``--clients`` browsers (aiohttp, logged in with ``POST /api/login``, offering
permessage-deflate as browsers do) note when each message arrives.  A stalled browser is a raw
socket (4 KiB receive buffer) that completes the websocket handshake and never reads again.

1. ``--cycles`` times: a stalled browser connects and is sent messages of its own until its
   socket buffers are full and its hub writer is blocked; then ``--seconds`` of messages to
   everyone at ``--rate``/s with it there (its queue grows but stays < 256), it goes away (TCP
   reset), and ``--seconds`` more with nobody stalled.  Windows alternate, so whatever else runs
   on the machine falls on both alike.  Latency of the readers with vs without, measured in the
   browsers (arrival - publish) and in the server alone (socket hand-off - publish).
2. (not with ``--quick``) a stalled browser left alone at ``--rate``/s: what lets it go, when.
3. a stalled browser sent ``--flood-rate``/s of its own: once its queue (256) is full the hub
   drops it; reading again, it must find the close frame with code 1013.

Goals: a stalled browser adds < 10 ms to the others' p50 and p99; it is disconnected with 1013
once its queue is full.

    python bench/bench_stalled_ws.py [--clients 50] [--rate 20] [--cycles 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import NOW, PASSWORD, ROOT, WORK, CpuShare, LoopLag, create_operators  # noqa: E402
from fixtures import listening_socket, wait_http  # noqa: E402
from fixtures import Goals, latency_line, migrated_sqlite, percentiles, settings_for  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from callcenter.app import build_services  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402

GOAL_ADDED_MS = 10.0
LOG = WORK / "stalled-ws-server.log"


# -- the server side (child process) ----------------------------------------------------------

def screen_pop(seq: int) -> dict:
    """A ``call.ringing`` as big as a real one with a client card (~5 KB of JSON)."""
    orders = [{"id": 9000 + i, "shop": {"id": 1, "slug": "tehnomir", "name": "Техномир"},
               "number": f"TM-{10000 + i}", "status": "delivered", "total": "12490.00",
               "currency": "RUB", "created_at": "2026-11-20T10:15:00+00:00",
               "items": [{"sku": f"K-{i}{j}", "name": "Чайник электрический Redmond RK-G200",
                          "qty": 1, "price": "2490.00"} for j in range(2)]}
              for i in range(9)]
    return {
        "type": "call.ringing", "sent_at": 0.0, "seq": seq, "call_key": f"1795449448.{seq}",
        "call": {"key": f"1795449448.{seq}", "linkedid": f"1795449448.{seq}",
                 "direction": "inbound", "caller": "+79161234567", "caller_name": "Иван Петров",
                 "callee": "+74951234567", "customer_number": "+79161234567",
                 "operators_rung": [{"endpoint": "PJSIP/101", "user_id": 1, "name": "Анна"}],
                 "started_at": "2026-11-23T09:00:00+00:00", "outcome": None},
        "number": "79161234567", "number_e164": "+79161234567", "candidates": [],
        "client": {"id": 1, "name": "Иван Петров", "city": "Москва", "timezone": "Europe/Moscow",
                   "local_time": "2026-11-23T12:00:00+03:00", "utc_offset": "+03:00",
                   "phones": [{"number": "+7 916 123-45-67", "e164": "+79161234567",
                               "label": "mobile"}],
                   "notes": "Просит звонить после 10 утра; предпочитает доставку курьером.",
                   "orders": orders, "activities": [], "history": [], "calls": [], "tasks": []},
    }


_STAMP = re.compile(r'"sent_at": ([0-9.]+), "seq": (\d+)')


def serve(db_url: str, fd: int) -> None:
    """The child process: the real app plus the bench routes. Also notes, for every screen pop,
    when the hub's writer handed it to each websocket (``send_frame`` returned): the server's
    share of the push latency, which no load in the browsers' process can blur."""
    from callcenter.app import create_app
    from callcenter.http.keys import CALLS
    from callcenter.http.ws_hub import WebSocketHub

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    sock = socket.socket(fileno=fd)  # bound and listening already, handed down by the parent
    app = create_app(settings_for(db_url, http_port=sock.getsockname()[1]))
    handed: list[tuple[int, int, float]] = []  # (seq, user id, ms from publish to the socket)
    user_of: dict[int, int] = {}

    register, send_frame = WebSocketHub.register, web.WebSocketResponse.send_frame

    def noting_register(self, ws, **kw):
        user_of[id(ws)] = kw["user_id"]
        return register(self, ws, **kw)

    async def noting_send_frame(self, data, opcode, compress=None):
        await send_frame(self, data, opcode, compress)
        stamp = _STAMP.search(bytes(data[:80]).decode("utf-8", "replace"))
        if stamp:
            handed.append((int(stamp[2]), user_of.get(id(self), 0),
                           (time.time() - float(stamp[1])) * 1000))

    WebSocketHub.register = noting_register
    web.WebSocketResponse.send_frame = noting_send_frame

    async def publish(request: web.Request) -> web.Response:
        params = await request.json()
        hub = app[CALLS].hub
        rate, count = float(params["rate"]), int(params["count"])
        loop = asyncio.get_running_loop()
        start, published, size, late = loop.time(), 0, 0, 0.0
        for seq in range(count):
            delay = start + seq / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            message = screen_pop(params.get("first", 0) + seq)
            message["sent_at"] = time.time()
            published += hub.publish(params.get("user_ids") or hub.connected_users(), message)
            size = size or len(hub.encode(message))
        return web.json_response({"frames": published, "bytes": size, "late_ms": late * 1000})

    async def state(request: web.Request) -> web.Response:
        hub = app[CALLS].hub
        conns = [{"user_id": c.user_id, "dropped": c.dropped, "queued": c.queue.qsize()}
                 for users in hub._by_user.values() for c in users]
        return web.json_response({"connections": conns})

    async def handed_off(request: web.Request) -> web.Response:
        first, last = int(request.query["first"]), int(request.query["last"])
        skip = {int(u) for u in request.query.get("skip", "").split(",") if u}
        return web.json_response(
            [ms for seq, user, ms in handed if first <= seq < last and user not in skip])

    app.router.add_post("/bench/publish", publish)
    app.router.add_get("/bench/handed", handed_off)
    app.router.add_get("/bench/state", state)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


# -- the browsers (this process) --------------------------------------------------------------

class Reader:
    """A browser that reads: notes (arrival - sent_at) of every message, with its seq."""

    def __init__(self, base: str, login: str) -> None:
        self.base, self.login = base, login
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.latencies: dict[int, float] = {}
        self.hello = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def open(self) -> None:
        async with self.session.post(f"{self.base}/api/login",
                                     json={"login": self.login, "password": PASSWORD}) as resp:
            assert resp.status == 200, (self.login, resp.status)
        self.ws = await self.session.ws_connect(f"{self.base.replace('http', 'ws')}/ws",
                                                compress=15, max_msg_size=0)
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            at = time.time()
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["type"] == "call.ringing":
                self.latencies[data["seq"]] = (at - data["sent_at"]) * 1000
            elif data["type"] == "hello":
                self.hello.set()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        await self.session.close()


class StalledBrowser:
    """A websocket client that completes the handshake and then never reads (until told)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.sock: socket.socket | None = None
        self.local_port = 0

    def connect(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window fills fast
        sock.connect(("127.0.0.1", self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nCookie: cc_session={self.token}\r\n\r\n"
                      ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)  # byte by byte: not one byte of the first frame is read
        assert head.startswith(b"HTTP/1.1 101"), head[:200]
        self.sock = sock
        self.local_port = sock.getsockname()[1]

    def abort(self) -> None:
        """Go away for good (a reset, as when a laptop is closed and the NAT forgets it)."""
        assert self.sock is not None
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def read_to_close(self, timeout: float) -> tuple[int, int | None, bool]:
        """Read again: (text frames received, close code or None, the server closed TCP)."""
        assert self.sock is not None
        self.sock.settimeout(timeout)
        buffer, frames, code, eof = b"", 0, None, False
        deadline = time.monotonic() + timeout
        try:
            while code is None and time.monotonic() < deadline:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    eof = True
                    break
                buffer += chunk
                while True:
                    parsed = _frame(buffer)
                    if parsed is None:
                        break
                    opcode, payload, buffer = parsed
                    if opcode == 1:
                        frames += 1
                    elif opcode == 8:
                        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                        break
            if code is not None:  # answer the close, then see whether the server hangs up
                self.sock.sendall(b"\x88\x82" + b"\0\0\0\0" + struct.pack("!H", code))
                eof = self.sock.recv(1 << 16) == b""
        except (TimeoutError, OSError):
            pass
        finally:
            self.sock.close()
        return frames, code, eof


def unsent_bytes(server_port: int, client_port: int) -> int | None:
    """Bytes the server's socket to ``client_port`` still has to send (its TCP send queue, from
    ``/proc/net/tcp``); None when that socket is gone."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if (int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port and state != "06"):  # TIME_WAIT
            return int(fields[4].split(":")[0], 16)
    return None


def _frame(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """(opcode, payload, rest) of the first whole unmasked frame in ``buffer``, or None."""
    if len(buffer) < 2:
        return None
    opcode, length, pos = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length, pos = struct.unpack("!H", buffer[2:4])[0], 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length, pos = struct.unpack("!Q", buffer[2:10])[0], 10
    if len(buffer) < pos + length:
        return None
    return opcode, buffer[pos:pos + length], buffer[pos + length:]


# -- the benchmark ----------------------------------------------------------------------------

async def prepare(path: Path, clients: int) -> str:
    url = await migrated_sqlite(path)
    db = Database(url)
    try:
        services = build_services(settings_for(url), db, lambda: NOW)
        await create_operators(services.accounts, clients, first_extension=2000)
    finally:
        await db.dispose()
    return url


async def server_state(session: aiohttp.ClientSession, base: str) -> list[dict]:
    async with session.get(f"{base}/bench/state") as resp:
        return (await resp.json())["connections"]


async def publish(session: aiohttp.ClientSession, base: str, rate: float, count: int,
                  first: int, user_ids: list[int] | None = None) -> dict:
    async with session.post(f"{base}/bench/publish", json={
            "rate": rate, "count": count, "first": first, "user_ids": user_ids}) as resp:
        return await resp.json()


async def stalled_browser(base: str, port: int, login: str) -> tuple[StalledBrowser, int]:
    """A logged-in browser that has stopped reading, and its user id."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(f"{base}/api/login",
                                json={"login": login, "password": PASSWORD}) as resp:
            assert resp.status == 200
            user_id = (await resp.json())["user"]["id"]
        token = next(c.value for c in session.cookie_jar if c.key == "cc_session")
    browser = StalledBrowser(port, token)
    await asyncio.to_thread(browser.connect)
    return browser, user_id


async def stall_until_gone(control: aiohttp.ClientSession, base: str, user_id: int, *,
                           rate: float, first: int, limit: float, after: float,
                           only_stalled: bool = False) -> dict:
    """Publish one second at a time until the stalled connection is dropped or gone from the
    hub, then ``after`` seconds more; report when and how it went."""
    seq, started = first, time.monotonic()
    gone_at_seq = gone_after = how = None
    queued = 0
    while time.monotonic() - started < limit:
        count = max(1, int(rate))
        await publish(control, base, rate, count, seq, [user_id] if only_stalled else None)
        seq += count
        mine = [c for c in await server_state(control, base) if c["user_id"] == user_id]
        queued = max([queued] + [c["queued"] for c in mine])
        if gone_at_seq is None and (not mine or any(c["dropped"] for c in mine)):
            gone_at_seq, gone_after = seq, time.monotonic() - started
            # the hub lets go within a second of the queue filling; the heartbeat needs 20 s+
            how = ("the hub (queue full)" if mine or gone_after < 20
                   else "the websocket heartbeat (no pong)")
        if gone_at_seq is not None and time.monotonic() - started >= gone_after + after:
            break
    return {"seq": seq, "gone_at_seq": gone_at_seq, "gone_after": gone_after, "how": how,
            "queued": queued}


async def block_writer(control: aiohttp.ClientSession, base: str, user_id: int, *,
                       rate: float, first: int) -> int:
    """Send the stalled browser messages of its own until its socket buffers are full and its
    hub queue has started to grow (its writer is blocked); returns the next seq."""
    seq = first
    for _ in range(int(15 * rate / 20)):
        await publish(control, base, rate, 20, seq, [user_id])
        seq += 20
        mine = [c for c in await server_state(control, base) if c["user_id"] == user_id]
        if mine and mine[0]["queued"] >= 5:
            return seq
    raise SystemExit("the stalled browser's writer never blocked")


def latencies_of(readers: list[Reader], windows: list[range]) -> list[float]:
    return [r.latencies[s] for r in readers for w in windows for s in w if s in r.latencies]


async def handed(session: aiohttp.ClientSession, base: str, windows: list[range],
                 skip: str) -> dict:
    """Server-side publish -> socket latencies of these messages (pooled over the windows)."""
    values: list[float] = []
    for w in windows:
        async with session.get(f"{base}/bench/handed", params={
                "first": w.start, "last": w.stop, "skip": skip}) as resp:
            values += await resp.json()
    return percentiles(values)


async def run(args: argparse.Namespace) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    db_path = WORK / "stalled-ws.sqlite3"
    url = await prepare(db_path, args.clients + args.cycles + 2)
    sock = listening_socket()
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with open(LOG, "wb") as log, sock:  # the child keeps its own copies of both descriptors
        server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(sock.fileno())],
                                  cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  pass_fds=(sock.fileno(),))
    readers: list[Reader] = []
    control = aiohttp.ClientSession()
    lag = LoopLag()
    stalled_ids: list[int] = []
    windows: dict[str, list[range]] = {"stalled": [], "nobody": []}
    heartbeat = None
    try:
        await wait_http(f"{base}/bench/state", server, LOG)
        readers = [Reader(base, f"op{2000 + i}") for i in range(args.clients)]
        for reader in readers:
            await reader.open()
        await asyncio.wait_for(asyncio.gather(*(r.hello.wait() for r in readers)), 30)
        lag.start()
        per_window = int(args.rate * args.seconds)
        print(f"{args.clients} reading browsers; {args.rate:g} screen pops/s to every browser; "
              f"{args.cycles} x ({args.seconds:g} s with a stalled browser, {args.seconds:g} s "
              f"without); load average {os.getloadavg()[0]:.1f}", flush=True)
        cpu = CpuShare({"server": server.pid, "browsers": os.getpid()})
        lag.take_ms()
        seq, size = 0, 0
        for cycle in range(args.cycles):
            # a browser stops reading; its buffers fill (messages of its own) and its writer blocks
            stalled, user_id = await stalled_browser(base, port, f"op{2000 + args.clients + cycle}")
            stalled_ids.append(user_id)
            seq = await block_writer(control, base, user_id, rate=args.flood_rate,
                                     first=10**6 * (cycle + 1))
            # B window: everyone's messages while it sits there, queue growing (< 256)
            result = await publish(control, base, args.rate, per_window, seq)
            size = result["bytes"]
            windows["stalled"].append(range(seq, seq + per_window))
            mine = [c for c in await server_state(control, base) if c["user_id"] == user_id]
            assert mine and not mine[0]["dropped"], "the window was too long: it got dropped"
            print(f"  cycle {cycle + 1}: stalled browser's hub queue at {mine[0]['queued']} "
                  f"messages at the end of its window", flush=True)
            stalled.abort()
            await asyncio.sleep(1.0)
            # A window: the same with nobody stalled
            seq += per_window
            await publish(control, base, args.rate, per_window, seq)
            windows["nobody"].append(range(seq, seq + per_window))
            seq += per_window
        cpu_line, lag_ms = cpu.line(), lag.take_ms()

        if args.heartbeat_phase:  # a stalled browser left alone at the everyday rate
            browser, user_id = await stalled_browser(
                base, port, f"op{2000 + args.clients + args.cycles}")
            stalled_ids.append(user_id)
            heartbeat = await stall_until_gone(control, base, user_id, rate=args.rate,
                                               first=10**8, limit=args.max_stall, after=0.0)
            heartbeat["read"] = await asyncio.to_thread(browser.read_to_close, 10.0)

        # the queue-full path: messages for the stalled browser only, so it fills in seconds
        flooded, flooded_id = await stalled_browser(
            base, port, f"op{2001 + args.clients + args.cycles}")
        stalled_ids.append(flooded_id)
        flood = await stall_until_gone(control, base, flooded_id, rate=args.flood_rate,
                                       first=10**9, limit=25.0, after=0.0, only_stalled=True)
        # _drop gives the close frame 1 s to leave; then the connection should be gone
        await asyncio.sleep(args.linger)
        mine = [c for c in await server_state(control, base) if c["user_id"] == flooded_id]
        flood["lingering"] = mine[0]["queued"] if mine else None
        flood["unsent"] = unsent_bytes(port, flooded.local_port)
        flood["read"] = await asyncio.to_thread(flooded.read_to_close, 10.0)
        await asyncio.sleep(0.5)
        conns_final = await server_state(control, base)
        skip = ",".join(map(str, stalled_ids))
        server_side = {name: await handed(control, base, w, skip) for name, w in windows.items()}
    finally:
        await lag.stop()
        await asyncio.gather(*(r.close() for r in readers), return_exceptions=True)
        await control.close()
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for i, reader in enumerate(readers):
                for n, ms in sorted(reader.latencies.items()):
                    out.write(json.dumps({"reader": i, "seq": n, "ms": round(ms, 3)}) + "\n")
    a = percentiles(latencies_of(readers, windows["nobody"]))
    b = percentiles(latencies_of(readers, windows["stalled"]))
    sent = sum(len(w) for ws in windows.values() for w in ws)
    missing = sent * len(readers) - a["count"] - b["count"]
    added50, added99 = b["p50"] - a["p50"], b["p99"] - a["p99"]
    ok_latency = added50 < GOAL_ADDED_MS and added99 < GOAL_ADDED_MS
    sa, sb = server_side["nobody"], server_side["stalled"]
    s_added50, s_added99 = sb["p50"] - sa["p50"], sb["p99"] - sa["p99"]
    ok_server = s_added50 < GOAL_ADDED_MS and s_added99 < GOAL_ADDED_MS
    frames, code, eof = flood["read"]
    # a 1013 close frame when it can still get through, else the connection is reset
    ok_drop = flood["how"] == "the hub (queue full)" and code in (1013, None)
    print(f"\nmessages of {size:,} bytes of JSON; CPU during the cycles: {cpu_line}; the "
          f"browsers' event loop ran late by up to {lag_ms:.0f} ms\n")
    print("publish in the server -> arrival in the reading browsers:")
    print(latency_line("  nobody stalled", a))
    print(latency_line("  one browser stalled (writer blocked)", b))
    print(f"  messages the reading browsers never got: {missing}")
    print("publish -> frame handed to the reading browser's socket (server side only):")
    print(latency_line("  nobody stalled", sa))
    print(latency_line("  one browser stalled (writer blocked)", sb))
    if heartbeat is not None:
        h_frames, h_code, h_eof = heartbeat["read"]
        print(f"left alone at {args.rate:g} msg/s, a stalled browser was let go after "
              f"{heartbeat['gone_after'] or float('nan'):.1f} s by {heartbeat['how']}; its hub "
              f"queue held at most {heartbeat['queued']}; reading again it got {h_frames} messages "
              f"still on their way, then {'close code %d' % h_code if h_code else 'no close frame'}"
              f" (server closed TCP: {h_eof})")
    print(f"sent {args.flood_rate:g} msg/s of its own, a stalled browser was let go after "
          f"{flood['gone_after'] or float('nan'):.1f} s by {flood['how']}; reading again it got "
          f"{frames} messages still on their way, then "
          f"{'close code %d' % code if code else 'no close frame'} (server closed TCP: {eof})")
    if flood["lingering"] is not None or flood["unsent"]:
        print(f"  but {args.linger:g} s after the drop, before it read again, it was still "
              f"registered in the hub: {flood['lingering'] is not None} (queue holding "
              f"{flood['lingering'] or 0} messages), and the server's socket to it was still open "
              f"with {(flood['unsent'] or 0) / 1e6:.1f} MB unsent")
    print(f"hub connections at the end: {len(conns_final)} (the {args.clients} readers)")
    goals = Goals()
    print("\nsummary:")
    print(f"  stalled_ws.added_latency    p50 {added50:+.2f} ms  p99 {added99:+.2f} ms  "
          f"(without: p50 {a['p50']:.2f} / p99 {a['p99']:.2f} ms; goal < {GOAL_ADDED_MS:g} ms: "
          f"{goals.check('stalled_ws.added_latency', ok_latency)})  [{args.clients} browsers, {args.rate:g} msg/s]")
    print(f"  stalled_ws.added_in_server  p50 {s_added50:+.2f} ms  p99 {s_added99:+.2f} ms  "
          f"(publish -> socket; goal < {GOAL_ADDED_MS:g} ms: {goals.check('stalled_ws.added_in_server', ok_server)})")
    print(f"  stalled_ws.queue_full       "
          f"{'close code %d' % code if code else 'connection reset'} after "
          f"{'never' if flood['gone_after'] is None else '%.1f s' % flood['gone_after']} "
          f"(goal: let go with 1013 or a reset: {goals.check('stalled_ws.queue_full', ok_drop)})"
          )
    gone_ok = goals.check("stalled_ws.after_the_drop",
                          flood["lingering"] is None and not flood["unsent"])
    print(f"  stalled_ws.after_the_drop   {args.linger:g} s later: still in the hub "
          f"{flood['lingering'] is not None}, socket open with "
          f"{(flood['unsent'] or 0) / 1e6:.1f} MB unsent (should be gone: {gone_ok})")
    if heartbeat is not None:
        gone = heartbeat["gone_after"]
        print(f"  stalled_ws.left_alone       let go after "
              f"{'never' if gone is None else '%.1f s' % gone} by {heartbeat['how']}, close code "
              f"{heartbeat['read'][1]}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return goals.exit_code()


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="browsers that read")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of each window (the stalled queue must stay < 256)")
    parser.add_argument("--max-stall", type=float, default=60.0,
                        help="give up waiting for the stalled browser to be let go after this")
    parser.add_argument("--flood-rate", type=float, default=200.0,
                        help="phase D: messages per second to the stalled browser alone")
    parser.add_argument("--linger", type=float, default=5.0,
                        help="seconds after the queue-full drop to check the connection is gone")
    parser.add_argument("--cycles", type=int, default=3,
                        help="windows with and without a stalled browser, alternating")
    parser.add_argument("--no-heartbeat-phase", dest="heartbeat_phase", action="store_false",
                        help="skip leaving a stalled browser alone at --rate (~35 s)")
    parser.add_argument("--quick", action="store_true",
                        help="2 cycles of 5 s windows, no heartbeat phase")
    parser.add_argument("--dump", metavar="FILE",
                        help="write every (reader, message, latency) as JSON lines")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.cycles, args.heartbeat_phase = 5.0, 2, False
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
