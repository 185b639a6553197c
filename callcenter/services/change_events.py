"""The outbox events of clients, calls and tasks: their payloads, recorded in the transaction of
the change (services.clients, services.call_log, services.tasks call these).

Payloads (all times ISO 8601 UTC):

- ``client.created`` / ``client.updated``: ``{"client": {id, name, phones: [e164], emails,
  city, tags}, "changed": [field names]}``;
- ``call.started`` (the call's row first stored), ``call.ended`` (a call completed, but an
  unanswered inbound one) and ``call.missed`` (an inbound call completed unanswered):
  ``{"call": {id, direction, from, to, client_id, user_id, started_at, answered_at, ended_at,
  status, outcome, talk_seconds, recording_url}}``;
- ``task.done``: ``{"task": {id, kind, client_id, order_id, result, closed_by}}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage import clients as clients_repo
from callcenter.storage import webhooks as repo
from callcenter.storage.events import record_event


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def client_payload(client_id: int, values: dict[str, Any], phones: Iterable[str],
                   emails: Iterable[str], changed: Iterable[str]) -> dict[str, Any]:
    return {"client": {"id": client_id, "name": values.get("name"), "phones": list(phones),
                       "emails": list(emails), "city": values.get("city"),
                       "tags": list(values.get("tags") or [])},
            "changed": list(changed)}


async def client_created(conn: AsyncConnection, client_id: int, parsed, now: datetime) -> None:
    """``parsed`` is the validated ClientInput just inserted (no reading back: the importer
    creates thousands in one transaction)."""
    await record_event(conn, type="client.created", at=now, entity="client",
                       entity_id=client_id, payload=client_payload(
                           client_id, parsed.values, [p.e164 for p in parsed.phones or []],
                           [e.email for e in parsed.emails or []], ["created"]))


async def client_updated(conn: AsyncConnection, client_id: int, changed: Iterable[str],
                         now: datetime) -> None:
    row = await clients_repo.get_client(conn, client_id)
    phones = [p["e164"] for p in await clients_repo.phones_of(conn, [client_id])]
    emails = [e["email"] for e in await clients_repo.emails_of(conn, [client_id])]
    await record_event(conn, type="client.updated", at=now, entity="client",
                       entity_id=client_id,
                       payload=client_payload(client_id, row, phones, emails, changed))


def call_payload(call_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` is the call's ``calls`` values (services.call_log.record_values plus
    client_id and answered_by_user_id)."""
    completed = row["status"] == "completed"
    return {"call": {
        "id": call_id, "direction": row["direction"],
        "from": row.get("caller_e164") or row.get("caller"),
        "to": row.get("callee_e164") or row.get("callee"),
        "client_id": row.get("client_id"), "user_id": row.get("answered_by_user_id"),
        "started_at": _iso(row.get("started_at")), "answered_at": _iso(row.get("answered_at")),
        "ended_at": _iso(row.get("ended_at")), "status": row["status"],
        "outcome": row.get("outcome") if completed else None,
        "talk_seconds": row.get("talk_seconds") or 0,
        "recording_url": f"/api/calls/{call_id}/recording"
        if completed and row.get("recording") else None}}


def call_event_type(row: dict[str, Any]) -> str:
    if row["direction"] == "inbound" and row.get("outcome") == "missed":
        return "call.missed"
    return "call.ended"


async def calls_changed(conn: AsyncConnection, started: list[dict[str, Any]],
                        finished: list[dict[str, Any]], ids: dict[str, int],
                        now: datetime) -> int:
    """One ``call.started`` per row just inserted and one ``call.ended`` / ``call.missed`` per
    row that just became ``completed`` (the call log finds both from the state it changed, so
    a record stored again emits nothing); in one statement. Returns how many."""
    rows = []
    for kind, items in (("started", started), ("finished", finished)):
        for row in items:
            call_id = ids.get(row["call_key"])
            if call_id is None:
                continue
            rows.append({"type": "call.started" if kind == "started" else call_event_type(row),
                         "entity": "call", "entity_id": call_id, "at": now,
                         "payload": call_payload(call_id, row)})
    await repo.insert_events(conn, rows)
    return len(rows)


async def task_done(conn: AsyncConnection, task: dict[str, Any], values: dict[str, Any],
                    user_id: int | None, now: datetime) -> None:
    await record_event(conn, type="task.done", at=now, entity="task", entity_id=task["id"],
                       payload={"task": {
                           "id": task["id"], "kind": values.get("kind", task["kind"]),
                           "client_id": task["client_id"], "order_id": task["order_id"],
                           "result": values.get("result"), "closed_by": user_id}})
