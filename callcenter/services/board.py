"""The supervisors' live board: every operator's state and call, the queues, today's counters.

``BoardService`` keeps nothing the rest of the system does not know already; it gathers:

* operators' states from :class:`~callcenter.services.agents.AgentService` (``on_change``
  tells it after each stored change);
* their calls from the telephony runtime's call tracker (live calls, who rings, who talks)
  and the CRM client the call's number was looked up as; who listens in from ``ChanSpyStart``
  / ``ChanSpyStop`` (:class:`~callcenter.domain.queue_board.SpyWatch`);
* queues from AMI (:class:`~callcenter.domain.queue_board.QueueBoard`);
* today's counters (since local midnight in ``CALLCENTER_TIMEZONE``), kept by
  :class:`~callcenter.services.board_counters.DayCounters` so that they equal the call log.

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
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.ami.status import AmiState, AmiStatus
from callcenter.domain.call_records import CallEnded, CallRecord
from callcenter.domain.queue_board import (
    QUEUE_EVENTS, SPY_EVENTS, QueueBoard, SpyWatch, Waiter,
)
from callcenter.domain.phones import try_normalise
from callcenter.services.board_counters import DayCounters
from callcenter.services.context import Actor, Clock
from callcenter.storage import agents as agents_repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.board")
_EVENTS = QUEUE_EVENTS | SPY_EVENTS
# how long a row waits for the client lookup of its call (pushed again when it comes)
_NAME_WAIT_SECONDS = 3.0


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
        self.queues = QueueBoard()
        self.spies = SpyWatch()
        self._users: dict[int, dict[str, Any]] = {}     # operators, by id
        self._by_endpoint: dict[str, int] = {}
        self._stale_since: datetime | None = None
        self._resyncing = False
        self._dirty_operators: set[int] = set()
        self._dirty_queues: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_state: dict[int, str] = {}
        self.today = DayCounters(
            db, clock, self.tz, users=lambda: self._users, reload_users=self._load_operators,
            user_id_of=self._user_id_of, flush=telephony.calls.log.flush,
            watched=lambda: bool(set(self.staff_ids())), changed=self._mark,
            delay=counters_delay, recount_seconds=recount_seconds,
            day_check_seconds=day_check_seconds)
        self.pushes = 0  # board.operator / board.queue messages sent (for the benchmark)
        if telephony.ami is not None:
            self._stale_since = clock()  # until the first resync ends

    # lifecycle

    async def start(self) -> None:
        await self.today.start()

    async def stop(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        await self.today.stop()

    # reading

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        """The whole board (GET /api/board); operators as the database has them now."""
        await self._load_operators()
        await self.today.ready()
        live = self._live_index()
        return {"generated_at": _iso(self.clock()), "stale": self._stale_since is not None,
                "stale_since": _iso(self._stale_since), "ami": self.telephony.status(),
                "operators": [self._operator_row(u, live)[0] for u in self._users.values()],
                "queues": [self._queue_row(name)[0] for name in sorted(self.queues.queues)],
                "pause_reasons": list(self.agents.pause_reasons)}

    def counters(self, user_id: int) -> dict[str, Any]:
        return self.today.of(user_id)

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
            if isinstance(effect, CallEnded) and call is not None:
                self.today.call_ended(call)

    def on_agent_change(self, user_id: int) -> None:
        self._mark(user_id)
        s = self.agents.current(user_id)
        state = s.state if s else "offline"
        if self._last_state.get(user_id) == "wrap_up" and state != "wrap_up":
            # wrap-up ends when the outcome is saved: the outcome counters change
            self.today.outcome_saved(user_id)
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
        self.today.refresh()  # calls that ended while AMI was down (the CDR fills them in)

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
            self.today.refresh()
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

    # the list of operators and today's counters (off the AMI path)

    async def _load_operators(self) -> None:
        async with self.db.read() as conn:
            people = await agents_repo.agent_users(conn)
        self._users = {u["id"]: u for u in people if u["role"] == "operator"}
        self._by_endpoint = {u["extension"]: u["id"] for u in self._users.values()
                             if u["extension"]}

    def _user_id_of(self, endpoint: str | None) -> int | None:
        user = self.telephony.directory.user(endpoint) if endpoint else None
        return user["id"] if user else None

    def refresh(self) -> None:
        """Read every operator's counters again soon (calls stored from elsewhere)."""
        self.today.refresh()

    async def drain(self) -> None:
        """Wait until the counters asked for so far are read and their rows pushed (tests)."""
        await self.today.drain()
        with contextlib.suppress(Exception):
            self._flush()
