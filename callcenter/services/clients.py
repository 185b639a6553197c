"""Clients: create with the duplicate guard, edit with history, search, the client card."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.access import Role, may_see_client
from callcenter.domain.clients import ClientInput, FieldErrors, validate_client
from callcenter.domain.json_text import dumps
from callcenter.domain.phones import format_display, search_keys
from callcenter.errors import DuplicateClient, NotFound, SearchTooLong, ValidationFailed
from callcenter.services import change_events
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import calls as calls_repo
from callcenter.storage import client_card as card_repo
from callcenter.storage import clients as repo
from callcenter.storage import users as users_repo
from callcenter.storage.database import Database


MAX_QUERY_WORDS = 10
MAX_QUERY_CHARS = 200


#: A query of digits (and spaces, dashes, dots, brackets) finds the numbers ending with them
#: once it has this many digits: "0101" finds +7 926 555-01-01.
SUFFIX_MIN_DIGITS = 4
_SUFFIX_QUERY = re.compile(r"^[0-9\s().-]+$")


def phone_suffix(q: str) -> str | None:
    """The digits a query means as the end of a phone number, or None."""
    if not _SUFFIX_QUERY.match(q):
        return None
    digits = "".join(ch for ch in q if ch in "0123456789")
    return digits if len(digits) >= SUFFIX_MIN_DIGITS else None


def history_value(value: Any) -> str | None:
    """How a value is written into the edit history (text, so old and new read alike)."""
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ClientService:
    def __init__(self, db: Database, clock: Clock, *, region: str, shop_timezone: str,
                 own_clients_only: bool):
        self.db = db
        self.clock = clock
        self.region = region
        self.shop_timezone = shop_timezone
        self.own_clients_only = own_clients_only
        # (actor, call JSON items, call rows) -> sets each item's "recording" object; wired to
        # services.recording_access, which decides who may hear which recording
        self.recordings_of = None
        # EventOutbox.wake (app sets it): client events were committed
        self.events_recorded = lambda: None

    def validate(self, data: Mapping[str, Any], *, partial: bool) -> ClientInput:
        try:
            return validate_client(data, region=self.region, partial=partial)
        except FieldErrors as exc:
            raise ValidationFailed.fields(exc.fields) from None

    def restricted_to(self, actor: Actor) -> int | None:
        """The operator whose own clients alone ``actor`` may see, or None when unlimited."""
        if actor.role is Role.OPERATOR and self.own_clients_only:
            return actor.user_id
        return None

    _operator_filter = restricted_to

    def _check_visible(self, actor: Actor, client: dict[str, Any]) -> None:
        # a client of another operator answers as if it did not exist: 404, not 403, so that
        # ids cannot be probed for which clients exist
        if not may_see_client(actor.role, actor.user_id, client["assigned_operator_id"],
                              self.own_clients_only):
            raise NotFound.entity("client", client["id"])

    async def check_access(self, actor: Actor, client_id: int) -> None:
        """NotFound unless the client exists and ``actor`` may see it (one query)."""
        async with self.db.read() as conn:
            row = await repo.get_client(conn, client_id)
        if row is None:
            raise NotFound.entity("client", client_id)
        self._check_visible(actor, row)

    async def _check_operator(self, conn: AsyncConnection, values: dict[str, Any],
                              actor: Actor | None = None) -> None:
        op_id = values.get("assigned_operator_id")
        if actor is not None and "assigned_operator_id" in values \
                and self.restricted_to(actor) not in (None, op_id):
            # a client given away (or unassigned) would vanish from the operator's own view
            raise ValidationFailed.fields(
                {"assigned_operator_id": "operators may assign clients only to themselves"})
        if op_id is not None and await users_repo.get_user(conn, op_id) is None:
            raise ValidationFailed.fields({"assigned_operator_id": f"no user with id {op_id}"})

    def _duplicate_error(self, actor: Actor, dupes: list[dict[str, Any]],
                         message: str) -> DuplicateClient:
        """The 409 naming the clients that hold the phone or e-mail; clients the actor may
        not see are not named, only said to belong to another operator."""
        shown = []
        for d in dupes:
            if may_see_client(actor.role, actor.user_id, d["assigned_operator_id"],
                              self.own_clients_only):
                shown.append({k: d[k] for k in ("id", "matched_on", "value", "name")})
            else:
                shown.append({"matched_on": d["matched_on"], "value": d["value"],
                              "assigned_to_another_operator": True})
        names = ", ".join(f"{d['name']} (#{d['id']})" if "id" in d
                          else "a client of another operator" for d in shown)
        return DuplicateClient(f"{message}: {names}", {"matches": shown})

    async def find_duplicates(self, conn: AsyncConnection, data: ClientInput,
                              exclude: int | None = None) -> list[dict[str, Any]]:
        """Other clients that already hold one of these phones or e-mails."""
        hits: dict[int, dict[str, Any]] = {}
        for cid, value in await repo.client_ids_by_phone(
                conn, [p.e164 for p in data.phones or []], exclude):
            hits.setdefault(cid, {"id": cid, "matched_on": "phone", "value": value})
        for cid, value in await repo.client_ids_by_email(
                conn, [e.email for e in data.emails or []], exclude):
            hits.setdefault(cid, {"id": cid, "matched_on": "email", "value": value})
        if hits:
            for row in await repo.get_clients(conn, list(hits)):
                hits[row["id"]]["name"] = row["name"]
                hits[row["id"]]["assigned_operator_id"] = row["assigned_operator_id"]
        return list(hits.values())

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        parsed = self.validate(data, partial=False)
        force = data.get("force") is True
        now = self.clock()
        async with self.db.write() as conn:
            await self._check_operator(conn, parsed.values, actor)
            if not force:
                dupes = await self.find_duplicates(conn, parsed)
                if dupes:
                    raise self._duplicate_error(
                        actor, dupes, "A client with this phone or e-mail already exists")
            if actor.role is Role.OPERATOR and self.own_clients_only:
                parsed.values.setdefault("assigned_operator_id", actor.user_id)
            client_id = await self.insert(conn, actor, parsed, now)
        self.events_recorded()
        return await self.card(actor, client_id)

    async def insert(self, conn: AsyncConnection, actor: Actor, parsed: ClientInput,
                     now: datetime) -> int:
        """Insert a validated client inside the caller's transaction, with audit and history."""
        client_id = await repo.insert_client(conn, parsed.values, now)
        await repo.replace_phones(conn, client_id, parsed.phones or [])
        await repo.replace_emails(conn, client_id, parsed.emails or [])
        await calls_repo.link_client_by_phones(conn, client_id,
                                               [p.e164 for p in parsed.phones or []])
        await repo.insert_changes(conn, [{
            "entity": "client", "entity_id": client_id, "client_id": client_id,
            "user_id": actor.user_id, "at": now, "field": "created", "old": None,
            "new": parsed.values["name"],
        }])
        await audit.record(conn, at=now, action="client.create", user_id=actor.user_id,
                           login=actor.login, ip=actor.ip, entity="client", entity_id=client_id,
                           details={"name": parsed.values["name"]})
        await change_events.client_created(conn, client_id, parsed, now)
        return client_id

    async def update(self, actor: Actor, client_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        parsed = self.validate(data, partial=True)
        now = self.clock()
        async with self.db.write() as conn:
            old = await repo.get_client(conn, client_id)
            if old is None:
                raise NotFound.entity("client", client_id)
            self._check_visible(actor, old)
            await self._check_operator(conn, parsed.values, actor)
            if not data.get("force"):
                dupes = await self.find_duplicates(conn, parsed, exclude=client_id)
                if dupes:
                    raise self._duplicate_error(
                        actor, dupes, "Another client already has this phone or e-mail")
            changed = [(f, o, n) for f, o, n in
                       ((f, old.get(f), v) for f, v in parsed.values.items()) if o != n]
            if parsed.phones is not None:
                old_phones = [p["e164"] for p in await repo.phones_of(conn, [client_id])]
                new_phones = [p.e164 for p in parsed.phones]
                if old_phones != new_phones:
                    changed.append(("phones", old_phones, new_phones))
                await repo.replace_phones(conn, client_id, parsed.phones)
            if parsed.emails is not None:
                old_emails = [e["email"] for e in await repo.emails_of(conn, [client_id])]
                new_emails = [e.email for e in parsed.emails]
                if old_emails != new_emails:
                    changed.append(("emails", old_emails, new_emails))
                await repo.replace_emails(conn, client_id, parsed.emails)
            if changed:
                await repo.update_client(conn, client_id, parsed.values, now)
                await self.record_changes(conn, actor, "client", client_id, client_id, changed,
                                          now)
                await change_events.client_updated(conn, client_id, [f for f, _, _ in changed],
                                                   now)
        if changed:
            self.events_recorded()
        return await self.card(actor, client_id)

    async def record_changes(self, conn: AsyncConnection, actor: Actor, entity: str,
                             entity_id: int, client_id: int,
                             changed: list[tuple[str, Any, Any]], now: datetime) -> None:
        await repo.insert_changes(conn, [{
            "entity": entity, "entity_id": entity_id, "client_id": client_id,
            "user_id": actor.user_id, "at": now, "field": field,
            "old": history_value(old), "new": history_value(new),
        } for field, old, new in changed])
        await audit.record(conn, at=now, action=f"{entity}.update", user_id=actor.user_id,
                           login=actor.login, ip=actor.ip, entity=entity, entity_id=entity_id,
                           details={f: {"old": history_value(o), "new": history_value(n)}
                                    for f, o, n in changed})

    async def add_note(self, actor: Actor, client_id: int, text: Any) -> dict[str, Any]:
        if not isinstance(text, str) or not text.strip() or len(text) > 20_000:
            raise ValidationFailed.fields({"text": "a note of 1 to 20000 characters"})
        now = self.clock()
        async with self.db.write() as conn:
            client = await repo.get_client(conn, client_id)
            if client is None:
                raise NotFound.entity("client", client_id)
            self._check_visible(actor, client)
            note_id = await repo.insert_activity(conn, {
                "client_id": client_id, "kind": "note", "text": text.strip(),
                "author_id": actor.user_id, "created_at": now})
            await audit.record(conn, at=now, action="note.create", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="client",
                               entity_id=client_id)
        return {"id": note_id, "kind": "note", "text": text.strip(),
                "author": {"id": actor.user_id, "name": actor.name}, "created_at": now.isoformat()}

    # reading

    async def search(self, actor: Actor, q: str | None, limit: int,
                     offset: int) -> dict[str, Any]:
        q = (q or "").strip()
        if len(q) > MAX_QUERY_CHARS or len(q.split()) > MAX_QUERY_WORDS:
            # every word is one more condition: SQLite refuses a query of ~1000 of them
            raise SearchTooLong(f"Search for at most {MAX_QUERY_WORDS} words and "
                                f"{MAX_QUERY_CHARS} characters",
                                {"param": "q", "max_words": MAX_QUERY_WORDS,
                                 "max_chars": MAX_QUERY_CHARS})
        name = email = order_number = None
        prefixes: list[str] = []
        suffix = phone_suffix(q)
        if q:
            prefixes = search_keys(q, self.region)
            if "@" in q:
                email = q
            elif not prefixes and not suffix:
                name = q
                order_number = q
            else:
                order_number = q
        async with self.db.read() as conn:
            hits, total = await repo.search_clients(
                conn, name=name, phone_prefixes=prefixes, email=email,
                order_number=order_number, operator_id=self._operator_filter(actor),
                limit=limit, offset=offset, phone_suffix=suffix)
            items = await self.summaries(conn, [cid for cid, _ in hits])
        matched = dict(hits)
        for item in items:
            item["matched_on"] = matched.get(item["id"])
        return {"items": items, "total": total}

    async def summaries(self, conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
        """Search results and pop candidates: the clients ``ids`` in that order (one query)."""
        found = await card_repo.summary_rows(conn, ids)
        return [self._summary(d["client"], d["phones"], d["emails"],
                              {d["client"]["assigned_operator_id"]: d["operator_name"]})
                for d in found]

    def _summary(self, row: dict[str, Any], phones: list[dict], emails: list[dict],
                 names: dict[int, str]) -> dict[str, Any]:
        op = row["assigned_operator_id"]
        return {
            "id": row["id"], "name": row["name"], "company": row["company"], "city": row["city"],
            "timezone": row["timezone"] or self.shop_timezone, "tags": row["tags"] or [],
            "do_not_call": row["do_not_call"],
            "assigned_operator": {"id": op, "name": names.get(op)} if op else None,
            "phones": [{"id": p["id"], "number": p["number"], "e164": p["e164"],
                        "display": format_display(p["e164"]), "label": p["label"],
                        "extension": p["extension"]}
                       for p in phones if p["client_id"] == row["id"]],
            "emails": [{"id": e["id"], "email": e["email"], "label": e["label"]}
                       for e in emails if e["client_id"] == row["id"]],
        }

    async def card(self, actor: Actor, client_id: int, *, lane: str = "api") -> dict[str, Any]:
        """Everything the operator sees about a client on one screen, read in one statement.

        ``lane`` is the database lane to read on: "telephony" for the screen pop, so that a
        burst of calls does not take the web API's connections.
        """
        found = await card_repo.card_rows(self.db, client_id, lane=lane)
        if found is None:
            raise NotFound.entity("client", client_id)
        row = found["client"]
        self._check_visible(actor, row)
        summary = self._summary(row, found["phones"], found["emails"],
                                {row["assigned_operator_id"]: found["operator_name"]})
        orders, notes, history = found["orders"], found["activities"], found["history"]
        calls, tasks = found["calls"], found["tasks"]
        local = self.clock().astimezone(ZoneInfo(summary["timezone"]))
        offset = local.strftime("%z")
        call_items = [call_row_json(c) for c in calls]
        if self.recordings_of is not None and lane == "api":  # not in the screen pop's lane
            await self.recordings_of(actor, call_items, calls)
        return {
            **summary,
            "notes": row["notes"], "region": row["region"],
            "birthday": row["birthday"].isoformat() if row["birthday"] else None,
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
            "local_time": local.isoformat(timespec="seconds"),
            "utc_offset": f"{offset[:3]}:{offset[3:]}",
            "orders": [order_json(o) for o in orders],
            "activities": [{"id": a["id"], "kind": a["kind"], "text": a["text"],
                            "author": {"id": a["author_id"], "name": a["author_name"]},
                            "created_at": a["created_at"].isoformat()} for a in notes],
            "history": [{"id": h["id"], "at": h["at"].isoformat(),
                         "user": {"id": h["user_id"], "name": h["user_name"]}
                         if h["user_id"] else None,
                         "field": h["field"], "old": h["old"], "new": h["new"],
                         "entity": h["entity"], "entity_id": h["entity_id"]} for h in history],
            "calls": call_items,
            "tasks": [task_json(t) for t in tasks],
        }


def order_json(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": o["id"], "shop": {"id": o["shop_id"], "slug": o["shop_slug"], "name": o["shop_name"]},
        "client_id": o["client_id"], "external_id": o["external_id"], "number": o["number"],
        "status": o["status"], "total": f"{o['total']:.2f}", "currency": o["currency"],
        "items": o["items"] or [], "created_at": o["created_at"].isoformat(),
        "updated_at": o["updated_at"].isoformat(),
    }


def _iso(value):
    return value.isoformat() if value is not None else None


def call_row_json(c: dict[str, Any]) -> dict[str, Any]:
    """A stored call as the API shows it."""
    return {
        "id": c["id"], "linkedid": c["linkedid"], "direction": c["direction"],
        "caller": c["caller_e164"] or c["caller"], "caller_name": c["caller_name"],
        "callee": c["callee_e164"] or c["callee"], "client_id": c["client_id"],
        "operators_rung": c["operators_rung"] or [], "answered_by": c["answered_by"],
        "answered_by_user_id": c["answered_by_user_id"], "handled_by": c["handled_by"] or [],
        "placed_by": c["placed_by"], "outcome": c["outcome"], "status": c["status"],
        "started_at": _iso(c["started_at"]), "answered_at": _iso(c["answered_at"]),
        "ended_at": _iso(c["ended_at"]), "talk_seconds": c["talk_seconds"],
        "wait_seconds": c["wait_seconds"], "hangup_side": c["hangup_side"],
        "hangup_cause": c["hangup_cause"], "hangup_cause_text": c["hangup_cause_text"],
        # the MixMonitor file's name, and whether it was seen when the call ended
        "recording_file": c["recording"],
        "recording_verified": (c.get("variables") or {}).get("recording_verified") == "yes",
        # the playable recording (services.recording_access.recording_json), set by the
        # callers that know who is looking; None when there is none or nobody set it
        "recording": None,
        "queue": c["queue"], "task_id": c["task_id"],
        "disposition": c["disposition"], "note": c["note"],
    }


def task_json(t: dict[str, Any]) -> dict[str, Any]:
    """A task as the API shows it everywhere (times in UTC).  The client's name, do-not-call
    flag and the owner's name come with rows read joined (storage.tasks); rows without them
    (the client card's) show null there."""
    zones = t.get("timezone") or ""
    return {
        "id": t["id"], "kind": t["kind"], "status": t["status"], "title": t["title"],
        "client_id": t["client_id"], "client_name": t.get("client_name"),
        "phone": t["phone_e164"], "due_at": _iso(t["due_at"]),
        "ready_at": _iso(t.get("ready_at")), "window_ends_at": _iso(t.get("window_ends_at")),
        "client_timezone": zones or None, "client_zone_known": bool(zones) and "," not in zones,
        "attempts": t["attempts"], "failures": t.get("failures", 0),
        "priority": t.get("priority", 0), "assigned_to": t.get("assigned_to"),
        "assigned_to_name": t.get("assigned_to_name"), "claimed_by": t.get("claimed_by"),
        "lease_until": _iso(t.get("lease_until")), "result": t.get("result"),
        "note": t.get("note"), "order_id": t.get("order_id"),
        "previous_task_id": t.get("previous_task_id"), "call_id": t.get("call_id"),
        "closed_at": _iso(t["closed_at"]), "closed_reason": t["closed_reason"],
        "created_at": _iso(t["created_at"]), "updated_at": _iso(t.get("updated_at")),
        "do_not_call": bool(t.get("client_do_not_call")),
    }
