"""The call log and call-related tasks: the only SQL about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import calls, client_phones, clients, tasks, users


def _clients_of(operator_id: int):
    return select(clients.c.id).where(clients.c.assigned_operator_id == operator_id)


def visible_calls(operator_id: int, endpoint: str | None):
    """The condition on ``calls`` an operator limited to their own clients sees: calls of
    their clients, and calls with no client that they answered or placed
    (``domain.access.may_see_call`` is the same rule in Python)."""
    took_part = [calls.c.answered_by_user_id == operator_id]
    if endpoint:
        took_part.append(calls.c.placed_by == endpoint)
    return or_(calls.c.client_id.in_(_clients_of(operator_id)),
               and_(calls.c.client_id.is_(None), or_(*took_part)))


def visible_tasks(operator_id: int):
    """Tasks of the operator's own clients, and tasks with no client given to them."""
    return or_(tasks.c.client_id.in_(_clients_of(operator_id)),
               and_(tasks.c.client_id.is_(None),
                    or_(tasks.c.assigned_to == operator_id, tasks.c.claimed_by == operator_id)))


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


IN_PROGRESS, COMPLETED, UNKNOWN = "in_progress", "completed", "unknown"
#: SQLite's bound-parameter limit is 32,766; keep IN lists well below any driver's limit
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def call_states(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """call_key -> (id, status) of the stored calls among ``keys``.

    On PostgreSQL the rows are locked until the transaction ends, so that two processes
    completing the same call cannot both see it unfinished (its tasks would run twice)."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(list(keys)):
        query = select(calls.c.call_key, calls.c.id, calls.c.status).where(
            calls.c.call_key.in_(chunk))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        for row in await conn.execute(query):
            found[row.call_key] = (row.id, row.status)
    return found


async def insert_calls(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert many calls in one statement; a ``call_key`` already stored is skipped (not
    returned). Every row must have the same columns. Returns call_key -> new id."""
    if not rows:
        return {}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(calls).on_conflict_do_nothing(index_elements=["call_key"]) \
        .returning(calls.c.call_key, calls.c.id)
    result = await conn.execute(stmt, list(rows))
    return {r.call_key: r.id for r in result}


async def complete_calls(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Overwrite unfinished calls (``in_progress``/``unknown``) with their final values.

    Each row holds ``_id`` (the call's id) and the same call columns; a call already
    ``completed`` is left as it is (completed is final), and so are the operator's
    ``disposition`` and ``note``."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "_id"]
    stmt = update(calls).where(calls.c.id == bindparam("_id"),
                               calls.c.status != COMPLETED) \
        .values({c: bindparam(c) for c in columns})
    await conn.execute(stmt, [dict(r) for r in rows])


async def mark_vanished(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Overwrite in-progress calls with the guessed end of calls that vanished during an AMI
    outage (status ``unknown``; rows shaped as for :func:`complete_calls`). A call already
    ``unknown`` or ``completed`` is left as it is: a guess never beats what is stored."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "_id"]
    stmt = update(calls).where(calls.c.id == bindparam("_id"),
                               calls.c.status == IN_PROGRESS) \
        .values({c: bindparam(c) for c in columns})
    await conn.execute(stmt, [dict(r) for r in rows])


async def discard_unfinished(conn: AsyncConnection, keys: Sequence[str]) -> None:
    """Remove the in-progress rows of calls that turned out not to be customer calls (the
    consultation leg of an attended transfer lives on in the customer's call)."""
    for chunk in _chunks(list(keys)):
        await conn.execute(delete(calls).where(calls.c.call_key.in_(chunk),
                                               calls.c.status == IN_PROGRESS))


async def stale_in_progress(conn: AsyncConnection, started_before: datetime,
                            limit: int = 1000) -> list[tuple[int, str]]:
    """(id, call_key) of calls still in progress that started before ``started_before``."""
    rows = await conn.execute(
        select(calls.c.id, calls.c.call_key).where(
            calls.c.status == IN_PROGRESS, calls.c.started_at < started_before)
        .order_by(calls.c.started_at).limit(limit))
    return [(r.id, r.call_key) for r in rows]


async def close_as_unknown(conn: AsyncConnection, ids: Sequence[int]) -> int:
    """Close calls whose end never arrived: status and outcome ``unknown``, only those still
    in progress. Returns how many were closed."""
    closed = 0
    for chunk in _chunks(list(ids)):
        result = await conn.execute(update(calls).where(
            calls.c.id.in_(chunk), calls.c.status == IN_PROGRESS,
        ).values(status=UNKNOWN, outcome=UNKNOWN))
        closed += result.rowcount or 0
    return closed


async def get_call(conn: AsyncConnection, call_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(calls).where(calls.c.id == call_id))).first()
    return dict(row._mapping) if row else None


async def update_call(conn: AsyncConnection, call_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(calls).where(calls.c.id == call_id).values(**values))


async def list_calls(conn: AsyncConnection, *, since: datetime | None, until: datetime | None,
                     operator_id: int | None, operator_endpoint: str | None,
                     client_id: int | None, direction: str | None, outcome: str | None,
                     limit: int, offset: int, own_operator_id: int | None = None,
                     own_endpoint: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Calls matching the filters, newest first; with ``own_operator_id`` only those that
    operator may see when limited to their own clients."""
    query = select(calls)
    if own_operator_id is not None:
        query = query.where(visible_calls(own_operator_id, own_endpoint))
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

async def open_missed_call_for(conn: AsyncConnection, e164: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(tasks).where(
        tasks.c.kind == "missed_call", tasks.c.status == "open",
        tasks.c.phone_e164 == e164))).first()
    return dict(row._mapping) if row else None


async def open_missed_calls_for(conn: AsyncConnection,
                                e164s: Sequence[str]) -> dict[str, dict[str, Any]]:
    """e164 -> the open missed-call task of that number (at most one each)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(e164s))):
        rows = await conn.execute(select(tasks).where(
            tasks.c.kind == "missed_call", tasks.c.status == "open",
            tasks.c.phone_e164.in_(chunk)))
        for row in rows:
            found[row.phone_e164] = dict(row._mapping)
    return found


async def do_not_call_numbers(conn: AsyncConnection, e164s: Sequence[str]) -> set[str]:
    """The numbers among ``e164s`` that belong to a do-not-call client."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(e164s))):
        rows = await conn.execute(
            select(client_phones.c.e164).join(clients, clients.c.id == client_phones.c.client_id)
            .where(client_phones.c.e164.in_(chunk), clients.c.do_not_call.is_(True)))
        found.update(r.e164 for r in rows)
    return found


async def open_task_ids(conn: AsyncConnection, ids: Sequence[int]) -> set[int]:
    """The ids among ``ids`` of tasks that exist and are open."""
    found: set[int] = set()
    for chunk in _chunks(sorted(set(ids))):
        rows = await conn.execute(select(tasks.c.id).where(tasks.c.id.in_(chunk),
                                                           tasks.c.status == "open"))
        found.update(r.id for r in rows)
    return found


async def open_or_count_missed_call(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Open the missed-call task of a number, or, when one is open already (opened meanwhile
    outside the call log, e.g. through the API: uq_tasks_open_missed_call), count this call as
    one more attempt of it. Returns its id."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    where = text("status = 'open' AND kind = 'missed_call'")
    stmt = dialect.insert(tasks).values(**values).on_conflict_do_update(
        index_elements=[tasks.c.phone_e164], index_where=where,
        set_={"attempts": tasks.c.attempts + 1, "call_id": values["call_id"],
              "updated_at": values["updated_at"]}).returning(tasks.c.id)
    return (await conn.execute(stmt)).scalar_one()


async def insert_task(conn: AsyncConnection, values: dict[str, Any]) -> int:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(tasks).values(**values).returning(tasks.c.id)
    return (await conn.execute(stmt)).scalar_one()


async def close_missed_calls(conn: AsyncConnection, e164: str, reason: str,
                             now: datetime) -> int:
    result = await conn.execute(update(tasks).where(
        tasks.c.kind == "missed_call", tasks.c.status == "open", tasks.c.phone_e164 == e164,
    ).values(status="done", closed_at=now, closed_reason=reason, updated_at=now))
    return result.rowcount or 0


async def touch_missed_call(conn: AsyncConnection, task_id: int, call_id: int,
                            now: datetime) -> None:
    await conn.execute(update(tasks).where(tasks.c.id == task_id).values(
        attempts=tasks.c.attempts + 1, call_id=call_id, updated_at=now))


async def open_tasks_of_client(conn: AsyncConnection, client_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(tasks).where(
        tasks.c.client_id == client_id, tasks.c.status == "open").order_by(tasks.c.due_at))
    return [dict(r._mapping) for r in rows]


async def get_task(conn: AsyncConnection, task_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).first()
    return dict(row._mapping) if row else None


async def list_tasks(conn: AsyncConnection, *, status: str | None, kind: str | None,
                     limit: int, offset: int,
                     own_operator_id: int | None = None) -> tuple[list[dict[str, Any]], int]:
    query = select(tasks)
    if own_operator_id is not None:
        query = query.where(visible_tasks(own_operator_id))
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
