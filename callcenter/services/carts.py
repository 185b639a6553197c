"""Abandoned carts: the shops' sites report carts; a customer who left one is reminded once.

A cart is due for a reminder when the site last changed it more than
CALLCENTER_CART_REMINDER_HOURS ago, it was not reported as ordered, nobody reminded of it yet,
and its client has placed no order since it was last changed. The reminder is the
``abandoned_cart`` customer notification (the notifications feature's template) queued as a
message; the background round also marks finished mailings as sent.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Mapping

from callcenter.domain.clients import FieldErrors
from callcenter.domain.orders import validate_order
from callcenter.errors import ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import clients as clients_repo
from callcenter.storage import mailings as repo
from callcenter.storage import orders as orders_repo
from callcenter.storage.database import Database
from callcenter.storage.messages import queue_message

log = logging.getLogger("callcenter.carts")

CART_FIELDS = ("external_id", "total", "currency", "items")


def cart_json(row: Mapping[str, Any]) -> dict[str, Any]:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": row["id"], "shop_id": row["shop_id"], "external_id": row["external_id"],
            "client_id": row["client_id"], "items": row["items"],
            "total": f"{row['total']:.2f}", "currency": row["currency"],
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
            "ordered_at": iso(row["ordered_at"]), "reminded_at": iso(row["reminded_at"])}


def cart_text(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{i.get('name') or i.get('sku') or '?'} × {i.get('qty', 1)}"
                     for i in items or [])


class CartService:
    def __init__(self, db: Database, clock: Clock, orders, *, reminder_hours: float,
                 poll_seconds: float = 60.0):
        self.db = db
        self.clock = clock
        self.orders = orders  # OrderService: finds or creates the customer
        self.reminder_hours = reminder_hours
        self.poll_seconds = poll_seconds
        self.rounds: list = []  # more async work for the same round (finish mailings)
        self.on_queued: list = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def intake(self, shop: Mapping[str, Any], data: Mapping[str, Any],
                     ip: str | None) -> tuple[dict[str, Any], bool]:
        """Create or update a cart by the shop's ``external_id``; ``"ordered": true`` marks
        it ordered (no reminder). Returns (cart, created)."""
        if not isinstance(data, Mapping):
            raise ValidationFailed.fields({"body": "must be a JSON object"})
        errors: dict[str, str] = {}
        fields = {k: v for k, v in data.items() if k in CART_FIELDS}
        for key in sorted(set(data) - set(CART_FIELDS) - {"customer", "ordered"}):
            errors[key[:40]] = "unknown field"
        try:
            values = validate_order(dict(fields, number="cart"), partial=False,
                                    allowed=CART_FIELDS + ("number",))
            values.pop("number")
            values.pop("status", None)
        except FieldErrors as exc:
            errors.update(exc.fields)
            values = {}
        if not isinstance(data.get("external_id"), (str, int)) or \
                isinstance(data.get("external_id"), bool):
            errors["external_id"] = "is required"
        ordered = data.get("ordered", False)
        if not isinstance(ordered, bool):
            errors["ordered"] = "must be true or false"
        client_input = self.orders.parse_customer(data.get("customer"), errors)
        if errors:
            raise ValidationFailed.fields(errors)
        actor = Actor(user_id=None, login=f"shop:{shop['slug']}", role=None, ip=ip,
                      name=shop["name"])
        now = self.clock()
        external_id = str(values["external_id"])
        async with self.db.write() as conn:
            await self.orders.take_turns(conn, "cart", shop["id"], external_id, client_input)
            client_id = await self.orders.find_or_create_client(conn, actor, client_input, now)
            existing = await repo.get_cart(conn, shop["id"], external_id)
            row = {"items": values["items"], "total": values["total"],
                   "currency": values["currency"], "updated_at": now}
            if ordered:
                row["ordered_at"] = (existing or {}).get("ordered_at") or now
            if existing:
                if existing["ordered_at"] is not None:
                    row["ordered_at"] = existing["ordered_at"]
                await repo.update_cart(conn, existing["id"], row)
                cart_id = existing["id"]
            else:
                cart_id = await repo.insert_cart(conn, dict(
                    row, shop_id=shop["id"], external_id=external_id, client_id=client_id,
                    created_at=now))
            cart = await repo.get_cart(conn, shop["id"], external_id)
        return cart_json(cart), existing is None

    async def remind_due(self) -> int:
        """Queue a reminder for every cart that is due; each cart is reminded once."""
        now = self.clock()
        older_than = now - timedelta(hours=self.reminder_hours)
        reminded = 0
        async with self.db.write() as conn:
            for cart in await repo.due_carts(conn, older_than):
                if not await repo.mark_reminded(conn, cart["id"], now):
                    continue
                await self._queue_reminder(conn, cart, now)
                reminded += 1
        if reminded:
            for callback in self.on_queued:
                callback()
        return reminded

    async def _queue_reminder(self, conn, cart: Mapping[str, Any], now) -> None:
        client = await clients_repo.get_client(conn, cart["client_id"])
        shop = await orders_repo.get_shop(conn, shop_id=cart["shop_id"])
        context = {"client_name": client["name"] if client else "",
                   "cart_items": cart_text(cart["items"]),
                   "cart_total": f"{cart['total']:.2f}", "currency": cart["currency"],
                   "shop_name": shop["name"] if shop else ""}
        dedupe = f"cart:{cart['id']}:abandoned_cart"
        try:  # the notifications feature's templates, where it is installed
            from callcenter.services.notifications import queue_event_message
        except ImportError:
            queue_event_message = None
        if queue_event_message is not None:
            await queue_event_message(conn, event="abandoned_cart", client_id=cart["client_id"],
                                      shop_id=cart["shop_id"], order_id=None, context=context,
                                      dedupe_key=dedupe, now=now)
            return
        emails = await clients_repo.emails_of(conn, [cart["client_id"]])
        address = emails[0]["email"] if emails else ""
        skip = None if address else "no e-mail address"
        if client is not None and client["do_not_call"]:
            skip = "do not contact"
        await queue_message(
            conn, kind="notification", channel="email", event="abandoned_cart",
            to_address=address or "-", client_id=cart["client_id"], shop_id=cart["shop_id"],
            subject=f"{context['shop_name']}: your cart is waiting",
            body=(f"{context['client_name']}, you left in your cart: {context['cart_items']} "
                  f"({context['cart_total']} {context['currency']})."),
            dedupe_key=dedupe + ":email", now=now,
            status="skipped" if skip else "queued", last_error=skip)

    # the background round

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="carts")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.remind_due()
                for extra in self.rounds:
                    await extra()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad round is logged; the next one tries again
                log.exception("abandoned-cart round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
