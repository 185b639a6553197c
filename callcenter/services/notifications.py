"""Customer notifications: from outbox events to queued messages; templates and previews.

The outbox consumer runs in the dispatcher's transaction: ``order.created`` queues
``order_received``, ``order.stage_changed`` queues the target stage's ``notify_event``. One
message per order, event and channel (dedupe key ``order:<id>:<event>:<channel>``), so an
event handed out twice, or two moves into the same stage, never send twice. A client marked
do-not-contact, or without an address for the channel, gets a "skipped" row saying why (the
card shows it). The sender (services.message_sender) sends what is queued.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain import notification_events as ne
from callcenter.errors import BadRequest, NotFound, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import message_queue as repo
from callcenter.storage.database import Database
from callcenter.storage.messages import queue_message
from callcenter.storage.tables import client_emails, client_phones, clients, orders

MARKETING = frozenset({"abandoned_cart"})   # sent as kind "mailing": unsubscribe applies


async def _client_contacts(conn: AsyncConnection, client_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(clients.c.id, clients.c.name, clients.c.do_not_call,
                                     clients.c.unsubscribed_at)
                              .where(clients.c.id == client_id))).first()
    if row is None:
        return None
    email = (await conn.execute(select(client_emails.c.email)
                                .where(client_emails.c.client_id == client_id)
                                .order_by(client_emails.c.position, client_emails.c.id)
                                .limit(1))).scalar_one_or_none()
    phone = (await conn.execute(select(client_phones.c.e164)
                                .where(client_phones.c.client_id == client_id)
                                .order_by(client_phones.c.position, client_phones.c.id)
                                .limit(1))).scalar_one_or_none()
    return {**dict(row._mapping), "email": email, "phone": phone}


async def queue_event_message(conn: AsyncConnection, *, event: str, client_id: int,
                              shop_id: int | None, order_id: int | None,
                              context: Mapping[str, Any], dedupe_key: str, now: datetime,
                              channels: Iterable[str] | None = None,
                              not_before: datetime | None = None) -> list[int]:
    """Queue ``event``'s templated message to a client on each channel whose template is on
    (or on ``channels`` only), in the caller's transaction. The dedupe key of each row is
    ``f"{dedupe_key}:{channel}"`` unless ``dedupe_key`` already ends with the channel name.
    Returns the ids of the rows written (do-not-contact / no address: "skipped" rows)."""
    if event not in ne.EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    client = await _client_contacts(conn, client_id)
    if client is None:
        return []
    shop = await repo.shop_of(conn, shop_id)
    lang = (shop or {}).get("language") or "ru"
    rows = await repo.template_rows(conn, shop_id)
    full = {**{name: "" for name in ne.PLACEHOLDERS[event]},
            "client_name": client["name"], "shop_name": (shop or {}).get("name", ""),
            **dict(context)}
    kind = "mailing" if event in MARKETING else "notification"
    ids = []
    for channel in (channels or ne.CHANNELS):
        template = ne.choose_template(event, channel, lang, shop_id, rows)
        if not template.enabled:
            continue
        rendered = ne.render_message(template, full)
        address = client["email"] if channel == "email" else client["phone"]
        status, why = "queued", None
        if client["do_not_call"]:
            status, why = "skipped", "do not contact"
        elif kind == "mailing" and client.get("unsubscribed_at"):
            status, why = "skipped", "unsubscribed from mailings"
        elif not address:
            status, why = "skipped", f"no {'e-mail address' if channel == 'email' else 'phone'}"
        key = dedupe_key if dedupe_key.endswith(":" + channel) else f"{dedupe_key}:{channel}"
        message_id = await queue_message(
            conn, kind=kind, channel=channel, to_address=address or "", body=rendered.body,
            subject=rendered.subject, html=rendered.html, dedupe_key=key, now=now,
            not_before=not_before, event=event, client_id=client_id, order_id=order_id,
            shop_id=shop_id, status=status, last_error=why)
        if message_id is not None:
            ids.append(message_id)
    return ids


def status_token(secret_key: str) -> str:
    """The secret part of the SMS status callback's URL."""
    return hmac.new(secret_key.encode(), b"sms-status-callback", hashlib.sha256).hexdigest()[:40]


class NotificationService:
    def __init__(self, db: Database, clock: Clock, settings: Any, clients_service: Any,
                 secret_key: str):
        self.db = db
        self.clock = clock
        self.settings = settings
        self.clients = clients_service
        self.callback_token = status_token(secret_key)
        self.messages_queued = lambda: None   # wakes the sender (set in app.py)

    # --- the outbox consumer -------------------------------------------------------------
    async def consume(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        # the sender is woken by the outbox after its commit (app.py), not from in here
        for event in events:
            payload = event.get("payload") or {}
            if event["type"] == "order.created":
                order_id = (payload.get("order") or {}).get("id") or event.get("entity_id")
                name, tracking = "order_received", None
            elif event["type"] == "order.stage_changed":
                order_id, name = payload.get("order_id"), payload.get("notify_event")
                tracking = payload.get("tracking_number")
            else:
                continue
            if not order_id or name not in ne.EVENTS:
                continue
            await self.queue_for_order(conn, int(order_id), name, self.clock(),
                                       tracking_number=tracking)

    async def queue_for_order(self, conn: AsyncConnection, order_id: int, event: str,
                              now: datetime, *, tracking_number: str | None = None,
                              dedupe_suffix: str = "") -> list[int]:
        order = (await conn.execute(select(orders).where(orders.c.id == order_id))).first()
        if order is None:
            return []
        order = dict(order._mapping)
        tracking = tracking_number or order.get("tracking_number") or ""
        context = {"order_number": order["number"], "order_total": ne.money(order["total"]),
                   "currency": order["currency"], "tracking_number": tracking,
                   "tracking_url": ne.tracking_url(tracking), "shop_phone": ""}
        return await queue_event_message(
            conn, event=event, client_id=order["client_id"], shop_id=order["shop_id"],
            order_id=order_id, context=context,
            dedupe_key=f"order:{order_id}:{event}{dedupe_suffix}", now=now)

    async def queue_parcel_reminders(self) -> int:
        """One ``parcel_reminder`` per shipped order still shipped CALLCENTER_PARCEL_CHECK_DAYS
        after it was shipped (dedupe per order and shipping time)."""
        if "stage_changed_at" not in orders.c:
            return 0
        days = int(getattr(self.settings, "parcel_check_days", 7) or 7)
        now = self.clock()
        count = 0
        async with self.db.write() as conn:
            due = (await conn.execute(
                select(orders.c.id, orders.c.stage_changed_at)
                .where(orders.c.status == "shipped",
                       orders.c.stage_changed_at <= now - timedelta(days=days),
                       orders.c.stage_changed_at > now - timedelta(days=days + 30))
                .limit(500))).all()
            for order_id, shipped_at in due:
                suffix = f":{int(shipped_at.timestamp())}"
                count += len(await self.queue_for_order(conn, order_id, "parcel_reminder", now,
                                                        dedupe_suffix=suffix))
        if count:
            self.messages_queued()
        return count

    # --- messages on a card ---------------------------------------------------------------
    async def list_messages(self, actor: Actor, *, client_id: int | None,
                            order_id: int | None) -> list[dict[str, Any]]:
        if client_id is None and order_id is None:
            raise BadRequest("give client_id or order_id")
        async with self.db.read() as conn:
            if order_id is not None:
                owner = (await conn.execute(select(orders.c.client_id)
                                            .where(orders.c.id == order_id))).scalar_one_or_none()
                if owner is None:
                    raise NotFound.entity("order", order_id)
                if client_id is not None and client_id != owner:
                    raise BadRequest("the order is not this client's")
                client_id = owner
        await self.clients.check_access(actor, client_id)
        async with self.db.read() as conn:
            items = await repo.list_messages(conn, client_id=client_id, order_id=order_id)
        return [message_json(m) for m in items]

    async def retry(self, actor: Actor, message_id: int) -> dict[str, Any]:
        now = self.clock()
        async with self.db.write() as conn:
            message = await repo.get_message(conn, message_id)
            if message is None:
                raise NotFound.entity("message", message_id)
            if not await repo.requeue(conn, message_id, now):
                raise ValidationFailed(f"only a failed or skipped message can be sent again "
                                       f"(this one is {message['status']})")
            await audit.record(conn, at=now, action="message.retry", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="message",
                               entity_id=message_id, details={"channel": message["channel"]})
            message = await repo.get_message(conn, message_id)
        self.messages_queued()
        return message_json(message)

    async def delivery_report(self, provider_id: str, delivered: bool,
                              error: str | None = None) -> int:
        async with self.db.write() as conn:
            return await repo.mark_delivery(conn, provider_id, delivered, self.clock(), error)

    # --- templates -----------------------------------------------------------------------
    async def templates(self, shop_id: int | None) -> dict[str, Any]:
        async with self.db.read() as conn:
            if shop_id is not None and await repo.shop_of(conn, shop_id) is None:
                raise NotFound.entity("shop", shop_id)
            rows = await repo.template_rows(conn, shop_id)
        items = []
        for event in ne.EVENTS:
            for channel in ne.CHANNELS:
                for lang in ne.LANGS:
                    t = ne.choose_template(event, channel, lang, shop_id, rows)
                    items.append({"event": event, "channel": channel, "lang": lang,
                                  "subject": t.subject, "body": t.body, "enabled": t.enabled,
                                  "source": t.source})
        return {"shop_id": shop_id, "items": items,
                "placeholders": {e: list(p) for e, p in ne.PLACEHOLDERS.items()},
                "sms_configured": bool(getattr(self.settings, "sms_provider", "")),
                "email_configured": bool(getattr(self.settings, "smtp_host", ""))}

    async def save_template(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        t = parse_template(data)
        now = self.clock()
        async with self.db.write() as conn:
            if t["shop_id"] is not None and await repo.shop_of(conn, t["shop_id"]) is None:
                raise NotFound.entity("shop", t["shop_id"])
            if t["reset"]:
                await repo.delete_template(conn, shop_id=t["shop_id"], event=t["event"],
                                           channel=t["channel"], lang=t["lang"])
            else:
                await repo.save_template(conn, shop_id=t["shop_id"], event=t["event"],
                                         channel=t["channel"], lang=t["lang"],
                                         subject=t["subject"], body=t["body"],
                                         enabled=t["enabled"], now=now, user_id=actor.user_id)
            await audit.record(conn, at=now, action="message_template.reset" if t["reset"]
                               else "message_template.save", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="message_template",
                               entity_id=f"{t['shop_id'] or '*'}:{t['event']}:{t['channel']}:"
                                         f"{t['lang']}",
                               details={"enabled": t["enabled"]})
        return await self.templates(t["shop_id"])

    async def preview(self, data: Mapping[str, Any]) -> dict[str, Any]:
        t = parse_template(data, partial=True)
        template = ne.Template(t["event"], t["channel"], t["lang"], t["subject"], t["body"],
                               True)
        context = dict(ne.SAMPLE_CONTEXT)
        order_id = data.get("order_id")
        if order_id is not None:
            if not isinstance(order_id, int) or isinstance(order_id, bool):
                raise ValidationFailed.fields({"order_id": "must be a positive integer id"})
            async with self.db.read() as conn:
                order = (await conn.execute(select(orders).where(orders.c.id == order_id))).first()
                if order is None:
                    raise NotFound.entity("order", order_id)
                client = await _client_contacts(conn, order.client_id)
                shop = await repo.shop_of(conn, order.shop_id)
            tracking = getattr(order, "tracking_number", None) or context["tracking_number"]
            context.update(order_number=order.number, order_total=ne.money(order.total),
                           currency=order.currency, client_name=client["name"],
                           shop_name=(shop or {}).get("name", ""), tracking_number=tracking,
                           tracking_url=ne.tracking_url(tracking))
        rendered = ne.render_message(template, context)
        return {"subject": rendered.subject, "body": rendered.body, "html": rendered.html,
                "unknown": ne.template_problems(t["event"], t["subject"], t["body"]),
                "segments": ne.sms_segments(rendered.body) if t["channel"] == "sms" else None}


def parse_template(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    event, channel, lang = data.get("event"), data.get("channel"), data.get("lang", "ru")
    if event not in ne.EVENTS:
        errors["event"] = f"one of {', '.join(ne.EVENTS)}"
    if channel not in ne.CHANNELS:
        errors["channel"] = "one of email, sms"
    if lang not in ne.LANGS:
        errors["lang"] = "one of ru, en"
    shop_id = data.get("shop_id")
    if shop_id is not None and (not isinstance(shop_id, int) or isinstance(shop_id, bool)
                                or shop_id < 1):
        errors["shop_id"] = "must be a positive integer id"
    body = data.get("body")
    subject = data.get("subject")
    if "reset" in data and not isinstance(data["reset"], bool):
        errors["reset"] = "true or false"
    reset = data.get("reset") is True
    if not reset:
        if not isinstance(body, str) or not body.strip():
            errors["body"] = "required"
        elif len(body) > 20000:
            errors["body"] = "at most 20000 characters"
        if subject is not None and (not isinstance(subject, str) or len(subject) > 300):
            errors["subject"] = "at most 300 characters"
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = "true or false"
    if errors:
        raise ValidationFailed.fields(errors)
    return {"event": event, "channel": channel, "lang": lang, "shop_id": shop_id,
            "subject": (subject or None) if channel == "email" else None, "body": body,
            "enabled": enabled, "reset": reset}


def message_json(m: Mapping[str, Any]) -> dict[str, Any]:
    def iso(value):
        return value.isoformat() if value else None
    return {"id": m["id"], "kind": m["kind"], "channel": m["channel"], "event": m["event"],
            "client_id": m["client_id"], "order_id": m["order_id"], "to": m["to_address"],
            "subject": m["subject"], "body": m["body"], "status": m["status"],
            "attempts": m["attempts"], "error": m["last_error"],
            "attachments": [a.get("name") for a in (m["attachments"] or [])],
            "created_at": iso(m["created_at"]), "sent_at": iso(m["sent_at"]),
            "delivered_at": iso(m["delivered_at"]), "next_attempt_at": iso(m["next_attempt_at"])}
