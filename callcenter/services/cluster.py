"""Notices between the server processes that share one PostgreSQL database (LISTEN/NOTIFY).

Every process opens its own AMI link, so what the PBX says (rings, answers, hang-ups, pauses
made on a phone) reaches every process by itself, and each pushes it to the pages connected to
it. What happens inside one process only must be told to the others: an operator's choice of
state, a supervisor pausing someone from the board, an admin changing a user, sessions ended
(a logout closes that user's sockets on every process), a task handed out or rescheduled, a
personal callback fallen due (told by the scheduling process). That is what this bus carries.

A notice is ``{"k": kind, "n": sender, "p": payload}`` as JSON on one channel, ``callcenter_bus``.
PostgreSQL refuses payloads of 8,000 bytes or more, so a notice carries ids and small deltas
(``LIMIT`` bytes at most, checked when sent): the receiver reads the details from the database.
A notice sent inside a transaction (``send(..., conn=conn)``) is delivered when it commits, and
not at all if it rolls back, so a receiver never reads ahead of the data.

The sender runs its own handlers itself (at once, before it sends): a process skips the notices
it sent. A notice is delivered to processes listening at that moment; one that was down or
whose link was lost misses it, so ``on_reconnect`` hooks run after every (re)connection to read
again what notices would have told (the pages of a restarted process reconnect and reload on
their own). On SQLite there is one server process: nothing is sent, and ``start`` opens nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Iterable, Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from callcenter.storage.database import Database

log = logging.getLogger("callcenter.cluster")

CHANNEL = "callcenter_bus"
#: the largest notice sent, in bytes of UTF-8 JSON (PostgreSQL's own limit is 8,000)
LIMIT = 7900

Handler = Callable[[dict[str, Any]], Awaitable[None] | None]


def encoded_size(value: Any) -> int:
    """Bytes ``value`` takes in a notice (UTF-8 JSON, as ``ClusterBus.encode`` writes it)."""
    return len(_json(value).encode("utf-8"))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dsn(db: Database) -> str:
    """The database's URL as plain asyncpg takes it (a connection of its own, off the pools)."""
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _cancel(task: asyncio.Task | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _close_quietly(conn: Any) -> None:
    """Close an asyncpg connection; one that does not close within 5 s is cut."""
    if conn is not None and not conn.is_closed():
        try:
            await asyncio.wait_for(conn.close(), 5)
        except Exception:
            conn.terminate()


class NoticeTooLarge(ValueError):
    """A notice over ``LIMIT`` bytes: a caller put details in it instead of ids."""


class ClusterBus:
    """See the module docstring."""

    def __init__(self, db: Database, *, node: str | None = None,
                 reconnect_seconds: float = 1.0) -> None:
        self.db = db
        self.node = node or uuid.uuid4().hex[:12]
        self.reconnect_seconds = reconnect_seconds
        self.enabled = not db.is_sqlite
        self._handlers: dict[str, list[Handler]] = {}
        #: run after each (re)connection of the listening link (PostgreSQL only)
        self.on_reconnect: list[Callable[[], Awaitable[None] | None]] = []
        self._conn: Any = None  # the asyncpg connection that LISTENs (and sends)
        self._send_lock: asyncio.Lock | None = None
        self._task: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        self._connected = asyncio.Event()
        self.received = 0  # notices from other processes handled (tests, benchmarks)
        self.sent = 0

    def on(self, kind: str, handler: Handler) -> None:
        """Run ``handler(payload)`` for every notice of ``kind`` another process sends."""
        self._handlers.setdefault(kind, []).append(handler)

    # lifecycle

    async def start(self) -> None:
        if not self.enabled or self._task is not None:
            return
        self._send_lock = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._keep_listening(),
                                                            name="cluster-bus")
        # the first connection before the server takes requests (a few seconds at most: a
        # database that is not there fails the requests, not the start)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5.0)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await _cancel(task)
        for running in list(self._running):
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self._close()

    async def wait_connected(self, timeout: float = 10.0) -> None:
        if self.enabled:
            await asyncio.wait_for(self._connected.wait(), timeout)

    async def _keep_listening(self) -> None:
        first = True
        while True:
            try:
                await self._connect()
                if not first:
                    log.info("cluster bus: listening again; refreshing what may have been "
                             "missed")
                first = False
                self._connected.set()
                await self._run_hooks(self.on_reconnect)
                while self._conn is not None and not self._conn.is_closed():
                    await asyncio.sleep(self.reconnect_seconds)
                log.warning("cluster bus: the listening connection ended; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster bus: cannot listen (%s); trying again in %.1f s",
                            exc, self.reconnect_seconds)
            self._connected.clear()
            await self._close()
            await asyncio.sleep(self.reconnect_seconds)

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(_dsn(self.db), timeout=10)
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        await _close_quietly(conn)

    # sending

    def encode(self, kind: str, payload: dict[str, Any]) -> str:
        data = _json({"k": kind, "n": self.node, "p": payload})
        if len(data.encode("utf-8")) > LIMIT:
            raise NoticeTooLarge(f"a {kind!r} notice of {len(data.encode())} bytes "
                                 f"(at most {LIMIT}): send ids, not details")
        return data

    def room(self, kind: str, key: str) -> int:
        """Bytes (``encoded_size``) one item may take in a ``{key: [item]}`` notice."""
        return LIMIT - len(self.encode(kind, {key: []}).encode("utf-8"))

    def batches(self, kind: str, key: str, items: Iterable[Any]) -> Iterator[dict[str, Any]]:
        """``items`` in order, as few ``{key: [...]}`` payloads as fit a notice each. An item
        larger than ``room(kind, key)`` raises NoticeTooLarge: the caller makes it smaller."""
        room = self.room(kind, key)
        batch: list[Any] = []
        used = 0
        for item in items:
            size = encoded_size(item)
            if size > room:
                raise NoticeTooLarge(f"an item of {size} bytes in a {kind!r} notice "
                                     f"(at most {room})")
            if batch and used + 1 + size > room:  # 1: the comma before it
                yield {key: batch}
                batch, used = [], 0
            used += size + (1 if batch else 0)
            batch.append(item)
        if batch:
            yield {key: batch}

    async def send(self, kind: str, payload: dict[str, Any], *, conn: Any = None) -> bool:
        """Tell the other processes. With ``conn`` (a SQLAlchemy connection in a transaction)
        the notice goes out when that transaction commits. Returns whether it was sent; a
        failure is logged, never raised (the receivers' reconnect refresh and periodic checks
        cover a lost notice)."""
        if not self.enabled:
            return False
        data = self.encode(kind, payload)
        try:
            if conn is not None:
                await conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                                   {"channel": CHANNEL, "payload": data})
            elif self._conn is not None and not self._conn.is_closed():
                assert self._send_lock is not None
                async with self._send_lock:
                    await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, data)
            else:
                async with self.db.write() as write:
                    await write.execute(text("SELECT pg_notify(:channel, :payload)"),
                                        {"channel": CHANNEL, "payload": data})
        except asyncio.CancelledError:
            raise
        except Exception:
            if conn is not None:
                raise  # the caller's transaction failed: it decides
            log.warning("cluster bus: a %r notice could not be sent", kind, exc_info=True)
            return False
        self.sent += 1
        return True

    def send_soon(self, kind: str, payload: dict[str, Any]) -> None:
        """``send`` from code that cannot wait (event-loop callbacks)."""
        if not self.enabled:
            return
        self.encode(kind, payload)  # too large is the caller's bug: raised here, at once
        self._spawn(self.send(kind, payload))

    # receiving

    def _on_notify(self, _conn, _pid, _channel, data: str) -> None:
        try:
            notice = json.loads(data)
            if notice.get("n") == self.node:
                return
            kind, payload = notice["k"], notice.get("p", {})
            if not isinstance(kind, str) or not isinstance(payload, dict):
                raise TypeError("not a notice")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("cluster bus: an unreadable notice was ignored: %.200r", data)
            return
        self.received += 1
        for handler in self._handlers.get(kind, ()):
            self._spawn(self._call(handler, kind, payload))

    async def _call(self, handler: Handler, kind: str, payload: dict[str, Any]) -> None:
        try:
            result = handler(payload)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cluster bus: the %r handler failed", kind)

    async def _run_hooks(self, hooks) -> None:
        for hook in list(hooks):
            await self._call(lambda _payload, hook=hook: hook(), "reconnect", {})

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)


class Leadership:
    """One process of several holds ``key`` (a PostgreSQL session advisory lock on a connection
    of its own) and does what must be done once; the others try every ``poll_seconds`` and one
    takes over when the holder's connection ends (it stopped, died, or lost the database: a
    killed process's connection is closed by its kernel, so the lock is free at once).

    On SQLite (one process) this process always leads. ``on_gain`` hooks run each time this
    process becomes the leader (to catch up on what nobody did meanwhile)."""

    def __init__(self, db: Database, key: int, *, name: str, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.key = key
        self.name = name
        self.poll_seconds = poll_seconds
        self.leading = db.is_sqlite
        self.on_gain: list[Callable[[], Awaitable[None] | None]] = []
        self._conn: Any = None
        self._task: asyncio.Task | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        if self.db.is_sqlite or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"lead-{self.name}")
        # the first try before the server takes requests
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), 5.0)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await _cancel(task)
        await self._close()
        self.leading = self.db.is_sqlite

    async def _run(self) -> None:
        while True:
            try:
                await self._try()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.leading:
                    log.warning("%s: lost the lock's connection (%s); no longer leading",
                                self.name, exc)
                self.leading = False
                await self._close()
            self._changed.set()
            await asyncio.sleep(self.poll_seconds)

    async def _try(self) -> None:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self.leading = False
            self._conn = await asyncpg.connect(_dsn(self.db), timeout=10)
        if self.leading:
            await self._conn.fetchval("SELECT 1")  # still ours while the connection lives
            return
        if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
            self.leading = True
            log.info("%s: this process leads (advisory lock %#x)", self.name, self.key)
            for hook in list(self.on_gain):
                try:
                    result = hook()
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: a hook on taking the lead failed", self.name)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        await _close_quietly(conn)


def relay_to_pages(bus: ClusterBus, hub: Any,
                   staff_ids: Callable[[], Any] = lambda: ()) -> Callable[..., None]:
    """Pushes another process relays (``push`` notices: ``{"users": [ids], "watchers": bool,
    "staff": bool, "m": message}``, a small message such as a failed click-to-call) go to this
    process's pages of those users (and of its staff with ``staff``).

    Returns ``everywhere(users, message, watchers=False, staff=False)``: push to this process's
    pages and relay to the others'."""
    def push(payload: dict[str, Any]) -> None:
        users, message = payload.get("users"), payload.get("m")
        if not isinstance(users, list) or not isinstance(message, dict):
            return
        targets = {u for u in users if isinstance(u, int) and not isinstance(u, bool)}
        if payload.get("staff") is True:
            targets.update(staff_ids())
        hub.publish(targets, message, watchers=payload.get("watchers") is True)

    bus.on("push", push)

    def everywhere(users, message: dict[str, Any], *, watchers: bool = False,
                   staff: bool = False) -> None:
        users = [u for u in users if u is not None]
        push({"users": users, "m": message, "watchers": watchers, "staff": staff})
        bus.send_soon("push", {"users": users, "watchers": watchers, "staff": staff,
                               "m": message})

    return everywhere
