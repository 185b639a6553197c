"""Order stages, stage history and the board's queries: the only SQL about the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.tasks import OPEN
from callcenter.storage.orders import ORDER_COLUMNS
from callcenter.storage.tables import (
    clients, order_stage_changes, order_stages, orders, shops, tasks, users,
)

FOLLOWUP = "order_followup"
STAGE_COLUMNS = (order_stages.c.code, order_stages.c.name_ru, order_stages.c.name_en,
                 order_stages.c.position, order_stages.c.kind, order_stages.c.roles,
                 order_stages.c.next_task, order_stages.c.notify_event, order_stages.c.active)


async def stages_of(conn: AsyncConnection, shop_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(*STAGE_COLUMNS).where(order_stages.c.shop_id == shop_id)
                              .order_by(order_stages.c.position, order_stages.c.id))
    return [dict(r._mapping) for r in rows]


async def stages_of_shops(conn: AsyncConnection) -> dict[int, list[dict[str, Any]]]:
    rows = await conn.execute(select(order_stages.c.shop_id, *STAGE_COLUMNS)
                              .order_by(order_stages.c.position, order_stages.c.id))
    result: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        row = dict(r._mapping)
        result.setdefault(row.pop("shop_id"), []).append(row)
    return result


async def replace_stages(conn: AsyncConnection, shop_id: int,
                         stages: Sequence[dict[str, Any]]) -> None:
    """Save a shop's stage list: rows kept by code (updated), new ones inserted, those left out
    deleted (the service refuses to drop a stage that still holds orders)."""
    codes = [s["code"] for s in stages]
    await conn.execute(delete(order_stages).where(order_stages.c.shop_id == shop_id,
                                                  order_stages.c.code.not_in(codes)))
    existing = {r[0] for r in await conn.execute(
        select(order_stages.c.code).where(order_stages.c.shop_id == shop_id))}
    for stage in stages:
        values = {k: stage[k] for k in ("name_ru", "name_en", "position", "kind", "roles",
                                        "next_task", "notify_event", "active")}
        if stage["code"] in existing:
            await conn.execute(update(order_stages).where(
                order_stages.c.shop_id == shop_id, order_stages.c.code == stage["code"])
                .values(**values))
        else:
            await conn.execute(insert(order_stages).values(shop_id=shop_id, code=stage["code"],
                                                           **values))


async def order_counts(conn: AsyncConnection, shop_id: int) -> dict[str, int]:
    rows = await conn.execute(select(orders.c.status, func.count()).where(
        orders.c.shop_id == shop_id).group_by(orders.c.status))
    return {status: count for status, count in rows}


async def insert_change(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(insert(order_stage_changes).values(**values)
                               .returning(order_stage_changes.c.id))).scalar_one()


async def history(conn: AsyncConnection, order_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(order_stage_changes.c.from_stage, order_stage_changes.c.to_stage,
               order_stage_changes.c.user_id, order_stage_changes.c.login,
               order_stage_changes.c.at, order_stage_changes.c.seconds_in_previous,
               users.c.name.label("user_name"))
        .outerjoin(users, users.c.id == order_stage_changes.c.user_id)
        .where(order_stage_changes.c.order_id == order_id)
        .order_by(order_stage_changes.c.at, order_stage_changes.c.id))
    return [dict(r._mapping) for r in rows]


async def changes_between(conn: AsyncConnection, shop_id: int, start: datetime, end: datetime,
                          user_id: int | None = None) -> list[dict[str, Any]]:
    query = select(order_stage_changes.c.order_id, order_stage_changes.c.from_stage,
                   order_stage_changes.c.to_stage, order_stage_changes.c.user_id,
                   order_stage_changes.c.seconds_in_previous).where(
        order_stage_changes.c.shop_id == shop_id, order_stage_changes.c.at >= start,
        order_stage_changes.c.at < end)
    if user_id is not None:
        query = query.where(order_stage_changes.c.user_id == user_id)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def created_between(conn: AsyncConnection, shop_id: int, start: datetime,
                          end: datetime) -> list[dict[str, Any]]:
    """Orders created in the period with the stage they were created in (their first
    history row, from_stage null)."""
    rows = await conn.execute(
        select(order_stage_changes.c.order_id, order_stage_changes.c.to_stage.label("status"))
        .where(order_stage_changes.c.shop_id == shop_id, order_stage_changes.c.from_stage.is_(None),
               order_stage_changes.c.at >= start, order_stage_changes.c.at < end))
    return [dict(r._mapping) for r in rows]


async def user_names(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.name, users.c.login)
                              .where(users.c.id.in_(ids)))
    return {r.id: r.name or r.login for r in rows}


def _board_query(shop_id: int, q: str | None, operator_id: int | None,
                 own_operator_id: int | None):
    query = select(*ORDER_COLUMNS, orders.c.tracking_number, orders.c.stage_changed_at,
                   clients.c.name.label("client_name")) \
        .join(shops, shops.c.id == orders.c.shop_id) \
        .join(clients, clients.c.id == orders.c.client_id) \
        .where(orders.c.shop_id == shop_id)
    for owner in (operator_id, own_operator_id):
        if owner is not None:
            query = query.where(clients.c.assigned_operator_id == owner)
    if q and q.strip():
        text = q.strip().casefold()
        query = query.where((orders.c.number_key == text)
                            | clients.c.search_name.contains(text, autoescape=True))
    return query


async def board(conn: AsyncConnection, shop_id: int, codes: Sequence[str], *, q: str | None,
                operator_id: int | None, own_operator_id: int | None,
                per_column: int) -> dict[str, tuple[list[dict[str, Any]], int]]:
    """Per stage code: (its newest ``per_column`` orders, how many it holds)."""
    base = _board_query(shop_id, q, operator_id, own_operator_id)
    sub = base.subquery()
    counts = dict((await conn.execute(select(sub.c.status, func.count())
                                      .group_by(sub.c.status))).all())
    result = {}
    for code in codes:
        rows = await conn.execute(base.where(orders.c.status == code).order_by(
            orders.c.created_at.desc(), orders.c.id.desc()).limit(per_column))
        result[code] = ([dict(r._mapping) for r in rows], counts.get(code, 0))
    return result


async def stage_fields(conn: AsyncConnection, order_ids: Sequence[int]) -> dict[int, dict]:
    if not order_ids:
        return {}
    rows = await conn.execute(select(orders.c.id, orders.c.tracking_number,
                                     orders.c.stage_changed_at)
                              .where(orders.c.id.in_(order_ids)))
    return {r.id: {"tracking_number": r.tracking_number,
                   "stage_changed_at": r.stage_changed_at} for r in rows}


async def insert_followup(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(insert(tasks).values(kind=FOLLOWUP, status=OPEN, **values)
                               .returning(tasks.c.id))).scalar_one()


async def close_followups(conn: AsyncConnection, order_id: int, reason: str,
                          now: datetime) -> list[int]:
    """Close the order's open follow-up tasks (its stage moved on); their ids."""
    ids = [r[0] for r in await conn.execute(select(tasks.c.id).where(
        tasks.c.order_id == order_id, tasks.c.kind == FOLLOWUP, tasks.c.status == OPEN))]
    if ids:
        await conn.execute(update(tasks).where(tasks.c.id.in_(ids)).values(
            status="done", result=None, closed_at=now, closed_reason=reason, updated_at=now,
            claimed_by=None, claimed_at=None, lease_until=None))
    return ids
