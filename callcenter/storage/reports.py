"""The reports' reads: every figure is aggregated in SQL over one period; the only SQL of reports.

Each query reads one period's rows through an index made for it (migration 0011): the calls
through ``ix_calls_report``, which holds every column read, so a month of a million-call history
is a range scan of the index alone.  Results are small (one row per operator, direction,
outcome, outcome pressed and queue; one per quarter-hour): the services layer turns them into
figures.  Instants are half-open ``[start, end)`` in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger, Float, Integer, and_, bindparam, case, cast, func, literal, or_, select, text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import (
    UtcDateTime, agent_state_changes, calls, changes, operator_plans, orders,
    outcome_definitions, report_state_days, report_state_days_done, task_attempts, tasks, users,
)

#: calls still going on are not in reports; ``unknown`` ones (closed without their end) are,
#: counted as calls but neither answered nor missed
_REPORTED = calls.c.status != "in_progress"
_CUSTOMER_CALL = calls.c.direction.in_(("inbound", "outbound"))


def _period(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


def _seconds_between(conn: AsyncConnection, a, b):
    """Seconds from ``a`` to ``b`` (two datetimes) in SQL."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", b - a)
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def _epoch_seconds(conn: AsyncConnection, column):
    """A stored (UTC) instant as fractional seconds since the epoch."""
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", column), Float)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _later(conn: AsyncConnection, a, b):
    # SQLite's two-argument max() compares the stored ISO text, which sorts as time does
    return func.greatest(a, b) if conn.dialect.name == "postgresql" else func.max(a, b)


def _earlier(conn: AsyncConnection, a, b):
    return func.least(a, b) if conn.dialect.name == "postgresql" else func.min(a, b)


def _epoch(conn: AsyncConnection, column):
    """Whole seconds since the epoch of a stored (UTC) instant."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


async def call_groups(conn: AsyncConnection, start: datetime, end: datetime,
                      service_level_seconds: int) -> list[dict[str, Any]]:
    """The period's customer calls grouped by who answered, who placed it, direction, outcome,
    the outcome pressed and queue: count, wait (sum, count, max), talk seconds, and how many
    waited at most ``service_level_seconds``."""
    key = (calls.c.answered_by_user_id, calls.c.placed_by, calls.c.direction,
           calls.c.outcome, calls.c.disposition, calls.c.queue)
    stmt = (select(*key, func.count().label("n"),
                   func.coalesce(func.sum(calls.c.wait_seconds), 0).label("wait_sum"),
                   func.count(calls.c.wait_seconds).label("wait_n"),
                   func.max(calls.c.wait_seconds).label("wait_max"),
                   func.coalesce(func.sum(calls.c.talk_seconds), 0).label("talk_sum"),
                   func.coalesce(func.sum(case(
                       (calls.c.wait_seconds <= service_level_seconds, 1), else_=0)), 0)
                   .label("within_sl"))
            .where(_period(calls.c.started_at, start, end), _CUSTOMER_CALL, _REPORTED)
            .group_by(*key))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def missed_rings(conn: AsyncConnection, start: datetime,
                       end: datetime) -> dict[str, int]:
    """How many missed inbound calls of the period rang each endpoint (a call counted once per
    endpoint however often it rang it)."""
    # the calls are picked through the covering index first: filtering the table's rows
    # themselves reads every call of the period, not just the missed ones
    where = ("c.id IN (SELECT id FROM calls WHERE started_at >= :start AND started_at < :end "
             "AND direction = 'inbound' AND outcome = 'missed' AND status <> 'in_progress')")
    if conn.dialect.name == "postgresql":
        sql = ("SELECT e.endpoint, count(DISTINCT c.id) FROM calls c CROSS JOIN LATERAL "
               "json_array_elements_text(c.operators_rung) AS e(endpoint) "
               f"WHERE {where} GROUP BY e.endpoint")
    else:
        sql = ("SELECT e.value, count(DISTINCT c.id) FROM calls c, json_each(c.operators_rung) e "
               f"WHERE {where} GROUP BY e.value")
    stmt = text(sql).bindparams(bindparam("start", type_=UtcDateTime),
                                bindparam("end", type_=UtcDateTime))
    rows = await conn.execute(stmt, {"start": start, "end": end})
    return {endpoint: n for endpoint, n in rows if endpoint}


async def hour_counts(conn: AsyncConnection, start: datetime, end: datetime,
                      segments: list[tuple[datetime, datetime, int]]) -> list[dict[str, Any]]:
    """Calls per local hour, direction and outcome (``hour``, ``direction``, ``outcome``,
    ``n``); ``segments`` are the period's pieces of one UTC offset each
    (:func:`~callcenter.domain.report_periods.offset_segments`)."""
    out: dict[tuple, int] = {}
    for seg_start, seg_end, offset in segments:
        if conn.dialect.name == "postgresql":
            hour = (func.div(_epoch(conn, calls.c.started_at) + offset, 3600) % 24).label("hour")
        else:
            # the minute of the day read from the stored text ("YYYY-MM-DD HH:MM:SS.ffffff"),
            # cheaper than a date function per row; SQLite divides integers as integers
            minute = (cast(func.substr(calls.c.started_at, 12, 2), Integer) * 60
                      + cast(func.substr(calls.c.started_at, 15, 2), Integer))
            hour = ((minute + offset // 60 + 1440) / 60 % 24).label("hour")
        stmt = (select(hour, calls.c.direction, calls.c.outcome, func.count().label("n"))
                .where(_period(calls.c.started_at, max(start, seg_start), min(end, seg_end)),
                       _CUSTOMER_CALL, _REPORTED)
                .group_by(hour, calls.c.direction, calls.c.outcome))
        for r in await conn.execute(stmt):
            key = (int(r.hour), r.direction, r.outcome)
            out[key] = out.get(key, 0) + r.n
    return [{"hour": h, "direction": d, "outcome": o, "n": n} for (h, d, o), n in out.items()]


async def state_spans(conn: AsyncConnection, start: datetime, end: datetime,
                      now: datetime) -> list[dict[str, Any]]:
    """Seconds each operator spent in each state (and reason) within ``[start, min(end, now))``:
    ``user_id``, ``state``, ``reason``, ``seconds``, ``spans``.

    A state lasts from its change until the operator's next change; the state an operator was
    in when the period began (their last change before it) counts from the period's start, and
    the last state runs to the period's end, or to now for a period not over yet."""
    stop = min(end, now)
    s = agent_state_changes
    prev_at = (select(func.max(s.c.at)).where(s.c.user_id == users.c.id, s.c.at < start)
               .correlate(users).scalar_subquery())
    before = select(users.c.id.label("uid"), prev_at.label("prev")).subquery()
    carried = (select(s.c.user_id, s.c.at, s.c.state, s.c.reason)
               .join(before, and_(s.c.user_id == before.c.uid, s.c.at == before.c.prev)))
    # joined to users, so each operator's changes are one range of the (user_id, at) index
    inside = (select(s.c.user_id, s.c.at, s.c.state, s.c.reason)
              .select_from(users.join(s, and_(s.c.user_id == users.c.id, s.c.at >= start,
                                              s.c.at < stop))))
    rows = inside.union_all(carried).subquery()
    # instants as epoch seconds, once per row: the window and the clipping compare numbers
    timed = select(rows.c.user_id, rows.c.state, rows.c.reason,
                   _epoch_seconds(conn, rows.c.at).label("t")).subquery()
    start_t, stop_t = literal(start.timestamp(), Float), literal(stop.timestamp(), Float)
    following = func.lead(timed.c.t).over(partition_by=timed.c.user_id, order_by=timed.c.t)
    spans = select(
        timed.c.user_id, timed.c.state, timed.c.reason,
        (_earlier(conn, func.coalesce(following, stop_t), stop_t)
         - _later(conn, timed.c.t, start_t)).label("seconds")).subquery()
    stmt = (select(spans.c.user_id, spans.c.state, spans.c.reason,
                   func.sum(spans.c.seconds).label("seconds"), func.count().label("spans"))
            .where(spans.c.seconds > 0)
            .group_by(spans.c.user_id, spans.c.state, spans.c.reason))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def kept_days(conn: AsyncConnection, zone: str, first: date, last: date) -> set[date]:
    """The local days of ``first``..``last`` whose state time is kept."""
    d = report_state_days_done
    rows = await conn.execute(select(d.c.day).where(d.c.zone == zone, d.c.day >= first,
                                                    d.c.day <= last))
    return {r.day for r in rows}


async def kept_state_time(conn: AsyncConnection, zone: str, first: date,
                          last: date) -> list[dict[str, Any]]:
    """The kept state time of ``first``..``last``, summed as :func:`state_spans` answers."""
    k = report_state_days
    stmt = (select(k.c.user_id, k.c.state, k.c.reason, func.sum(k.c.seconds).label("seconds"),
                   func.sum(k.c.spans).label("spans"))
            .where(k.c.zone == zone, k.c.day >= first, k.c.day <= last)
            .group_by(k.c.user_id, k.c.state, k.c.reason))
    return [{**dict(r._mapping), "reason": r.reason or None} for r in await conn.execute(stmt)]


async def keep_day(conn: AsyncConnection, zone: str, day: date, spans: list[dict[str, Any]],
                   now: datetime) -> None:
    """Keep one local day's state time (what :func:`state_spans` answered for it); a day
    another process kept meanwhile is left as it is."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    done = (dialect.insert(report_state_days_done).values(zone=zone, day=day, computed_at=now)
            .on_conflict_do_nothing().returning(report_state_days_done.c.day))
    if (await conn.execute(done)).first() is None:
        return
    merged: dict[tuple, list] = {}
    for s in spans:  # no reason and an empty one are the same key here
        key = (s["user_id"], s["state"], s["reason"] or "")
        total = merged.setdefault(key, [0.0, 0])
        total[0] += float(s["seconds"])
        total[1] += s["spans"]
    if merged:
        await conn.execute(report_state_days.insert(), [
            {"zone": zone, "day": day, "user_id": uid, "state": state, "reason": reason,
             "seconds": seconds, "spans": count}
            for (uid, state, reason), (seconds, count) in merged.items()])


async def attempt_groups(conn: AsyncConnection, start: datetime,
                         end: datetime) -> list[dict[str, Any]]:
    """The period's redial attempts (on redial tasks, or tasks that failed once) by who made
    them and whether the client was reached: ``user_id``, ``placed_by`` (the endpoint of the
    attempt's call, for the PBX's own attempts), ``reached``, ``n``.  Reached: an outcome that
    is neither a failed attempt nor one that archives (a wrong number)."""
    od = outcome_definitions
    reached = case((and_(od.c.failed_attempt.is_(False), od.c.archives.is_(False)), 1),
                   else_=0).label("reached")
    a = task_attempts
    stmt = (select(a.c.user_id, calls.c.placed_by, reached, func.count().label("n"))
            .select_from(a.join(tasks, tasks.c.id == a.c.task_id)
                         .outerjoin(od, od.c.code == a.c.outcome)
                         .outerjoin(calls, calls.c.id == a.c.call_id))
            .where(_period(a.c.at, start, end),
                   or_(tasks.c.kind == "redial", tasks.c.failures > 0))
            .group_by(a.c.user_id, calls.c.placed_by, reached))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def callbacks_done(conn: AsyncConnection, start: datetime,
                         end: datetime) -> list[dict[str, Any]]:
    """Callbacks (tasks of kind ``callback``) done in the period: ``user_id`` (who made the
    attempt that closed it, else whom it was given to), ``n``, ``late_sum`` and ``late_n``
    (seconds after the time it was due, for those done late)."""
    a = task_attempts
    last_user = (select(a.c.user_id).where(a.c.task_id == tasks.c.id)
                 .order_by(a.c.id.desc()).limit(1).correlate(tasks).scalar_subquery())
    who = func.coalesce(last_user, tasks.c.assigned_to).label("user_id")
    late = _seconds_between(conn, tasks.c.due_at, tasks.c.closed_at)
    inner = (select(who, late.label("late"))
             .where(tasks.c.kind == "callback", tasks.c.status == "done",
                    _period(tasks.c.closed_at, start, end))).subquery()
    stmt = (select(inner.c.user_id, func.count().label("n"),
                   func.coalesce(func.sum(case((inner.c.late > 0, inner.c.late), else_=0)), 0)
                   .label("late_sum"),
                   func.count(case((inner.c.late > 0, 1))).label("late_n"))
            .group_by(inner.c.user_id))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def confirmed_orders(conn: AsyncConnection, start: datetime,
                           end: datetime) -> list[dict[str, Any]]:
    """Orders whose status was set to ``confirmed`` in the period, by who set it: ``user_id``,
    ``n`` (orders, each once per user) and ``sales`` (their totals, as Decimal)."""
    picked = (select(changes.c.user_id, changes.c.entity_id).distinct()
              .where(changes.c.field == "status", _period(changes.c.at, start, end),
                     changes.c.entity == "order", changes.c.new == "confirmed")).subquery()
    stmt = (select(picked.c.user_id, func.count().label("n"),
                   func.coalesce(func.sum(orders.c.total), 0).label("sales"))
            .select_from(picked.join(orders, orders.c.id == picked.c.entity_id))
            .group_by(picked.c.user_id))
    return [{**dict(r._mapping), "sales": Decimal(str(r.sales))}
            for r in await conn.execute(stmt)]


async def operators(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every operator (active or not) with their extension and language, by name."""
    stmt = (select(users.c.id, users.c.login, users.c.name, users.c.extension, users.c.active)
            .where(users.c.role == "operator").order_by(users.c.name, users.c.id))
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def user_names(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every user's id, login, name, role and extension (calls may name any of them)."""
    stmt = select(users.c.id, users.c.login, users.c.name, users.c.role, users.c.extension,
                  users.c.active)
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def outcome_labels(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    rows = await conn.execute(select(outcome_definitions.c.code, outcome_definitions.c.label_ru,
                                     outcome_definitions.c.label_en,
                                     outcome_definitions.c.position)
                              .order_by(outcome_definitions.c.position,
                                        outcome_definitions.c.code))
    return {r.code: dict(r._mapping) for r in rows}


async def plans(conn: AsyncConnection) -> dict[int, dict[str, Any]]:
    rows = await conn.execute(select(operator_plans))
    return {r.user_id: dict(r._mapping) for r in rows}


async def save_plan(conn: AsyncConnection, user_id: int, values: dict[str, Any]) -> None:
    """Insert or replace an operator's plan (``values``: the three figures, updated_at/by)."""
    found = (await conn.execute(select(operator_plans.c.user_id)
                                .where(operator_plans.c.user_id == user_id))).first()
    if found:
        await conn.execute(operator_plans.update()
                           .where(operator_plans.c.user_id == user_id).values(**values))
    else:
        await conn.execute(operator_plans.insert().values(user_id=user_id, **values))
