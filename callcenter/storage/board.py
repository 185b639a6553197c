"""What the live board reads from the call log: the calls of the day, for operators' counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import calls

_COLUMNS = (calls.c.direction, calls.c.outcome, calls.c.answered_by_user_id, calls.c.placed_by,
            calls.c.operators_rung, calls.c.talk_seconds, calls.c.disposition)


async def calls_since(conn: AsyncConnection, since: datetime, *,
                      user_id: int | None = None, extension: str | None = None,
                      outcomes_only: bool = False) -> list[dict[str, Any]]:
    """The finished calls started at or after ``since`` (those still in progress are left out:
    they count once they end). With ``user_id``, only the rows that may be that operator's
    (answered by them, placed from ``extension``, or missed: whom those rang is in
    ``operators_rung``, a JSON list read by the caller). ``outcomes_only``: only the rows
    with an after-call outcome (``disposition``)."""
    query = select(*_COLUMNS).where(calls.c.started_at >= since,
                                    calls.c.status != "in_progress")
    if user_id is not None:
        mine = [calls.c.answered_by_user_id == user_id, calls.c.outcome == "missed"]
        if extension:
            mine.append(calls.c.placed_by == extension)
        query = query.where(or_(*mine))
    if outcomes_only:
        query = query.where(calls.c.disposition.is_not(None))
    return [dict(r._mapping) for r in await conn.execute(query)]
