"""Orders and shops: manual orders, and orders sent by the shops' sites (idempotent intake).

A change of an order's ``status`` is a move in the shop's pipeline: :class:`PipelineService`
checks and records it in the same transaction (services/pipeline.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any, Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.clients import FieldErrors, validate_client
from callcenter.domain.orders import ORDER_FIELDS, validate_order
from callcenter.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from callcenter.services.clients import ClientService, order_json
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import clients as clients_repo
from callcenter.storage import locks
from callcenter.storage import orders as repo
from callcenter.storage import pipeline as pipeline_repo
from callcenter.storage import scheduler as scheduler_repo
from callcenter.storage.database import Database

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
INTAKE_FIELDS = tuple(f for f in ORDER_FIELDS if f not in ("client_id", "shop_id"))


def shop_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fields_error(exc: FieldErrors, prefix: str = "") -> ValidationFailed:
    return ValidationFailed.fields({prefix + k: v for k, v in exc.fields.items()})


class OrderService:
    def __init__(self, db: Database, clock: Clock, clients: ClientService):
        self.db = db
        self.clock = clock
        self.clients = clients
        # TaskService.placement and the place of order confirmations in the next-task order
        # (create_app sets them)
        self.placement = None
        self.confirmation_rank = 0
        # the pipeline (stage checks, history, follow-ups, events) and the outbox's wake-up
        # (create_app sets them)
        self.pipeline = None
        self.events_recorded = lambda: None

    # shops

    async def list_shops(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await repo.list_shops(conn)

    async def create_shop(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        slug, name = data.get("slug"), data.get("name")
        errors = {}
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            errors["slug"] = "lower-case letters, digits, - and _ (up to 64)"
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            errors["name"] = "is required (up to 200 characters)"
        if errors:
            raise ValidationFailed.fields(errors)
        token = secrets.token_urlsafe(32)
        now = self.clock()
        try:
            async with self.db.write() as conn:
                shop_id = await repo.insert_shop(conn, {
                    "slug": slug, "name": name.strip(), "token_hash": shop_token_hash(token),
                    "created_at": now})
                if self.pipeline is not None:
                    await self.pipeline.insert_defaults(conn, shop_id)
                await audit.record(conn, at=now, action="shop.create", user_id=actor.user_id,
                                   login=actor.login, ip=actor.ip, entity="shop",
                                   entity_id=shop_id, details={"slug": slug})
        except IntegrityError:
            raise Conflict(f"A shop with slug {slug!r} already exists") from None
        return {"id": shop_id, "slug": slug, "name": name.strip(), "token": token}

    async def rotate_token(self, actor: Actor, shop_id: int) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.write() as conn:
            shop = await repo.get_shop(conn, shop_id=shop_id)
            if shop is None:
                raise NotFound.entity("shop", shop_id)
            await repo.update_shop(conn, shop_id, {"token_hash": shop_token_hash(token)})
            await audit.record(conn, at=now, action="shop.token", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="shop", entity_id=shop_id)
        return {"id": shop_id, "slug": shop["slug"], "name": shop["name"], "token": token}

    async def authenticate_shop(self, slug: str, token: str | None) -> dict[str, Any]:
        async with self.db.read() as conn:
            shop = await repo.get_shop(conn, slug=slug)
        if shop is None:
            raise NotFound.entity("shop", slug)
        if not token or not shop["token_hash"] or not hmac.compare_digest(
                shop["token_hash"], shop_token_hash(token)):
            raise NotAuthenticated("A valid shop token is required (Authorization: Bearer …)")
        return shop

    # orders

    async def list_orders(self, actor: Actor, *, client_id: int | None, q: str | None,
                          status: str | None, limit: int, offset: int,
                          shop_id: int | None = None) -> dict[str, Any]:
        if client_id is not None:
            await self.clients.check_access(actor, client_id)
        async with self.db.read() as conn:
            rows, total = await repo.search_orders(
                conn, client_id=client_id, q=q, status=status, limit=limit, offset=offset,
                own_operator_id=self.clients.restricted_to(actor), shop_id=shop_id)
            stages = await pipeline_repo.stages_of_shops(conn)
        return {"items": [order_view(r, stages) for r in rows], "total": total}

    async def get(self, actor: Actor, order_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            order = await repo.get_order(conn, order_id)
            stages = {order["shop_id"]: await pipeline_repo.stages_of(conn, order["shop_id"])} \
                if order else {}
            client = await clients_repo.get_client(conn, order["client_id"]) if order else None
        if order is None:
            raise NotFound.entity("order", order_id)
        try:
            await self.clients.check_access(actor, order["client_id"])
        except NotFound:  # another operator's client: the order does not exist for this actor
            raise NotFound.entity("order", order_id) from None
        view = order_view(order, stages)
        view["client_name"] = client["name"] if client else None
        if self.pipeline is not None:
            view["stage_history"] = await self.pipeline.history(order_id)
        return view

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            values = validate_order(data, partial=False)
        except FieldErrors as exc:
            raise _fields_error(exc) from None
        await self.clients.check_access(actor, values["client_id"])
        now = self.clock()
        values.setdefault("created_at", now)
        values.update(updated_at=now, stage_changed_at=now)
        try:
            async with self.db.write() as conn:
                if await repo.get_shop(conn, shop_id=values["shop_id"]) is None:
                    raise ValidationFailed.fields({"shop_id": f"no shop {values['shop_id']}"})
                if values.get("external_id") is not None:
                    # the shop's intake of that order at the same moment then sees this one
                    await locks.lock_names(conn, intake_lock_names(
                        "order", values["shop_id"], values["external_id"]))
                order_id = await repo.insert_order(conn, values)
                await self._history_created(conn, actor, order_id, values, now)
        except IntegrityError:
            raise Conflict("This shop already has an order with that external id") from None
        self.events_recorded()
        return await self.get(actor, order_id)

    async def _history_created(self, conn: AsyncConnection, actor: Actor, order_id: int,
                               values: dict[str, Any], now) -> None:
        await clients_repo.insert_changes(conn, [{
            "entity": "order", "entity_id": order_id, "client_id": values["client_id"],
            "user_id": actor.user_id, "at": now, "field": "created", "old": None,
            "new": values["number"]}])
        await audit.record(conn, at=now, action="order.create", user_id=actor.user_id,
                           login=actor.login, ip=actor.ip, entity="order", entity_id=order_id,
                           details={"number": values["number"]})
        await self._open_confirmation(conn, actor, order_id, values, now)
        if self.pipeline is not None:
            await self.pipeline.entered(conn, actor, await repo.get_order(conn, order_id), now)

    async def _open_confirmation(self, conn: AsyncConnection, actor: Actor, order_id: int,
                                 values: dict[str, Any], now) -> None:
        """A new order opens one task to confirm it with its client, due now (not for a
        do-not-call client). Its calling window is set here when the task service is wired
        (``placement``), else by the scheduler's next round."""
        if values.get("status", "new") != "new":
            return  # an order that arrives confirmed, paid or shipped needs no confirmation
        client = await clients_repo.get_client(conn, values["client_id"])
        if client is None or client["do_not_call"]:
            return
        phones = await clients_repo.phones_of(conn, [client["id"]])
        e164 = phones[0]["e164"] if phones else None
        ready = ends = zone = None
        if self.placement is not None:
            ready, ends, zone = self.placement(dict(client, e164=e164, phone_e164=e164), now)
        task_id = await scheduler_repo.insert_order_task(conn, {
            "client_id": client["id"], "phone_e164": e164, "order_id": order_id,
            "title": f"Confirm order {values['number']}", "due_at": now, "ready_at": ready,
            "window_ends_at": ends, "timezone": zone, "rank": self.confirmation_rank,
            "attempts": 0, "created_by": actor.user_id, "created_at": now, "updated_at": now})
        if task_id is not None:
            await audit.record(conn, at=now, action="task.create", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="task", entity_id=task_id,
                               details={"kind": "order_confirmation", "order_id": order_id})

    async def update(self, actor: Actor, order_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            values = validate_order(data, partial=True)
        except FieldErrors as exc:
            raise _fields_error(exc) from None
        await self.get(actor, order_id)
        if "client_id" in values:  # moving the order to a client the actor may not see
            await self.clients.check_access(actor, values["client_id"])
        now = self.clock()
        try:
            async with self.db.write() as conn:
                if "shop_id" in values and \
                        await repo.get_shop(conn, shop_id=values["shop_id"]) is None:
                    raise ValidationFailed.fields({"shop_id": f"no shop {values['shop_id']}"})
                await self._apply_update(conn, actor, order_id, values, now)
        except IntegrityError:
            raise Conflict("This shop already has an order with that external id") from None
        self.events_recorded()
        return await self.get(actor, order_id)

    async def move(self, actor: Actor, order_id: int, data: Any) -> dict[str, Any]:
        """``POST /api/orders/{id}/stage`` {"stage", "tracking_number"?}: the same as a PATCH
        of ``status``."""
        if not isinstance(data, Mapping) or set(data) - {"stage", "tracking_number"} \
                or "stage" not in data:
            raise ValidationFailed.fields({"stage": 'give {"stage", "tracking_number"?}'})
        change = {"status": data["stage"]}
        if "tracking_number" in data:
            change["tracking_number"] = data["tracking_number"]
        return await self.update(actor, order_id, change)

    async def _apply_update(self, conn: AsyncConnection, actor: Actor, order_id: int,
                            values: dict[str, Any], now) -> None:
        old = await repo.get_order(conn, order_id)
        if "shop_id" in values and values["shop_id"] != old["shop_id"] \
                and "status" not in values and self.pipeline is not None:
            # another shop: its stages must have the order's stage
            await self.pipeline.check_target(conn, actor, values["shop_id"], old["status"])
        moved = "status" in values and values["status"] != old["status"]
        changed = [(f, old.get(f), v) for f, v in values.items() if old.get(f) != v]
        if moved and self.pipeline is not None:
            await self.pipeline.move(conn, actor, dict(old, shop_id=values.get(
                "shop_id", old["shop_id"])), values["status"], now,
                tracking_number=values.get("tracking_number"))
        if changed:
            extra = {"stage_changed_at": now} if moved else {}
            await repo.update_order(conn, order_id, dict(values, updated_at=now, **extra))
            await self.clients.record_changes(conn, actor, "order", order_id, old["client_id"],
                                              changed, now)
            if values.get("status", "new") != "new" and old.get("status") == "new":
                # confirmed (or cancelled) another way: its confirmation call is no longer owed
                await scheduler_repo.close_order_tasks(conn, order_id,
                                                       f"order_{values['status']}", now)

    def parse_customer(self, customer: Any, errors: dict[str, str]):
        """The ``customer`` of a shop's request ({name, phone, email, city}) as a client
        input, or None with its problems added to ``errors`` (also used by the cart intake)."""
        client_input = None
        if not isinstance(customer, Mapping):
            errors["customer"] = "is required: {name, phone, email, city}"
            return None
        for key in ("name", "phone", "email", "city"):
            if not isinstance(customer.get(key), (str, type(None))):
                errors[f"customer.{key}"] = "must be text or null"
        payload = {"name": customer.get("name"), "city": customer.get("city"),
                   "phones": [customer["phone"]] if customer.get("phone") else [],
                   "emails": [customer["email"]] if customer.get("email") else []}
        try:
            client_input = validate_client(payload, region=self.clients.region, partial=False)
        except FieldErrors as exc:
            errors.update({"customer." + k.replace("phones.0", "phone")
                           .replace("emails.0", "email"): v for k, v in exc.fields.items()})
        if client_input and not client_input.phones and not client_input.emails:
            errors["customer.phone"] = "a phone or an e-mail is required"
        return client_input

    async def take_turns(self, conn: AsyncConnection, kind: str, shop_id: int,
                         external_id: Any, client_input) -> None:
        """Start of an intake transaction: wait for any other intake (of any server process)
        of the same order or cart, or of a customer sharing a phone or an e-mail, to commit.
        What follows then sees what that one stored, so a resend at the same moment is
        answered as a resend, and one new customer becomes one client (there is no unique key
        on a client's phone). Nothing on SQLite, whose writes are serialised."""
        await locks.lock_names(conn, intake_lock_names(kind, shop_id, external_id,
                                                       client_input))

    async def find_or_create_client(self, conn: AsyncConnection, actor: Actor, client_input,
                                    now) -> int:
        """The client a shop's customer is: found by phone or e-mail (their new contacts
        added), else created. Called after :meth:`take_turns`."""
        matches = await self.clients.find_duplicates(conn, client_input)
        if matches:
            client_id = matches[0]["id"]
            await clients_repo.add_phones(conn, client_id, client_input.phones or [])
            await clients_repo.add_emails(conn, client_id, client_input.emails or [])
            return client_id
        return await self.clients.insert(conn, actor, client_input, now)

    async def intake(self, shop: dict[str, Any], data: Mapping[str, Any],
                     ip: str | None) -> tuple[dict[str, Any], bool]:
        """Create or update an order sent by a shop's site; find or create its client.

        Idempotent by the shop's ``external_id``. Everything happens in one transaction: a bad
        payload changes nothing. Returns (order, created).
        """
        if not isinstance(data, Mapping):
            raise ValidationFailed.fields({"body": "must be a JSON object"})
        errors: dict[str, str] = {}
        order_data = {k: v for k, v in data.items() if k != "customer"}
        try:
            values = validate_order(order_data, partial=False, allowed=INTAKE_FIELDS)
        except FieldErrors as exc:
            errors.update(exc.fields)
            values = {}
        if "external_id" not in data:
            errors["external_id"] = "is required"
        client_input = self.parse_customer(data.get("customer"), errors)
        if self.pipeline is not None and "status" in data and "status" not in errors:
            codes = await self.pipeline.active_codes(shop["id"])
            if codes and values.get("status") not in codes:
                errors["status"] = f"unknown stage {values.get('status')!r}; one of " \
                    + ", ".join(codes)
        if errors:
            raise ValidationFailed.fields(errors)
        actor = Actor(user_id=None, login=f"shop:{shop['slug']}", role=None, ip=ip,
                      name=shop["name"])
        now = self.clock()
        async with self.db.write() as conn:
            await self.take_turns(conn, "order", shop["id"], values["external_id"],
                                  client_input)
            client_id = await self.find_or_create_client(conn, actor, client_input, now)
            existing = await repo.get_order_by_external(conn, shop["id"], values["external_id"])
            values["client_id"] = existing["client_id"] if existing else client_id
            if existing:
                values.pop("created_at", None)
                if "status" not in order_data:  # a re-send without a status keeps the stage
                    values.pop("status", None)
                await self._apply_update(conn, actor, existing["id"], values, now)
                order_id = existing["id"]
            else:
                values.update(shop_id=shop["id"], updated_at=now, stage_changed_at=now)
                values.setdefault("created_at", now)
                order_id = await repo.insert_order(conn, values)
                await self._history_created(conn, actor, order_id, values, now)
            order = await repo.get_order(conn, order_id)
            stages = {shop["id"]: await pipeline_repo.stages_of(conn, shop["id"])}
        self.events_recorded()
        return order_view(order, stages), existing is None


def intake_lock_names(kind: str, shop_id: int, external_id: Any,
                      client_input=None) -> list[str]:
    """What intakes take turns on: the order (or cart) by its shop and external id, and the
    keys a client is found by — each normalised phone (E.164) and e-mail."""
    if client_input is None:
        return [f"{kind}:{shop_id}:{external_id}"]
    return [f"{kind}:{shop_id}:{external_id}",
            *(f"phone:{p.e164}" for p in client_input.phones or ()),
            *(f"email:{e.email}" for e in client_input.emails or ())]


def order_view(row: dict[str, Any], stages: Mapping[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """An order as the API shows it: with its stage's names and kind, and its tracking."""
    stage = next((s for s in stages.get(row["shop_id"], ()) if s["code"] == row["status"]),
                 None)
    changed = row.get("stage_changed_at")
    return dict(order_json(row), tracking_number=row.get("tracking_number"),
                stage_changed_at=changed.isoformat() if changed else None,
                stage={"code": row["status"],
                       "name_ru": stage["name_ru"] if stage else row["status"],
                       "name_en": stage["name_en"] if stage else row["status"],
                       "kind": stage["kind"] if stage else "open"})
