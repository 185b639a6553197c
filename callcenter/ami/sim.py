"""``AmiSimulator``: a small Asterisk Manager Interface server for tests, demos and load.

It speaks AMI over real TCP: the banner ``Asterisk Call Manager/11.0.0``; ``Login`` (a wrong
secret gets ``Response: Error`` / ``Message: Authentication failed`` and the socket is closed,
like Asterisk); ``Ping``; ``CoreShowChannels`` (one ``CoreShowChannel`` per channel the
simulated PBX believes is up, learnt from the events it sent); ``QueueStatus``; ``Originate``
(``Originate successfully queued``; with ``originate_trace`` it then replays that outbound
trace with the trace's ActionID replaced by the new one; with ``originate_script``, a coroutine
function, it runs ``originate_script(action)`` instead, the action's fields in hand; an
Originate into ``supervise_context`` is a supervisor's listen-in, always played as one: the
spy leg of ``sim_spy.py``, spying until the operator's channel hangs up or
:meth:`AmiSimulator.hangup_spies`);
``QueuePause`` (then the
``QueueMemberPause`` event, and ``Paused`` in later ``QueueStatus`` answers); ``Logoff``; anything else gets
``Invalid/unknown command``.

Events go to every logged-in client: :meth:`AmiSimulator.replay` plays the incoming side of a
recorded ``.jsonl`` trace at its recorded pace (``speed`` = playback rate: 2 is twice as fast,
0 is as fast as possible), with fresh Uniqueid/Linkedid/channel/bridge ids per replay;
:meth:`AmiSimulator.synthetic` generates inbound queue calls (see ``synthetic.py``).

For tests: ``actions`` (every action received, in order), ``set_fault()`` (ignore / close /
error an action, e.g. stop answering Ping), ``disconnect_all()``, ``send_raw()``, and
``chunk_sizes`` to split every write into random (seeded) pieces.

Command line: ``callcenter ami-sim --port 5038 --username crm --secret S
(--replay FILE... [--loop] [--speed X] | --rate N [--duration S])``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from .framing import AmiFramer
from callcenter.domain.originates import originate_variables

from .message_text import parse_message, render_message, split_repeated
from .pbx_state import PbxState
from .sim_spy import SpyLeg
from .synthetic import SyntheticCalls
from .trace import FreshIds, Trace, load_trace

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
FAULTS = ("ignore", "close", "error")
_BATCH = 500


class _Session:
    """One client connection: reads actions, writes replies and broadcasts (never interleaved)."""

    def __init__(self, sim: AmiSimulator, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.sim, self.reader, self.writer = sim, reader, writer
        self.logged_in = False
        self._lock = asyncio.Lock()

    async def send(self, data: bytes) -> None:
        async with self._lock:
            if self.writer.is_closing():
                return
            try:
                pieces = self.sim.chunk_sizes
                if pieces is None:
                    self.writer.write(data)
                    await self.writer.drain()
                    return
                pos = 0
                while pos < len(data) and not self.writer.is_closing():
                    size = self.sim.rng.randint(*pieces)
                    self.writer.write(data[pos:pos + size])
                    pos += size
                    await self.writer.drain()
                    await asyncio.sleep(0)  # let each piece leave as its own segment
            except (ConnectionError, OSError):
                self.close()

    async def reply(self, fields: Mapping[str, str]) -> None:
        await self.send(render_message(fields).encode("utf-8"))

    def close(self) -> None:
        self.logged_in = False
        self.writer.close()

    async def serve(self) -> None:
        framer = AmiFramer(expect_banner=False)
        try:
            await self.send(BANNER)
            while not self.writer.is_closing():
                data = await self.reader.read(65536)
                if not data:
                    break
                for text in framer.feed(data):
                    fields = parse_message(text)
                    if fields is not None and not self.writer.is_closing():
                        await self.sim._handle(self, fields)
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()
            self.sim._sessions.discard(self)


class AmiSimulator:
    """See the module docstring. ``start()`` it, then ``replay()``/``synthetic()`` events."""

    def __init__(
        self,
        username: str = "crm",
        secret: str = "secret",
        *,
        seed: int | None = None,
        chunk_sizes: tuple[int, int] | None = None,
        originate_trace: str | Path | None = None,
        originate_speed: float = 0.0,
        originate_script: Callable[[dict[str, str]], Awaitable[object]] | None = None,
        operators: Sequence[str] = ("PJSIP/101", "PJSIP/102"),
        supervise_context: str = "callcenter-supervise",
        spy_answer_seconds: float = 0.05,
        auth_failure_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        log: logging.Logger | None = None,
    ) -> None:
        self.username, self.secret = username, secret
        self.rng = random.Random(seed)
        self.chunk_sizes = chunk_sizes
        self.originate_trace = originate_trace
        self.originate_speed = originate_speed
        self.originate_script = originate_script
        self.supervise_context, self.spy_answer_seconds = supervise_context, spy_answer_seconds
        #: the spy legs playing now, by their channel's Uniqueid (see sim_spy.SpyLeg)
        self.spies: dict[str, SpyLeg] = {}
        self._spy_ends: dict[str, asyncio.Future[bool]] = {}
        self.auth_failure_delay = auth_failure_delay
        self.clock = clock
        self.log = log or logging.getLogger(__name__)
        self.pbx = PbxState(members=operators)
        self.ids = FreshIds(int(clock()), new_uuid=lambda: _uuid_from(self.rng))
        self.actions: list[dict[str, str]] = []
        self.faults: dict[str, str] = {}
        self.port: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task[object]] = set()
        self._traces: dict[str, Trace] = {}

    # -- server --------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0, *,
                    sock: socket.socket | None = None) -> int:
        """Listen on ``host:port`` (0 = any free port), or on ``sock``, a socket the caller
        bound already (it then belongs to the simulator); return the port."""
        if sock is not None:
            self._server = await asyncio.start_server(self._accept, sock=sock)
            host = sock.getsockname()[0]
        else:
            self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.log.info("AMI simulator listening on %s:%d", host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening, drop every client, cancel scripted replays."""
        if self._server is not None:
            self._server.close()
        # a stopping PBX drops its links at once: a close would first wait to flush what a
        # client that stopped reading never takes, and stop would hang on it
        for session in list(self._sessions):
            session.logged_in = False
            session.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def disconnect_all(self) -> None:
        """Close every client connection (the server keeps listening)."""
        for session in list(self._sessions):
            session.close()

    @property
    def clients(self) -> int:
        """Logged-in clients."""
        return sum(1 for s in self._sessions if s.logged_in)

    async def wait_for_clients(self, count: int = 1, timeout: float | None = None) -> None:
        async def poll() -> None:
            while self.clients < count:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(poll(), timeout)

    def set_fault(self, action: str, fault: str | None) -> None:
        """Misbehave on ``action``: ``ignore`` (no reply), ``close`` (drop the connection
        without replying) or ``error`` (``Response: Error``); ``None`` to behave again."""
        if fault is None:
            self.faults.pop(action.lower(), None)
        elif fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        else:
            self.faults[action.lower()] = fault

    def action_count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.get("Action", "").lower() == action.lower())

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are to every logged-in client (junk, oversized messages...)."""
        await asyncio.gather(*(s.send(data) for s in list(self._sessions) if s.logged_in))

    async def broadcast(self, events: Sequence[Mapping[str, str]]) -> None:
        """Send events to every logged-in client, as the PBX would."""
        await self._broadcast([(render_message(e), dict(e)) for e in events])

    # -- event streams -------------------------------------------------------------------------

    async def replay(self, trace_path: str | Path, speed: float = 1.0, fresh_ids: bool = True,
                     *, action_ids: Mapping[str, str] | None = None) -> int:
        """Play a trace's events to every logged-in client; return how many were sent."""
        key = str(trace_path)
        if key not in self._traces:
            self._traces[key] = load_trace(trace_path)
        timed = self._traces[key].fresh_texts(self.ids if fresh_ids else None, action_ids)
        loop = asyncio.get_running_loop()
        start, sent = loop.time(), 0
        for t, group in itertools.groupby(timed, key=lambda item: item[0]):
            await self._sleep_until(start, t, speed)
            batch = [(text + "\r\n\r\n", parse_message(text) or {}) for _, text in group]
            await self._broadcast(batch)
            sent += len(batch)
        return sent

    async def synthetic(self, rate: float, duration: float | None = None,
                        count: int | None = None, *, speed: float = 1.0,
                        operators: Sequence[str] | None = None,
                        callers: Sequence[str] | None = None,
                        abandon_ratio: float = 0.15) -> int:
        """Generate inbound calls arriving at ``rate`` calls/s (Poisson) for ``duration``
        seconds and/or ``count`` calls (forever if neither); return the calls started."""
        calls = SyntheticCalls(self.rng, self.ids, operators=operators or self.pbx.members,
                               callers=callers, abandon_ratio=abandon_ratio)
        heap: list[tuple[float, int, dict[str, str]]] = []
        order = itertools.count()
        started, next_call = 0, 0.0
        start = asyncio.get_running_loop().time()
        while True:
            while ((count is None or started < count)
                   and (duration is None or next_call < duration)
                   and (not heap or next_call <= heap[0][0])):
                for offset, fields in calls.next_call():
                    heapq.heappush(heap, (next_call + offset, next(order), fields))
                started += 1
                next_call += self.rng.expovariate(rate)
            if not heap:
                return started
            due = heap[0][0]
            await self._sleep_until(start, due, speed)
            batch = []
            while heap and heap[0][0] <= due + 0.005 and len(batch) < _BATCH:
                fields = heapq.heappop(heap)[2]
                batch.append((render_message(fields), fields))
            await self._broadcast(batch)

    async def _sleep_until(self, start: float, t: float, speed: float) -> None:
        if speed > 0:
            delay = start + t / speed - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)

    async def _broadcast(self, messages: list[tuple[str, dict[str, str]]]) -> None:
        now = self.clock()
        for _, fields in messages:
            self.pbx.observe(fields, now)
        data = "".join(text for text, _ in messages).encode("utf-8")
        await asyncio.gather(*(s.send(data) for s in list(self._sessions) if s.logged_in))
        if self.spies:  # ChanSpy's E option: a spy leg ends with the channel it spies on
            gone = {f.get("Uniqueid") for _, f in messages if f.get("Event") == "Hangup"}
            for uid, leg in list(self.spies.items()):
                end = self._spy_ends.get(uid)
                if leg.spyee_uniqueid in gone and end is not None and not end.done():
                    end.set_result(False)

    # -- actions -------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        self._sessions.add(session)
        await session.serve()

    async def _handle(self, session: _Session, fields: dict[str, str]) -> None:
        self.actions.append(fields)
        name = fields.get("Action", "")
        action = name.lower()
        head = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        fault = self.faults.get(action)
        if fault == "ignore":
            return
        if fault == "close":
            session.close()
            return
        if fault == "error":
            await session.reply({"Response": "Error", **head, "Message": "Simulated failure"})
        elif action == "login":
            await self._login(session, fields, head)
        elif action == "logoff":
            await session.reply({"Response": "Goodbye", **head,
                                 "Message": "Thanks for all the fish."})
            session.close()
        elif not session.logged_in:
            await session.reply({"Response": "Error", **head,
                                 "Message": "Authentication Required"})
        elif action == "ping":
            await session.reply({"Response": "Success", **head, "Ping": "Pong",
                                 "Timestamp": f"{self.clock():.6f}"})
        elif action == "coreshowchannels":
            events = self.pbx.core_show_channels(head.get("ActionID", ""), self.clock())
            await self._list_reply(session, head, "Channels will follow", events)
        elif action == "queuestatus":
            events = self.pbx.queue_status(head.get("ActionID", ""), self.clock())
            await self._list_reply(session, head, "Queue status will follow", events)
        elif action == "originate":
            await session.reply({"Response": "Success", **head,
                                 "Message": "Originate successfully queued"})
            if fields.get("Context") == self.supervise_context:
                self._keep(asyncio.create_task(self._spy_leg(dict(fields))))
            elif self.originate_script is not None:
                self._keep(asyncio.create_task(self.originate_script(dict(fields))))
            elif self.originate_trace is not None:
                self._script_originate(head.get("ActionID", ""))
        elif action == "queuepause":
            await self._queue_pause(session, fields, head)
        else:
            await session.reply({"Response": "Error", **head,
                                 "Message": "Invalid/unknown command"})

    async def _login(self, session: _Session, fields: dict[str, str],
                     head: dict[str, str]) -> None:
        peer = session.writer.get_extra_info("peername")
        if fields.get("Username") == self.username and fields.get("Secret") == self.secret:
            session.logged_in = True
            self.log.info("AMI simulator: %s logged in from %s", self.username, peer)
            await session.reply({"Response": "Success", **head,
                                 "Message": "Authentication accepted"})
            await session.reply({"Event": "FullyBooted", "Privilege": "system,all",
                                 "Uptime": "1", "LastReload": "1", "Status": "Fully Booted"})
            return
        if self.auth_failure_delay:
            await asyncio.sleep(self.auth_failure_delay)
        self.log.info("AMI simulator: refused login for %r from %s", fields.get("Username"), peer)
        await session.reply({"Response": "Error", **head, "Message": "Authentication failed"})
        session.close()

    async def _queue_pause(self, session: _Session, fields: dict[str, str],
                           head: dict[str, str]) -> None:
        """As Asterisk 22: the reply, then to every client the pause device's state and a
        ``QueueMemberPause``; an interface that is no member's is refused."""
        member = fields.get("Interface", "")
        queue = fields.get("Queue")
        if member not in self.pbx.members or (queue and queue != self.pbx.queue):
            await session.reply({"Response": "Error", **head, "Message": "Interface not found"})
            return
        paused = fields.get("Paused", "").lower() in ("true", "yes", "1", "on")
        await session.reply({"Response": "Success", **head, "Message":
                             "Interface paused successfully" if paused
                             else "Interface unpaused successfully"})
        await self.broadcast([
            {"Event": "DeviceStateChange", "Privilege": "call,all",
             "Device": f"Queue:{self.pbx.queue}_pause_{member}",
             "State": "INUSE" if paused else "NOT_INUSE"},
            self.pbx.queue_member_pause(member, paused, fields.get("Reason", ""), self.clock())])

    async def _list_reply(self, session: _Session, head: dict[str, str], message: str,
                          events: list[dict[str, str]]) -> None:
        text = render_message({"Response": "Success", **head, "EventList": "start",
                               "Message": message})
        await session.send((text + "".join(map(render_message, events))).encode("utf-8"))

    def _script_originate(self, action_id: str) -> None:
        path = str(self.originate_trace)
        if path not in self._traces:
            self._traces[path] = load_trace(path)
        recorded = self._traces[path].originate_action_ids
        self._keep(asyncio.create_task(self.replay(
            path, self.originate_speed, action_ids={old: action_id for old in recorded})))

    async def _spy_leg(self, action: dict[str, str]) -> None:
        target = originate_variables(split_repeated(action.get("Variable", ""))).get("CRM_SPY", "")
        spyee = next((c for c in self.pbx.channels.values()
                      if target and c["Channel"].startswith(target + "-")
                      and c["ChannelState"] == "6"), None)
        leg = SpyLeg(action, spyee, self.ids)
        await self.broadcast(leg.ringing())
        await asyncio.sleep(self.spy_answer_seconds)
        self.spies[leg.uniqueid] = leg
        self._spy_ends[leg.uniqueid] = end = asyncio.get_running_loop().create_future()
        try:
            await self.broadcast(leg.answered())
            by_supervisor = await end if leg.spying else False
            await self.broadcast(leg.hangup(by_supervisor=by_supervisor))
        finally:
            self.spies.pop(leg.uniqueid, None)
            self._spy_ends.pop(leg.uniqueid, None)

    def hangup_spies(self) -> int:
        """The supervisors hang up: every spy leg ends (ChanSpyStop, Hangup); how many."""
        ended = 0
        for end in list(self._spy_ends.values()):
            if not end.done():
                end.set_result(True)
                ended += 1
        return ended

    def _keep(self, task: asyncio.Task[object]) -> None:
        """Hold a scripted call until it ends; ``stop`` cancels it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _uuid_from(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m callcenter.ami.sim`` (and of ``callcenter ami-sim``)."""
    parser = argparse.ArgumentParser(
        prog="callcenter ami-sim",
        description="AMI simulator: replays recorded Asterisk traces or generates inbound "
                    "queue calls to every AMI client that logs in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="crm")
    parser.add_argument("--secret", required=True)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--replay", nargs="+", metavar="FILE", help=".jsonl traces to replay")
    mode.add_argument("--rate", type=float, help="synthetic inbound calls per second")
    parser.add_argument("--loop", action="store_true", help="replay the traces forever")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="playback rate: 2 = twice as fast, 0 = as fast as possible")
    parser.add_argument("--duration", type=float, help="synthetic: stop after S seconds")
    parser.add_argument("--count", type=int, help="synthetic: stop after N calls")
    parser.add_argument("--operators", default="PJSIP/101,PJSIP/102")
    parser.add_argument("--callers", help="comma-separated caller numbers to use")
    parser.add_argument("--originate-trace", metavar="FILE",
                        help="outbound trace to replay after each Originate")
    parser.add_argument("--chunk-sizes", metavar="MIN,MAX", help="split writes randomly")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    chunks = tuple(int(n) for n in args.chunk_sizes.split(",")) if args.chunk_sizes else None
    sim = AmiSimulator(args.username, args.secret, seed=args.seed, chunk_sizes=chunks,
                       originate_trace=args.originate_trace, originate_speed=args.speed,
                       operators=args.operators.split(","))

    async def run() -> None:
        # SIGTERM (a service manager, a test) stops it as cleanly as Ctrl-C, from the moment
        # it says it listens
        main_task = asyncio.current_task()
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
        await sim.start(args.host, args.port)
        try:
            if args.replay:
                while True:
                    for path in args.replay:
                        await sim.wait_for_clients(1)
                        sent = await sim.replay(path, args.speed)
                        sim.log.info("replayed %s: %d events", path, sent)
                    if not args.loop:
                        break
            elif args.rate:
                await sim.wait_for_clients(1)
                calls = await sim.synthetic(args.rate, args.duration, args.count,
                                            speed=args.speed, callers=(
                                                args.callers.split(",") if args.callers else None))
                sim.log.info("synthetic: %d calls generated", calls)
            await asyncio.Event().wait()  # keep serving until interrupted
        finally:
            await sim.stop()

    try:
        asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except OSError as exc:  # the port is taken, or the address is not this machine's
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        print(f"error: cannot listen on {args.host}:{args.port}: {reason}; "
              f"choose another with --port", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
