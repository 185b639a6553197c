"""The outcome definitions operators press after a call: the only SQL about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import outcome_definitions as outcomes


async def list_outcomes(conn: AsyncConnection, *,
                        active_only: bool = False) -> list[dict[str, Any]]:
    query = select(outcomes).order_by(outcomes.c.position, outcomes.c.code)
    if active_only:
        query = query.where(outcomes.c.active.is_(True))
    return [dict(r._mapping) for r in await conn.execute(query)]


async def get_outcome(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(outcomes).where(outcomes.c.code == code))).first()
    return dict(row._mapping) if row else None


async def insert_outcome(conn: AsyncConnection, values: dict[str, Any], now: datetime) -> None:
    await conn.execute(insert(outcomes).values(**values, builtin=False, updated_at=now))


async def update_outcome(conn: AsyncConnection, code: str, values: dict[str, Any],
                         now: datetime) -> None:
    await conn.execute(update(outcomes).where(outcomes.c.code == code)
                       .values(**values, updated_at=now))
