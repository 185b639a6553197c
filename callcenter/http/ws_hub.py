"""The websocket hub: who is connected, and pushing JSON to them without letting one slow browser
hold up anyone else.

Each connection has its own bounded queue drained by its own writer task. ``publish`` only
enqueues (never awaits a socket), so a browser that stops reading fills its own queue and is then
let go: a close frame 1013 (try again later) if it can still be sent within a second, else the
TCP connection is cut; everyone else's pushes are untouched. A message is
encoded once (JSON, then UTF-8), whatever the number of recipients, and the same bytes go to
every socket as a text frame.

The server does not offer permessage-deflate on these sockets (``COMPRESS``): compressing is
per socket (each has its own deflate context), about 40 us of the event loop for a 5 KB screen
pop, for each recipient, to save bandwidth a LAN does not miss (bench/README.md has the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.domain.json_text import dumps

log = logging.getLogger("callcenter.ws")

TOO_SLOW = 1013  # "try again later": the browser reconnects and reloads its state
# The session under the page ended (logout, password change, deactivation, expiry) or its user's
# role changed: the page reloads, which shows the login screen or the new role's app.
SESSION_ENDED = 4001
# The user already has the most pages the server allows open: the new one is refused (the
# oldest are kept: refusing them instead would make every open tab reconnect and push out the
# next one, round and round); the page retries later with its longest backoff.
TOO_MANY_PAGES = 4029


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    user_id: int
    role: str
    extension: str | None
    queue: asyncio.Queue[bytes | None]
    all_calls: bool = False  # a supervisor watching every call
    dropped: bool = False
    writer: asyncio.Task | None = field(default=None, repr=False)
    session: str | None = None  # token hash of the login session the page opened it with


class WebSocketHub:
    COMPRESS = False  # what /ws passes as WebSocketResponse(compress=...): see the docstring
    def __init__(self, queue_size: int = 256):
        self.queue_size = queue_size
        self._by_user: dict[int, set[Connection]] = {}
        self._watchers: set[Connection] = set()
        self.closing = False  # the server is shutting down: no new pages

    # connections

    def register(self, ws: web.WebSocketResponse, *, user_id: int, role: str,
                 extension: str | None,
                 transport: asyncio.BaseTransport | None = None,
                 session: str | None = None) -> Connection:
        conn = Connection(ws, transport, user_id, role, extension, asyncio.Queue(self.queue_size),
                          session=session)
        conn.writer = asyncio.get_running_loop().create_task(self._write(conn))
        self._by_user.setdefault(user_id, set()).add(conn)
        return conn

    async def unregister(self, conn: Connection) -> None:
        users = self._by_user.get(conn.user_id)
        if users is not None:
            users.discard(conn)
            if not users:
                del self._by_user[conn.user_id]
        self._watchers.discard(conn)
        if conn.writer is not None and not conn.writer.done():
            conn.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.writer

    def watch_all_calls(self, conn: Connection, on: bool = True) -> None:
        conn.all_calls = on
        (self._watchers.add if on else self._watchers.discard)(conn)

    def pages_of(self, user_id: int) -> int:
        """How many websockets this user has open."""
        return len(self._by_user.get(user_id, ()))

    def reaches(self, user_ids: Iterable[int], watchers: bool = False) -> bool:
        """Whether ``publish(user_ids, ..., watchers=watchers)`` would reach a page here."""
        return bool(watchers and self._watchers) or any(uid in self._by_user for uid in user_ids)

    def connections(self) -> list[Connection]:
        return [c for users in self._by_user.values() for c in users]

    async def close_where(self, match, code: int, reason: bytes) -> int:
        """Close every connection ``match(conn)`` is true for: from this moment nothing more
        is queued for them (before the close frame goes out), and they leave the hub.
        Returns how many were closed."""
        doomed = [c for c in self.connections() if match(c)]
        for conn in doomed:
            conn.dropped = True
            while not conn.queue.empty():
                conn.queue.get_nowait()
        await asyncio.gather(*(self._close(c, code, reason) for c in doomed),
                             return_exceptions=True)
        for conn in doomed:
            await self.unregister(conn)
        return len(doomed)

    def connected_users(self) -> set[int]:
        return set(self._by_user)

    def connection_count(self) -> int:
        return sum(len(c) for c in self._by_user.values())

    # pushing

    @staticmethod
    def encode(message: dict[str, Any]) -> bytes:
        """The payload of the text frame carrying ``message``: UTF-8 JSON."""
        return dumps(message).encode("utf-8")

    def publish(self, user_ids: Iterable[int], message: dict[str, Any], *,
                watchers: bool = False) -> int:
        """Queue ``message`` for every open page of these users (and of call watchers).

        Returns how many connections it was queued for. Never blocks.
        """
        targets: set[Connection] = set()
        for uid in user_ids:
            targets.update(self._by_user.get(uid, ()))
        if watchers:
            targets.update(self._watchers)
        if not targets:  # with several server processes, most messages are for the others'
            return 0
        data = self.encode(message)
        for conn in targets:
            self._offer(conn, data)
        return len(targets)

    def send_to(self, conn: Connection, message: dict[str, Any]) -> None:
        """Queue ``message`` for one connection (a reply to what that page sent)."""
        self._offer(conn, self.encode(message))

    def _offer(self, conn: Connection, data: bytes) -> None:
        if conn.dropped:
            return
        try:
            conn.queue.put_nowait(data)
        except asyncio.QueueFull:
            conn.dropped = True
            log.warning("websocket of user %s is not reading: disconnecting it", conn.user_id)
            asyncio.get_running_loop().create_task(self._drop(conn))

    async def _drop(self, conn: Connection) -> None:
        if conn.writer is not None:
            conn.writer.cancel()
        while not conn.queue.empty():  # free the backlog now, not when the socket goes
            conn.queue.get_nowait()
        await self._close(conn, TOO_SLOW, b"too slow")

    @staticmethod
    async def _close(conn: Connection, code: int, message: bytes, grace: float = 1.0) -> None:
        """Send a close frame, but cut the connection if it cannot go out within ``grace``
        seconds (it queues behind everything a non-reading browser left unread, and aiohttp's
        close then waits for that buffer, i.e. forever)."""
        closing = asyncio.get_running_loop().create_task(conn.ws.close(code=code,
                                                                       message=message))
        closing.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.wait({closing}, timeout=grace)
        transport = conn.transport
        if transport is not None and (not closing.done() or transport.get_write_buffer_size()):
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # reset, not a graceful close: the kernel would otherwise keep the unread
                # megabytes and retry sending them for minutes
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()

    async def _write(self, conn: Connection) -> None:
        try:
            while True:
                data = await conn.queue.get()
                if data is None:
                    return
                # the bytes encoded once in publish; send_str would encode them per socket
                await conn.ws.send_frame(data, WSMsgType.TEXT)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a closed socket: the reader side unregisters it
            log.debug("websocket write failed for user %s: %s", conn.user_id, exc)

    async def shutdown(self) -> None:
        """Close every page for good: one whose handshake is still in flight when this runs
        is refused too (else it would hold the server's shutdown until its timeout)."""
        self.closing = True
        await self.close_all()

    async def close_all(self) -> None:
        conns = [c for users in self._by_user.values() for c in users]
        await asyncio.gather(*(self._close(c, WSCloseCode.GOING_AWAY, b"server shutdown")
                               for c in conns), return_exceptions=True)
        for conn in conns:
            await self.unregister(conn)
