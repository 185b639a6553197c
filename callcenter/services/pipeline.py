"""The order pipeline: a shop's stages, moving an order between them, the board and the funnel.

Moving an order (from ``PATCH /api/orders/{id}``, ``POST /api/orders/{id}/stage`` or a shop's
intake) happens inside the caller's write transaction (:meth:`PipelineService.move`): the
role check, the history row, ``stage_changed_at``, the follow-up task of the new stage (the old
one's closed) and the ``order.stage_changed`` event all commit together or not at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.pipeline import (
    StageErrors, default_stages, funnel, may_move, seconds_between, task_title, validate_stages,
)
from callcenter.domain.report_periods import PeriodError, parse_period
from callcenter.errors import Conflict, Forbidden, NotFound, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import clients as clients_repo
from callcenter.storage import orders as orders_repo
from callcenter.storage import pipeline as repo
from callcenter.storage.database import Database
from callcenter.storage.events import record_event

BOARD_PER_COLUMN = 50


def stage_json(stage: Mapping[str, Any], count: int | None = None) -> dict[str, Any]:
    out = {k: stage[k] for k in ("code", "name_ru", "name_en", "position", "kind", "roles",
                                 "next_task", "notify_event", "active")}
    if count is not None:
        out["orders"] = count
    return out


def _iso(value):
    return value.isoformat() if value is not None else None


class PipelineService:
    def __init__(self, db: Database, clock: Clock, clients: Any, *, timezone: str,
                 parcel_check_days: int = 7):
        self.db = db
        self.clock = clock
        self.clients = clients
        self.zone = ZoneInfo(timezone)
        self.parcel_check_days = parcel_check_days
        # TaskService.placement and the follow-up tasks' place in the next-task order
        # (create_app sets them)
        self.placement = None
        self.followup_rank = 0

    # stages

    def defaults(self) -> list[dict[str, Any]]:
        return default_stages(self.parcel_check_days)

    async def insert_defaults(self, conn: AsyncConnection, shop_id: int) -> None:
        await repo.replace_stages(conn, shop_id, self.defaults())

    async def stages(self, shop_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            if await orders_repo.get_shop(conn, shop_id=shop_id) is None:
                raise NotFound.entity("shop", shop_id)
            stages = await repo.stages_of(conn, shop_id)
            counts = await repo.order_counts(conn, shop_id)
        return {"shop_id": shop_id,
                "items": [stage_json(s, counts.get(s["code"], 0)) for s in stages]}

    async def active_codes(self, shop_id: int) -> list[str]:
        async with self.db.read() as conn:
            return [s["code"] for s in await repo.stages_of(conn, shop_id) if s["active"]]

    async def save_stages(self, actor: Actor, shop_id: int, data: Any) -> dict[str, Any]:
        """Replace a shop's stage list. A stage still holding orders cannot be dropped (make
        it inactive instead)."""
        body = data.get("stages") if isinstance(data, Mapping) else data
        try:
            stages = validate_stages(body)
        except StageErrors as exc:
            raise ValidationFailed.fields(exc.fields) from None
        now = self.clock()
        async with self.db.write() as conn:
            if await orders_repo.get_shop(conn, shop_id=shop_id) is None:
                raise NotFound.entity("shop", shop_id)
            old = {s["code"] for s in await repo.stages_of(conn, shop_id)}
            counts = await repo.order_counts(conn, shop_id)
            kept = {s["code"] for s in stages}
            busy = sorted(c for c in old - kept if counts.get(c))
            if busy:
                raise Conflict(f"Stage {', '.join(busy)} still holds orders: move them first "
                               "or make the stage inactive")
            await repo.replace_stages(conn, shop_id, stages)
            await audit.record(conn, at=now, action="pipeline.stages", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="shop", entity_id=shop_id,
                               details={"codes": [s["code"] for s in stages],
                                        "removed": sorted(old - kept),
                                        "added": sorted(kept - old)})
        return await self.stages(shop_id)

    # moves (inside the caller's transaction)

    async def check_target(self, conn: AsyncConnection, actor: Actor, shop_id: int,
                           code: str) -> dict[str, Any]:
        stages = await repo.stages_of(conn, shop_id)
        if not stages:  # a shop made before its stages were (e.g. straight in the database)
            await self.insert_defaults(conn, shop_id)
            stages = await repo.stages_of(conn, shop_id)
        stages = [s for s in stages if s["active"]]
        stage = next((s for s in stages if s["code"] == code), None)
        if stage is None:
            allowed = ", ".join(s["code"] for s in stages)
            raise ValidationFailed.fields({"status": f"unknown stage {code!r}; one of {allowed}"})
        if not may_move(actor.role, stage):
            raise Forbidden(f"Your role may not move orders to the stage “{stage['name_en']}” "
                            f"({code})")
        return stage

    async def entered(self, conn: AsyncConnection, actor: Actor, order: Mapping[str, Any],
                      now) -> None:
        """A new order entered its first stage: history row, follow-up task, events."""
        stage = await self.check_target(conn, actor, order["shop_id"], order["status"])
        await repo.insert_change(conn, {
            "order_id": order["id"], "shop_id": order["shop_id"], "from_stage": None,
            "to_stage": order["status"], "user_id": actor.user_id, "login": actor.login,
            "at": now, "seconds_in_previous": None})
        await self._open_followup(conn, actor, order, stage, now)
        await record_event(conn, type="order.created", at=now, entity="order",
                           entity_id=order["id"], payload={"order": order_event_json(order)})

    async def move(self, conn: AsyncConnection, actor: Actor, old: Mapping[str, Any],
                   to_stage: str, now, tracking_number: str | None = None) -> None:
        """Record the move of order ``old`` (its row before the change) to ``to_stage``; the
        caller has checked the target (:meth:`check_target`) and updates the row itself."""
        stage = await self.check_target(conn, actor, old["shop_id"], to_stage)
        since = old.get("stage_changed_at")
        await repo.insert_change(conn, {
            "order_id": old["id"], "shop_id": old["shop_id"], "from_stage": old["status"],
            "to_stage": to_stage, "user_id": actor.user_id, "login": actor.login, "at": now,
            "seconds_in_previous": seconds_between(since, now)})
        closed = await repo.close_followups(conn, old["id"], f"order_{to_stage}", now)
        for task_id in closed:
            await audit.record(conn, at=now, action="task.close", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="task", entity_id=task_id,
                               details={"kind": repo.FOLLOWUP, "reason": f"order_{to_stage}"})
        order = dict(old, status=to_stage)
        await self._open_followup(conn, actor, order, stage, now)
        tracking = old.get("tracking_number")
        await record_event(conn, type="order.stage_changed", at=now, entity="order",
                           entity_id=old["id"], payload={
                               "order_id": old["id"], "shop_id": old["shop_id"],
                               "client_id": old["client_id"], "number": old["number"],
                               "from_stage": old["status"], "to_stage": to_stage,
                               "notify_event": stage["notify_event"],
                               "tracking_number": tracking_number or tracking,
                               "user_id": actor.user_id, "at": now.isoformat()})

    async def _open_followup(self, conn: AsyncConnection, actor: Actor,
                             order: Mapping[str, Any], stage: Mapping[str, Any], now) -> None:
        if not stage.get("next_task"):
            return
        client = await clients_repo.get_client(conn, order["client_id"])
        if client is None or client["do_not_call"]:
            return
        phones = await clients_repo.phones_of(conn, [client["id"]])
        e164 = phones[0]["e164"] if phones else None
        due = now + timedelta(days=stage["next_task"]["in_days"])
        ready = ends = zone = None
        if self.placement is not None:
            ready, ends, zone = self.placement(dict(client, e164=e164, phone_e164=e164), due)
        task_id = await repo.insert_followup(conn, {
            "client_id": client["id"], "phone_e164": e164, "order_id": order["id"],
            "title": task_title(stage, order["number"]), "due_at": due, "ready_at": ready,
            "window_ends_at": ends, "timezone": zone, "rank": self.followup_rank,
            "attempts": 0, "created_by": actor.user_id, "created_at": now, "updated_at": now})
        await audit.record(conn, at=now, action="task.create", user_id=actor.user_id,
                           login=actor.login, ip=actor.ip, entity="task", entity_id=task_id,
                           details={"kind": repo.FOLLOWUP, "order_id": order["id"],
                                    "stage": stage["code"]})

    # reading

    async def history(self, order_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await repo.history(conn, order_id)
        return [{"from_stage": r["from_stage"], "to_stage": r["to_stage"],
                 "user_id": r["user_id"], "user_name": r["user_name"] or r["login"],
                 "at": r["at"].isoformat(), "seconds_in_previous": r["seconds_in_previous"]}
                for r in rows]

    async def board(self, actor: Actor, shop_id: int, *, q: str | None,
                    operator_id: int | None, per_column: int = BOARD_PER_COLUMN
                    ) -> dict[str, Any]:
        now = self.clock()
        async with self.db.read() as conn:
            shop = await orders_repo.get_shop(conn, shop_id=shop_id)
            if shop is None:
                raise NotFound.entity("shop", shop_id)
            stages = [s for s in await repo.stages_of(conn, shop_id) if s["active"]]
            columns = await repo.board(conn, shop_id, [s["code"] for s in stages], q=q,
                                       operator_id=operator_id,
                                       own_operator_id=self.clients.restricted_to(actor),
                                       per_column=per_column)
        return {"shop": {"id": shop["id"], "slug": shop["slug"], "name": shop["name"]},
                "stages": [dict(stage_json(s), count=columns[s["code"]][1], orders=[
                    board_card(o, now) for o in columns[s["code"]][0]]) for s in stages]}

    async def funnel(self, shop_id: int, query: Mapping[str, str],
                     operator_id: int | None) -> dict[str, Any]:
        try:
            period = parse_period(query, self.clock(), self.zone)
        except PeriodError as exc:
            raise ValidationFailed.fields(exc.fields, exc.message) from None
        async with self.db.read() as conn:
            if await orders_repo.get_shop(conn, shop_id=shop_id) is None:
                raise NotFound.entity("shop", shop_id)
            stages = await repo.stages_of(conn, shop_id)
            changes = await repo.changes_between(conn, shop_id, period.start, period.end,
                                                 operator_id)
            created = [] if operator_id is not None else await repo.created_between(
                conn, shop_id, period.start, period.end)
            changes = [c for c in changes if c["from_stage"] is not None]
            result = funnel(stages, changes, created)
            names = await repo.user_names(conn, [o["user_id"] for o in result["operators"]])
        for op in result["operators"]:
            op["name"] = names.get(op["user_id"], str(op["user_id"]))
        by_code = {s["code"]: s for s in stages}
        for row in result["stages"]:
            row.update(name_ru=by_code[row["code"]]["name_ru"],
                       name_en=by_code[row["code"]]["name_en"], kind=by_code[row["code"]]["kind"])
        return dict(result, shop_id=shop_id, **{"from": period.first.isoformat(),
                                                "to": period.last.isoformat()})


def order_event_json(o: Mapping[str, Any]) -> dict[str, Any]:
    """An order as the ``order.created`` event carries it."""
    return {"id": o["id"], "shop_id": o["shop_id"], "client_id": o["client_id"],
            "external_id": o.get("external_id"), "number": o["number"], "status": o["status"],
            "total": f"{o['total']:.2f}", "currency": o["currency"],
            "items": o.get("items") or [], "tracking_number": o.get("tracking_number"),
            "created_at": _iso(o.get("created_at"))}


def board_card(o: Mapping[str, Any], now) -> dict[str, Any]:
    since = o.get("stage_changed_at") or o["created_at"]
    return {"id": o["id"], "number": o["number"], "status": o["status"],
            "client_id": o["client_id"], "client_name": o["client_name"],
            "total": f"{o['total']:.2f}", "currency": o["currency"],
            "tracking_number": o["tracking_number"], "created_at": o["created_at"].isoformat(),
            "stage_changed_at": _iso(o.get("stage_changed_at")),
            "age_seconds": seconds_between(o["created_at"], now),
            "in_stage_seconds": seconds_between(since, now)}
