"""Segments as SQL: a validated filter (domain.segments) compiled to one query over clients.

The same query counts a segment (the live count in the builder) and lists a mailing's
recipients in pages by client id. It is SQLAlchemy Core only and reads the same on SQLite and
PostgreSQL: order figures come from one grouped subquery joined once; texts inside JSON (tags,
items) are matched on the JSON text, where non-ASCII letters are stored escaped (\\u0418).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import Text, and_, cast, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.segments import Bounds, needs_orders, text_forms
from callcenter.storage.tables import client_emails, client_phones, clients, orders, segments

_ESCAPE = "\\"


def _literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_text_contains(column, needle: str, dialect: str, *, whole: bool = False):
    """The JSON column's text contains ``needle`` (case-insensitive, Cyrillic included).
    ``whole``: as a whole JSON string (a tag), not a part of one. The stored text is ASCII
    (non-ASCII letters escaped), whose case SQLite's LIKE ignores by itself: ILIKE there would
    add a lower() of every row's text."""
    text = cast(column, Text)
    patterns = set()
    for form in text_forms(needle):
        encoded = json.dumps(form)
        patterns.add(encoded if whole else encoded[1:-1])
    like = text.ilike if dialect == "postgresql" else text.like
    return or_(*(like("%" + _literal(p) + "%", escape=_ESCAPE) for p in sorted(patterns)))


def _order_figures(flt: Mapping[str, Any]):
    query = select(orders.c.client_id.label("client_id"),
                   func.count(orders.c.id).label("n"),
                   func.sum(orders.c.total).label("spent"),
                   func.max(orders.c.created_at).label("last_at")).group_by(orders.c.client_id)
    if "shop_id" in flt:
        query = query.where(orders.c.shop_id == flt["shop_id"])
    return query.subquery("order_figures")


def _orders_of_client(flt: Mapping[str, Any], *more):
    """The client has an order (in the filter's shop) meeting ``more``: one uncorrelated
    subquery read once, not a lookup per client."""
    query = select(orders.c.client_id).where(*more)
    if "shop_id" in flt:
        query = query.where(orders.c.shop_id == flt["shop_id"])
    return clients.c.id.in_(query)


def segment_conditions(flt: Mapping[str, Any], bounds: Bounds, dialect: str = "sqlite"):
    """(from clause, conditions) of the clients in the segment. Order counts and sums come
    from one grouped subquery; the last order's date alone is asked of each client's orders
    through the index by client (cheaper than grouping every order)."""
    source = clients
    where = [clients.c.do_not_call == false(), clients.c.unsubscribed_at.is_(None)]
    for key, column in (("cities", clients.c.city), ("regions", clients.c.region)):
        if key in flt:
            where.append(column.in_(sorted({f for v in flt[key] for f in text_forms(v)})))
    if "timezones" in flt:
        where.append(clients.c.timezone.in_(flt["timezones"]))
    if bounds.born_on_or_before is not None:
        where.append(clients.c.birthday <= bounds.born_on_or_before)
    if bounds.born_after is not None:
        where.append(clients.c.birthday > bounds.born_after)
    if "tags_all" in flt:
        where.extend(_json_text_contains(clients.c.tags, t, dialect, whole=True)
                     for t in flt["tags_all"])
    if "tags_any" in flt:
        where.append(or_(*(_json_text_contains(clients.c.tags, t, dialect, whole=True)
                           for t in flt["tags_any"])))
    for key, table in (("has_email", client_emails), ("has_phone", client_phones)):
        if key in flt:
            has = exists().where(table.c.client_id == clients.c.id)
            where.append(has if flt[key] else ~has)
    aggregates = any(k in flt for k in ("orders_min", "orders_max", "spent_min", "spent_max"))
    if needs_orders(flt) and not aggregates:
        if bounds.last_order_from is not None:
            where.append(_orders_of_client(flt, orders.c.created_at >= bounds.last_order_from))
        if bounds.last_order_until is not None:
            where.append(_orders_of_client(flt))
            where.append(~_orders_of_client(flt, orders.c.created_at >= bounds.last_order_until))
    elif needs_orders(flt):
        figures = _order_figures(flt)
        source = clients.outerjoin(figures, figures.c.client_id == clients.c.id)
        n = func.coalesce(figures.c.n, 0)
        spent = func.coalesce(figures.c.spent, 0)
        if "orders_min" in flt:
            where.append(n >= flt["orders_min"])
        if "orders_max" in flt:
            where.append(n <= flt["orders_max"])
        if "spent_min" in flt:
            where.append(spent >= Decimal(flt["spent_min"]))
        if "spent_max" in flt:
            where.append(spent <= Decimal(flt["spent_max"]))
        if bounds.last_order_from is not None:
            where.append(figures.c.last_at >= bounds.last_order_from)
        if bounds.last_order_until is not None:
            where.append(figures.c.last_at < bounds.last_order_until)
    elif "shop_id" in flt and "product" not in flt:
        where.append(_orders_of_client(flt))  # a shop alone: its customers
    if "product" in flt:
        # per client (through the index by client): other conditions usually narrow the
        # clients first, and then few orders' texts are read
        bought = [orders.c.client_id == clients.c.id,
                  _json_text_contains(orders.c["items"], flt["product"], dialect)]
        if "shop_id" in flt:
            bought.append(orders.c.shop_id == flt["shop_id"])
        where.append(exists().where(and_(*bought)))
    return source, where


async def count_segment(conn: AsyncConnection, flt: Mapping[str, Any], bounds: Bounds) -> int:
    source, where = segment_conditions(flt, bounds, conn.dialect.name)
    return (await conn.execute(select(func.count()).select_from(source)
                               .where(*where))).scalar_one()


async def count_recipients(conn: AsyncConnection, flt: Mapping[str, Any], bounds: Bounds, *,
                           channel: str) -> int:
    """Clients of the segment with an address for the channel."""
    needed = "has_email" if channel == "email" else "has_phone"
    if flt.get(needed) is False:
        return 0
    return await count_segment(conn, dict(flt, **{needed: True}), bounds)


def _first_address(channel: str):
    if channel == "email":
        table, column = client_emails, client_emails.c.email
    else:
        table, column = client_phones, client_phones.c.e164
    # the first by position (then id): a correlated subquery, one per recipient of a page
    return (select(column).where(table.c.client_id == clients.c.id)
            .order_by(table.c.position, table.c.id).limit(1).scalar_subquery())


async def recipients_page(conn: AsyncConnection, flt: Mapping[str, Any], bounds: Bounds, *,
                          channel: str, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` clients of the segment with an address for the channel, by id after
    ``after_id``: {id, name, city, timezone, address}."""
    needed = "has_email" if channel == "email" else "has_phone"
    if flt.get(needed) is False:
        return []  # the segment is of clients with no address for this channel
    source, where = segment_conditions(dict(flt, **{needed: True}), bounds, conn.dialect.name)
    address = _first_address(channel).label("address")
    rows = await conn.execute(
        select(clients.c.id, clients.c.name, clients.c.city, clients.c.timezone, address)
        .select_from(source).where(clients.c.id > after_id, *where)
        .order_by(clients.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


# saved segments

async def list_segments(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(segments).order_by(segments.c.name, segments.c.id))
    return [dict(r._mapping) for r in rows]


async def get_segment(conn: AsyncConnection, segment_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(segments).where(segments.c.id == segment_id))).first()
    return dict(row._mapping) if row else None


async def insert_segment(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(segments.insert().values(**values)
                               .returning(segments.c.id))).scalar_one()


async def update_segment(conn: AsyncConnection, segment_id: int, values: dict[str, Any]) -> None:
    await conn.execute(segments.update().where(segments.c.id == segment_id).values(**values))


async def delete_segment(conn: AsyncConnection, segment_id: int) -> None:
    await conn.execute(segments.delete().where(segments.c.id == segment_id))
