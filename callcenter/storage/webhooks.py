"""Webhooks and their deliveries: the SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import events, webhook_deliveries, webhooks

PENDING, DELIVERING, DELIVERED, FAILED = "pending", "delivering", "delivered", "failed"
STATUSES = (PENDING, DELIVERING, DELIVERED, FAILED)
# the delivery log's columns (everything but the body)
_LOG = [c for c in webhook_deliveries.c if c.name != "body"]


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Several outbox events in one statement (the call log's batches): each row has type,
    entity, entity_id, payload and at."""
    # one multi-row VALUES per 200: an executemany is a round trip per row on asyncpg
    for start in range(0, len(rows), 200):
        await conn.execute(insert(events).values(rows[start:start + 200]))


async def insert_webhook(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(webhooks).values(**values).returning(webhooks.c.id))
    return result.scalar_one()


async def get_webhook(conn: AsyncConnection, webhook_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(webhooks).where(webhooks.c.id == webhook_id))).first()
    return dict(row._mapping) if row else None


async def list_webhooks(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(webhooks).order_by(webhooks.c.id))
    return [dict(r._mapping) for r in rows]


async def active_webhooks(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(webhooks.c.id, webhooks.c.events)
                              .where(webhooks.c.active.is_(True)).order_by(webhooks.c.id))
    return [dict(r._mapping) for r in rows]


async def update_webhook(conn: AsyncConnection, webhook_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))


async def delete_webhook(conn: AsyncConnection, webhook_id: int) -> None:
    await conn.execute(delete(webhook_deliveries)
                       .where(webhook_deliveries.c.webhook_id == webhook_id))
    await conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


async def delivery_counts(conn: AsyncConnection) -> dict[int, dict[str, int]]:
    rows = await conn.execute(
        select(webhook_deliveries.c.webhook_id, webhook_deliveries.c.status, func.count())
        .group_by(webhook_deliveries.c.webhook_id, webhook_deliveries.c.status))
    counts: dict[int, dict[str, int]] = {}
    for webhook_id, status, count in rows:
        counts.setdefault(webhook_id, {})[status] = count
    return counts


async def insert_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Insert the deliveries not stored yet (by webhook and event): an event handed out again
    adds nothing. Returns how many were added."""
    if not rows:
        return 0
    keys = {(r["webhook_id"], r["event_id"]) for r in rows}
    existing = await conn.execute(
        select(webhook_deliveries.c.webhook_id, webhook_deliveries.c.event_id).where(
            webhook_deliveries.c.webhook_id.in_({k[0] for k in keys}),
            webhook_deliveries.c.event_id.in_({k[1] for k in keys})))
    have = {(w, e) for w, e in existing}
    fresh = [r for r in rows if (r["webhook_id"], r["event_id"]) not in have]
    for start in range(0, len(fresh), 200):
        await conn.execute(insert(webhook_deliveries).values(fresh[start:start + 200]))
    return len(fresh)


async def next_ping_id(conn: AsyncConnection, webhook_id: int) -> int:
    """Pings are not outbox events: each gets the next negative event id of its webhook."""
    lowest = (await conn.execute(select(func.min(webhook_deliveries.c.event_id)).where(
        webhook_deliveries.c.webhook_id == webhook_id))).scalar()
    return min(lowest or 0, 0) - 1


async def claim_due(conn: AsyncConnection, now: datetime, lease_until: datetime,
                    limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries of active webhooks (pending, or delivering with a
    lease run out: its process stopped) and lease them, in this transaction: locked rows
    skipped on PostgreSQL, each row taken by a conditional UPDATE, so two processes never send
    one row. Returns each with its webhook's url and secret."""
    due = or_(and_(webhook_deliveries.c.status == PENDING,
                   webhook_deliveries.c.next_attempt_at <= now),
              and_(webhook_deliveries.c.status == DELIVERING,
                   webhook_deliveries.c.lease_until < now))
    live = select(webhooks.c.id).where(webhooks.c.active.is_(True))
    stmt = (select(webhook_deliveries.c.id).where(due, webhook_deliveries.c.webhook_id.in_(live))
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = [r for r, in await conn.execute(stmt)]
    claimed = []
    for delivery_id in ids:
        result = await conn.execute(update(webhook_deliveries).where(
            webhook_deliveries.c.id == delivery_id, due).values(
            status=DELIVERING, lease_until=lease_until))
        if result.rowcount:
            claimed.append(delivery_id)
    if not claimed:
        return []
    rows = await conn.execute(
        select(webhook_deliveries, webhooks.c.url, webhooks.c.secret, webhooks.c.active)
        .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
        .where(webhook_deliveries.c.id.in_(claimed)).order_by(webhook_deliveries.c.id))
    return [dict(r._mapping) for r in rows]


async def finish_attempt(conn: AsyncConnection, delivery_id: int, values: dict[str, Any]) -> None:
    """Store an attempt's result, only while this row is still leased (being delivered)."""
    await conn.execute(update(webhook_deliveries).where(
        webhook_deliveries.c.id == delivery_id,
        webhook_deliveries.c.status == DELIVERING).values(lease_until=None, **values))


async def set_failing(conn: AsyncConnection, webhook_id: int, since: datetime | None) -> None:
    """Mark when a webhook's deliveries began to fail (kept while they go on failing), or
    clear it on a success."""
    stmt = update(webhooks).where(webhooks.c.id == webhook_id)
    if since is None:
        await conn.execute(stmt.values(failing_since=None))
    else:
        await conn.execute(stmt.where(webhooks.c.failing_since.is_(None))
                           .values(failing_since=since))


async def get_delivery(conn: AsyncConnection, delivery_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(webhook_deliveries)
                              .where(webhook_deliveries.c.id == delivery_id))).first()
    return dict(row._mapping) if row else None


async def retry_delivery(conn: AsyncConnection, delivery_id: int, now: datetime) -> None:
    """Due now again, with a fresh schedule; a delivery being sent right now is left alone."""
    await conn.execute(update(webhook_deliveries).where(
        webhook_deliveries.c.id == delivery_id,
        webhook_deliveries.c.status != DELIVERING).values(
        status=PENDING, next_attempt_at=now, attempts=0, lease_until=None))


async def list_deliveries(conn: AsyncConnection, webhook_id: int, *, status: str | None,
                          limit: int, before_id: int | None) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` pages on (the last id of the page before)."""
    stmt = select(*_LOG).where(webhook_deliveries.c.webhook_id == webhook_id)
    if status:
        stmt = stmt.where(webhook_deliveries.c.status == status)
    if before_id:
        stmt = stmt.where(webhook_deliveries.c.id < before_id)
    rows = await conn.execute(stmt.order_by(webhook_deliveries.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def next_due_at(conn: AsyncConnection) -> datetime | None:
    return (await conn.execute(select(func.min(webhook_deliveries.c.next_attempt_at)).where(
        webhook_deliveries.c.status == PENDING))).scalar()


async def purge_finished(conn: AsyncConnection, before: datetime) -> int:
    """Forget delivered and given-up deliveries created before ``before`` (the log's
    retention)."""
    result = await conn.execute(delete(webhook_deliveries).where(
        webhook_deliveries.c.status.in_((DELIVERED, FAILED)),
        webhook_deliveries.c.created_at < before))
    return result.rowcount
