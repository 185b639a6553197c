"""Shops and orders: the only SQL about them."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import clients, orders, shops

ORDER_COLUMNS = (
    orders.c.id, orders.c.shop_id, orders.c.client_id, orders.c.external_id, orders.c.number,
    orders.c.status, orders.c.total, orders.c.currency, orders.c["items"], orders.c.created_at,
    orders.c.updated_at, shops.c.slug.label("shop_slug"), shops.c.name.label("shop_name"),
    orders.c.tracking_number, orders.c.stage_changed_at,
)


async def insert_shop(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(insert(shops).values(**values).returning(shops.c.id))).scalar_one()


async def update_shop(conn: AsyncConnection, shop_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(shops).where(shops.c.id == shop_id).values(**values))


async def list_shops(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(shops.c.id, shops.c.slug, shops.c.name).order_by(shops.c.id))
    return [dict(r._mapping) for r in rows]


async def get_shop(conn: AsyncConnection, *, shop_id: int | None = None,
                   slug: str | None = None) -> dict[str, Any] | None:
    query = select(shops)
    query = query.where(shops.c.id == shop_id) if shop_id is not None else query.where(
        shops.c.slug == slug)
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def insert_order(conn: AsyncConnection, values: dict[str, Any]) -> int:
    values = dict(values, number_key=values["number"].casefold())
    return (await conn.execute(insert(orders).values(**values).returning(orders.c.id))).scalar_one()


async def update_order(conn: AsyncConnection, order_id: int, values: dict[str, Any]) -> None:
    if "number" in values:
        values = dict(values, number_key=values["number"].casefold())
    await conn.execute(update(orders).where(orders.c.id == order_id).values(**values))


def _query():
    return select(*ORDER_COLUMNS).join(shops, shops.c.id == orders.c.shop_id)


async def get_order(conn: AsyncConnection, order_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_query().where(orders.c.id == order_id))).first()
    return dict(row._mapping) if row else None


async def get_order_by_external(conn: AsyncConnection, shop_id: int,
                                external_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_query().where(
        orders.c.shop_id == shop_id, orders.c.external_id == external_id))).first()
    return dict(row._mapping) if row else None


async def orders_of_clients(conn: AsyncConnection,
                            client_ids: Sequence[int]) -> list[dict[str, Any]]:
    rows = await conn.execute(_query().where(orders.c.client_id.in_(client_ids))
                              .order_by(orders.c.created_at.desc(), orders.c.id.desc()))
    return [dict(r._mapping) for r in rows]


async def search_orders(conn: AsyncConnection, *, client_id: int | None, q: str | None,
                        status: str | None, limit: int, offset: int,
                        own_operator_id: int | None = None, shop_id: int | None = None
                        ) -> tuple[list[dict[str, Any]], int]:
    """Orders matching the filters, newest first; with ``own_operator_id`` only orders of
    the clients assigned to that operator."""
    query = _query()
    if own_operator_id is not None:
        query = query.where(orders.c.client_id.in_(
            select(clients.c.id).where(clients.c.assigned_operator_id == own_operator_id)))
    if client_id is not None:
        query = query.where(orders.c.client_id == client_id)
    if q:
        query = query.where(orders.c.number_key == q.strip().casefold())
    if status:
        query = query.where(orders.c.status == status)
    if shop_id is not None:
        query = query.where(orders.c.shop_id == shop_id)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(query.order_by(orders.c.created_at.desc(), orders.c.id.desc())
                              .limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total
