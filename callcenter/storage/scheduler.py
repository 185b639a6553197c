"""The scheduler's SQL: each step one conditional UPDATE, so running it twice changes nothing.

Every statement names the state it changes *from* in its WHERE clause (an open personal
callback not handed over yet, a lease that expired with no attempt since the claim, a task
whose calling window has passed), so a step that is repeated, raced by another process or
interrupted half-way and run again does each piece of work once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, bindparam, case, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import (
    audit_log, client_phones, clients, scheduler_jobs, task_attempts, tasks, users,
)

OPEN = "open"
#: the jobs whose progress is kept in ``scheduler_jobs``
JOBS = ("handover", "leases", "placement", "do_not_call", "tasks_due")


def _returning_rows(result) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def _handover_due(now: datetime, due_before: datetime):
    due = func.coalesce(tasks.c.ready_at, tasks.c.due_at)
    return and_(tasks.c.status == OPEN, tasks.c.kind == "callback",
                tasks.c.assigned_to.is_not(None),
                # a handover before its present due time (it was given to someone again since)
                # does not count
                or_(tasks.c.handed_over_at.is_(None), tasks.c.handed_over_at < due),
                due <= due_before,
                # not while its owner works on it (their live lease)
                or_(tasks.c.lease_until.is_(None), tasks.c.lease_until < now,
                    tasks.c.claimed_by.is_distinct_from(tasks.c.assigned_to)))


async def hand_over_callbacks(conn: AsyncConnection, now: datetime, due_before: datetime,
                              *, rank: int, rank_after_failure: int) -> list[dict[str, Any]]:
    """Personal callbacks still open and due (their ready time, else their due time) at or
    before ``due_before`` go to anyone: ``assigned_to`` NULL, ``handed_over_at`` now, and the
    place in the next-task order of anyone's callback (``rank``, or ``rank_after_failure``
    once an attempt failed).

    Returns the tasks handed over (id, the previous owner as ``assigned_to``, client_id,
    due_at, ready_at), in due order."""
    candidates = [dict(r._mapping) for r in await conn.execute(
        select(tasks.c.id, tasks.c.assigned_to, tasks.c.client_id, tasks.c.due_at,
               tasks.c.ready_at)
        .where(_handover_due(now, due_before))
        .order_by(func.coalesce(tasks.c.ready_at, tasks.c.due_at), tasks.c.id))]
    done: set[int] = set()
    for start in range(0, len(candidates), 1000):
        chunk = [c["id"] for c in candidates[start:start + 1000]]
        result = await conn.execute(
            update(tasks).where(tasks.c.id.in_(chunk), _handover_due(now, due_before))
            .values(assigned_to=None, handed_over_at=now, updated_at=now,
                    rank=case((tasks.c.failures > 0, rank_after_failure), else_=rank))
            .returning(tasks.c.id))
        done.update(r.id for r in result)
    return [c for c in candidates if c["id"] in done]


async def release_expired_leases(conn: AsyncConnection, now: datetime) -> list[int]:
    """Leases that ran out with no attempt recorded since the claim go back to the pool.
    Returns the tasks' ids."""
    attempted = exists().where(task_attempts.c.task_id == tasks.c.id,
                               task_attempts.c.at >= tasks.c.claimed_at)
    result = await conn.execute(
        update(tasks)
        .where(tasks.c.status == OPEN, tasks.c.lease_until.is_not(None),
               tasks.c.lease_until < now, ~attempted)
        .values(claimed_by=None, claimed_at=None, lease_until=None, updated_at=now)
        .returning(tasks.c.id))
    return [r.id for r in result]


def _do_not_call_clients():
    return select(clients.c.id).where(clients.c.do_not_call.is_(True))


def _do_not_call_numbers():
    return (select(client_phones.c.e164).join(clients, clients.c.id == client_phones.c.client_id)
            .where(clients.c.do_not_call.is_(True)))


async def archive_do_not_call(conn: AsyncConnection, now: datetime) -> list[dict[str, Any]]:
    """Open tasks of do-not-call clients (by the task's client, or, for a task with no
    client, by a number that belongs to one) are archived with reason ``do_not_call``."""
    result = await conn.execute(
        update(tasks)
        .where(tasks.c.status == OPEN,
               or_(tasks.c.client_id.in_(_do_not_call_clients()),
                   and_(tasks.c.client_id.is_(None),
                        tasks.c.phone_e164.in_(_do_not_call_numbers()))))
        .values(status="archived", closed_at=now, closed_reason="do_not_call",
                claimed_by=None, claimed_at=None, lease_until=None, updated_at=now)
        .returning(tasks.c.id, tasks.c.client_id, tasks.c.kind))
    return _returning_rows(result)


async def tasks_to_place(conn: AsyncConnection, now: datetime, *, after_id: int,
                         limit: int) -> list[dict[str, Any]]:
    """Open tasks never placed in a calling window (``ready_at`` NULL) or whose window has
    passed (``window_ends_at`` <= now), with what placement needs of their client, by id."""
    rows = await conn.execute(
        select(tasks.c.id, tasks.c.due_at, tasks.c.ready_at, tasks.c.window_ends_at,
               tasks.c.phone_e164, tasks.c.client_id, clients.c.timezone, clients.c.city,
               clients.c.region, clients.c.name, clients.c.do_not_call)
        .select_from(tasks.outerjoin(clients, clients.c.id == tasks.c.client_id))
        .where(tasks.c.status == OPEN, tasks.c.id > after_id,
               or_(tasks.c.ready_at.is_(None), tasks.c.window_ends_at <= now))
        .order_by(tasks.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


_PLACE = (
    update(tasks)
    .where(tasks.c.id == bindparam("_id"), tasks.c.status == OPEN,
           # unchanged since it was read: an outcome saved meanwhile has placed it itself
           tasks.c.ready_at.is_not_distinct_from(bindparam("_old_ready")),
           tasks.c.window_ends_at.is_not_distinct_from(bindparam("_old_ends")))
    .values(ready_at=bindparam("_ready"), window_ends_at=bindparam("_ends"),
            timezone=bindparam("_zone"), updated_at=bindparam("_now"))
)


async def place_tasks(conn: AsyncConnection, placements: Sequence[dict[str, Any]]) -> None:
    """Set each task's calling window; each row: _id, _old_ready, _old_ends, _ready, _ends,
    _zone, _now."""
    if placements:
        await conn.execute(_PLACE, list(placements))


async def job_marks(conn: AsyncConnection) -> dict[str, datetime | None]:
    rows = await conn.execute(select(scheduler_jobs.c.name, scheduler_jobs.c.last_run_at))
    return {r.name: r.last_run_at for r in rows}


async def ensure_jobs(conn: AsyncConnection, now: datetime) -> None:
    """One row per job; a new ``tasks_due`` starts at ``now`` (nothing before it is pushed)."""
    have = set(await job_marks(conn))
    missing = [{"name": name, "last_run_at": now if name == "tasks_due" else None,
                "updated_at": now} for name in JOBS if name not in have]
    if missing:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(scheduler_jobs).on_conflict_do_nothing(index_elements=["name"])
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(scheduler_jobs).on_conflict_do_nothing(index_elements=["name"])
        await conn.execute(stmt, missing)


async def mark_job(conn: AsyncConnection, name: str, now: datetime) -> None:
    await conn.execute(update(scheduler_jobs).where(scheduler_jobs.c.name == name)
                       .values(last_run_at=now, updated_at=now))


async def advance_watermark(conn: AsyncConnection, name: str, old: datetime | None,
                            new: datetime) -> bool:
    """Move a job's watermark from ``old`` to ``new``; False when it is not at ``old`` any
    more (another scheduler moved it: the work between them is theirs)."""
    result = await conn.execute(
        update(scheduler_jobs)
        .where(scheduler_jobs.c.name == name,
               scheduler_jobs.c.last_run_at.is_not_distinct_from(old))
        .values(last_run_at=new, updated_at=new))
    return (result.rowcount or 0) == 1


async def callbacks_falling_due(conn: AsyncConnection, after: datetime,
                                until: datetime) -> list[dict[str, Any]]:
    """Open personal callbacks that fell due in (after, until]: their ready time is in it, or
    they were created in it already due (a callback set for a moment gone by); in due order,
    with their client's and owner's names."""
    owner = users.alias("owner")
    rows = await conn.execute(
        select(tasks, clients.c.name.label("client_name"),
               clients.c.do_not_call.label("client_do_not_call"),
               owner.c.name.label("assigned_to_name"))
        .select_from(tasks.outerjoin(clients, clients.c.id == tasks.c.client_id)
                     .outerjoin(owner, owner.c.id == tasks.c.assigned_to))
        .where(tasks.c.status == OPEN, tasks.c.kind == "callback",
               tasks.c.assigned_to.is_not(None),
               tasks.c.ready_at <= until,
               or_(tasks.c.ready_at > after, tasks.c.created_at > after))
        .order_by(tasks.c.ready_at, tasks.c.id))
    return [dict(r._mapping) for r in rows]


async def audit_many(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(audit_log), list(rows))


async def insert_order_task(conn: AsyncConnection, values: dict[str, Any]) -> int | None:
    """Open the ``order_confirmation`` task of a new order, unless that order has one
    already (any status). Returns its id, or None."""
    had = (await conn.execute(select(tasks.c.id).where(
        tasks.c.order_id == values["order_id"], tasks.c.kind == "order_confirmation")
        .limit(1))).first()
    if had is not None:
        return None
    result = await conn.execute(insert(tasks).values(kind="order_confirmation", status=OPEN,
                                                     **values).returning(tasks.c.id))
    return result.scalar_one()


async def close_order_tasks(conn: AsyncConnection, order_id: int, reason: str,
                            now: datetime) -> int:
    """Close the open ``order_confirmation`` task of an order whose status moved on."""
    result = await conn.execute(update(tasks).where(
        tasks.c.order_id == order_id, tasks.c.kind == "order_confirmation",
        tasks.c.status == OPEN).values(
        status="done", result=None, closed_at=now, closed_reason=reason, updated_at=now,
        claimed_by=None, claimed_at=None, lease_until=None))
    return result.rowcount
