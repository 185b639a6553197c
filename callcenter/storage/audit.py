"""The audit log: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import audit_log


async def record(conn: AsyncConnection, *, at: datetime, action: str, user_id: int | None,
                 login: str | None, ip: str | None, entity: str | None = None,
                 entity_id: Any = None, details: dict[str, Any] | None = None) -> None:
    await conn.execute(insert(audit_log).values(
        at=at, action=action, user_id=user_id, login=login, ip=ip, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), details=details or {},
    ))


async def list_entries(conn: AsyncConnection, *, limit: int, offset: int, action: str | None,
                       user_id: int | None) -> tuple[list[dict[str, Any]], int]:
    query = select(audit_log)
    if action:
        query = query.where(audit_log.c.action == action)
    if user_id is not None:
        query = query.where(audit_log.c.user_id == user_id)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total
