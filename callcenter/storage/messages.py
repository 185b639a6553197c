"""Messages to customers: queued in the transaction that causes them, sent by the sender."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import messages

KINDS = ("notification", "mailing", "document", "test", "manual")
CHANNELS = ("email", "sms")
STATUSES = ("queued", "sending", "sent", "delivered", "failed", "skipped")


async def queue_message(conn: AsyncConnection, *, kind: str, channel: str, to_address: str,
                        body: str, dedupe_key: str, now: datetime,
                        not_before: datetime | None = None, subject: str | None = None,
                        html: str | None = None, headers: dict[str, str] | None = None,
                        event: str | None = None,
                        client_id: int | None = None, order_id: int | None = None,
                        shop_id: int | None = None, mailing_id: int | None = None,
                        attachments: list[dict[str, str]] | None = None,
                        created_by: int | None = None,
                        status: str = "queued", last_error: str | None = None) -> int | None:
    """Queue one message in the caller's transaction. Returns its id, or None when a message
    with the same ``dedupe_key`` exists already (it is then not queued again).

    ``status`` may be "skipped" (with ``last_error`` saying why: do-not-contact, no address) so
    the card shows a message that was deliberately not sent."""
    if kind not in KINDS or channel not in CHANNELS or status not in STATUSES:
        raise ValueError(f"bad message kind/channel/status {kind!r}/{channel!r}/{status!r}")
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(messages).values(
        kind=kind, channel=channel, event=event, client_id=client_id, order_id=order_id,
        shop_id=shop_id, mailing_id=mailing_id, to_address=to_address, subject=subject,
        body=body, html=html, headers=headers, attachments=attachments or [], status=status,
        dedupe_key=dedupe_key[:200], next_attempt_at=not_before or now, last_error=last_error,
        created_by=created_by, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(messages.c.id)
    return (await conn.execute(stmt)).scalar_one_or_none()


async def messages_of_client(conn: AsyncConnection, client_id: int, *, limit: int = 100,
                             offset: int = 0) -> list[dict[str, Any]]:
    rows = await conn.execute(select(messages).where(messages.c.client_id == client_id)
                              .order_by(messages.c.created_at.desc(), messages.c.id.desc())
                              .limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows]
