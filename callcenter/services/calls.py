"""Carrying out what the call tracker concludes: screen pops, the call log, callback tasks.

The AMI listener feeds events to the pure CallTracker synchronously (fast) and hands the
effects here. Effects of one call run one after another, in order (a card must not pop after
its call ended); effects of different calls run concurrently, so a slow lookup for one caller
never delays another caller's pop. A call record that cannot be stored is retried until it is:
a call is never dropped.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable

from callcenter.domain.call_records import (
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    Effect,
    OperatorRinging,
    OperatorStoppedRinging,
    OriginateFailed,
)
from callcenter.domain.access import Role, client_for_pop
from callcenter.domain.phones import try_normalise
from callcenter.services.context import Clock
from callcenter.services.operators import OperatorDirectory  # noqa: F401  (re-exported)
from callcenter.storage import calls as repo
from callcenter.storage.client_card import client_ids_for_number
from callcenter.storage import clients as clients_repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.calls")


class PerCallSequencer:
    """Runs coroutines in order per key, concurrently across keys."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task] = {}

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task:
        previous = self._tails.get(key)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await job()
            except Exception:
                log.exception("call %s: handling an effect failed", key)
            finally:
                if self._tails.get(key) is task:
                    del self._tails[key]

        task = asyncio.get_running_loop().create_task(run())
        self._tails[key] = task
        return task

    async def drain(self) -> None:
        while self._tails:
            await asyncio.gather(*list(self._tails.values()), return_exceptions=True)


@functools.lru_cache(maxsize=4096)
def _shown_number(raw: str | None, region: str) -> str | None:
    # the same few numbers are shown in every message about a call: read each once
    parsed = try_normalise(raw, region) if raw else None
    return parsed.e164 or parsed.internal if parsed else raw


def call_json(call: CallRecord, directory: OperatorDirectory, region: str) -> dict[str, Any]:
    """A live call as the browser sees it."""
    def number(raw):
        return _shown_number(raw, region)

    def who(endpoint):
        user = directory.user(endpoint)
        return {"endpoint": endpoint, "user_id": user["id"] if user else None,
                "name": user["name"] if user else None}

    return {
        "key": call.key, "linkedid": call.linkedid, "direction": call.direction,
        "caller": number(call.caller), "caller_name": call.caller_name,
        "callee": number(call.callee), "customer_number": number(call.customer_number),
        "operators_rung": [who(e) for e in call.operators_rung],
        "answered_by": who(call.answered_by) if call.answered_by else None,
        "placed_by": who(call.placed_by) if call.placed_by else None,
        "started_at": call.started_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "outcome": call.outcome, "talk_seconds": round(call.talk_seconds or 0),
        "task_id": _int_or_none(call.task_id),
    }


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class CallService:
    """Turns tracker effects into pushes, stored calls and tasks."""

    def __init__(self, db: Database, clock: Clock, directory: OperatorDirectory, publish,
                 card: Callable[[int], Awaitable[dict[str, Any]]],
                 summaries: Callable[[list[int]], Awaitable[list[dict[str, Any]]]],
                 *, region: str, store_retry_seconds: float = 2.0,
                 own_clients_only: bool = False):
        self.db = db
        self.own_clients_only = own_clients_only  # operators see only their own clients
        self.clock = clock
        self.directory = directory
        self.publish = publish  # (user_ids, message, watchers=bool) -> int
        self.card = card
        self.summaries = summaries
        self.region = region
        self.store_retry_seconds = store_retry_seconds
        self.sequencer = PerCallSequencer()
        self._lookups: dict[str, dict[str, Any]] = {}
        self.unsaved: dict[str, CallRecord] = {}
        self.pops = 0

    # entry point from the AMI listener: never blocks, never raises

    def carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            key = getattr(effect, "call_key", None) or effect.call.key
            self.sequencer.submit(key, lambda e=effect: self._handle(e))

    async def _handle(self, effect: Effect) -> None:
        if isinstance(effect, OperatorRinging):
            await self._ringing(effect)
        elif isinstance(effect, OperatorStoppedRinging):
            user = self.directory.user(effect.endpoint)
            if user:
                self.publish([user["id"]], {"type": "call.stopped", "call_key": effect.call_key,
                                            "reason": effect.reason})
        elif isinstance(effect, CallAnswered):
            call = effect.call
            live = call_json(call, self.directory, self.region)
            self.publish(self._people(call), {
                "type": "call.answered", "call_key": call.key, "call": live,
                "answered_by": live["answered_by"]}, watchers=True)
        elif isinstance(effect, CallEnded):
            await self._ended(effect.call)
        elif isinstance(effect, OriginateFailed):
            user = self.directory.user(effect.endpoint)
            self.publish([user["id"]] if user else [], {
                "type": "call.originate_failed", "call_key": effect.call.key,
                "action_id": effect.action_id, "reason": effect.reason,
                "endpoint": effect.endpoint}, watchers=True)
        elif isinstance(effect, CallStarted):
            call = effect.call
            self.publish([], {"type": "call.started",
                              "call": call_json(call, self.directory, self.region)},
                         watchers=True)
            if call.direction == "inbound" and call.caller and call.key not in self._lookups:
                # look the caller up while the dialplan answers and queues the call, so the
                # card is ready when the operators' phones start ringing
                self._lookups[call.key] = await self.lookup(call.caller)

    def _people(self, call: CallRecord) -> list[int]:
        endpoints = {*call.operators_rung, *call.handled_by}
        if call.answered_by:
            endpoints.add(call.answered_by)
        if call.placed_by:
            endpoints.add(call.placed_by)
        return self.directory.user_ids(endpoints)

    async def lookup(self, number: str | None, client_id: int | None = None) -> dict[str, Any]:
        """Who is calling (or called): the client card, several candidates, or nobody.

        ``client_id`` is the client a click-to-call was made for, when known.
        """
        parsed = try_normalise(number, self.region) if number else None
        e164 = parsed.e164 if parsed else None
        result: dict[str, Any] = {"number": number, "number_e164": e164, "client": None,
                                  "candidates": []}
        if client_id is not None:
            try:
                result["client"] = await self.card(client_id)
                return result
            except Exception:  # gone or not visible: fall back to the number
                log.info("client %s of a click-to-call is not available", client_id)
        if not e164:
            return result
        # the screen pop's own lane: at the driver's speed, apart from the web API's connections
        ids = await client_ids_for_number(self.db, e164, lane="telephony")
        if len(ids) == 1:
            result["client"] = await self.card(ids[0])
        elif ids:
            result["candidates"] = await self.summaries(ids)
        return result

    async def _ringing(self, effect: OperatorRinging) -> None:
        user = await self.directory.user_for_ringing(effect.endpoint)
        if user is None:
            return
        call = effect.call
        number = call.customer_number or call.variables.get("CRM_NUMBER")
        found = self._lookups.get(call.key)
        if found is None or (number and found.get("number") != number and not found.get("client")):
            # a second pop of an outbound call, now that the dialled number is known
            found = await self.lookup(number, _int_or_none(call.variables.get("CRM_CLIENT_ID")))
            self._lookups[call.key] = found
        self.pops += 1
        message = {"type": "call.ringing", "call_key": call.key,
                   "call": call_json(call, self.directory, self.region), **found}
        shown = self.pop_for(user, found)
        if shown is found:
            self.publish([user["id"]], message, watchers=True)
        else:  # the operator may not see this client: the watchers still get the whole card
            self.publish([user["id"]], {**message, **shown})
            self.publish([], message, watchers=True)

    def pop_for(self, user: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
        """What of a lookup ``user`` may see in their pop: ``found`` itself when all of it,
        else a copy where clients of other operators show only their name and operator."""
        role = Role(user["role"])
        client = client_for_pop(role, user["id"], self.own_clients_only, found.get("client"))
        candidates = [client_for_pop(role, user["id"], self.own_clients_only, c)
                      for c in found.get("candidates") or []]
        if client is found.get("client") and all(
                a is b for a, b in zip(candidates, found.get("candidates") or [])):
            return found
        return {**found, "client": client, "candidates": candidates}

    async def _ended(self, call: CallRecord) -> None:
        self._lookups.pop(call.key, None)
        # the operators' consultation leg of an attended transfer lives on in the customer's
        # call (its handled_by): the log keeps one record per customer call
        stored = None if call.merged_into else await self._store_until_done(call)
        message = {"type": "call.ended", "call_key": call.key,
                   "call": call_json(call, self.directory, self.region)}
        if stored:
            message["call"]["id"] = stored
        self.publish(self._people(call), message, watchers=True)

    async def _store_until_done(self, call: CallRecord) -> int | None:
        delay = self.store_retry_seconds
        while True:
            try:
                call_id = await self.store(call)
                self.unsaved.pop(call.key, None)
                return call_id
            except asyncio.CancelledError:
                raise
            except Exception:
                self.unsaved[call.key] = call
                log.exception("could not store call %s; retrying in %.0f s", call.key, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def store(self, call: CallRecord) -> int:
        """Write the call once (idempotent by its key) with its client and tasks."""
        customer = try_normalise(call.customer_number, self.region) \
            if call.customer_number else None
        e164 = customer.e164 if customer else None
        now = self.clock()
        async with self.db.write() as conn:
            client_id = None
            if e164:
                ids = {cid for cid, _ in await clients_repo.client_ids_by_phone(conn, [e164])}
                client_id = ids.pop() if len(ids) == 1 else None
            answered_user = self.directory.user(call.answered_by)
            values = record_values(call, self.region)
            values.update(client_id=client_id,
                          answered_by_user_id=answered_user["id"] if answered_user else None)
            call_id, inserted = await repo.insert_call(conn, values)
            if inserted and e164:
                await self._tasks_after(conn, call, call_id, e164, client_id, now)
        return call_id

    async def _tasks_after(self, conn, call: CallRecord, call_id: int, e164: str,
                           client_id: int | None, now: datetime) -> None:
        if call.outcome == "answered":
            await repo.close_callbacks(conn, e164, "reached" if call.direction == "outbound"
                                       else "called_back", now)
        elif call.direction == "inbound" and call.outcome == "missed":
            task = await repo.open_callback_for(conn, e164)
            if task is not None:
                await repo.touch_callback(conn, task["id"], call_id, now)
            else:
                await repo.insert_task(conn, {
                    "kind": "callback", "status": "open", "client_id": client_id,
                    "phone_e164": e164, "title": f"Missed call from {e164}", "due_at": now,
                    "call_id": call_id, "attempts": 1, "created_at": now, "updated_at": now})

    async def drain(self) -> None:
        await self.sequencer.drain()

    # the spool: call records that could not be stored before shutdown

    def spool(self, path: Path) -> int:
        """Write the records still unsaved to ``path`` (JSON lines); returns how many."""
        if not self.unsaved:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for call in self.unsaved.values():
                fh.write(json.dumps(record_to_json(call), ensure_ascii=False) + "\n")
        count = len(self.unsaved)
        log.error("%d call record(s) could not be stored; kept in %s for the next start",
                  count, path)
        return count

    async def store_spooled(self, path: Path) -> int:
        """Store the records a previous run spooled, then remove the file."""
        if not path.exists():
            return 0
        stored = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                await self.store(record_from_json(json.loads(line)))
                stored += 1
        path.unlink()
        log.info("stored %d spooled call record(s) from %s", stored, path)
        return stored


_TIMES = ("started_at", "ring_started_at", "answered_at", "ended_at")


def record_to_json(call: CallRecord) -> dict[str, Any]:
    data = {f.name: getattr(call, f.name) for f in fields(call)}
    for name in _TIMES:
        data[name] = data[name].isoformat() if data[name] else None
    data["variables"] = dict(call.variables)
    for name in ("operators_rung", "handled_by"):
        data[name] = list(data[name])
    return data


def record_from_json(data: dict[str, Any]) -> CallRecord:
    known = {f.name for f in fields(CallRecord)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _TIMES:
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    for name in ("operators_rung", "handled_by"):
        values[name] = tuple(values.get(name) or ())
    return CallRecord(**values)


def record_values(call: CallRecord, region: str) -> dict[str, Any]:
    def e164(raw):
        parsed = try_normalise(raw, region) if raw else None
        return parsed.e164 if parsed else None

    task_id = call.task_id
    return {
        "call_key": call.key, "linkedid": call.linkedid, "direction": call.direction,
        "caller": call.caller, "caller_e164": e164(call.caller), "caller_name": call.caller_name,
        "callee": call.callee, "callee_e164": e164(call.callee),
        "operators_rung": list(call.operators_rung), "answered_by": call.answered_by,
        "handled_by": list(call.handled_by), "placed_by": call.placed_by,
        "started_at": call.started_at, "answered_at": call.answered_at,
        "ended_at": call.ended_at, "outcome": call.outcome or "failed",
        "talk_seconds": round(call.talk_seconds or 0),
        "wait_seconds": None if call.wait_seconds is None else round(call.wait_seconds),
        "hangup_side": call.hangup_side, "hangup_cause": call.hangup_cause,
        "hangup_cause_text": call.hangup_cause_text, "recording": call.recording,
        "queue": call.queue, "action_id": call.action_id,
        "task_id": int(task_id) if task_id and task_id.isdigit() else None,
        "variables": dict(call.variables),
    }
