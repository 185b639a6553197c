"""The audit log: who did what, when, from where."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.audit_filters import AuditFilter
from callcenter.storage.tables import audit_log, calls, orders, tasks

_LIKE_ESCAPE = "!"


async def record(conn: AsyncConnection, *, at: datetime, action: str, user_id: int | None,
                 login: str | None, ip: str | None, entity: str | None = None,
                 entity_id: Any = None, details: dict[str, Any] | None = None) -> None:
    await conn.execute(insert(audit_log).values(
        at=at, action=action, user_id=user_id, login=login, ip=ip, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), details=details or {},
    ))


def _literal(text_: str) -> str:
    """``text_`` as a LIKE pattern that matches only itself (% and _ are not wildcards)."""
    return (text_.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%")
            .replace("_", _LIKE_ESCAPE + "_"))


def _contains(column, needle: str):
    return func.lower(column).like("%" + _literal(needle.lower()) + "%", escape=_LIKE_ESCAPE)


def _details_contain(needle: str):
    """Details are stored as JSON with non-ASCII letters escaped (\\u0418), and lower() folds
    only ASCII on SQLite: a Cyrillic needle is looked for as written, lower-case and
    capitalised, in its escaped form."""
    details = cast(audit_log.c.details, Text)
    if needle.isascii():
        return _contains(details, needle)
    forms = {json.dumps(form)[1:-1] for form in (needle, needle.lower(), needle.capitalize())}
    return or_(*(details.like("%" + _literal(form) + "%", escape=_LIKE_ESCAPE)
                 for form in sorted(forms)))


def _filtered(flt: AuditFilter, actions: list[str]):
    """The filter as a query; ``actions``: those the action prefix takes in."""
    query = select(audit_log)
    if flt.action:
        query = query.where(audit_log.c.action.in_(actions) if flt.action_prefix
                            else audit_log.c.action == flt.action)
    if flt.user_id is not None:
        query = query.where(audit_log.c.user_id == flt.user_id)
    if flt.login:
        query = query.where(_contains(audit_log.c.login, flt.login))
    if flt.ip:
        query = query.where(audit_log.c.ip.like(_literal(flt.ip) + "%", escape=_LIKE_ESCAPE))
    if flt.since is not None:
        query = query.where(audit_log.c.at >= flt.since)
    if flt.until is not None:
        query = query.where(audit_log.c.at < flt.until)
    if flt.q:
        query = query.where(or_(_contains(audit_log.c.login, flt.q),
                                _contains(audit_log.c.entity, flt.q),
                                _contains(audit_log.c.entity_id, flt.q),
                                _details_contain(flt.q)))
    return query


async def find_entries(conn: AsyncConnection,
                       flt: AuditFilter) -> tuple[list[dict[str, Any]], int]:
    """One page of the entries the filter keeps, newest first (by time, then as written),
    and how many it keeps."""
    # a prefix as the list of actions under it, read from the index on both databases (a
    # LIKE uses no index on PostgreSQL outside the C collation, nor a range of text)
    actions = [a for a in await distinct_actions(conn) if a.startswith(flt.action or "")] \
        if flt.action_prefix else []
    query = _filtered(flt, actions)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                              .limit(flt.limit).offset(flt.offset))
    return [dict(r._mapping) for r in rows], total


async def list_entries(conn: AsyncConnection, *, limit: int, offset: int, action: str | None,
                       user_id: int | None) -> tuple[list[dict[str, Any]], int]:
    return await find_entries(conn, AuditFilter(action=action, user_id=user_id, limit=limit,
                                                offset=offset))


async def distinct_actions(conn: AsyncConnection) -> list[str]:
    """Every action in the log, sorted. A loose index scan (one seek on ix_audit_log_action_at
    per distinct action), so it stays a few milliseconds on millions of rows where a DISTINCT
    reads them all."""
    rows = await conn.execute(text(
        "WITH RECURSIVE seen(action) AS ("
        " SELECT MIN(action) FROM audit_log"
        " UNION ALL"
        " SELECT (SELECT MIN(a.action) FROM audit_log a WHERE a.action > seen.action)"
        " FROM seen WHERE seen.action IS NOT NULL)"
        " SELECT action FROM seen WHERE action IS NOT NULL"))
    return [r[0] for r in rows]


_CLIENT_OF = {"call": calls, "order": orders, "task": tasks}


async def clients_of_entities(conn: AsyncConnection,
                              entries: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """The client each call, order or task among ``entries`` belongs to, by (entity, id)."""
    found: dict[tuple[str, str], int] = {}
    for entity, table in _CLIENT_OF.items():
        ids = {int(e["entity_id"]) for e in entries if e.get("entity") == entity
               and isinstance(e.get("entity_id"), str) and e["entity_id"].isdigit()
               and len(e["entity_id"]) < 11}
        if not ids:
            continue
        rows = await conn.execute(select(table.c.id, table.c.client_id)
                                  .where(table.c.id.in_(sorted(ids)),
                                         table.c.client_id.is_not(None)))
        found.update({(entity, str(r.id)): r.client_id for r in rows})
    return found
