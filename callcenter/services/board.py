"""The supervisors' live board: every operator's state and call, the queues, today's counters.

``BoardService`` keeps nothing the rest of the system does not know already; it gathers:

* operators' states from :class:`~callcenter.services.agents.AgentService` (``on_change``
  tells it after each stored change);
* their calls from the telephony runtime's call tracker (live calls, who rings, who talks)
  and the CRM client the call's number was looked up as; who listens in from ``ChanSpyStart``
  / ``ChanSpyStop`` (:class:`~callcenter.domain.queue_board.SpyWatch`);
* queues from AMI (:class:`~callcenter.domain.queue_board.QueueBoard`);
* today's counters (since local midnight in ``CALLCENTER_TIMEZONE``) from the calls table: all
  of them at start, at midnight and every minute (outcomes set on a call later), one
  operator's again after each of their calls ends and when their wrap-up ends (the outcome is
  saved), read after the call log has stored what it holds, so they equal the call log; many
  operators at once are counted from one read of the day's calls.

AMI events reach it synchronously from the telephony listener (``on_ami_event``,
``on_effects``): dismissed by their name first, never awaiting. Rows that changed are marked
and pushed to every staff page at most once per ``push_every`` seconds each
(``board.operator`` / ``board.queue``), so a burst of calls costs one push per row and tick.
``board.status`` says the data is stale from the moment AMI drops or a resync begins until
the resync ends; then every row and queue is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.ami.status import AmiState, AmiStatus
from callcenter.domain.call_records import CallEnded, CallRecord
from callcenter.domain.queue_board import (
    QUEUE_EVENTS, SPY_EVENTS, QueueBoard, SpyWatch, Waiter, empty_counters, tally,
)
from callcenter.domain.phones import try_normalise
from callcenter.services.context import Actor, Clock
from callcenter.storage import agents as agents_repo, board as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.board")
_EVENTS = QUEUE_EVENTS | SPY_EVENTS
# how long a row waits for the client lookup of its call (pushed again when it comes)
_NAME_WAIT_SECONDS = 3.0
# more operators than this to count again: one read of the day's calls instead of one each
_MANY = 4


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


class BoardService:
    """See the module docstring. ``telephony`` is the runtime (tracker, calls, directory,
    status, ami); ``agents`` the AgentService."""

    def __init__(self, db: Database, clock: Clock, *, timezone_name: str, region: str,
                 agents: Any, telephony: Any, publish: Callable[..., int],
                 staff_ids: Callable[[], Iterable[int]], push_every: float = 0.2,
                 counters_delay: float = 0.3, day_check_seconds: float = 1.0,
                 recount_seconds: float = 60.0) -> None:
        self.db = db
        self.clock = clock
        self.tz = ZoneInfo(timezone_name)
        self.region = region
        self.agents = agents
        self.telephony = telephony
        self.publish = publish
        self.staff_ids = staff_ids
        self.push_every = push_every
        self.counters_delay = counters_delay
        self.day_check_seconds = day_check_seconds
        self.recount_seconds = recount_seconds
        self.queues = QueueBoard()
        self.spies = SpyWatch()
        self._users: dict[int, dict[str, Any]] = {}     # operators, by id
        self._by_endpoint: dict[str, int] = {}
        self._counters: dict[int, dict[str, Any]] = {}
        self._day: date | None = None
        self._stale_since: datetime | None = None
        self._resyncing = False
        self._dirty_operators: set[int] = set()
        self._dirty_queues: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._recount: set[int | None] = set()  # None: every operator
        self._recount_wake: asyncio.Event | None = None
        self._counting = False
        self._last_state: dict[int, str] = {}
        self._tasks: list[asyncio.Task] = []
        self.pushes = 0  # board.operator / board.queue messages sent (for the benchmark)
        if telephony.ami is not None:
            self._stale_since = clock()  # until the first resync ends

    # lifecycle

    async def start(self) -> None:
        await self._load_operators()
        await self._count_all()
        self._recount_wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._recounter(), name="board-counters"),
                       loop.create_task(self._day_watch(), name="board-midnight")]

    async def stop(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # reading

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        """The whole board (GET /api/board); operators as the database has them now."""
        await self._load_operators()
        live = self._live_index()
        return {"generated_at": _iso(self.clock()), "stale": self._stale_since is not None,
                "stale_since": _iso(self._stale_since), "ami": self.telephony.status(),
                "operators": [self._operator_row(u, live)[0] for u in self._users.values()],
                "queues": [self._queue_row(name)[0] for name in sorted(self.queues.queues)],
                "pause_reasons": list(self.agents.pause_reasons)}

    def counters(self, user_id: int) -> dict[str, Any]:
        return self._counters.get(user_id) or empty_counters()

    # what happens (all on the event loop, none awaits)

    def on_ami_event(self, event: dict[str, str], at: datetime) -> None:
        name = event.get("Event")
        if name not in _EVENTS:
            return
        if name in QUEUE_EVENTS:
            changed = self.queues.feed(event, at)
            if changed:
                self._dirty_queues |= changed
                self._schedule()
        if name in SPY_EVENTS:
            for endpoint in self.spies.feed(event):
                self._mark_endpoint(endpoint)

    def on_effects(self, effects: list[Any]) -> None:
        """The call tracker's effects: the operators of these calls changed."""
        for effect in effects:
            call: CallRecord | None = getattr(effect, "call", None)
            endpoints = {getattr(effect, "endpoint", None)}
            if call is not None:
                endpoints.update((call.answered_by, call.placed_by, *call.operators_rung,
                                  *call.handled_by))
            for endpoint in endpoints:
                user_id = self._by_endpoint.get(endpoint) if endpoint else None
                if user_id is None:
                    continue
                self._mark(user_id)
                if isinstance(effect, CallEnded):
                    self._recount_later(user_id)

    def on_agent_change(self, user_id: int) -> None:
        self._mark(user_id)
        s = self.agents.current(user_id)
        state = s.state if s else "offline"
        if self._last_state.get(user_id) == "wrap_up" and state != "wrap_up":
            # wrap-up ends when the outcome is saved: the outcome counters change
            self._recount_later(user_id)
        self._last_state[user_id] = state

    def on_status(self, status: AmiStatus) -> None:
        if status.state != AmiState.CONNECTED:
            self._go_stale()

    def on_resync_begin(self) -> None:
        self._go_stale()
        self._resyncing = True
        self._dirty_queues |= self.queues.begin_resync()
        for endpoint in self.spies.reset():
            self._mark_endpoint(endpoint)

    def on_resync_end(self) -> None:
        self._resyncing = False
        self._stale_since = None
        self._send_status()
        # every row again: a page may have missed pushes while the data was stale
        self._dirty_operators |= set(self._users)
        self._dirty_queues |= set(self.queues.queues)
        self._flush()
        self._recount_later(None)  # calls that ended while AMI was down (CDR fills them in)

    # pushing

    def _go_stale(self) -> None:
        if self._stale_since is None:
            self._stale_since = self.clock()
            self._send_status()

    def _send_status(self) -> None:
        staff = set(self.staff_ids())
        if staff:
            self.publish(staff, {"type": "board.status", "stale": self._stale_since is not None,
                                 "stale_since": _iso(self._stale_since)})

    def _mark_endpoint(self, endpoint: str) -> None:
        user_id = self._by_endpoint.get(endpoint)
        if user_id is not None:
            self._mark(user_id)

    def _mark(self, user_id: int) -> None:
        self._dirty_operators.add(user_id)
        self._schedule()

    def _schedule(self) -> None:
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(self.push_every,
                                                                       self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._resyncing:  # half a picture: sent whole when the resync ends
            return
        operators, queues = self._dirty_operators, self._dirty_queues
        self._dirty_operators, self._dirty_queues = set(), set()
        staff = set(self.staff_ids())
        if not staff:
            return
        live = self._live_index() if operators else {}
        unknown = False
        for user_id in sorted(operators):
            user = self._users.get(user_id)
            if user is None:
                unknown = True
                continue
            row, waits = self._operator_row(user, live)
            self.publish(staff, {"type": "board.operator", "operator": row})
            self.pushes += 1
            if waits:
                self._dirty_operators.add(user_id)
        for name in sorted(queues):
            row, waits = self._queue_row(name)
            self.publish(staff, {"type": "board.queue", "queue": row})
            self.pushes += 1
            if waits:
                self._dirty_queues.add(name)
        if unknown:  # someone became an operator since the list was read
            self._recount_later(None)
        if self._dirty_operators or self._dirty_queues:
            self._schedule()

    # building rows

    def _live_index(self) -> dict[str, CallRecord]:
        """The call each operator's phone is in (answered, else placed), by endpoint."""
        out: dict[str, CallRecord] = {}
        for call in self.telephony.tracker.live_calls():
            if call.ended_at is not None or call.merged_into:
                continue
            if call.placed_by:
                out.setdefault(call.placed_by, call)
            if call.answered_by:
                out[call.answered_by] = call
        return out

    def _call_of(self, endpoint: str | None, state: str,
                 live: dict[str, CallRecord]) -> CallRecord | None:
        if not endpoint:
            return None
        call = live.get(endpoint)
        if call is None and state == "ringing":
            ringing = self.telephony.tracker.ringing_at(endpoint)
            call = ringing[0] if ringing else None
        return call

    def _operator_row(self, user: dict[str, Any],
                      live: dict[str, CallRecord]) -> tuple[dict[str, Any], bool]:
        """The OPERATOR JSON, and whether its client name may still come."""
        s = self.agents.current(user["id"])
        state = s.state if s else "offline"
        endpoint = user.get("extension")
        call = self._call_of(endpoint, state, live)
        call_json, waits = self._call_json(call, endpoint) if call else (None, False)
        return {"user_id": user["id"], "login": user["login"], "name": user["name"],
                "extension": endpoint, "state": state, "reason": s.reason if s else None,
                "since": _iso(s.since) if s else None,
                "wrap_up_until": _iso(s.wrap_up_until) if s else None,
                "call": call_json, "today": self.counters(user["id"])}, waits

    def _call_json(self, call: CallRecord, endpoint: str) -> tuple[dict[str, Any], bool]:
        live = self.telephony.calls.live_json(call)
        spy = self.spies.spied.get(endpoint)
        supervised = None
        if spy is not None:
            who = self.telephony.directory.user(spy.spyer)
            supervised = {"user_id": who["id"] if who else spy.supervisor_id,
                          "name": who["name"] if who else None, "mode": spy.mode}
        return {"call_key": call.key,
                "direction": "inbound" if call.direction == "inbound" else "outbound",
                "number": live["customer_number"], "client_id": live["client_id"],
                "client_name": live["client_name"],
                "since": _iso(call.answered_at or call.started_at),
                "supervised_by": supervised}, self._name_may_come(call, live)

    def _name_may_come(self, call: CallRecord, live: dict[str, Any]) -> bool:
        if live["client_id"] is not None or live["client_candidates"] or \
                not call.customer_number:
            return False
        return (self.clock() - call.started_at).total_seconds() < _NAME_WAIT_SECONDS

    def _queue_row(self, name: str) -> tuple[dict[str, Any], bool]:
        calls = {c.key: c for c in self.telephony.tracker.live_calls()} \
            if self.queues.queue(name).waiting else {}
        waits = False

        def client_name(waiter: Waiter) -> str | None:
            nonlocal waits
            call = calls.get(waiter.call_key)
            if call is None:
                return None
            live = self.telephony.calls.live_json(call)
            waits = waits or self._name_may_come(call, live)
            return live["client_name"]

        return self.queues.view(name, client_name, self._shown_number), waits

    def _shown_number(self, number: str | None) -> str | None:
        parsed = try_normalise(number, self.region) if number else None
        return (parsed.e164 or parsed.internal) if parsed else number

    # counters and the list of operators (off the AMI path)

    def _midnight(self) -> datetime:
        local = self.clock().astimezone(self.tz)
        self._day = local.date()
        return datetime.combine(local.date(), time(0), tzinfo=self.tz).astimezone(timezone.utc)

    async def _load_operators(self) -> None:
        async with self.db.read() as conn:
            people = await agents_repo.agent_users(conn)
        self._users = {u["id"]: u for u in people if u["role"] == "operator"}
        self._by_endpoint = {u["extension"]: u["id"] for u in self._users.values()
                             if u["extension"]}

    async def _count_all(self) -> set[int]:
        """Every operator's counters; the ids of those that changed."""
        since = self._midnight()
        async with self.db.read() as conn:
            rows = await repo.calls_since(conn, since)
        counters = {u["id"]: tally(rows, u["id"], u["extension"]) for u in self._users.values()}
        changed = {i for i, c in counters.items() if self._counters.get(i) != c}
        self._counters = counters
        return changed

    async def _count(self, user_id: int) -> bool:
        """One operator's counters; whether they changed."""
        user = self._users.get(user_id)
        if user is None:
            return False
        since = self._midnight()
        async with self.db.read() as conn:
            rows = await repo.calls_since(conn, since, user_id=user_id,
                                          extension=user["extension"])
        counters = tally(rows, user_id, user["extension"])
        changed = self._counters.get(user_id) != counters
        self._counters[user_id] = counters
        return changed

    def refresh(self) -> None:
        """Read every operator's counters again soon (calls stored from elsewhere)."""
        self._recount_later(None)

    def _recount_later(self, user_id: int | None) -> None:
        self._recount.add(user_id)
        if self._recount_wake is not None:
            self._recount_wake.set()

    async def _recounter(self) -> None:
        assert self._recount_wake is not None
        while True:
            await self._recount_wake.wait()
            await asyncio.sleep(self.counters_delay)  # a burst of changes: one read each
            self._recount_wake.clear()
            ids, self._recount = self._recount, set()
            self._counting = True
            try:
                # the rows of the calls that just ended are stored first
                await self.telephony.calls.log.flush(5.0)
                if None in ids or len(ids) > _MANY:  # one read of the day serves them all
                    known = set(self._users)
                    await self._load_operators()
                    changed = await self._count_all() | (set(self._users) - known)
                else:
                    changed = {user_id for user_id in ids
                               if await self._count(user_id)}  # type: ignore[arg-type]
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not read today's counters; trying again later",
                            exc_info=True)
                self._recount |= ids
                self._counting = False
                await asyncio.sleep(2.0)
                self._recount_wake.set()
                continue
            self._counting = False
            for user_id in changed:
                self._mark(user_id)

    async def _day_watch(self) -> None:
        """Midnight starts a new day; and every ``recount_seconds`` all counters are read
        again, for what changes them without a call ending or a state changing (an outcome
        set on a call later, a call the CDR filled in)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(min(self.day_check_seconds, 1.0))
            if self.clock().astimezone(self.tz).date() != self._day or \
                    loop.time() - last >= self.recount_seconds:
                last = loop.time()
                self._recount_later(None)

    async def drain(self) -> None:
        """Wait until the counters asked for so far are read and their rows pushed (tests)."""
        while self._recount or self._counting or (self._recount_wake is not None and
                                                  self._recount_wake.is_set()):
            await asyncio.sleep(0.02)
        with contextlib.suppress(Exception):
            self._flush()
