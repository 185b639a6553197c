"""The call log and call-related tasks: the only SQL about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import calls, tasks, users


async def insert_call(conn: AsyncConnection, values: dict[str, Any]) -> tuple[int, bool]:
    """Store a call once: a second insert with the same ``call_key`` changes nothing.

    Returns (id, inserted).
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(calls).values(**values).on_conflict_do_nothing(
        index_elements=["call_key"]).returning(calls.c.id)
    new_id = (await conn.execute(stmt)).scalar_one_or_none()
    if new_id is not None:
        return new_id, True
    existing = (await conn.execute(
        select(calls.c.id).where(calls.c.call_key == values["call_key"]))).scalar_one()
    return existing, False


async def get_call(conn: AsyncConnection, call_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(calls).where(calls.c.id == call_id))).first()
    return dict(row._mapping) if row else None


async def update_call(conn: AsyncConnection, call_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(calls).where(calls.c.id == call_id).values(**values))


async def list_calls(conn: AsyncConnection, *, since: datetime | None, until: datetime | None,
                     operator_id: int | None, operator_endpoint: str | None,
                     client_id: int | None, direction: str | None, outcome: str | None,
                     limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    query = select(calls)
    if since is not None:
        query = query.where(calls.c.started_at >= since)
    if until is not None:
        query = query.where(calls.c.started_at < until)
    if operator_id is not None:
        conds = [calls.c.answered_by_user_id == operator_id]
        if operator_endpoint:
            conds.append(calls.c.placed_by == operator_endpoint)
        query = query.where(or_(*conds))
    if client_id is not None:
        query = query.where(calls.c.client_id == client_id)
    if direction:
        query = query.where(calls.c.direction == direction)
    if outcome:
        query = query.where(calls.c.outcome == outcome)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(query.order_by(calls.c.started_at.desc(), calls.c.id.desc())
                              .limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total


async def calls_of_client(conn: AsyncConnection, client_id: int,
                          limit: int = 20) -> list[dict[str, Any]]:
    rows = await conn.execute(select(calls).where(calls.c.client_id == client_id)
                              .order_by(calls.c.started_at.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def link_client_by_phones(conn: AsyncConnection, client_id: int,
                                e164s: Sequence[str]) -> None:
    """Attach earlier calls and tasks of these numbers that had no client to this client."""
    if not e164s:
        return
    await conn.execute(update(calls).where(
        calls.c.client_id.is_(None),
        or_(calls.c.caller_e164.in_(list(e164s)), calls.c.callee_e164.in_(list(e164s)))
    ).values(client_id=client_id))
    await conn.execute(update(tasks).where(
        tasks.c.client_id.is_(None), tasks.c.phone_e164.in_(list(e164s))
    ).values(client_id=client_id))


# tasks

async def open_callback_for(conn: AsyncConnection, e164: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(tasks).where(
        tasks.c.kind == "callback", tasks.c.status == "open", tasks.c.phone_e164 == e164))).first()
    return dict(row._mapping) if row else None


async def insert_task(conn: AsyncConnection, values: dict[str, Any]) -> int:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(tasks).values(**values).returning(tasks.c.id)
    return (await conn.execute(stmt)).scalar_one()


async def close_callbacks(conn: AsyncConnection, e164: str, reason: str, now: datetime) -> int:
    result = await conn.execute(update(tasks).where(
        tasks.c.kind == "callback", tasks.c.status == "open", tasks.c.phone_e164 == e164,
    ).values(status="done", closed_at=now, closed_reason=reason, updated_at=now))
    return result.rowcount or 0


async def touch_callback(conn: AsyncConnection, task_id: int, call_id: int,
                         now: datetime) -> None:
    await conn.execute(update(tasks).where(tasks.c.id == task_id).values(
        attempts=tasks.c.attempts + 1, call_id=call_id, updated_at=now))


async def open_tasks_of_client(conn: AsyncConnection, client_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(tasks).where(
        tasks.c.client_id == client_id, tasks.c.status == "open").order_by(tasks.c.due_at))
    return [dict(r._mapping) for r in rows]


async def list_tasks(conn: AsyncConnection, *, status: str | None, kind: str | None,
                     limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    query = select(tasks)
    if status:
        query = query.where(tasks.c.status == status)
    if kind:
        query = query.where(tasks.c.kind == kind)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(query.order_by(tasks.c.due_at, tasks.c.id).limit(limit)
                              .offset(offset))
    return [dict(r._mapping) for r in rows], total


async def user_names(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(list(ids))))
    return {r.id: r.name for r in rows}
