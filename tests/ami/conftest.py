"""Shared helpers for the AMI tests: trace files, a started simulator, a recording listener."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.message_text import parse_message
from callcenter.ami.sim import AmiSimulator
from callcenter.ami.status import AmiStatus

TRACES = Path(__file__).resolve().parents[1] / "traces"
AMI_TRACES = sorted(TRACES.glob("*.ami"))
JSONL_TRACES = sorted(TRACES.glob("*.jsonl"))
USER, SECRET = "crm", "lab-secret-change-me"
FAST = dict(ping_interval=0.2, backoff_initial=0.05, backoff_cap=0.2,
            auth_backoff_initial=0.05, auth_backoff_cap=0.1, connect_timeout=1.0,
            action_timeout=1.0, resync_timeout=1.0)


def whole_messages(raw: bytes) -> list[dict[str, str]]:
    """The oracle: each message of a ``.ami`` file cut at blank lines and decoded whole."""
    body = raw.split(b"\r\n", 1)[1] if raw.startswith(b"Asterisk Call Manager/") else raw
    out = []
    for block in body.split(b"\r\n\r\n"):
        fields = parse_message(block.decode("utf-8"))
        if fields and ("Event" in fields or "Response" in fields):
            out.append(fields)
    return out


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0,
                     what: str = "condition") -> float:
    """Poll ``predicate`` every 5 ms; return the seconds waited, fail after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.monotonic() - start


class Recorder:
    """An AmiListener that writes everything down, in order."""

    def __init__(self) -> None:
        self.timeline: list[tuple[str, object]] = []
        self.events: list[dict[str, str]] = []
        self.statuses: list[AmiStatus] = []

    def on_event(self, event: dict[str, str], at: datetime) -> None:
        assert at.tzinfo is not None
        self.events.append(event)
        self.timeline.append(("event", event))

    def on_connected(self) -> None:
        self.timeline.append(("connected", None))

    def on_disconnected(self, reason: str) -> None:
        self.timeline.append(("disconnected", reason))

    def on_resync_begin(self) -> None:
        self.timeline.append(("resync_begin", None))

    def on_resync_end(self, at: datetime) -> None:
        self.timeline.append(("resync_end", at))

    def on_status(self, status: AmiStatus) -> None:
        self.statuses.append(status)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.timeline if k == kind)

    def event_names(self) -> list[str]:
        return [e["Event"] for e in self.events]


@pytest.fixture
async def sim():
    simulator = AmiSimulator(USER, SECRET, seed=7)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def make_client():
    clients: list[AmiClient] = []

    def make(port: int, secret: str = SECRET, listener: object | None = None,
             **options: object) -> AmiClient:
        settings = {**FAST, **options}
        client = AmiClient("127.0.0.1", port, USER, secret, listener=listener,
                           rng=random.Random(1), **settings)  # type: ignore[arg-type]
        clients.append(client)
        client.start()
        return client

    yield make
    for client in clients:
        await client.stop()


class RawAmi:
    """A bare AMI client over TCP for poking at the simulator: send fields, read messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from callcenter.ami.framing import AmiFramer

        self.reader, self.writer = reader, writer
        self.framer = AmiFramer()
        self.pending: list[dict[str, str]] = []

    opened: list[RawAmi] = []

    @classmethod
    async def connect(cls, port: int, login: bool = True) -> RawAmi:
        """Connect (and log in); every connection is closed by the ``raw_ami`` fixture."""
        raw = cls(*await asyncio.open_connection("127.0.0.1", port))
        cls.opened.append(raw)
        if login:
            reply = await raw.ask({"Action": "Login", "Username": USER, "Secret": SECRET})
            assert reply["Response"] == "Success"
        return raw

    async def send(self, fields: dict[str, str]) -> None:
        from callcenter.ami.message_text import render_message

        self.writer.write(render_message(fields).encode())
        await self.writer.drain()

    async def read(self, timeout: float = 2.0) -> dict[str, str] | None:
        """The next message, or None when the server closed the connection."""
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                return None
            self.pending += [f for f in map(parse_message, self.framer.feed(data)) if f]
        return self.pending.pop(0)

    async def ask(self, fields: dict[str, str]) -> dict[str, str]:
        """Send an action, return its Response (events before it are skipped)."""
        await self.send(fields)
        while True:
            message = await self.read()
            assert message is not None, "connection closed"
            if "Response" in message:
                return message

    async def read_until(self, event: str, timeout: float = 2.0) -> list[dict[str, str]]:
        out = []
        while not out or out[-1].get("Event") != event:
            message = await self.read(timeout)
            assert message is not None, "connection closed"
            out.append(message)
        return out

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


@pytest.fixture
async def raw_ami():
    """``RawAmi.connect``, with every connection closed at teardown."""
    yield RawAmi.connect
    while RawAmi.opened:
        await RawAmi.opened.pop().close()
