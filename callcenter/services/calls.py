"""Carrying out what the call tracker concludes: screen pops, the call log, callback tasks.

The AMI listener feeds events to the pure CallTracker synchronously (fast) and hands the
effects here. Effects of one call run one after another, in order (a card must not pop after
its call ended); effects of different calls run concurrently on a bounded pool of workers
(:mod:`callcenter.services.call_workers`), so a slow lookup for one caller never delays another
caller's pop and a burst of calls cannot start a lookup each at once. The call log
(:mod:`callcenter.services.call_log`) is fed synchronously, before any effect runs: a call's row
is written when it starts and completed when it ends, in group commits, and never dropped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Awaitable, Callable, Iterable

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
from callcenter.services.call_log import (  # noqa: F401 - public names of the call log
    CallLog, Discard, read_spool, record_from_json, record_to_json, record_values, write_spool,
)
from callcenter.services.call_workers import KeyedWorkers
from callcenter.services.clients import call_row_json
from callcenter.services.context import Clock
from callcenter.services.operators import OperatorDirectory  # noqa: F401  (re-exported)
from callcenter.storage import calls as repo
from callcenter.storage.client_card import client_ids_for_number
from callcenter.storage import clients as clients_repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.calls")


@functools.lru_cache(maxsize=4096)
def _shown_number(raw: str | None, region: str) -> str | None:
    # the same few numbers are shown in every message about a call: read each once
    parsed = try_normalise(raw, region) if raw else None
    return parsed.e164 or parsed.internal if parsed else raw


def call_json(call: CallRecord, directory: OperatorDirectory, region: str,
              found: dict[str, Any] | None = None) -> dict[str, Any]:
    """A live call as the browser sees it. ``found`` is the lookup of the customer's number
    (see ``CallService.lookup``): the client it names gives ``client_id`` and ``client_name``,
    which the pages show instead of the PBX's caller-ID text."""
    def number(raw):
        return _shown_number(raw, region)

    client = (found or {}).get("client")

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
        "client_id": client["id"] if client else None,
        "client_name": client.get("name") if client else None,
        "client_candidates": len((found or {}).get("candidates") or []),
    }


async def call_rows_json(conn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored calls as the call log shows them: ``call_row_json`` with the CRM client's name
    (``client_name``) and the operators' names for ``answered_by``, ``placed_by`` and
    ``operators_rung`` (``operators_rung_names``, one per endpoint, None when nobody has that
    phone), read from the users by their extension."""
    clients = await clients_repo.client_names(conn, [r["client_id"] for r in rows])
    endpoints = {e for r in rows for e in (r["answered_by"], r["placed_by"],
                                            *(r["operators_rung"] or []))}
    by_endpoint = await clients_repo.names_by_extension(conn, endpoints)
    by_id = await clients_repo.operator_names(conn, [r["answered_by_user_id"] for r in rows])
    out = []
    for r in rows:
        item = call_row_json(r)
        item["client_name"] = clients.get(r["client_id"])
        item["answered_by_name"] = by_id.get(r["answered_by_user_id"]) \
            or by_endpoint.get(r["answered_by"])
        item["placed_by_name"] = by_endpoint.get(r["placed_by"])
        item["operators_rung_names"] = [by_endpoint.get(e) for e in item["operators_rung"]]
        out.append(item)
    return out


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class CallService:
    """Turns tracker effects into pushes, stored calls and tasks."""

    def __init__(self, db: Database, clock: Clock, directory: OperatorDirectory, publish,
                 card: Callable[[int], Awaitable[dict[str, Any]]],
                 summaries: Callable[[list[int]], Awaitable[list[dict[str, Any]]]],
                 *, region: str, store_retry_seconds: float = 2.0,
                 own_clients_only: bool = False, workers: int = 8,
                 id_wait_seconds: float = 5.0):
        self.db = db
        self.own_clients_only = own_clients_only  # operators see only their own clients
        self.clock = clock
        self.directory = directory
        # relay(user_ids, message, watchers=) pushes to the pages on the other server
        # processes what only this one learns (set by create_app; None: one process)
        self.relay: Callable[..., None] | None = None
        self.publish = publish  # (user_ids, message, watchers=bool) -> int
        # reaches(user_ids, watchers) -> whether such a message would reach a page of this
        # process (the hub's; create_app sets it). With several server processes each follows
        # every call, and a pop's lookup is done only by the process showing it.
        self.reaches: Callable[[Iterable[int], bool], bool] = lambda _users, _watchers: True
        # look an inbound caller up as soon as the call starts, so the card is ready when the
        # phones ring: on one process (SQLite) always; with several (create_app clears it)
        # only where a supervisor watches the calls, the others look up at the ring
        self.look_up_at_start = True
        self.card = card
        self.summaries = summaries
        self.region = region
        self.log = CallLog(db, clock, region, self._user_id_of,
                           retry_seconds=store_retry_seconds)
        self.workers = KeyedWorkers(self._run_effect, size=workers, droppable=_droppable)
        # how long call.ended waits for the call's row id (known at once when its start row
        # is stored) before it goes out without it
        self.id_wait_seconds = id_wait_seconds
        self._lookups: dict[str, dict[str, Any]] = {}
        self.pops = 0

    def _user_id_of(self, endpoint: str | None) -> int | None:
        user = self.directory.user(endpoint)
        return user["id"] if user else None

    # entry point from the AMI listener: never blocks, never raises

    def carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            key = getattr(effect, "call_key", None) or effect.call.key
            if isinstance(effect, CallStarted):
                self.log.started(effect.call)
            elif isinstance(effect, CallEnded):
                # not last=True: a pop whose call ended meanwhile still goes out (a missed
                # call's card is worth seeing), only a huge backlog drops pops
                self.workers.submit(key, (effect, self.log.ended(effect.call)))
                continue
            self.workers.submit(key, effect)

    async def _run_effect(self, item) -> None:
        if isinstance(item, tuple):
            effect, stored = item
            await self._ended(effect.call, stored)
        else:
            await self._handle(item)

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
            live = self.live_json(call)
            self.publish(self._people(call), {
                "type": "call.answered", "call_key": call.key, "call": live,
                "answered_by": live["answered_by"]}, watchers=True)
        elif isinstance(effect, OriginateFailed):
            # only the process that sent the Originate knows it failed: the operator's pages
            # on the other processes are told through the bus
            user = self.directory.user(effect.endpoint)
            users = [user["id"]] if user else []
            message = {"type": "call.originate_failed", "call_key": effect.call.key,
                       "action_id": effect.action_id, "reason": effect.reason,
                       "endpoint": effect.endpoint}
            self.publish(users, message, watchers=True)
            if self.relay is not None:
                self.relay(users, message, watchers=True)
        elif isinstance(effect, CallStarted):
            call = effect.call
            if call.direction == "inbound" and call.caller and call.key not in self._lookups \
                    and (self.look_up_at_start or self.reaches((), True)):
                # look the caller up while the dialplan answers and queues the call, so the
                # card is ready when the operators' phones start ringing (and the watchers'
                # board names the client from the start)
                self._lookups[call.key] = await self.lookup(call.caller)
            self.publish([], {"type": "call.started", "call": self.live_json(call)},
                         watchers=True)

    def live_json(self, call: CallRecord, found: dict[str, Any] | None = None) -> dict[str, Any]:
        """``call_json`` with the client its number was looked up as, when it was."""
        return call_json(call, self.directory, self.region,
                         found if found is not None else self._lookups.get(call.key))

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
        if user is None or not self.reaches((user["id"],), True):
            return  # the phone's user has no page here (and nobody watches here)
        call = effect.call
        number = call.customer_number or call.variables.get("CRM_NUMBER")
        found = self._lookups.get(call.key)
        if found is None or (number and found.get("number") != number and not found.get("client")):
            # a second pop of an outbound call, now that the dialled number is known
            found = await self.lookup(number, _int_or_none(call.variables.get("CRM_CLIENT_ID")))
            self._lookups[call.key] = found
        self.pops += 1
        message = {"type": "call.ringing", "call_key": call.key,
                   "call": self.live_json(call, found), **found}
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

    async def ringing_pops(self, user: dict[str, Any], calls: list[CallRecord]) -> list[dict[str, Any]]:
        """The call.ringing messages of these calls as ``user``'s page gets them (a page that
        connects while they ring): the same card as the live pop, looked up when not cached."""
        out = []
        for call in calls:
            found = self._lookups.get(call.key)
            if found is None:
                number = call.customer_number or call.variables.get("CRM_NUMBER")
                found = await self.lookup(number, _int_or_none(call.variables.get("CRM_CLIENT_ID")))
            out.append({"type": "call.ringing", "call_key": call.key,
                        "call": self.live_json(call, found),
                        **self.pop_for(user, found)})
        return out

    def answered_message(self, call: CallRecord) -> dict[str, Any]:
        """The call.answered message of a call in progress."""
        live = self.live_json(call)
        return {"type": "call.answered", "call_key": call.key, "call": live,
                "answered_by": live["answered_by"]}

    async def _ended(self, call: CallRecord, stored_id: asyncio.Future) -> None:
        found = self._lookups.pop(call.key, None)
        # the operators' consultation leg of an attended transfer lives on in the customer's
        # call (its handled_by): the log keeps one record per customer call (stored_id: None)
        try:
            stored = await asyncio.wait_for(asyncio.shield(stored_id), self.id_wait_seconds)
        except asyncio.TimeoutError:  # the database is slow or away: the row comes later
            stored = None
        message = {"type": "call.ended", "call_key": call.key,
                   "call": self.live_json(call, found)}
        if stored:
            message["call"]["id"] = stored
        self.publish(self._people(call), message, watchers=True)

    async def store(self, call: CallRecord) -> int:
        """Store one call now: the idempotent upsert by call key (see ``CallLog.store``);
        for calls known from elsewhere, e.g. Asterisk's CDR. Returns the call's id."""
        return await self.log.store(call)

    async def drain(self) -> None:
        """Wait until every effect handed over so far is carried out and every call record
        queued is stored (tests and benchmarks use it to settle)."""
        while True:
            await self.workers.drain()
            await self.log.flush()
            if not self.workers.queued and not self.log.backlog:
                return

    def start(self) -> None:
        """Start the workers and the call log's writer (inside the running loop)."""
        self.workers.start()
        self.log.start()

    async def stop(self, timeout: float, spool) -> int:
        """Stop: pops still waiting are dropped (their calls' records are already in the
        log), then the log stores what it can within ``timeout`` and spools the rest.
        Returns how many records were spooled."""
        await self.workers.stop()
        return await self.log.close(timeout, spool)


def _droppable(item) -> bool:
    # a pop or a lookup behind a backlog of tens of thousands of effects comes far too late
    # to help anyone; the answer and end messages (and the call log) are never dropped
    return isinstance(item, (OperatorRinging, CallStarted))
