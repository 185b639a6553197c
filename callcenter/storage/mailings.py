"""Mailings, their figures from the messages table, unsubscribes and the shops' carts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import carts, clients, mailings, messages, orders


async def list_mailings(conn: AsyncConnection, *, limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.execute(select(mailings).order_by(mailings.c.created_at.desc(),
                                                        mailings.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def get_mailing(conn: AsyncConnection, mailing_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(mailings).where(mailings.c.id == mailing_id))).first()
    return dict(row._mapping) if row else None


async def insert_mailing(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(mailings.insert().values(**values)
                               .returning(mailings.c.id))).scalar_one()


async def update_mailing(conn: AsyncConnection, mailing_id: int, values: dict[str, Any], *,
                         only_status: str | None = None) -> bool:
    """Update; with ``only_status`` only while the mailing still has that status (True when
    it did)."""
    stmt = mailings.update().where(mailings.c.id == mailing_id)
    if only_status is not None:
        stmt = stmt.where(mailings.c.status == only_status)
    return (await conn.execute(stmt.values(**values))).rowcount == 1


async def status_counts(conn: AsyncConnection, mailing_ids: list[int]) -> dict[int, dict[str, int]]:
    """{mailing_id: {status: n}} of the mailings' messages."""
    if not mailing_ids:
        return {}
    rows = await conn.execute(
        select(messages.c.mailing_id, messages.c.status, func.count())
        .where(messages.c.mailing_id.in_(mailing_ids), messages.c.kind == "mailing")
        .group_by(messages.c.mailing_id, messages.c.status))
    out: dict[int, dict[str, int]] = {i: {} for i in mailing_ids}
    for mailing_id, status, n in rows:
        out[mailing_id][status] = n
    return out


async def unsubscribed_after(conn: AsyncConnection, mailing_id: int, since: datetime) -> int:
    """Recipients of the mailing who unsubscribed after it started."""
    return (await conn.execute(
        select(func.count()).select_from(clients).where(
            clients.c.unsubscribed_at >= since,
            exists().where(and_(messages.c.client_id == clients.c.id,
                                messages.c.mailing_id == mailing_id,
                                messages.c.kind == "mailing"))))).scalar_one()


async def skip_queued(conn: AsyncConnection, mailing_id: int, now: datetime) -> int:
    result = await conn.execute(
        update(messages).where(messages.c.mailing_id == mailing_id,
                               messages.c.kind == "mailing", messages.c.status == "queued")
        .values(status="skipped", last_error="mailing cancelled", updated_at=now))
    return result.rowcount


async def unsubscribe(conn: AsyncConnection, client_id: int, now: datetime) -> bool:
    """Sets unsubscribed_at once; True when it was not set before."""
    result = await conn.execute(
        update(clients).where(clients.c.id == client_id, clients.c.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now, updated_at=now))
    return result.rowcount == 1


# carts

async def get_cart(conn: AsyncConnection, shop_id: int, external_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(carts).where(carts.c.shop_id == shop_id,
                                                  carts.c.external_id == external_id))).first()
    return dict(row._mapping) if row else None


async def insert_cart(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(carts.insert().values(**values)
                               .returning(carts.c.id))).scalar_one()


async def update_cart(conn: AsyncConnection, cart_id: int, values: dict[str, Any]) -> None:
    await conn.execute(carts.update().where(carts.c.id == cart_id).values(**values))


async def due_carts(conn: AsyncConnection, older_than: datetime, *,
                    limit: int = 200) -> list[dict[str, Any]]:
    """Carts last changed before ``older_than``, not ordered, not reminded, whose client has
    placed no order since the cart was last changed."""
    ordered_since = exists().where(and_(orders.c.client_id == carts.c.client_id,
                                        orders.c.created_at >= carts.c.updated_at))
    rows = await conn.execute(
        select(carts).where(carts.c.reminded_at.is_(None), carts.c.ordered_at.is_(None),
                            carts.c.updated_at <= older_than, ~ordered_since)
        .order_by(carts.c.updated_at, carts.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


async def mark_reminded(conn: AsyncConnection, cart_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(carts).where(carts.c.id == cart_id, carts.c.reminded_at.is_(None),
                            carts.c.ordered_at.is_(None))
        .values(reminded_at=now))
    return result.rowcount == 1




async def skip_client_mailings(conn: AsyncConnection, client_id: int, now: datetime) -> int:
    """The client's mailing messages still queued are not sent (they unsubscribed)."""
    result = await conn.execute(
        update(messages).where(messages.c.client_id == client_id, messages.c.kind == "mailing",
                               messages.c.status == "queued")
        .values(status="skipped", last_error="unsubscribed", updated_at=now))
    return result.rowcount


async def queue_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Queue several messages at once (one statement); rows whose dedupe_key exists are left
    out. Returns how many were new."""
    if not rows:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(messages).values(rows).on_conflict_do_nothing(
        index_elements=["dedupe_key"]).returning(messages.c.id)
    return len((await conn.execute(stmt)).all())
