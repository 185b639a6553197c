"""The audit log viewer: supervisors and admins browse who did what, when, from where."""

from __future__ import annotations

from typing import Any, Mapping
from zoneinfo import ZoneInfo

from callcenter.domain.access import STAFF
from callcenter.domain.audit_filters import parse_audit_query
from callcenter.errors import Forbidden, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit as repo
from callcenter.storage.database import Database


def entry_json(row: dict[str, Any], client_id: int | None) -> dict[str, Any]:
    """An entry as the API gives it; ``client_id`` is the client the entry is about (the
    entity itself, or the client of the call, order or task), so pages can link to the card."""
    return {"id": row["id"], "at": row["at"].isoformat(), "user_id": row["user_id"],
            "login": row["login"], "action": row["action"], "entity": row["entity"],
            "entity_id": row["entity_id"], "ip": row["ip"], "details": row["details"] or {},
            "client_id": client_id}


class AuditService:
    def __init__(self, db: Database, clock: Clock, *, timezone: str):
        self.db = db
        self.clock = clock
        self.zone = ZoneInfo(timezone)

    @staticmethod
    def _check(actor: Actor) -> None:
        if actor.role not in STAFF:
            raise Forbidden("Only supervisors and admins see the audit log")

    async def entries(self, actor: Actor, query: Mapping[str, str]) -> dict[str, Any]:
        """``{"items": [entry...], "total": n}``: the entries the query's filters keep
        (see :mod:`callcenter.domain.audit_filters`), newest first; ValidationFailed naming
        each bad parameter."""
        self._check(actor)
        flt, errors, message = parse_audit_query(query, self.zone)
        if errors:
            raise ValidationFailed.fields(errors, message)
        async with self.db.read() as conn:
            rows, total = await repo.find_entries(conn, flt)
            clients = await repo.clients_of_entities(conn, rows)
        items = []
        for row in rows:
            client_id = clients.get((row["entity"], row["entity_id"]))
            if row["entity"] == "client" and (row["entity_id"] or "").isdigit():
                client_id = int(row["entity_id"])
            items.append(entry_json(row, client_id))
        return {"items": items, "total": total}

    async def actions(self, actor: Actor) -> list[str]:
        """Every action written to the log so far, sorted (the viewer's filter)."""
        self._check(actor)
        async with self.db.read() as conn:
            return await repo.distinct_actions(conn)
