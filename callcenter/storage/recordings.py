"""The ``recordings`` table: each call's recording, from the monitor directory to the stored file."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from callcenter.storage.tables import recordings, scheduler_jobs

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
    """Recordings flagged missing or failed, newest call first, and how many there are."""
    where = recordings.c.status.in_(TROUBLE)
    total = (await conn.execute(select(func.count()).select_from(recordings).where(where))
             ).scalar_one()
    query = (select(recordings).where(where)
             .order_by(recordings.c.call_started_at.desc(), recordings.c.call_id.desc())
             .limit(limit).offset(offset))
    return [dict(r._mapping) for r in await conn.execute(query)], total


# the pipeline (services.recording_pipeline)

PENDING = "pending"


async def enqueue(conn, rows: list[dict[str, Any]]) -> None:
    """Queue recordings (``call_id``, ``source``, ``parts``, ``call_started_at``, ``now``):
    status pending, due now. A call already queued is left as it is (a record stored twice,
    two processes racing)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = [{"call_id": r["call_id"], "source": r["source"], "parts": list(r["parts"]),
               "status": PENDING, "details": {}, "attempts": 0, "next_try_at": r["now"],
               "call_started_at": r["call_started_at"], "created_at": r["now"],
               "updated_at": r["now"]} for r in rows]
    await conn.execute(dialect.insert(recordings)
                       .on_conflict_do_nothing(index_elements=["call_id"]), values)


def _due(now: datetime):
    return and_(recordings.c.status == PENDING, recordings.c.next_try_at <= now,
                or_(recordings.c.lease_until.is_(None), recordings.c.lease_until < now))


async def due_ids(conn, now: datetime, limit: int) -> list[int]:
    """Recordings to work on now, oldest due first (not leased by any worker)."""
    rows = await conn.execute(select(recordings.c.call_id).where(_due(now))
                              .order_by(recordings.c.next_try_at, recordings.c.call_id)
                              .limit(limit))
    return [r.call_id for r in rows]


async def claim(conn, call_id: int, now: datetime, lease_until: datetime
                ) -> dict[str, Any] | None:
    """Lease one due recording; ``None`` when another worker (of any process) got it first:
    the UPDATE names the state it changes from, so only one claim can succeed."""
    result = await conn.execute(update(recordings)
                                .where(recordings.c.call_id == call_id, _due(now))
                                .values(lease_until=lease_until))
    if (result.rowcount or 0) != 1:
        return None
    return await recording_for_call(conn, call_id)


async def settle(conn, call_id: int, lease_until: datetime, values: dict[str, Any]) -> bool:
    """Store a worker's result and end its lease; False when the lease was not its own any
    more (it ran out and another worker took the row)."""
    result = await conn.execute(update(recordings)
                                .where(recordings.c.call_id == call_id,
                                       recordings.c.status == PENDING,
                                       recordings.c.lease_until == lease_until)
                                .values(lease_until=None, **values))
    return (result.rowcount or 0) == 1


async def release(conn, call_ids: list[int]) -> None:
    """End leases taken but not worked on (the pipeline stopped first)."""
    if call_ids:
        await conn.execute(update(recordings).where(recordings.c.call_id.in_(call_ids),
                                                    recordings.c.status == PENDING)
                           .values(lease_until=None))


async def next_due_at(conn) -> datetime | None:
    """When the earliest pending recording falls due (its lease's end, if leased)."""
    row = (await conn.execute(select(func.min(func.coalesce(recordings.c.lease_until,
                                                            recordings.c.next_try_at)))
                              .where(recordings.c.status == PENDING))).first()
    return row[0] if row else None


async def ask_again(conn, call_id: int, now: datetime) -> bool:
    """A supervisor's retry: pending, due now, attempts from zero, the wait counted from now.
    False when the call has no recording row or its recording is ready or deleted."""
    result = await conn.execute(
        update(recordings).where(recordings.c.call_id == call_id,
                                 recordings.c.status.in_((*TROUBLE, "empty", PENDING)))
        .values(status=PENDING, next_try_at=now, attempts=0, lease_until=None, error=None,
                created_at=now, updated_at=now))
    return (result.rowcount or 0) == 1


async def expired(conn, before: datetime, limit: int) -> list[dict[str, Any]]:
    """Ready recordings of calls that started before ``before``."""
    rows = await conn.execute(select(recordings.c.call_id, recordings.c.file)
                              .where(recordings.c.status == "ready",
                                     recordings.c.call_started_at < before)
                              .order_by(recordings.c.call_id).limit(limit))
    return [dict(r._mapping) for r in rows]


async def mark_deleted(conn, call_ids: list[int], now: datetime) -> int:
    if not call_ids:
        return 0
    result = await conn.execute(update(recordings).where(recordings.c.call_id.in_(call_ids),
                                                         recordings.c.status == "ready")
                                .values(status="deleted", updated_at=now))
    return result.rowcount or 0


async def take_daily_job(conn, name: str, now: datetime, every: timedelta) -> bool:
    """Move job ``name``'s mark in ``scheduler_jobs`` to ``now`` if it last ran ``every``
    ago or never; True for the one caller that moved it (a conditional UPDATE)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(dialect.insert(scheduler_jobs).on_conflict_do_nothing(
        index_elements=["name"]), [{"name": name, "last_run_at": None, "updated_at": now}])
    last = (await conn.execute(select(scheduler_jobs.c.last_run_at)
                               .where(scheduler_jobs.c.name == name))).scalar_one_or_none()
    if last is not None and now - last < every:
        return False
    result = await conn.execute(update(scheduler_jobs)
                                .where(scheduler_jobs.c.name == name,
                                       scheduler_jobs.c.last_run_at.is_not_distinct_from(last))
                                .values(last_run_at=now, updated_at=now))
    return (result.rowcount or 0) == 1
