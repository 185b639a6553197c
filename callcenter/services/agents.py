"""Operators' states: kept in memory, stored with their history, told to the PBX, pushed.

``AgentService`` holds one :class:`~callcenter.domain.agents.AgentState` per operator, loaded at
start. Events reach it from two sides, both applied at once on the event loop (so the
answer of a choice and the PBX's events are never interleaved halfway):

* the operator's choice (``set_state``): stored, pushed, then sent to the PBX as ``QueuePause``
  for their endpoint. While AMI is down the choice is kept as pending (the answer says
  ``"pbx": "pending"``) and sent after the next AMI resync; until then what the PBX reports
  about that operator's pause is ignored, everything else about them is not. Likewise once
  sent, until Asterisk's ``QueueMemberPause`` confirms it (at most ``echo_seconds``): an
  event Asterisk wrote before it carried the action out must not undo the choice;
* the PBX (``on_ami_event``, called by the telephony runtime for every AMI event, cheap for
  the ones that say nothing about an operator): pauses made on the phone or by Asterisk,
  the phone's device state. On start and after every resync the ``QueueStatus`` answer
  (its ``QueueMember`` events) is the truth for paused/ready.

Writes go through one queue and one writer task, in order: the current state
(``agent_states``) and, for every change of state or reason, a row of
``agent_state_changes`` with its time and source (``crm``, ``pbx``, ``system``). Each stored
change is pushed as ``{"type": "agent.state", "agent": {...}}`` to the operator's own pages and
to every staff page.

Several server processes on one PostgreSQL (services/cluster.py): every process follows the PBX
itself, so each sees the same PBX events and wrap-up ends and pushes them to its own pages; one
of them, the ``recorder`` (the holder of an advisory lock), stores those, and the others keep
them in memory only (a PBX event has no key the history rows could be told apart by: two rings
a second apart are two rows). A process that becomes the recorder first stores every state it
holds that differs from the stored one. What only one process sees, the operator's choice and
the end of a wrap-up by a saved outcome, it applies, stores, and tells the others (an ``agent``
notice on the ``bus``: the operator and the event); they apply the same event to their own state
without storing it, push it to their own pages, and expect the PBX's echo of the QueuePause as
the sender does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from callcenter.ami.errors import ActionFailed, ActionLost, AmiNotConnected
from callcenter.domain.access import STAFF, Role
from callcenter.domain.agents import (
    AGENT_EVENTS, CHOICES, OFFLINE_REASON, AgentState, Chosen, Event, OutcomeSaved, PbxPause,
    QueuePause, Step, Tick, initial_state, read_ami_event, step,
)
from callcenter.errors import Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import agents as repo, audit
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.agents")

#: pg_try_advisory_lock key of the process that stores what the PBX tells of operators
RECORDER_LOCK_KEY = 0x63616C6C_61676E74  # "callagnt"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def agent_json(user: dict[str, Any], s: AgentState | None) -> dict[str, Any]:
    return {"user_id": user["id"], "login": user["login"], "name": user["name"],
            "extension": user["extension"],
            "state": s.state if s else "offline", "reason": s.reason if s else None,
            "since": _iso(s.since) if s else None,
            "wrap_up_until": _iso(s.wrap_up_until) if s else None,
            "chosen": s.chosen if s else "offline", "chosen_reason": s.chosen_reason if s else None,
            "autodial": bool(user.get("autodial"))}


def pause_for(s: AgentState) -> QueuePause:
    """What the PBX must be told for the operator's choice."""
    if s.chosen == "ready":
        return QueuePause(False, None)
    return QueuePause(True, s.chosen_reason if s.chosen == "paused" else OFFLINE_REASON)


class AgentService:
    """See the module docstring."""

    def __init__(self, db: Database, clock: Clock, *, pause_reasons: Iterable[str],
                 wrap_up_seconds: int, publish: Callable[..., int],
                 staff_ids: Callable[[], Iterable[int]],
                 user_of_endpoint: Callable[[str], dict[str, Any] | None],
                 ami: Any = None, tick_seconds: float = 0.5, echo_seconds: float = 3.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.clock = clock
        self.pause_reasons = [r.strip() for r in pause_reasons if r.strip()]
        self.wrap_up_seconds = wrap_up_seconds
        self.publish = publish
        self.staff_ids = staff_ids
        self.user_of_endpoint = user_of_endpoint
        self.ami = ami  # an AmiClient, or None when no PBX is connected
        self.tick_seconds = tick_seconds
        self.echo_seconds = echo_seconds
        self._monotonic = monotonic
        self._states: dict[int, AgentState] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._pending: set[int] = set()  # choices the PBX was not told yet
        # QueuePause sent, its QueueMemberPause not seen yet: (what was asked, until when)
        self._expected: dict[int, tuple[QueuePause, float]] = {}
        self._writes: asyncio.Queue[tuple[int, AgentState, tuple | None,
                                          asyncio.Future | None]] | None = None
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        # told the user id after each stored change is pushed (the live board follows them);
        # called on the event loop, must not block
        self.on_change: list[Callable[[int], None]] = []
        self.bus: Any = None  # a ClusterBus (several processes on PostgreSQL), or None
        # whether this process stores what every process sees (Leadership.leading); None: yes
        self.recorder: Any = None

    # lifecycle

    async def start(self) -> None:
        async with self.db.read() as conn:
            self._states = await repo.load_states(conn)
            # choices made while AMI was down, before a restart: still to be sent
            self._pending = await repo.pending_pbx(conn) & set(self._states)
        self._writes = asyncio.Queue()
        if self.bus is not None and self.bus.enabled:
            self.bus.on("agent", self._notice)
            self.bus.on_reconnect.append(self.refresh_choices)
        if self.recorder is not None:
            self.recorder.on_gain.append(self.store_unstored)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._writer(), name="agent-states"),
                       loop.create_task(self._ticker(), name="agent-wrap-up")]

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._writes is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._writes.join(), 5.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._writes = None

    # reading

    def state_of(self, user_id: int) -> str:
        s = self._states.get(user_id)
        return s.state if s else "offline"

    def current(self, user_id: int) -> AgentState | None:
        return self._states.get(user_id)

    async def list(self, actor: Actor) -> list[dict[str, Any]]:
        """Staff: every agent (operators and anyone with an extension); an operator: self."""
        async with self.db.read() as conn:
            if actor.role in STAFF:
                people = await repo.agent_users(conn)
            elif actor.user_id is not None:
                people = await repo.agent_users(conn, actor.user_id)
            else:
                people = []
        for user in people:
            self._users[user["id"]] = user
        return [agent_json(u, self._states.get(u["id"])) for u in people]

    async def listing(self, actor: Actor) -> dict[str, Any]:
        return {"items": await self.list(actor), "pause_reasons": list(self.pause_reasons),
                "wrap_up_seconds": self.wrap_up_seconds}

    async def user_changed(self, user_id: int | None) -> None:
        """An admin changed this user (auto-dial, name, extension...): the cached row is read
        again and, if they are an agent, their agent JSON is pushed to their pages and to staff,
        so an operator's auto-dial follows the switch without a reload. ``None`` (which user is
        not known): every agent is read again and pushed. Subscribed to AccountService.on_change."""
        if user_id is None:
            async with self.db.read() as conn:
                people = await repo.agent_users(conn)
            self._users.update({u["id"]: u for u in people})
            for user in people:
                self.publish({user["id"], *self.staff_ids()},
                             {"type": "agent.state",
                              "agent": agent_json(user, self._states.get(user["id"]))})
            return
        async with self.db.read() as conn:
            found = await repo.agent_users(conn, user_id)
        if not found:
            self._users.pop(user_id, None)
            return
        user = self._users[user_id] = found[0]
        self.publish({user_id, *self.staff_ids()},
                     {"type": "agent.state", "agent": agent_json(user, self._states.get(user_id))})

    async def history(self, user_id: int, since: datetime | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await repo.changes(conn, user_id, since=since)

    # the operator's choice

    async def set_state(self, actor: Actor, state: Any, reason: Any = None) -> dict[str, Any]:
        """Store the actor's choice and tell the PBX; the agent JSON with ``pbx``: ``sent``,
        ``pending`` (AMI down: sent after the link is back), ``refused`` (Asterisk said no,
        e.g. the endpoint is in no queue) or ``none`` (no extension, or no PBX)."""
        if actor.user_id is None:
            raise Forbidden("Only a user has an agent state")
        state, reason = self._checked_choice(state, reason)
        async with self.db.read() as conn:
            (user,) = await repo.agent_users(conn, actor.user_id) or [None]
        if user is None:
            raise Forbidden("This account is not active")
        return await self._choose(user, state, reason)

    async def set_state_of(self, actor: Actor, user_id: Any, state: Any,
                           reason: Any = None) -> dict[str, Any]:
        """A supervisor sets an operator's state (from the live board): as if the operator
        chose it (stored with source ``crm``, QueuePause to the PBX), audited
        ``agent.state_set`` with who did it and the target. Only an active operator's
        (NotFound otherwise, so ids are not probed for other roles); the answer as
        :meth:`set_state`."""
        state, reason = self._checked_choice(state, reason)
        async with self.db.read() as conn:
            (user,) = (await repo.agent_users(conn, user_id)
                       if isinstance(user_id, int) else []) or [None]
        if user is None or user["role"] != "operator":
            raise NotFound.entity("operator", user_id)
        before = self._states.get(user["id"])
        result = await self._choose(user, state, reason)
        async with self.db.write() as conn:
            await audit.record(conn, at=self.clock(), action="agent.state_set",
                               user_id=actor.user_id, login=actor.login, ip=actor.ip,
                               entity="user", entity_id=user["id"], details={
                                   "by": actor.login, "target": user["login"],
                                   "state": state, "reason": reason,
                                   "before": before.chosen if before else "offline",
                                   "pbx": result["pbx"]})
        return result

    def _checked_choice(self, state: Any, reason: Any) -> tuple[str, str | None]:
        if state not in CHOICES:
            raise ValidationFailed.fields({"state": "must be one of " + ", ".join(CHOICES)})
        if state == "paused":
            if reason is None or reason == "":
                reason = self.pause_reasons[0] if self.pause_reasons else None
            elif not isinstance(reason, str) or reason not in self.pause_reasons:
                raise ValidationFailed.fields(
                    {"reason": "must be one of " + ", ".join(self.pause_reasons)})
        else:
            reason = None
        return state, reason

    async def _choose(self, user: dict[str, Any], state: str,
                      reason: str | None) -> dict[str, Any]:
        self._users[user["id"]] = user
        done = asyncio.get_running_loop().create_future()
        event = Chosen(state, reason)
        result = self._apply(user["id"], event, "crm", done=done)
        await done
        self._tell_others(user["id"], event)
        pbx = await self._tell_pbx(user["id"], user["extension"], result.pbx)
        return {**agent_json(user, self._states.get(user["id"])), "pbx": pbx}

    async def _tell_pbx(self, user_id: int, extension: str | None,
                        pause: QueuePause | None) -> str:
        if pause is None or not extension or self.ami is None:
            return "none"
        was_pending = user_id in self._pending
        self._pending.discard(user_id)
        self._expected[user_id] = (pause, self._monotonic() + self.echo_seconds)
        try:
            await self.ami.queue_pause(extension, pause.paused, pause.reason)
        except (AmiNotConnected, ActionLost) as exc:
            self._expected.pop(user_id, None)
            self._pending.add(user_id)
            log.info("QueuePause for %s not told to the PBX yet (%s): sent after the AMI "
                     "link is back", extension, exc)
            if not was_pending:
                await self._store_pending(user_id, True)
            return "pending"
        except ActionFailed as exc:
            self._expected.pop(user_id, None)
            log.warning("Asterisk refused QueuePause for %s: %s", extension, exc.message)
            result = "refused"
        else:
            result = "sent"
        if was_pending:
            await self._store_pending(user_id, False)
        return result

    async def _store_pending(self, user_id: int, pending: bool) -> None:
        try:
            async with self.db.write() as conn:
                await repo.set_pbx_pending(conn, user_id, pending)
        except Exception:  # the choice itself is stored; only a restart would forget this
            log.warning("could not note whether the PBX was told the state of user %s",
                        user_id, exc_info=True)

    async def outcome_saved(self, user_id: int) -> None:
        """The outcome of the user's call is saved: their wrap-up ends."""
        self._apply(user_id, OutcomeSaved(), "crm")
        self._tell_others(user_id, OutcomeSaved())

    # other server processes

    def _tell_others(self, user_id: int, event: Event) -> None:
        if self.bus is None:
            return
        if isinstance(event, Chosen):
            payload = {"u": user_id, "e": "chosen", "state": event.choice,
                       "reason": event.reason}
        else:
            payload = {"u": user_id, "e": "outcome"}
        self.bus.send_soon("agent", payload)

    def _records_shared(self) -> bool:
        return self.recorder is None or self.recorder.leading

    async def store_unstored(self) -> int:
        """This process just became the recorder: every state it holds that differs from the
        stored one (what the PBX told while no process was recording) is stored, with its
        history row. Returns how many."""
        async with self.db.read() as conn:
            stored = await repo.load_states(conn)
        queued = 0
        for user_id, s in list(self._states.items()):
            before = stored.get(user_id)
            if before is not None and (before.state, before.reason, before.chosen,
                                       before.chosen_reason) == (s.state, s.reason, s.chosen,
                                                                 s.chosen_reason):
                continue
            changed = before is None or (before.state, before.reason) != (s.state, s.reason)
            change = (s.since, s.state, s.reason, "pbx") if changed else None
            if self._writes is not None:
                self._writes.put_nowait((user_id, s, change, None))
                queued += 1
        return queued

    async def refresh_choices(self) -> int:
        """After the notices of other processes may have been missed (the bus reconnected):
        every operator whose stored choice differs from this process's gets it applied here
        as if told. Returns how many."""
        async with self.db.read() as conn:
            stored = await repo.load_states(conn)
        applied = 0
        for user_id, s in stored.items():
            mine = self._states.get(user_id)
            if mine is not None and (mine.chosen, mine.chosen_reason) == (s.chosen,
                                                                          s.chosen_reason):
                continue
            await self._notice({"u": user_id, "e": "chosen", "state": s.chosen,
                                "reason": s.chosen_reason})
            applied += 1
        return applied

    async def _notice(self, payload: dict[str, Any]) -> None:
        """Another process applied (and stored) an operator's choice or a saved outcome: the
        same event here, without storing it; pushed to this process's pages."""
        user_id = payload.get("u")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return
        if payload.get("e") == "chosen":
            state, reason = payload.get("state"), payload.get("reason")
            if state not in CHOICES:
                return
            event: Event = Chosen(state, reason if isinstance(reason, str) else None)
        elif payload.get("e") == "outcome":
            event = OutcomeSaved()
        else:
            return
        if user_id not in self._users:
            async with self.db.read() as conn:
                found = await repo.agent_users(conn, user_id)
            if not found:
                return
            self._users[user_id] = found[0]
        now = self.clock()
        current = self._states.get(user_id) or initial_state(now)
        result = step(current, event, now, wrap_up_seconds=self.wrap_up_seconds)
        self._states[user_id] = result.state
        if result.pbx is not None:  # the sender tells the PBX; its echo is expected here too
            self._expected[user_id] = (result.pbx, self._monotonic() + self.echo_seconds)
        if result.stored:
            self._pushed(user_id, result.state)

    # the PBX

    def on_ami_event(self, message: dict[str, str]) -> None:
        """Follow one AMI event (any event: most are dismissed by their name)."""
        if message.get("Event") not in AGENT_EVENTS:
            return
        read = read_ami_event(message)
        if read is None:
            return
        endpoint, events = read
        user = self.user_of_endpoint(endpoint)
        if user is None:
            return
        self._users.setdefault(user["id"], user)
        for event in events:
            if isinstance(event, PbxPause) and self._stale(user["id"], event):
                continue
            self._apply(user["id"], event, "pbx")

    def _stale(self, user_id: int, event: PbxPause) -> bool:
        """Whether what the PBX says about this operator's pause predates their choice: the
        choice is still to be sent, or it was sent and Asterisk has not said it carried it
        out (an event written before it did would undo the choice)."""
        if user_id in self._pending:
            return True
        expected = self._expected.get(user_id)
        if expected is None:
            return False
        pause, until = expected
        if event.paused == pause.paused and (not pause.paused or
                                             (event.reason or None) == pause.reason):
            del self._expected[user_id]  # the PBX caught up
            return False
        if self._monotonic() < until:
            return True
        del self._expected[user_id]
        return False

    def on_resync_end(self) -> None:
        """After the AMI resync: send the choices the PBX was not told."""
        if not self._pending or self.ami is None:
            return
        task = asyncio.get_running_loop().create_task(self._send_pending())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_pending(self) -> None:
        for user_id in sorted(self._pending):
            user, s = self._users.get(user_id), self._states.get(user_id)
            if user is None:  # pending since before a restart
                async with self.db.read() as conn:
                    found = await repo.agent_users(conn, user_id)
                user = self._users[user_id] = found[0] if found else None
            if user is None or s is None or not user.get("extension"):
                self._pending.discard(user_id)
                await self._store_pending(user_id, False)
                continue
            await self._tell_pbx(user_id, user["extension"], pause_for(s))

    # applying and storing

    def _apply(self, user_id: int, event: Event, source: str, *,
               done: asyncio.Future | None = None) -> Step:
        now = self.clock()
        current = self._states.get(user_id) or initial_state(now)
        result = step(current, event, now, wrap_up_seconds=self.wrap_up_seconds)
        if result.stored or done is not None:
            self._states[user_id] = result.state
            if source != "crm" and done is None and not self._records_shared():
                self._pushed(user_id, result.state)  # the recorder process stores it
                return result
            change = ((result.state.since, result.state.state, result.state.reason, source)
                      if result.changed else None)
            if self._writes is None:  # stopped (or not started): nothing more is stored
                if done is not None:
                    done.set_exception(ServiceUnavailable("Agent states are not available"))
                return result
            self._writes.put_nowait((user_id, result.state, change, done))
        return result

    async def _writer(self) -> None:
        assert self._writes is not None
        while True:
            user_id, s, change, done = await self._writes.get()
            try:
                await self._store(user_id, s, change)
                if done is not None and not done.done():
                    done.set_result(None)
            except Exception as exc:
                log.exception("could not store the state of user %s", user_id)
                if done is not None and not done.done():
                    done.set_exception(exc)
            finally:
                self._writes.task_done()

    async def _store(self, user_id: int, s: AgentState, change: tuple | None) -> None:
        for attempt in range(3):
            try:
                async with self.db.write() as conn:
                    await repo.save_state(conn, user_id, s)
                    if change is not None:
                        await repo.add_change(conn, user_id, *change)
                    # read each time: an admin may have switched auto-dial or renamed the
                    # operator, also through another server process
                    found = await repo.agent_users(conn, user_id)
                    if found:
                        self._users[user_id] = found[0]
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        self._pushed(user_id, s)

    def _pushed(self, user_id: int, s: AgentState) -> None:
        """Push a stored (or, from another process, applied) state; the listeners follow."""
        user = self._users.get(user_id)
        if user is not None:
            self.publish({user_id, *self.staff_ids()},
                         {"type": "agent.state", "agent": agent_json(user, s)})
        for listener in self.on_change:
            try:
                listener(user_id)
            except Exception:  # a listener's defect must not stop the writer
                log.exception("agent state listener failed")

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            now = self.clock()
            for user_id, s in list(self._states.items()):
                if s.state == "wrap_up" and s.wrap_up_until is not None and \
                        now >= s.wrap_up_until:
                    self._apply(user_id, Tick(), "system")

    async def drain(self) -> None:
        """Wait until every change so far is stored (tests)."""
        if self._writes is not None:
            await self._writes.join()


def staff_pages(hub) -> Callable[[], set[int]]:
    """The users with a staff page open on this hub."""
    staff = {Role.SUPERVISOR.value, Role.ADMIN.value}
    return lambda: {c.user_id for c in hub.connections() if c.role in staff}
