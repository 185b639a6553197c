"""Tasks: create, list, the next-task claim, an attempt's outcome (from a button, a call or the
PBX), release, the archive and bringing a task back.

Every time a task gets a due time it is placed in its client's calling window
(:meth:`TaskService.placement`): ``ready_at`` is the first moment it may be handed out and
``window_ends_at`` the end of that window, both in UTC, so the claim is one indexed query with
no time-zone arithmetic in SQL.  What an outcome does is :func:`domain.tasks.apply_outcome`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.access import Role, may_see_call
from callcenter.domain.calling_hours import parse_calling_hours
from callcenter.domain.client_zone import ClientZone, resolve_client_zone
from callcenter.domain.redial import NoCallingWindow, next_retry, parse_ladder, window_for
from callcenter.domain.tasks import (
    ARCHIVED, DO_NOT_CALL, DONE, MAX_NOTE, OPEN, FieldErrors, OutcomeRule, Placement, TaskState,
    apply_outcome, check_next_at, fold_search, parse_instant, parse_order, rank_for,
    validate_new_task,
)
from callcenter.errors import (
    BadRequest, Conflict, DoNotCall, Forbidden, NotFound, ValidationFailed,
)
from callcenter.services import change_events
from callcenter.services.clients import ClientService, call_row_json, task_json
from callcenter.services.context import Actor, Clock
from callcenter.services.outcomes import OutcomeService
from callcenter.storage import audit
from callcenter.storage import calls as calls_repo
from callcenter.storage import tasks as repo
from callcenter.storage.calls import visible_tasks
from callcenter.storage.database import Database
from callcenter.storage.users import get_user

log = logging.getLogger("callcenter.tasks")

MAX_ARCHIVE_QUERY = 200
#: kinds a call's outcome opens when the call carried no task
FOLLOW_UP_KINDS = ("callback", "missed_call", "redial")


def _fields(exc: FieldErrors) -> ValidationFailed:
    return ValidationFailed.fields(exc.fields)


class TaskService:
    def __init__(self, db: Database, clock: Clock, settings, clients: ClientService,
                 outcomes: OutcomeService, *, agents: Callable[[], Any] = lambda: None):
        self.db = db
        self.clock = clock
        self.clients = clients
        self.outcomes = outcomes
        self._agents = agents
        self.events_recorded = lambda: None  # EventOutbox.wake (app sets it)
        # changed(task_json, (user ids it was with)) after a task was created, released,
        # worked, rescheduled or restored here: create_app pushes ``tasks.changed`` to its
        # owner's and the staff's pages on every server process
        self.changed: Callable[[dict[str, Any], tuple], None] | None = None
        self.order = parse_order(settings.next_task_order)
        self.hours = parse_calling_hours(settings.calling_hours, settings.holidays)
        self.ladder = parse_ladder(settings.redial_ladder)
        self.fallback = (settings.timezone,)
        self._meeting_zones: dict[tuple[str, ...], ClientZone] = {}
        self.lease = timedelta(minutes=settings.task_lease_minutes)
        url = make_url(db.url)
        # a SQLite file: claims on a connection and thread of their own (storage.tasks)
        self._sqlite_claims = repo.SqliteClaims(url.database) \
            if url.get_backend_name() == "sqlite" and url.database \
            and url.database != ":memory:" and not url.database.startswith("file:") else None

    async def close(self) -> None:
        if self._sqlite_claims is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._sqlite_claims.close)
            self._sqlite_claims = None

    # placing a due time in the client's calling window

    def zone_of(self, client: Mapping[str, Any] | None, e164: str | None = None) -> ClientZone:
        client = client or {}
        zone = resolve_client_zone(client.get("timezone"), client.get("city"),
                                   client.get("region"), client.get("e164") or e164,
                                   fallback=self.fallback)
        return zone if zone.known else self._meeting(zone)

    def _meeting(self, zone: ClientZone) -> ClientZone:
        """Candidate zones whose calling windows never meet (hours too short for the spread of
        an unknown +7 9xx mobile's 11 zones) are reckoned in the first candidate alone (the
        shop's zone when it is one of them) rather than never called."""
        usable = self._meeting_zones.get(zone.zones)
        if usable is None:
            try:
                window_for(self.clock(), zone, self.hours)
                usable = zone
            except NoCallingWindow:
                log.warning("calling hours never open at once in %s: using %s",
                            zone.text, zone.zones[0])
                usable = ClientZone((zone.zones[0],), zone.source)
            self._meeting_zones[zone.zones] = usable
        return usable

    def place(self, zone: ClientZone, due_at: datetime) -> Placement:
        return Placement.of(due_at, window_for(due_at, zone, self.hours))

    def placement(self, client_row: Mapping[str, Any] | None, due_at: datetime,
                  e164: str | None = None) -> tuple[datetime, datetime, str]:
        """(ready_at, window_ends_at, zone text) of a task of this client due at ``due_at``:
        the due time moved into the client's calling window.  ``client_row`` holds
        timezone/city/region and ``e164`` (a phone), as :func:`storage.tasks.client_for_tasks`
        reads them; ``e164`` is the task's number when the client has none."""
        zone = self.zone_of(client_row, e164)
        placed = self.place(zone, due_at)
        return placed.ready_at, placed.window_ends_at, ",".join(zone.zones)

    def rank(self, kind: str, failures: int, assigned_to: int | None) -> int:
        return rank_for(kind, failures, assigned_to, self.order)

    # who sees what

    def _visible(self, actor: Actor):
        """The condition on tasks an operator limited to their own clients sees, else None."""
        own = self.clients.restricted_to(actor)
        return visible_tasks(own) if own is not None else None

    async def _check_task_visible(self, actor: Actor, task: Mapping[str, Any] | None,
                                  task_id: int) -> dict[str, Any]:
        """NotFound unless the task exists and ``actor`` may see it (``visible_tasks``)."""
        if task is None:
            raise NotFound.entity("task", task_id)
        own = self.clients.restricted_to(actor)
        if own is not None:
            if task["client_id"] is None:
                if own not in (task["assigned_to"], task["claimed_by"]):
                    raise NotFound.entity("task", task_id)
            else:
                try:
                    await self.clients.check_access(actor, task["client_id"])
                except NotFound:
                    raise NotFound.entity("task", task_id) from None
        return dict(task)

    async def _check_may_work(self, actor: Actor, task: Mapping[str, Any] | None,
                              task_id: int) -> dict[str, Any]:
        """As :meth:`_check_task_visible`, and Forbidden for an operator working another
        operator's personal task (supervisors and admins may)."""
        task = await self._check_task_visible(actor, task, task_id)
        if actor.role is Role.OPERATOR and task["assigned_to"] not in (None, actor.user_id):
            raise Forbidden(f"Task {task_id} is another operator's own",
                            {"assigned_to": task["assigned_to"]})
        return task

    # reading

    async def get(self, actor: Actor, task_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await repo.get_task_view(conn, task_id)
            await self._check_task_visible(actor, row, task_id)
            attempts = await repo.attempts_of(conn, task_id)
        return {**task_json(row), "history": [attempt_json(a) for a in attempts]}

    async def list(self, actor: Actor, *, status: str | None = None, kind: str | None = None,
                   assigned_to: str | None = None, due_from: datetime | None = None,
                   due_to: datetime | None = None, client_id: int | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """``assigned_to`` is "me", "anyone" or a user id (as text or int)."""
        assigned: str | int | None = None
        if assigned_to == "me":
            assigned = actor.user_id
        elif assigned_to == "anyone":
            assigned = "anyone"
        elif assigned_to not in (None, ""):
            try:
                assigned = int(assigned_to)
                if not 0 < assigned < 2 ** 31:
                    raise ValueError
            except (TypeError, ValueError):
                raise BadRequest("assigned_to must be me, anyone or a user id",
                                 {"param": "assigned_to"}) from None
        if client_id is not None:
            await self.clients.check_access(actor, client_id)
        async with self.db.read() as conn:
            rows, total = await repo.list_tasks(
                conn, status=status, kind=kind, assigned=assigned, due_from=due_from,
                due_to=due_to, client_id=client_id, limit=limit, offset=offset,
                visible_to=self._visible(actor))
        return [task_json(r) for r in rows], total

    # creating

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            values = validate_new_task(data)
        except FieldErrors as exc:
            raise _fields(exc) from None
        if actor.role is Role.OPERATOR and values["assigned_to"] not in (None, actor.user_id):
            raise ValidationFailed.fields(
                {"assigned_to": "operators may give tasks only to themselves or anyone"})
        await self.clients.check_access(actor, values["client_id"])
        now = self.clock()
        async with self.db.write() as conn:
            client = await repo.client_for_tasks(conn, values["client_id"])
            if client is None:
                raise NotFound.entity("client", values["client_id"])
            if client["do_not_call"]:
                raise DoNotCall(f"{client['name']} asked not to be called: no task for them",
                                {"client_id": client["id"]})
            if values["assigned_to"] is not None and \
                    not await repo.user_exists(conn, values["assigned_to"]):
                raise ValidationFailed.fields(
                    {"assigned_to": f"no active user with id {values['assigned_to']}"})
            if values["order_id"] is not None:
                owner = await repo.order_client(conn, values["order_id"])
                if owner != client["id"]:
                    raise ValidationFailed.fields(
                        {"order_id": "no such order of this client"})
            if values["kind"] == "missed_call" and client.get("e164") and \
                    await repo.open_missed_call(conn, client["e164"]) is not None:
                raise Conflict(f"{client['e164']} already has an open missed-call task",
                               {"phone": client["e164"]})
            task_id = await self.insert(conn, actor, client, values, now)
            row = await repo.get_task_view(conn, task_id)
        return self._told(task_json(row))

    async def insert(self, conn: AsyncConnection, actor: Actor | None,
                     client: Mapping[str, Any], values: Mapping[str, Any],
                     now: datetime) -> int:
        """Insert a task of ``client`` (as :func:`storage.tasks.client_for_tasks` reads it)
        inside the caller's transaction, placed in the window and ranked; audited."""
        due_at = values.get("due_at") or now
        ready_at, window_ends_at, zone = self.placement(client, due_at, values.get("phone_e164"))
        kind, assigned = values["kind"], values.get("assigned_to")
        row = {
            "kind": kind, "status": OPEN, "client_id": client["id"],
            "phone_e164": values.get("phone_e164") or client.get("e164"),
            "title": values.get("title") or client["name"], "due_at": due_at,
            "ready_at": ready_at, "window_ends_at": window_ends_at, "timezone": zone,
            "attempts": 0, "failures": 0, "priority": values.get("priority") or 0,
            "rank": self.rank(kind, 0, assigned), "assigned_to": assigned,
            "note": values.get("note"), "order_id": values.get("order_id"),
            "previous_task_id": values.get("previous_task_id"),
            "created_by": actor.user_id if actor else None, "created_at": now,
            "updated_at": now}
        task_id = await repo.insert_task(conn, row)
        if actor is not None:
            await audit.record(conn, at=now, action="task.create", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="task", entity_id=task_id,
                               details={"kind": kind, "client_id": client["id"],
                                        "due_at": due_at.isoformat()})
        return task_id

    # the next task

    async def claim_next(self, actor: Actor) -> dict[str, Any] | None:
        """Lease the most urgent task the operator may take now (see
        :func:`storage.tasks.claim_next`): ``{"task", "client"}``, or None."""
        now = self.clock()
        own_only = self.clients.restricted_to(actor) is not None
        if self._sqlite_claims is not None:
            row = await self._sqlite_claims.claim(actor.user_id, now, now + self.lease,
                                                  now - self.lease, own_clients_only=own_only)
        else:
            async with self.db.write() as conn:
                row = await repo.claim_next(conn, actor.user_id, now, now + self.lease,
                                            skipped_since=now - self.lease,
                                            own_clients_only=own_only)
        if row is None:
            return None
        client = None
        if row["client_id"] is not None:
            client = await self.clients.card(actor, row["client_id"])
        return {"task": task_json(row), "client": client}

    async def release(self, actor: Actor, task_id: int) -> dict[str, Any]:
        """Give the lease back: the task returns to the pool for the others at once, and this
        operator's Next task skips it until a lease's time has passed."""
        now = self.clock()
        async with self.db.write() as conn:
            task = await repo.get_task(conn, task_id, for_update=True)
            await self._check_may_work(actor, task, task_id)
            await repo.release(conn, task_id, actor.user_id, now)
            row = await repo.get_task_view(conn, task_id)
        return self._told(task_json(row))

    # outcomes

    async def record_outcome(self, actor: Actor, task_id: int, code: Any, *,
                             note: Any = None, next_at: Any = None,
                             call_id: Any = None) -> dict[str, Any]:
        """Record an attempt on the task (at any time, also before it is due) and apply the
        outcome ``code``; the task as it now is."""
        note, when = self._attempt_input(note, next_at)
        if call_id is not None and (not isinstance(call_id, int) or isinstance(call_id, bool)
                                    or not 0 < call_id < 2 ** 31):
            raise ValidationFailed.fields({"call_id": "a call id or null"})
        now = self.clock()
        async with self.db.write() as conn:
            task = await repo.get_task(conn, task_id, for_update=True)
            await self._check_may_work(actor, task, task_id)
            rule = await self.outcomes.rule(conn, code)
            if call_id is not None and await calls_repo.get_call(conn, call_id) is None:
                raise ValidationFailed.fields({"call_id": f"no call with id {call_id}"})
            await self._apply(conn, task, rule, at=now, note=note, next_at=when,
                              user_id=actor.user_id, call_id=call_id, source="operator",
                              actor=actor)
            row = await repo.get_task_view(conn, task_id)
        self.events_recorded()
        await self._outcome_saved(actor)
        # the one it was with hears too: a callback may now be someone else's task
        return self._told(task_json(row), also=(task["assigned_to"], task["claimed_by"]))

    def _attempt_input(self, note: Any, next_at: Any) -> tuple[str | None, datetime | None]:
        errors: dict[str, str] = {}
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
            errors["note"] = f"text of up to {MAX_NOTE} characters"
        when = None
        if next_at not in (None, ""):
            try:
                when = next_at if isinstance(next_at, datetime) else \
                    parse_instant(next_at, "next_at")
                check_next_at(when, self.clock())
            except FieldErrors as exc:
                errors.update(exc.fields)
        if errors:
            raise ValidationFailed.fields(errors)
        return (note.strip() or None) if isinstance(note, str) else None, when

    async def _apply(self, conn: AsyncConnection, task: Mapping[str, Any], rule: OutcomeRule,
                     *, at: datetime, note: str | None, next_at: datetime | None,
                     user_id: int | None, call_id: int | None, source: str,
                     actor: Actor | None, call_key: str | None = None) -> bool:
        """Apply ``rule`` to the (locked) task and store the attempt, in ``conn``'s
        transaction.  False when it was not applied: a PBX outcome of a call already counted,
        or a task no longer open."""
        if task["status"] != OPEN:
            if source == "pbx":
                return False
            raise Conflict(f"Task {task['id']} is {task['status']}: bring it back from the "
                           "archive first" if task["status"] == ARCHIVED
                           else f"Task {task['id']} is {task['status']}",
                           {"status": task["status"]})
        if rule.requires_next_at and next_at is None:
            raise ValidationFailed.fields({"next_at": "this outcome needs the time to call back"})
        if rule.failed_attempt and call_id is not None and source == "operator":
            counted = await repo.pbx_attempt(conn, task["id"], call_id)
            if counted is not None:
                # the PBX already counted this call as a failed attempt and moved the ladder:
                # the button confirms that same attempt (one call, one attempt)
                await repo.confirm_pbx_attempt(conn, counted, outcome=rule.code, note=note,
                                               user_id=user_id)
                await repo.update_task(conn, task["id"], {
                    "result": rule.code, "updated_at": at,
                    "claimed_by": None, "claimed_at": None, "lease_until": None,
                    **({"note": note} if note else {})})
                return True
        attempt = await repo.insert_attempt(conn, {
            "task_id": task["id"], "at": at, "outcome": rule.code, "note": note,
            "user_id": user_id, "call_id": call_id, "source": source, "next_at": next_at,
            "call_key": call_key})
        if attempt is None:
            return False
        client = await repo.client_for_tasks(conn, task["client_id"]) \
            if task["client_id"] is not None else None
        zone = self.zone_of(client, task["phone_e164"])
        change = apply_outcome(
            TaskState(task["id"], task["kind"], task["status"], task["failures"],
                      task["attempts"], task["assigned_to"]),
            rule, at=at, next_at=next_at,
            do_not_call=bool(client and client["do_not_call"]), user_id=user_id,
            retry=lambda failures: next_retry(at, failures, zone, self.hours, self.ladder),
            place=lambda due: self.place(zone, due))
        values = dict(change.values)
        if note:
            values["note"] = note
        if call_id is not None:
            values["call_id"] = call_id
        values["timezone"] = ",".join(zone.zones)
        values["rank"] = self.rank(values.get("kind", task["kind"]), values["failures"],
                                   values.get("assigned_to", task["assigned_to"]))
        await repo.update_task(conn, task["id"], values)
        if values["status"] == DONE:
            await change_events.task_done(conn, task, values, user_id, at)
        if change.next_task is not None and client is not None and not client["do_not_call"]:
            await self.insert(conn, actor, client, {
                "kind": change.next_task.kind, "due_at": change.next_task.due_at,
                "title": task["title"], "assigned_to": task["assigned_to"],
                "priority": task["priority"], "order_id": task["order_id"],
                "previous_task_id": task["id"], "phone_e164": task["phone_e164"]}, at)
        if actor is not None:
            await audit.record(conn, at=at, action="task.outcome", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="task",
                               entity_id=task["id"], details={
                                   "outcome": rule.code, "status": values["status"],
                                   "source": source})
        return True

    async def apply_pbx_outcome(self, conn: AsyncConnection, task_id: int, outcome: str, *,
                                call_id: int | None, call_key: str, at: datetime) -> bool:
        """The PBX's outcome of a call placed for the task (CRM_TASK_ID), inside the caller's
        transaction: moves the ladder once per call (``call_key``).  True when applied."""
        task = await repo.get_task(conn, task_id, for_update=True)
        if task is None or task["status"] != OPEN:
            return False
        try:
            rule = await self.outcomes.rule(conn, outcome)
        except ValidationFailed:
            return False
        return await self._apply(conn, task, rule, at=at, note=None, next_at=None,
                                 user_id=None, call_id=call_id, source="pbx", actor=None,
                                 call_key=call_key)

    async def record_call_outcome(self, actor: Actor, call_id: int, code: Any, *,
                                  note: Any = None, next_at: Any = None) -> dict[str, Any]:
        """The outcome pressed after a call: stored as the call's disposition; recorded on the
        call's task, or, for a call with none that needs a follow-up (a callback, a failed
        attempt), on the client's open follow-up task, opened if there is none.
        ``{"call", "task"}``."""
        note, when = self._attempt_input(note, next_at)
        now = self.clock()
        user = None
        if actor.user_id is not None:
            async with self.db.read() as conn:
                user = await get_user(conn, actor.user_id)
        async with self.db.write() as conn:
            call = await calls_repo.get_call(conn, call_id)
            if call is None or not await self._may_see_call(conn, actor, user, call):
                raise NotFound.entity("call", call_id)
            rule = await self.outcomes.rule(conn, code)
            values: dict[str, Any] = {"disposition": rule.code}
            if note:
                values["note"] = note
            task = None
            if call["task_id"] is not None:
                task = await repo.get_task(conn, call["task_id"], for_update=True)
                if task is not None and task["status"] != OPEN:
                    task = None
            elif call["client_id"] is not None and (rule.requires_next_at or rule.failed_attempt):
                task = await self._follow_up_task(conn, actor, call, rule, now)
            if task is not None:
                await self._check_may_work(actor, task, task["id"])
                await self._apply(conn, task, rule, at=now, note=note, next_at=when,
                                  user_id=actor.user_id, call_id=call_id, source="operator",
                                  actor=actor)
                values["task_id"] = task["id"]
            elif rule.requires_next_at and when is None:
                raise ValidationFailed.fields(
                    {"next_at": "this outcome needs the time to call back"})
            await calls_repo.update_call(conn, call_id, values)
            await audit.record(conn, at=now, action="call.outcome", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="call", entity_id=call_id,
                               details={"outcome": rule.code,
                                        "task_id": task["id"] if task else None})
            call = await calls_repo.get_call(conn, call_id)
            row = await repo.get_task_view(conn, task["id"]) if task is not None else None
        self.events_recorded()
        await self._outcome_saved(actor)
        return {"call": call_row_json(call), "task": self._told(task_json(row)) if row else None}

    async def _follow_up_task(self, conn: AsyncConnection, actor: Actor, call: Mapping[str, Any],
                              rule: OutcomeRule, now: datetime) -> dict[str, Any] | None:
        client = await repo.client_for_tasks(conn, call["client_id"])
        if client is None or client["do_not_call"]:
            return None
        found = await repo.open_follow_up(conn, client["id"], FOLLOW_UP_KINDS,
                                          actor.user_id)
        if found is not None:
            return found
        kind = "callback" if rule.requires_next_at else "redial"
        e164 = call["caller_e164"] if call["direction"] == "inbound" else call["callee_e164"]
        task_id = await self.insert(conn, actor, client, {
            "kind": kind, "due_at": now, "phone_e164": e164 or client.get("e164"),
            "title": client["name"]}, now)
        return await repo.get_task(conn, task_id)

    async def _may_see_call(self, conn: AsyncConnection, actor: Actor,
                            user: Mapping[str, Any] | None, call: Mapping[str, Any]) -> bool:
        owner = None
        if call["client_id"] is not None:
            client = await repo.client_for_tasks(conn, call["client_id"])
            owner = client["assigned_operator_id"] if client else None
        return may_see_call(actor.role, actor.user_id, user["extension"] if user else None,
                            self.clients.own_clients_only, client_owner=owner,
                            has_client=call["client_id"] is not None,
                            answered_by_user_id=call["answered_by_user_id"],
                            placed_by=call["placed_by"])

    def _told(self, task: dict[str, Any], also: tuple = ()) -> dict[str, Any]:
        if self.changed is not None and task:
            try:
                self.changed(task, also)
            except Exception:  # the change is stored: a failing push must not undo that
                log.exception("telling the pages of task %s failed", task.get("id"))
        return task

    async def _outcome_saved(self, actor: Actor) -> None:
        agents = self._agents()
        if agents is None or actor.user_id is None:
            return
        try:
            await agents.outcome_saved(actor.user_id)
        except Exception:  # the outcome is stored: a failing agent state must not undo that
            log.exception("ending wrap-up after an outcome failed")

    # the archive

    async def archive_list(self, actor: Actor, q: str | None, limit: int,
                           offset: int) -> dict[str, Any]:
        """Archived tasks whose client's name holds every word of ``q`` (ё = е, any case) or
        whose number holds its digits (3 or more, when ``q`` is a number)."""
        q = (q or "").strip()
        if len(q) > MAX_ARCHIVE_QUERY or len(q.split()) > 10:
            raise BadRequest(f"Search for at most 10 words and {MAX_ARCHIVE_QUERY} characters",
                             {"param": "q"})
        words: list[str] = []
        digits = None
        stripped = q.lstrip("+").replace(" ", "").replace("-", "").replace("(", "") \
            .replace(")", "")
        if q and stripped.isdigit() and stripped.isascii():
            if len(stripped) < 3:
                raise BadRequest("Give at least 3 digits of the number", {"param": "q"})
            digits = stripped
        elif q:
            words = fold_search(q).split()
        async with self.db.read() as conn:
            rows, total = await repo.search_archive(conn, words=words, digits=digits,
                                                    limit=limit, offset=offset,
                                                    visible_to=self._visible(actor))
        return {"items": [task_json(r) for r in rows], "total": total}

    async def restore(self, actor: Actor, task_id: int) -> dict[str, Any]:
        """An archived task back to work: open, the ladder from the start, due now (placed in
        the client's window)."""
        now = self.clock()
        async with self.db.write() as conn:
            task = await repo.get_task(conn, task_id, for_update=True)
            await self._check_may_work(actor, task, task_id)
            if task["status"] != ARCHIVED:
                raise Conflict(f"Task {task_id} is {task['status']}, not archived",
                               {"status": task["status"]})
            client = await repo.client_for_tasks(conn, task["client_id"]) \
                if task["client_id"] is not None else None
            if client is not None and client["do_not_call"]:
                raise DoNotCall(f"{client['name']} asked not to be called",
                                {"client_id": client["id"], "reason": DO_NOT_CALL})
            ready_at, window_ends_at, zone = self.placement(client, now, task["phone_e164"])
            await repo.update_task(conn, task_id, {
                "status": OPEN, "failures": 0, "due_at": now, "ready_at": ready_at,
                "window_ends_at": window_ends_at, "timezone": zone, "closed_at": None,
                "closed_reason": None, "claimed_by": None, "claimed_at": None,
                "lease_until": None, "updated_at": now,
                "rank": self.rank(task["kind"], 0, task["assigned_to"])})
            await audit.record(conn, at=now, action="task.restore", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="task", entity_id=task_id,
                               details={"reason": task["closed_reason"]})
            row = await repo.get_task_view(conn, task_id)
        return self._told(task_json(row))


def attempt_json(a: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": a["id"], "at": a["at"].isoformat(), "outcome": a["outcome"],
            "note": a["note"], "source": a["source"], "call_id": a["call_id"],
            "user": {"id": a["user_id"], "name": a["user_name"]} if a["user_id"] else None,
            "next_at": a["next_at"].isoformat() if a["next_at"] else None}
