"""A bounded pool of workers that runs jobs in order per key and concurrently across keys.

The effects of one call must be carried out one after another (a card must not pop after its
call ended), those of different calls side by side (a slow lookup for one caller must not delay
another caller's pop). One task per call did that but let a burst of 100,000 ringing calls
start 100,000 lookups at once; here at most ``size`` jobs run at a time, whatever the burst.

Memory stays bounded: jobs wait in one queue per key that has work (the calls with effects not
yet carried out), a key is handed to one worker at a time, and jobs the caller marks
``droppable`` (a pop, a lookup) are dropped when the key's end arrives behind them (they would
come too late to matter) or when more than ``max_queued`` jobs are waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Awaitable, Callable, Hashable

log = logging.getLogger("callcenter.calls")


class KeyedWorkers:
    """Runs ``handle(item)`` for submitted items, in order per key, on ``size`` workers."""

    def __init__(self, handle: Callable[[Any], Awaitable[None]], *, size: int = 8,
                 max_queued: int = 50_000,
                 droppable: Callable[[Any], bool] = lambda item: False) -> None:
        self.handle = handle
        self.size = size
        self.max_queued = max_queued
        self.droppable = droppable
        self._queues: dict[Hashable, deque] = {}
        self._ready: deque[Hashable] = deque()
        self._busy: set[Hashable] = set()
        self._queued = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task] = []
        self.dropped = 0  # droppable jobs not run, for tests and benchmarks

    @property
    def queued(self) -> int:
        return self._queued

    def submit(self, key: Hashable, item: Any, *, last: bool = False) -> None:
        """Queue ``item`` behind the earlier ones of ``key``. ``last`` marks the key's final
        item (the call ended): droppable items still waiting for it are dropped."""
        if self.droppable(item) and self._queued >= self.max_queued:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("call effects backlog over %d: %d pop(s)/lookup(s) dropped so far",
                            self.max_queued, self.dropped)
            return
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            if key not in self._busy:
                self._ready.append(key)
        elif last:
            kept = deque(i for i in queue if not self.droppable(i))
            self.dropped += len(queue) - len(kept)
            self._queued -= len(queue) - len(kept)
            self._queues[key] = queue = kept
        queue.append(item)
        self._queued += 1
        self._idle.clear()
        self._wake.set()
        if not self._tasks:
            self.start()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        while len(self._tasks) < self.size:
            self._tasks.append(loop.create_task(self._work(), name="call-effects"))

    async def _work(self) -> None:
        while True:
            if not self._ready:
                if not self._busy:
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            key = self._ready.popleft()
            self._busy.add(key)
            try:
                while True:
                    queue = self._queues.get(key)
                    if not queue:
                        self._queues.pop(key, None)
                        break
                    item = queue.popleft()
                    self._queued -= 1
                    try:
                        await self.handle(item)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("call %s: handling an effect failed", key)
            finally:
                self._busy.discard(key)
                if self._queues.get(key):  # cancelled with work left
                    self._ready.append(key)

    async def drain(self) -> None:
        """Wait until every submitted item has been handled."""
        while self._queued or self._busy:
            self._wake.set()
            await self._idle.wait()
            if self._queued or self._busy:
                await asyncio.sleep(0)

    async def stop(self) -> list[Any]:
        """Cancel the workers; returns the items that were still waiting."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        left = [item for queue in self._queues.values() for item in queue]
        self._queues.clear()
        self._ready.clear()
        self._busy.clear()
        self._queued = 0
        self._idle.set()
        return left
