"""The callbacks of :class:`~callcenter.ami.client.AmiClient`, and their ordered delivery."""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import datetime
from typing import Any, Protocol

from .status import AmiStatus


class AmiListener(Protocol):
    """Callbacks of :class:`AmiClient`; each may be sync or ``async``.

    Subclass it to inherit no-op defaults, or pass any object with some of these methods
    (missing ones are skipped). Calls are made one at a time, in order, never concurrently.
    """

    def on_event(self, event: dict[str, str], at: datetime) -> Any:
        """One AMI event (repeated keys joined by ``"\\n"``); ``at`` = when it was received."""

    def on_connected(self) -> Any:
        """Logged in; a resync follows."""

    def on_disconnected(self, reason: str) -> Any:
        """A logged-in link ended (``reason`` is human-readable); a reconnect follows."""

    def on_resync_begin(self) -> Any:
        """The CoreShowChannels/QueueStatus snapshot starts; its events follow."""

    def on_resync_end(self, at: datetime) -> Any:
        """The snapshot is complete. (If the link drops first, ``on_disconnected`` comes
        instead: a resync that began is always closed by one of the two.)"""

    def on_status(self, status: AmiStatus) -> Any:
        """The link state changed."""



_STOP = object()


class ListenerCalls:
    """Calls a listener's methods one at a time, in the order asked, from one task.

    ``call()`` never blocks and never raises (it is made from the protocol's ``data_received``);
    a method that raises is logged and the next call goes on; missing methods are skipped;
    awaitables returned by a method are awaited before the next call. The queue is unbounded:
    a listener slower than the PBX for long makes memory grow rather than drop events.
    """

    def __init__(self, listener: object | None, log: logging.Logger) -> None:
        self.listener = listener
        self.log = log
        self._queue: asyncio.Queue[tuple[Any, tuple[Any, ...]]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="ami-listener")

    def call(self, name: str, *args: Any) -> None:
        if self._queue is not None:
            self._queue.put_nowait((name, args))

    async def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then end the task."""
        if self._queue is None or self._task is None:
            return
        self._queue.put_nowait((_STOP, ()))
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self.log.warning("AMI listener still busy %.0f s after stop(); cancelling it", timeout)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._queue = self._task = None

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            name, args = await self._queue.get()
            if name is _STOP:
                return
            method = getattr(self.listener, name, None)
            if method is None:
                continue
            try:
                result = method(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.log.exception("AMI listener %s failed; the stream goes on", name)
