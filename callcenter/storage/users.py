"""Users, login sessions and login attempts: the only SQL about accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain.lockout import Guard
from callcenter.storage.tables import login_attempts, login_guards, sessions, users

PUBLIC_USER_COLUMNS = (
    users.c.id, users.c.login, users.c.name, users.c.role, users.c.extension,
    users.c.active, users.c.language, users.c.autodial, users.c.created_at,
    users.c.updated_at,
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


def guard_key(login: str) -> str:
    """The login as the guard row stores it (a login longer than any real one is cut, not refused,
    so it is still counted)."""
    return login[:64]


async def lock_guard(conn: AsyncConnection, login: str, ip: str, now: datetime) -> Guard | None:
    """The guard row of this login and address, locked until ``conn``'s transaction ends; None
    if there was none (it is then created, empty).

    The first statement is a write, so SQLite takes its write lock here (a read first would let
    another process write in between); PostgreSQL locks the row with FOR UPDATE."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    created = await conn.execute(
        dialect.insert(login_guards)
        .values(login=guard_key(login), ip=ip, window_start=now, failures=0, in_flight=0)
        .on_conflict_do_nothing(index_elements=["login", "ip"]))
    row = (await conn.execute(
        select(login_guards).where(login_guards.c.login == guard_key(login),
                                   login_guards.c.ip == ip).with_for_update())).one()
    if created.rowcount == 1:
        return None
    return Guard(row.window_start, row.failures, row.in_flight, row.locked_until)


async def save_guard(conn: AsyncConnection, login: str, ip: str, guard: Guard) -> None:
    await conn.execute(update(login_guards).where(
        login_guards.c.login == guard_key(login), login_guards.c.ip == ip).values(
        window_start=guard.window_start, failures=guard.failures, in_flight=guard.in_flight,
        locked_until=guard.locked_until))


async def delete_stale_guards(conn: AsyncConnection, before: datetime) -> int:
    """Forget guards with nothing in flight whose window and lock ended before ``before``."""
    result = await conn.execute(delete(login_guards).where(
        login_guards.c.window_start < before, login_guards.c.in_flight == 0,
        (login_guards.c.locked_until.is_(None)) | (login_guards.c.locked_until < before)))
    return result.rowcount


async def live_sessions(conn: AsyncConnection, token_hashes: list[str],
                        now: datetime) -> dict[str, dict[str, Any]]:
    """Of these sessions, those still valid (not expired, not deleted, user active), by token
    hash, each with its user's id and role."""
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(token_hashes), 500):
        rows = await conn.execute(
            select(sessions.c.token_hash, users.c.id, users.c.role)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash.in_(token_hashes[i:i + 500]),
                   sessions.c.expires_at > now, users.c.active.is_(True)))
        for r in rows:
            found[r.token_hash] = {"user_id": r.id, "role": r.role}
    return found
