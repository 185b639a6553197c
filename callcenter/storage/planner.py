"""The planner's reads: where a client lives, and an operator's open tasks due in a span."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import client_phones, clients, tasks


async def client_place(conn: AsyncConnection, client_id: int) -> dict[str, Any] | None:
    """The client's timezone, city, region and first phone (E.164), or None."""
    first_phone = (select(client_phones.c.e164)
                   .where(client_phones.c.client_id == clients.c.id)
                   .order_by(client_phones.c.position, client_phones.c.id)
                   .limit(1).scalar_subquery())
    row = (await conn.execute(
        select(clients.c.id, clients.c.timezone, clients.c.city, clients.c.region,
               first_phone.label("e164"))
        .where(clients.c.id == client_id))).first()
    return dict(row._mapping) if row else None


async def open_task_times(conn: AsyncConnection, user_id: int, start: datetime,
                          end: datetime) -> list[datetime]:
    """Due times in ``[start, end)`` of the open tasks assigned to or claimed by ``user_id``
    (read through the (status, due_at) index: one day's open tasks at most)."""
    rows = await conn.execute(
        select(tasks.c.due_at)
        .where(tasks.c.status == "open", tasks.c.due_at >= start, tasks.c.due_at < end,
               or_(tasks.c.assigned_to == user_id, tasks.c.claimed_by == user_id)))
    return [r[0] for r in rows]
