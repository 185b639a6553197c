"""The ``recordings`` table: each call's recording, from the monitor directory to the stored file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from callcenter.storage.tables import calls, recordings

#: statuses a supervisor must look at: the recording never came, or could not be used
TROUBLE = ("missing", "failed")


async def recording_for_call(conn, call_id: int) -> dict[str, Any] | None:
    """The recording row of a call, or ``None``."""
    row = (await conn.execute(select(recordings).where(recordings.c.call_id == call_id))).first()
    return dict(row._mapping) if row is not None else None


async def recordings_for_calls(conn, call_ids: list[int]) -> dict[int, dict[str, Any]]:
    """call id -> recording row, for the calls that have one."""
    if not call_ids:
        return {}
    rows = await conn.execute(select(recordings).where(recordings.c.call_id.in_(call_ids)))
    return {row.call_id: dict(row._mapping) for row in rows}


async def troubled_recordings(conn, *, limit: int, offset: int) -> tuple[list[dict], int]:
    """Recordings flagged missing or failed, newest call first, with their call's columns
    (``call_*``), and how many there are."""
    where = recordings.c.status.in_(TROUBLE)
    total = (await conn.execute(select(func.count()).select_from(recordings).where(where))
             ).scalar_one()
    query = (select(recordings, calls.c.direction.label("call_direction"),
                    calls.c.caller.label("call_caller"), calls.c.callee.label("call_callee"),
                    calls.c.client_id.label("call_client_id"),
                    calls.c.answered_by_user_id.label("call_answered_by_user_id"),
                    calls.c.talk_seconds.label("call_talk_seconds"))
             .join(calls, calls.c.id == recordings.c.call_id).where(where)
             .order_by(recordings.c.call_started_at.desc(), recordings.c.call_id.desc())
             .limit(limit).offset(offset))
    return [dict(r._mapping) for r in await conn.execute(query)], total
