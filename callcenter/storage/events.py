"""The outbox of events: written inside the transaction of the change they tell of."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import events

# event types: what webhooks may subscribe to, and what notifications listen for
EVENT_TYPES = ("call.started", "call.ended", "call.missed", "client.created", "client.updated",
               "order.created", "order.stage_changed", "task.done")


async def record_event(conn: AsyncConnection, *, type: str, at: datetime,
                       payload: dict[str, Any], entity: str | None = None,
                       entity_id: int | None = None) -> int:
    """Add one event to the outbox, in the caller's transaction; returns its id. ``payload``
    must be JSON-serialisable (datetimes as ISO text)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    result = await conn.execute(insert(events).values(
        type=type, entity=entity, entity_id=entity_id, payload=payload, at=at)
        .returning(events.c.id))
    return result.scalar_one()


async def claim_pending(conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    """The oldest events not dispatched yet, in id order, held for this transaction: locked
    rows on PostgreSQL (other processes skip them), the write lock on SQLite."""
    stmt = select(events).where(events.c.dispatched_at.is_(None)).order_by(events.c.id) \
        .limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    else:
        # SQLite takes its write lock at the first writing statement: write first (nothing),
        # so another process's dispatcher cannot read the same pending events in between
        await conn.execute(update(events).where(events.c.id == -1)
                           .values(attempts=events.c.attempts))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def mark_dispatched(conn: AsyncConnection, ids: list[int], at: datetime) -> None:
    if ids:
        await conn.execute(update(events).where(events.c.id.in_(ids)).values(dispatched_at=at))


async def mark_failed(conn: AsyncConnection, event_id: int, error: str, *, give_up: bool,
                      at: datetime) -> None:
    """Count a failed dispatch; an event given up on is marked dispatched with its error kept."""
    await conn.execute(update(events).where(events.c.id == event_id).values(
        attempts=events.c.attempts + 1, error=error[:500],
        dispatched_at=at if give_up else None))


async def purge_dispatched(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(delete(events).where(
        events.c.dispatched_at.is_not(None), events.c.dispatched_at < before))
    return result.rowcount


async def pending_count(conn: AsyncConnection) -> int:
    from sqlalchemy import func
    return (await conn.execute(select(func.count()).select_from(events).where(
        events.c.dispatched_at.is_(None)))).scalar_one()


def retention_cutoff(now: datetime, days: int = 30) -> datetime:
    return now - timedelta(days=days)
