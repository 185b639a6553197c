"""Outgoing webhooks: registrations, the outbox consumer that turns events into deliveries, and
the delivery log.

Each outbox event (storage.events) is handed to :meth:`WebhookService.consume` inside the
dispatcher's transaction, which writes one ``webhook_deliveries`` row per active webhook that
subscribes to the event's type, with the exact JSON body to send (``{"id": event id, "type",
"at", "data": payload}``), unique by (webhook, event): an event handed out twice adds nothing.
The sender (services.webhook_delivery) POSTs them; nothing on a request path waits for it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain import webhooks as rules
from callcenter.errors import Conflict, NotFound, ValidationFailed, WebhookAddressRefused
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import webhooks as repo
from callcenter.storage.database import Database
from callcenter.storage.events import EVENT_TYPES

MAX_PAGE = 200
EDITABLE = ("url", "events", "active", "description", "secret")


def body_of(event_id: int, event_type: str, at: str, data: Any) -> str:
    """The delivery's body: compact JSON, UTF-8 text as is."""
    return json.dumps({"id": event_id, "type": event_type, "at": at, "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str)


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def webhook_json(row: Mapping[str, Any], counts: Mapping[str, int] | None = None,
                 *, secret: bool = False) -> dict[str, Any]:
    out = {"id": row["id"], "url": row["url"], "events": row["events"],
           "active": row["active"], "description": row["description"],
           "secret": row["secret"] if secret else rules.mask_secret(row["secret"]),
           "created_by": row["created_by"], "created_at": _iso(row["created_at"]),
           "updated_at": _iso(row["updated_at"]), "failing_since": _iso(row["failing_since"])}
    if counts is not None:
        out["deliveries"] = {s: counts.get(s, 0) for s in repo.STATUSES}
    return out


def delivery_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "webhook_id": row["webhook_id"], "event_id": row["event_id"],
            "event_type": row["event_type"], "status": row["status"],
            "attempts": row["attempts"], "next_attempt_at": _iso(row["next_attempt_at"]),
            "last_status": row["last_status"], "last_response": row["last_response"],
            "last_error": row["last_error"], "duration_ms": row["duration_ms"],
            "created_at": _iso(row["created_at"]), "delivered_at": _iso(row["delivered_at"])}


class WebhookService:
    """Admins' webhooks. ``wake`` (the sender's) is called after a ping or retry is stored."""

    def __init__(self, db: Database, clock: Clock, *, allow_private: bool,
                 new_secret: Callable[[], str] = lambda: "whsec_" + secrets.token_hex(24)):
        self.db = db
        self.clock = clock
        self.allow_private = allow_private
        self.new_secret = new_secret
        self.wake: Callable[[], None] = lambda: None
        self.sender: Any = None  # services.webhook_delivery.WebhookSender (app sets it)

    # the outbox consumer

    async def consume(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        hooks = await repo.active_webhooks(conn)
        if not hooks:
            return
        now = self.clock()
        rows = []
        for event in events:
            body = None
            for hook in hooks:
                if not rules.subscribed(hook["events"] or [], event["type"]):
                    continue
                body = body or body_of(event["id"], event["type"], _iso(event["at"]),
                                       event["payload"])
                rows.append({"webhook_id": hook["id"], "event_id": event["id"],
                             "event_type": event["type"], "body": body,
                             "status": repo.PENDING, "attempts": 0, "next_attempt_at": now,
                             "created_at": now})
        await repo.insert_deliveries(conn, rows)

    # registrations

    def _parse(self, data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
        unknown = sorted(set(data) - set(EDITABLE))
        errors: dict[str, str] = {n: "not a field of a webhook" for n in unknown}
        values: dict[str, Any] = {}
        checks = {"url": lambda v: rules.check_url(v, allow_private=self.allow_private),
                  "events": lambda v: rules.check_events(v, EVENT_TYPES),
                  "secret": rules.check_secret}
        refused = None
        for name, check in checks.items():
            if name in data and not (name == "secret" and data[name] in (None, "")):
                try:
                    values[name] = check(data[name])
                except rules.WebhookRuleError as exc:
                    errors[exc.field] = exc.message
                    if "CALLCENTER_WEBHOOK_ALLOW_PRIVATE" in exc.message:
                        refused = exc.message
            elif not partial and name != "secret":
                errors[name] = "required"
        if "active" in data:
            if not isinstance(data["active"], bool):
                errors["active"] = "true or false"
            values["active"] = data["active"]
        if "description" in data:
            text = data["description"]
            if text is not None and (not isinstance(text, str)
                                     or len(text) > rules.MAX_DESCRIPTION):
                errors["description"] = f"text of up to {rules.MAX_DESCRIPTION} characters"
            values["description"] = (text or "").strip() or None if isinstance(text, str) \
                else None
        if refused and len(errors) == 1:
            raise WebhookAddressRefused(refused, {"fields": {"url": refused}})
        if errors:
            raise ValidationFailed.fields(errors)
        return values

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        """Register a webhook; the answer holds its secret in full, the only time it is
        shown (one is generated when none is given)."""
        values = self._parse(data, partial=False)
        values.setdefault("secret", self.new_secret())
        now = self.clock()
        async with self.db.write() as conn:
            webhook_id = await repo.insert_webhook(conn, {
                "active": True, **values, "created_by": actor.user_id,
                "created_at": now, "updated_at": now})
            await audit.record(conn, at=now, action="webhook.create", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="webhook",
                               entity_id=webhook_id,
                               details={"url": values["url"], "events": values["events"]})
            row = await repo.get_webhook(conn, webhook_id)
        return webhook_json(row, {}, secret=True)

    async def list(self, actor: Actor) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await repo.list_webhooks(conn)
            counts = await repo.delivery_counts(conn)
        return [webhook_json(r, counts.get(r["id"], {})) for r in rows]

    async def _get(self, conn: AsyncConnection, webhook_id: int) -> dict[str, Any]:
        row = await repo.get_webhook(conn, webhook_id)
        if row is None:
            raise NotFound.entity("webhook", webhook_id)
        return row

    async def get(self, actor: Actor, webhook_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await self._get(conn, webhook_id)
            counts = await repo.delivery_counts(conn)
        return webhook_json(row, counts.get(webhook_id, {}))

    async def update(self, actor: Actor, webhook_id: int,
                     data: Mapping[str, Any]) -> dict[str, Any]:
        """Change the url, events, description, active flag or secret (a new secret is shown
        in this answer, once)."""
        values = self._parse(data, partial=True)
        now = self.clock()
        async with self.db.write() as conn:
            old = await self._get(conn, webhook_id)
            changed = {k: v for k, v in values.items() if old[k] != v}
            if changed:
                await repo.update_webhook(conn, webhook_id, {**changed, "updated_at": now})
                await audit.record(
                    conn, at=now, action="webhook.update", user_id=actor.user_id,
                    login=actor.login, ip=actor.ip, entity="webhook", entity_id=webhook_id,
                    details={k: ("(new secret)" if k == "secret" else v)
                             for k, v in changed.items()})
            row = await repo.get_webhook(conn, webhook_id)
            counts = await repo.delivery_counts(conn)
        return webhook_json(row, counts.get(webhook_id, {}), secret="secret" in changed)

    async def delete(self, actor: Actor, webhook_id: int) -> dict[str, Any]:
        now = self.clock()
        async with self.db.write() as conn:
            row = await self._get(conn, webhook_id)
            await repo.delete_webhook(conn, webhook_id)
            await audit.record(conn, at=now, action="webhook.delete", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="webhook",
                               entity_id=webhook_id, details={"url": row["url"]})
        return {"id": webhook_id, "deleted": True}

    # deliveries

    async def deliveries(self, actor: Actor, webhook_id: int, *, status: str | None = None,
                         limit: Any = 50, before_id: Any = None) -> dict[str, Any]:
        errors = {}
        if status not in (None, "") and status not in repo.STATUSES:
            errors["status"] = "one of " + ", ".join(repo.STATUSES)
        limit = _whole(limit, 1, MAX_PAGE, "limit", errors, default=50)
        before_id = _whole(before_id, 1, 2 ** 31, "before_id", errors, default=None)
        if errors:
            raise ValidationFailed.fields(errors)
        async with self.db.read() as conn:
            await self._get(conn, webhook_id)
            rows = await repo.list_deliveries(conn, webhook_id, status=status or None,
                                              limit=limit + 1, before_id=before_id)
        items = [delivery_json(r) for r in rows[:limit]]
        return {"items": items,
                "next_before_id": items[-1]["id"] if len(rows) > limit else None}

    async def ping(self, actor: Actor, webhook_id: int) -> dict[str, Any]:
        """Queue a ``ping`` delivery to the webhook (sent at once by the sender)."""
        now = self.clock()
        async with self.db.write() as conn:
            hook = await self._get(conn, webhook_id)
            if not hook["active"]:
                raise Conflict(f"Webhook {webhook_id} is disabled: enable it to ping it",
                               {"active": False})
            event_id = await repo.next_ping_id(conn, webhook_id)
            await repo.insert_deliveries(conn, [{
                "webhook_id": webhook_id, "event_id": event_id, "event_type": rules.PING,
                "body": body_of(event_id, rules.PING, _iso(now), {"webhook_id": webhook_id}),
                "status": repo.PENDING, "attempts": 0, "next_attempt_at": now,
                "created_at": now}])
            await audit.record(conn, at=now, action="webhook.ping", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="webhook",
                               entity_id=webhook_id)
            rows = await repo.list_deliveries(conn, webhook_id, status=None, limit=1,
                                              before_id=None)
        self.wake()
        return delivery_json(rows[0])

    async def retry(self, actor: Actor, delivery_id: int) -> dict[str, Any]:
        """Send a delivery again now (a failed one gets a fresh schedule; one being sent
        right now is left to that attempt)."""
        now = self.clock()
        async with self.db.write() as conn:
            row = await repo.get_delivery(conn, delivery_id)
            if row is None:
                raise NotFound.entity("webhook delivery", delivery_id)
            # one being sent right now is left to its attempt
            await repo.retry_delivery(conn, delivery_id, now)
            await audit.record(conn, at=now, action="webhook.retry", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="webhook",
                               entity_id=row["webhook_id"],
                               details={"delivery_id": delivery_id, "was": row["status"]})
            row = await repo.get_delivery(conn, delivery_id)
        self.wake()
        return delivery_json(row)


def _whole(value: Any, low: int, high: int, name: str, errors: dict[str, str], *,
           default: int | None) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        errors[name] = f"a whole number from {low} to {high}"
        return default
    return number
