"""What playing recordings reads beside ``storage.recordings``: calls by id, the viewer's
phone."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import calls, users


async def calls_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """call id -> call row, for the ids that exist."""
    if not ids:
        return {}
    rows = await conn.execute(select(calls).where(calls.c.id.in_(list(ids))))
    return {row.id: dict(row._mapping) for row in rows}


async def extension_of(conn: AsyncConnection, user_id: int | None) -> str | None:
    """The user's softphone endpoint (PJSIP/101), or None."""
    if user_id is None:
        return None
    return (await conn.execute(select(users.c.extension).where(users.c.id == user_id))
            ).scalar_one_or_none()
