"""Today's counters of the live board: each operator's calls since local midnight.

The truth is the calls table (:func:`callcenter.domain.queue_board.tally` over
:func:`callcenter.storage.board.calls_since`), read whole at start, at midnight, every
``recount_seconds`` (what changes a call without ending one: an outcome set later, a call the
CDR filled in, one closed as unknown) and when the board is read after nobody watched it.
Between those reads a call that ends is added in memory from the tracker's record, which holds
the same values the call log stores (``talk_seconds`` rounded as it rounds them), after the
log has written what it holds, so that a whole read never counts it twice; an operator's
outcomes are read again when their wrap-up ends (the outcome was saved).

Nobody watching (no staff page open): nothing is read or added; the counters are marked stale
and read whole by the next :meth:`DayCounters.ready`. All reads happen in one task, one at a
time, never on the AMI path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.domain.call_records import CallRecord
from callcenter.domain.queue_board import empty_counters, tally
from callcenter.services.context import Clock
from callcenter.storage import board as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.board")


def add_counters(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    out = {k: total[k] + more[k] for k in total if k != "outcomes"}
    outcomes = dict(total["outcomes"])
    for code, n in more["outcomes"].items():
        outcomes[code] = outcomes.get(code, 0) + n
    out["outcomes"] = outcomes
    return out


class DayCounters:
    """See the module docstring. ``users()``: the operators by id (``id``, ``extension``);
    ``reload_users()`` reads them again; ``user_id_of(endpoint)`` the user id the call log
    stores for an endpoint; ``flush(timeout)`` waits for the call log's writes;
    ``changed(user_id)`` is told after an operator's counters changed."""

    def __init__(self, db: Database, clock: Clock, tz: ZoneInfo, *,
                 users: Callable[[], dict[int, dict[str, Any]]],
                 reload_users: Callable[[], Awaitable[None]],
                 user_id_of: Callable[[str | None], int | None],
                 flush: Callable[[float], Awaitable[Any]],
                 watched: Callable[[], bool], changed: Callable[[int], None],
                 delay: float = 0.3, recount_seconds: float = 60.0,
                 day_check_seconds: float = 1.0) -> None:
        self.db, self.clock, self.tz = db, clock, tz
        self.users, self.reload_users, self.user_id_of = users, reload_users, user_id_of
        self.flush, self.watched, self.changed = flush, watched, changed
        self.delay = delay
        self.recount_seconds = recount_seconds
        self.day_check_seconds = day_check_seconds
        self._counters: dict[int, dict[str, Any]] = {}
        self._day: date | None = None
        self._since: datetime | None = None
        self._ended: list[dict[str, Any]] = []   # rows of calls ended, not added yet
        self._outcomes: set[int] = set()
        self._whole = False
        self._stale = False
        self._wake: asyncio.Event | None = None
        self._busy = False
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        await self._read_whole()
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name="board-counters"),
                       loop.create_task(self._clock_watch(), name="board-midnight")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def of(self, user_id: int) -> dict[str, Any]:
        return self._counters.get(user_id) or empty_counters()

    async def ready(self) -> None:
        """Before the board is read: the counters read whole if nobody watched them."""
        if self._stale and not self._busy:
            self._stale = False
            await self.flush(2.0)
            await self._read_whole()

    # what happens (on the event loop, never awaiting)

    def call_ended(self, call: CallRecord) -> None:
        if self._since is None or call.started_at < self._since or call.merged_into:
            return  # started before midnight, or a consultation leg the log folds away
        self._ended.append({
            "direction": call.direction, "outcome": call.outcome,
            "answered_by_user_id": self.user_id_of(call.answered_by),
            "placed_by": call.placed_by, "operators_rung": list(call.operators_rung),
            "talk_seconds": round(call.talk_seconds or 0), "disposition": None})
        self._poke()

    def outcome_saved(self, user_id: int) -> None:
        self._outcomes.add(user_id)
        self._poke()

    def refresh(self) -> None:
        """Read every operator's counters whole again soon."""
        self._whole = True
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # reading

    def _midnight(self) -> datetime:
        local = self.clock().astimezone(self.tz)
        self._day = local.date()
        return datetime.combine(local.date(), time(0), tzinfo=self.tz).astimezone(timezone.utc)

    async def _read_whole(self) -> set[int]:
        """Every operator's counters from the calls table; the ids that changed."""
        known = set(self.users())
        await self.reload_users()
        since = self._midnight()
        async with self.db.read() as conn:
            rows = await repo.calls_since(conn, since)
        users = self.users()
        counters = {i: tally(rows, i, u["extension"]) for i, u in users.items()}
        changed = {i for i, c in counters.items() if self._counters.get(i) != c}
        self._counters, self._since = counters, since
        return changed | (set(users) - known)

    async def _read_outcomes(self, ids: Iterable[int]) -> set[int]:
        changed = set()
        users = self.users()
        for user_id in ids:
            user = users.get(user_id)
            if user is None or self._since is None:
                continue
            async with self.db.read() as conn:
                rows = await repo.calls_since(conn, self._since, user_id=user_id,
                                              extension=user["extension"], outcomes_only=True)
            outcomes = tally(rows, user_id, user["extension"])["outcomes"]
            current = self.of(user_id)
            if current["outcomes"] != outcomes:
                self._counters[user_id] = dict(current, outcomes=outcomes)
                changed.add(user_id)
        return changed

    def _add_ended(self, rows: list[dict[str, Any]]) -> set[int]:
        changed = set()
        for user_id, user in self.users().items():
            more = tally(rows, user_id, user["extension"])
            if more["calls"]:
                self._counters[user_id] = add_counters(self.of(user_id), more)
                changed.add(user_id)
        return changed

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.delay)  # a burst of calls ending: one go
            self._wake.clear()
            ended, self._ended = self._ended, []
            outcomes, self._outcomes = self._outcomes, set()
            whole, self._whole = self._whole, False
            if not self.watched():  # nobody looks: read whole when someone does
                self._stale = True
                continue
            self._busy = True
            try:
                # the rows of the calls that just ended are stored first: a whole read
                # counts them, and only then is anything added
                await self.flush(5.0)
                if whole or self._stale or self._day != self.clock().astimezone(self.tz).date():
                    self._stale = False
                    changed = await self._read_whole()
                else:
                    changed = self._add_ended(ended) | await self._read_outcomes(outcomes)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not read today's counters; reading them whole later",
                            exc_info=True)
                self._whole = True
                self._busy = False
                await asyncio.sleep(2.0)
                self._wake.set()
                continue
            self._busy = False
            for user_id in changed:
                self.changed(user_id)

    async def _clock_watch(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(min(self.day_check_seconds, 1.0))
            if self.clock().astimezone(self.tz).date() != self._day or \
                    loop.time() - last >= self.recount_seconds:
                last = loop.time()
                self.refresh()

    async def drain(self) -> None:
        """Wait until what was asked so far is read or added (tests)."""
        while self._ended or self._outcomes or self._whole or self._busy or \
                (self._wake is not None and self._wake.is_set()):
            await asyncio.sleep(0.02)
