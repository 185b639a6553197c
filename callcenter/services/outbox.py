"""The event dispatcher: hands each outbox event to its consumers, in order, exactly once.

A consumer is ``async def consume(conn, events) -> None``: it runs inside the dispatcher's
write transaction and writes its own rows there (webhook deliveries, queued messages), so an
event is marked dispatched exactly when its consumers' rows are stored. A consumer must be
idempotent by the event's id (the unique keys of the rows it writes), since an event whose
batch failed is handed out again.

When a batch fails it is retried event by event, each in a savepoint: one bad event cannot hold
up the others. An event that keeps failing is given up on after ``MAX_ATTEMPTS`` with its error
kept in the row (``events.error``), and logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.services.context import Clock
from callcenter.storage import events as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.outbox")

Consumer = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]]
MAX_ATTEMPTS = 5
BATCH = 200


class EventOutbox:
    def __init__(self, db: Database, clock: Clock, *, poll_seconds: float = 2.0,
                 retention_days: int = 30):
        self.db = db
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.retention_days = retention_days
        self.consumers: list[tuple[str, Consumer]] = []
        self.after_dispatch: list[Callable[[], None]] = []  # e.g. wake the webhook sender
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.dispatched = 0

    def add_consumer(self, name: str, consume: Consumer) -> None:
        self.consumers.append((name, consume))

    def wake(self) -> None:
        """Events were written: dispatch now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="event-outbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=10.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()

    async def _run(self) -> None:
        purged_at = None
        while not self._stopping:
            try:
                count = await self.dispatch_once()
                now = self.clock()
                if purged_at is None or now - purged_at > timedelta(hours=1):
                    purged_at = now
                    async with self.db.write() as conn:
                        await repo.purge_dispatched(
                            conn, repo.retention_cutoff(now, self.retention_days))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event dispatch round failed; trying again")
                count = 0
            if count >= BATCH:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def dispatch_once(self, limit: int = BATCH) -> int:
        """Dispatch one batch of pending events; returns how many were taken."""
        try:
            async with self.db.write() as conn:
                batch = await repo.claim_pending(conn, limit)
                if not batch:
                    return 0
                for _, consume in self.consumers:
                    await consume(conn, batch)
                await repo.mark_dispatched(conn, [e["id"] for e in batch], self.clock())
        except Exception:
            log.warning("a batch of events failed; dispatching them one by one", exc_info=True)
            batch = await self._one_by_one(limit)
        self.dispatched += len(batch)
        for hook in self.after_dispatch:
            hook()
        return len(batch)

    async def _one_by_one(self, limit: int) -> list[dict[str, Any]]:
        async with self.db.write() as conn:
            batch = await repo.claim_pending(conn, limit)
            for event in batch:
                now = self.clock()
                try:
                    async with conn.begin_nested():
                        for _, consume in self.consumers:
                            await consume(conn, [event])
                except Exception as exc:
                    give_up = event["attempts"] + 1 >= MAX_ATTEMPTS
                    (log.error if give_up else log.warning)(
                        "event %s (%s) failed%s: %s", event["id"], event["type"],
                        ", given up" if give_up else "", exc)
                    await repo.mark_failed(conn, event["id"], f"{type(exc).__name__}: {exc}",
                                           give_up=give_up, at=now)
                    continue
                await repo.mark_dispatched(conn, [event["id"]], now)
        return batch
