"""The message queue's states: claiming due messages with a lease, and the outcome of a send.

A claim is one conditional UPDATE per row (``status = 'queued'``), on PostgreSQL after a
``FOR UPDATE SKIP LOCKED`` read, so two processes never send the same row; SQLite's writes are
serialised by its write lock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import clients, message_templates, messages, shops


async def claim_due(conn: AsyncConnection, now: datetime, *, limit: int,
                    lease: timedelta) -> list[dict[str, Any]]:
    """Due queued rows (and "sending" rows whose lease ran out: a process died mid-send),
    now "sending" with a lease and one more attempt."""
    query = (select(messages.c.id, messages.c.status).where(or_(
        and_(messages.c.status == "queued", messages.c.next_attempt_at <= now),
        and_(messages.c.status == "sending", messages.c.lease_until < now)))
        .order_by(messages.c.next_attempt_at, messages.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = []
    for row in (await conn.execute(query)).all():
        result = await conn.execute(
            update(messages).where(messages.c.id == row.id, messages.c.status == row.status)
            .values(status="sending", lease_until=now + lease, attempts=messages.c.attempts + 1,
                    updated_at=now))
        if result.rowcount == 1:
            taken.append((row.id, row.status == "sending"))
    if not taken:
        return []
    interrupted = dict(taken)
    rows = await conn.execute(select(messages).where(messages.c.id.in_(interrupted)))
    out = []
    for r in rows:
        item = dict(r._mapping)
        item["interrupted"] = interrupted[item["id"]]
        out.append(item)
    out.sort(key=lambda m: m["id"])
    return out


async def recipient(conn: AsyncConnection, client_id: int | None) -> dict[str, Any] | None:
    if client_id is None:
        return None
    row = (await conn.execute(select(
        clients.c.id, clients.c.do_not_call, clients.c.unsubscribed_at, clients.c.timezone,
        clients.c.city, clients.c.region).where(clients.c.id == client_id))).first()
    return dict(row._mapping) if row else None


async def _finish(conn: AsyncConnection, message_id: int, now: datetime, **values) -> bool:
    result = await conn.execute(
        update(messages).where(messages.c.id == message_id, messages.c.status == "sending")
        .values(lease_until=None, updated_at=now, **values))
    return result.rowcount == 1


async def mark_sent(conn, message_id: int, now: datetime, provider_id: str | None) -> bool:
    return await _finish(conn, message_id, now, status="sent", sent_at=now,
                         provider_id=provider_id, last_error=None)


async def mark_retry(conn, message_id: int, now: datetime, at: datetime, error: str) -> bool:
    return await _finish(conn, message_id, now, status="queued", next_attempt_at=at,
                         last_error=error[:500])


async def mark_later(conn, message_id: int, now: datetime, at: datetime, why: str) -> bool:
    """Not tried (SMS hours): back to the queue without counting an attempt."""
    return await _finish(conn, message_id, now, status="queued", next_attempt_at=at,
                         attempts=messages.c.attempts - 1, last_error=why[:500])


async def mark_failed(conn, message_id: int, now: datetime, error: str) -> bool:
    return await _finish(conn, message_id, now, status="failed", last_error=error[:500])


async def mark_skipped(conn, message_id: int, now: datetime, why: str) -> bool:
    return await _finish(conn, message_id, now, status="skipped", last_error=why[:500])


async def mark_delivery(conn: AsyncConnection, provider_id: str, delivered: bool,
                        now: datetime, error: str | None = None) -> int:
    """A gateway's delivery report: sent → delivered / failed. Returns the rows changed."""
    values: dict[str, Any] = {"updated_at": now}
    if delivered:
        values.update(status="delivered", delivered_at=now)
    else:
        values.update(status="failed", last_error=(error or "not delivered")[:500])
    result = await conn.execute(
        update(messages).where(messages.c.provider_id == provider_id,
                               messages.c.channel == "sms",
                               messages.c.status == "sent").values(**values))
    return result.rowcount


async def requeue(conn: AsyncConnection, message_id: int, now: datetime) -> bool:
    """A failed (or skipped) message queued again, due now."""
    result = await conn.execute(
        update(messages).where(messages.c.id == message_id,
                               messages.c.status.in_(("failed", "skipped")))
        .values(status="queued", next_attempt_at=now, attempts=0, last_error=None,
                updated_at=now))
    return result.rowcount == 1


async def get_message(conn: AsyncConnection, message_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
    return dict(row._mapping) if row else None


async def list_messages(conn: AsyncConnection, *, client_id: int | None = None,
                        order_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(messages)
    if client_id is not None:
        query = query.where(messages.c.client_id == client_id)
    if order_id is not None:
        query = query.where(messages.c.order_id == order_id)
    rows = await conn.execute(query.order_by(messages.c.created_at.desc(),
                                             messages.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


# --- templates ---------------------------------------------------------------------------
async def template_rows(conn: AsyncConnection, shop_id: int | None) -> list[dict[str, Any]]:
    keys = [0] if shop_id is None else [0, shop_id]
    rows = await conn.execute(select(message_templates)
                              .where(message_templates.c.shop_key.in_(keys)))
    return [dict(r._mapping) for r in rows]


async def save_template(conn: AsyncConnection, *, shop_id: int | None, event: str,
                        channel: str, lang: str, subject: str | None, body: str,
                        enabled: bool, now: datetime, user_id: int | None) -> None:
    key = shop_id or 0
    values = dict(subject=subject, body=body, enabled=enabled, updated_at=now,
                  updated_by=user_id)
    where = (message_templates.c.shop_key == key, message_templates.c.event == event,
             message_templates.c.channel == channel, message_templates.c.lang == lang)
    result = await conn.execute(update(message_templates).where(*where).values(**values))
    if result.rowcount == 0:
        await conn.execute(message_templates.insert().values(
            shop_id=shop_id, shop_key=key, event=event, channel=channel, lang=lang, **values))


async def delete_template(conn: AsyncConnection, *, shop_id: int | None, event: str,
                          channel: str, lang: str) -> bool:
    result = await conn.execute(message_templates.delete().where(
        message_templates.c.shop_key == (shop_id or 0), message_templates.c.event == event,
        message_templates.c.channel == channel, message_templates.c.lang == lang))
    return result.rowcount > 0


async def shop_of(conn: AsyncConnection, shop_id: int | None) -> dict[str, Any] | None:
    if shop_id is None:
        return None
    row = (await conn.execute(select(shops.c.id, shops.c.name, shops.c.slug, shops.c.language)
                              .where(shops.c.id == shop_id))).first()
    return dict(row._mapping) if row else None
