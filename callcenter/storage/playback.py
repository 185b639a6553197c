"""What playing recordings reads and writes beside ``storage.recordings``: calls by id, the
viewer's phone, a recording sent back to the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import calls, recordings, users


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


async def reset_for_retry(conn: AsyncConnection, call_id: int, now: datetime) -> int:
    """Send a call's recording back to the pipeline (when none is wired to do it): pending,
    due now, no attempts, no error, no worker's lease, the wait counted from now. Returns how
    many rows changed (0: no recording, or a ready or deleted one)."""
    result = await conn.execute(update(recordings).where(
        recordings.c.call_id == call_id, recordings.c.status.not_in(("ready", "deleted"))
    ).values(status="pending", next_try_at=now, attempts=0, error=None, lease_until=None,
             created_at=now, updated_at=now))
    return result.rowcount or 0
