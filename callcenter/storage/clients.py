"""Clients, their phones, e-mails, notes and edit history: the only SQL about clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, delete, func, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import (
    activities,
    changes,
    client_emails,
    client_phones,
    clients,
    orders,
    reversed_digits,
    users,
)

CLIENT_COLUMNS = (
    clients.c.id, clients.c.name, clients.c.company, clients.c.notes, clients.c.timezone,
    clients.c.city, clients.c.region, clients.c.tags, clients.c.assigned_operator_id,
    clients.c.birthday, clients.c.do_not_call, clients.c.created_at, clients.c.updated_at,
)


async def insert_client(conn: AsyncConnection, values: dict[str, Any], now: datetime) -> int:
    row = dict(values, search_name=_search_name(values["name"]), created_at=now, updated_at=now)
    result = await conn.execute(insert(clients).values(**row).returning(clients.c.id))
    return result.scalar_one()


async def update_client(conn: AsyncConnection, client_id: int, values: dict[str, Any],
                        now: datetime) -> None:
    row = dict(values, updated_at=now)
    if "name" in values:
        row["search_name"] = _search_name(values["name"])
    await conn.execute(update(clients).where(clients.c.id == client_id).values(**row))


def _search_name(name: str) -> str:
    return fold_name(name)


def fold_name(text: str) -> str:
    """How names are compared in search: casefolded, "ё" as "е", spaces collapsed."""
    return " ".join(text.casefold().replace("ё", "е").split())


async def replace_phones(conn: AsyncConnection, client_id: int, phones: Sequence[Any]) -> None:
    await conn.execute(delete(client_phones).where(client_phones.c.client_id == client_id))
    if phones:
        await conn.execute(insert(client_phones), [
            {"client_id": client_id, "number": p.number, "e164": p.e164,
             "extension": p.extension, "label": p.label, "position": i}
            for i, p in enumerate(phones)
        ])


async def replace_emails(conn: AsyncConnection, client_id: int, emails: Sequence[Any]) -> None:
    await conn.execute(delete(client_emails).where(client_emails.c.client_id == client_id))
    if emails:
        await conn.execute(insert(client_emails), [
            {"client_id": client_id, "email": e.email, "label": e.label, "position": i}
            for i, e in enumerate(emails)
        ])


async def add_phones(conn: AsyncConnection, client_id: int, phones: Sequence[Any]) -> None:
    """Append phones the client does not have yet (used by imports and shop intake)."""
    existing = {p["e164"] for p in await phones_of(conn, [client_id])}
    start = len(existing)
    new = [p for p in phones if p.e164 not in existing]
    if new:
        await conn.execute(insert(client_phones), [
            {"client_id": client_id, "number": p.number, "e164": p.e164,
             "extension": p.extension, "label": p.label, "position": start + i}
            for i, p in enumerate(new)
        ])


async def add_emails(conn: AsyncConnection, client_id: int, emails: Sequence[Any]) -> None:
    existing = {e["email"] for e in await emails_of(conn, [client_id])}
    start = len(existing)
    new = [e for e in emails if e.email not in existing]
    if new:
        await conn.execute(insert(client_emails), [
            {"client_id": client_id, "email": e.email, "label": e.label, "position": start + i}
            for i, e in enumerate(new)
        ])


async def get_client(conn: AsyncConnection, client_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(*CLIENT_COLUMNS).where(clients.c.id == client_id))).first()
    return dict(row._mapping) if row else None


async def get_clients(conn: AsyncConnection, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await conn.execute(select(*CLIENT_COLUMNS).where(clients.c.id.in_(ids)))
    by_id = {r.id: dict(r._mapping) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def phones_of(conn: AsyncConnection, client_ids: Sequence[int]) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(client_phones).where(client_phones.c.client_id.in_(client_ids))
        .order_by(client_phones.c.client_id, client_phones.c.position)
    )
    return [dict(r._mapping) for r in rows]


async def emails_of(conn: AsyncConnection, client_ids: Sequence[int]) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(client_emails).where(client_emails.c.client_id.in_(client_ids))
        .order_by(client_emails.c.client_id, client_emails.c.position)
    )
    return [dict(r._mapping) for r in rows]


async def operator_names(conn: AsyncConnection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(wanted)))
    return {r.id: r.name for r in rows}


async def client_names(conn: AsyncConnection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await conn.execute(select(clients.c.id, clients.c.name).where(clients.c.id.in_(wanted)))
    return {r.id: r.name for r in rows}


async def names_by_extension(conn: AsyncConnection,
                             endpoints: Iterable[str | None]) -> dict[str, str]:
    """Users' names by their softphone endpoint (``PJSIP/101``), deactivated users included:
    an old call still names who took it."""
    wanted = {e for e in endpoints if e}
    if not wanted:
        return {}
    rows = await conn.execute(select(users.c.extension, users.c.name)
                              .where(users.c.extension.in_(wanted)))
    return {r.extension: r.name for r in rows}


async def client_ids_by_phone(conn: AsyncConnection, e164s: Sequence[str],
                              exclude: int | None = None) -> list[tuple[int, str]]:
    """(client_id, e164) pairs for clients holding any of the numbers (the E.164 index)."""
    if not e164s:
        return []
    query = select(client_phones.c.client_id, client_phones.c.e164).where(
        client_phones.c.e164.in_(list(e164s)))
    if exclude is not None:
        query = query.where(client_phones.c.client_id != exclude)
    return [(r.client_id, r.e164) for r in await conn.execute(query)]


async def client_ids_by_email(conn: AsyncConnection, emails: Sequence[str],
                              exclude: int | None = None) -> list[tuple[int, str]]:
    if not emails:
        return []
    query = select(client_emails.c.client_id, client_emails.c.email).where(
        client_emails.c.email.in_(list(emails)))
    if exclude is not None:
        query = query.where(client_emails.c.client_id != exclude)
    return [(r.client_id, r.email) for r in await conn.execute(query)]


def _prefix_range(column, prefix: str):
    # a range instead of LIKE so that the plain B-tree index is used on every backend
    return and_(column >= prefix, column < prefix + "\U0010ffff")


def _digits_prefix_range(column, digits: str):
    """Values of ``column`` (digits only) starting with ``digits``: an index range whose upper
    bound is the prefix plus one ("1019" -> "102"), right under any collation."""
    stem = digits.rstrip("9")
    if not stem:
        return column >= digits
    return and_(column >= digits, column < stem[:-1] + str(int(stem[-1]) + 1))


async def search_clients(
    conn: AsyncConnection, *, name: str | None, phone_prefixes: Sequence[str],
    email: str | None, order_number: str | None, operator_id: int | None,
    limit: int, offset: int, phone_suffix: str | None = None,
) -> tuple[list[tuple[int, str | None]], int]:
    """Client ids matching any of the given criteria, newest first, with what matched.

    ``name`` matches every word anywhere in the name (any case, "ё" as "е"); a phone matches
    when its E.164 starts with one of ``phone_prefixes`` or its digits end with
    ``phone_suffix`` (the reversed-digits index). With no criteria at all every client
    matches (the plain list).
    """
    branches = []
    if name:
        words = fold_name(name).split()
        cond = and_(*[clients.c.search_name.contains(w, autoescape=True) for w in words])
        branches.append(select(clients.c.id.label("cid"), literal("name").label("matched"))
                        .where(cond))
    for prefix in phone_prefixes:
        branches.append(select(client_phones.c.client_id.label("cid"),
                               literal("phone").label("matched"))
                        .where(_prefix_range(client_phones.c.e164, prefix)))
    if phone_suffix:
        branches.append(select(client_phones.c.client_id.label("cid"),
                               literal("phone").label("matched"))
                        .where(_digits_prefix_range(client_phones.c.digits_reversed,
                                                    reversed_digits(phone_suffix))))
    if email:
        branches.append(select(client_emails.c.client_id.label("cid"),
                               literal("email").label("matched"))
                        .where(_prefix_range(client_emails.c.email, email.lower())))
    if order_number:
        branches.append(select(orders.c.client_id.label("cid"), literal("order").label("matched"))
                        .where(orders.c.number_key == order_number.casefold()))
    if not branches:
        query = select(clients.c.id.label("cid"), literal(None).label("matched"))
        if operator_id is not None:
            query = query.where(clients.c.assigned_operator_id == operator_id)
        total = (await conn.execute(select(func.count()).select_from(query.subquery()))
                 ).scalar_one()
        rows = await conn.execute(query.order_by(clients.c.id.desc()).limit(limit).offset(offset))
        return [(r.cid, None) for r in rows], total
    union = branches[0] if len(branches) == 1 else union_all(*branches)
    hits = union.subquery()
    joined = select(hits.c.cid, func.min(hits.c.matched).label("matched"))
    if operator_id is not None:
        joined = joined.join(clients, clients.c.id == hits.c.cid).where(
            clients.c.assigned_operator_id == operator_id)
    joined = joined.group_by(hits.c.cid)
    # the page and the count of all matches in one pass over the matches (a name is searched
    # anywhere in it, so that pass reads every client's name once, not twice)
    rows = (await conn.execute(joined.add_columns(func.count().over().label("total"))
                               .order_by(hits.c.cid.desc()).limit(limit).offset(offset))).all()
    if rows:
        total = rows[0].total
    elif offset == 0:
        total = 0
    else:  # a page beyond the end: count on its own
        total = (await conn.execute(select(func.count()).select_from(joined.subquery()))
                 ).scalar_one()
    return [(r.cid, r.matched) for r in rows], total


async def insert_changes(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(changes), rows)


async def history_of_client(conn: AsyncConnection, client_id: int,
                            limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(changes, users.c.name.label("user_name"))
        .outerjoin(users, users.c.id == changes.c.user_id)
        .where(changes.c.client_id == client_id)
        .order_by(changes.c.at.desc(), changes.c.id.desc()).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def insert_activity(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(activities).values(**values).returning(activities.c.id))
    return result.scalar_one()


async def activities_of(conn: AsyncConnection, client_id: int,
                        limit: int = 100) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(activities, users.c.name.label("author_name"))
        .outerjoin(users, users.c.id == activities.c.author_id)
        .where(activities.c.client_id == client_id)
        .order_by(activities.c.created_at.desc(), activities.c.id.desc()).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def count_clients(conn: AsyncConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(clients))).scalar_one()



async def some_phones(conn: AsyncConnection, limit: int) -> list[str]:
    """The first clients' numbers (E.164), e.g. for the demo PBX to call from."""
    rows = await conn.execute(select(client_phones.c.e164).order_by(client_phones.c.id)
                              .limit(limit))
    return [r.e164 for r in rows]
