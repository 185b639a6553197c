"""Operators' states and the history of every change: the only SQL about agent states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.agents import AgentState
from callcenter.storage.tables import agent_state_changes, agent_states, users

AGENT_USER_COLUMNS = (users.c.id, users.c.login, users.c.name, users.c.role, users.c.extension,
                      users.c.autodial, users.c.active)


def _state_of(row: Any) -> AgentState:
    return AgentState(row.state, row.reason, row.since, row.chosen, row.chosen_reason,
                      row.wrap_up_until)


async def load_states(conn: AsyncConnection) -> dict[int, AgentState]:
    rows = await conn.execute(select(agent_states))
    return {row.user_id: _state_of(row) for row in rows}


async def pending_pbx(conn: AsyncConnection) -> set[int]:
    """The operators whose choice the PBX was not told yet."""
    rows = await conn.execute(select(agent_states.c.user_id)
                              .where(agent_states.c.pbx_pending.is_(True)))
    return {row.user_id for row in rows}


async def set_pbx_pending(conn: AsyncConnection, user_id: int, pending: bool) -> None:
    await conn.execute(update(agent_states).where(agent_states.c.user_id == user_id)
                       .values(pbx_pending=pending))


async def save_state(conn: AsyncConnection, user_id: int, s: AgentState) -> None:
    """Write the current state of one operator (insert or update)."""
    values = {"state": s.state, "reason": s.reason, "since": s.since, "chosen": s.chosen,
              "chosen_reason": s.chosen_reason, "wrap_up_until": s.wrap_up_until}
    result = await conn.execute(
        update(agent_states).where(agent_states.c.user_id == user_id).values(**values))
    if result.rowcount == 0:
        await conn.execute(insert(agent_states).values(user_id=user_id, **values))


async def add_change(conn: AsyncConnection, user_id: int, at: datetime, state: str,
                     reason: str | None, source: str) -> None:
    await conn.execute(insert(agent_state_changes).values(
        user_id=user_id, at=at, state=state, reason=reason, source=source))


async def changes(conn: AsyncConnection, user_id: int, *, since: datetime | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
    """One operator's changes, oldest first."""
    query = (select(agent_state_changes.c.at, agent_state_changes.c.state,
                    agent_state_changes.c.reason, agent_state_changes.c.source)
             .where(agent_state_changes.c.user_id == user_id)
             .order_by(agent_state_changes.c.at, agent_state_changes.c.id).limit(limit))
    if since is not None:
        query = query.where(agent_state_changes.c.at >= since)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def agent_users(conn: AsyncConnection, user_id: int | None = None) -> list[dict[str, Any]]:
    """The active users who are agents: operators, and anyone with an extension (a phone in
    the queue); one user when ``user_id`` is given (whatever their role)."""
    query = select(*AGENT_USER_COLUMNS).where(users.c.active.is_(True))
    if user_id is not None:
        query = query.where(users.c.id == user_id)
    else:
        query = query.where(or_(users.c.role == "operator", users.c.extension.is_not(None)))
    rows = await conn.execute(query.order_by(users.c.name, users.c.id))
    return [dict(r._mapping) for r in rows]


async def forget(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(agent_states).where(agent_states.c.user_id == user_id))
