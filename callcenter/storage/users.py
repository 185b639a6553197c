"""Users, login sessions and login attempts: the only SQL about accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import login_attempts, sessions, users

PUBLIC_USER_COLUMNS = (
    users.c.id, users.c.login, users.c.name, users.c.role, users.c.extension,
    users.c.active, users.c.language, users.c.created_at, users.c.updated_at,
)


async def insert_user(conn: AsyncConnection, values: dict[str, Any], now: datetime) -> int:
    result = await conn.execute(
        insert(users).values(**values, created_at=now, updated_at=now).returning(users.c.id))
    return result.scalar_one()


async def update_user(conn: AsyncConnection, user_id: int, values: dict[str, Any],
                      now: datetime) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(**values, updated_at=now))


async def get_user(conn: AsyncConnection, user_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(*PUBLIC_USER_COLUMNS).where(users.c.id == user_id))).first()
    return dict(row._mapping) if row else None


async def get_user_with_hash(conn: AsyncConnection, login: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(users).where(users.c.login == login))).first()
    return dict(row._mapping) if row else None


async def get_user_by_extension(conn: AsyncConnection, extension: str) -> dict[str, Any] | None:
    row = (await conn.execute(
        select(*PUBLIC_USER_COLUMNS).where(users.c.extension == extension))).first()
    return dict(row._mapping) if row else None


async def list_users(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(*PUBLIC_USER_COLUMNS).order_by(users.c.login))
    return [dict(r._mapping) for r in rows]


async def count_users(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(users))).scalar_one()


async def users_version(conn: AsyncConnection) -> tuple[Any, ...]:
    """A cheap fingerprint of the users table: (count, highest id, latest ``updated_at``).

    It changes whenever a user is added, removed or updated by any process (every write sets
    ``updated_at``), so a cache of users can tell it is stale with one indexed aggregate."""
    row = (await conn.execute(select(func.count(), func.max(users.c.id),
                                     func.max(users.c.updated_at)))).one()
    return tuple(row)


async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(sessions).values(**values))


async def get_session(conn: AsyncConnection, token_hash: str,
                      now: datetime) -> dict[str, Any] | None:
    row = (await conn.execute(
        select(sessions.c.token_hash, sessions.c.csrf_token, sessions.c.expires_at,
               *PUBLIC_USER_COLUMNS)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
    )).first()
    return dict(row._mapping) if row else None


async def delete_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


async def delete_sessions_of(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


async def record_login_attempt(conn: AsyncConnection, login: str, ip: str, at: datetime,
                               success: bool) -> None:
    await conn.execute(insert(login_attempts).values(login=login, ip=ip, at=at, success=success))


async def recent_failures(conn: AsyncConnection, login: str, ip: str,
                          since: datetime) -> list[datetime]:
    """Times of failed logins for this login from this address since ``since``, after the last
    successful one (a success clears the count)."""
    last_ok = (await conn.execute(
        select(func.max(login_attempts.c.at)).where(
            login_attempts.c.login == login, login_attempts.c.ip == ip,
            login_attempts.c.success.is_(True), login_attempts.c.at >= since)
    )).scalar_one()
    query = select(login_attempts.c.at).where(
        login_attempts.c.login == login, login_attempts.c.ip == ip,
        login_attempts.c.success.is_(False), login_attempts.c.at >= (last_ok or since),
    ).order_by(login_attempts.c.at)
    rows = await conn.execute(query)
    at_values = [r.at for r in rows]
    return [a for a in at_values if last_ok is None or a > last_ok]
