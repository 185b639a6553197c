"""Shops' requisites and the documents made: the only SQL of the documents feature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.tables import client_emails, client_phones, documents, shop_requisites


async def get_requisites(conn: AsyncConnection, shop_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(shop_requisites)
                              .where(shop_requisites.c.shop_id == shop_id))).first()
    return dict(row._mapping) if row else None


async def put_requisites(conn: AsyncConnection, shop_id: int, values: dict[str, Any]) -> None:
    """Insert or update the shop's row (inside the caller's write transaction)."""
    done = await conn.execute(update(shop_requisites)
                              .where(shop_requisites.c.shop_id == shop_id).values(**values))
    if done.rowcount == 0:
        await conn.execute(insert(shop_requisites).values(shop_id=shop_id, **values))


async def year_numbers(conn: AsyncConnection, shop_id: int, kind: str,
                       prefix: str) -> list[str]:
    """The numbers given so far with that prefix (the caller picks the year's highest)."""
    rows = await conn.execute(select(documents.c.number).where(
        documents.c.shop_id == shop_id, documents.c.kind == kind,
        documents.c.number.startswith(prefix + "-", autoescape=True)))
    return [r.number for r in rows]


async def insert_document(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(insert(documents).values(**values)
                               .returning(documents.c.id))).scalar_one()


async def get_document(conn: AsyncConnection, document_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(documents).where(documents.c.id == document_id))).first()
    return dict(row._mapping) if row else None


async def list_documents(conn: AsyncConnection, *, client_id: int | None = None,
                         order_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(documents)
    if client_id is not None:
        query = query.where(documents.c.client_id == client_id)
    if order_id is not None:
        query = query.where(documents.c.order_id == order_id)
    rows = await conn.execute(query.order_by(documents.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def mark_sent(conn: AsyncConnection, document_id: int, message_id: int | None,
                    to: str) -> None:
    await conn.execute(update(documents).where(documents.c.id == document_id)
                       .values(sent_message_id=message_id, sent_to=to))


async def first_email(conn: AsyncConnection, client_id: int) -> str | None:
    row = (await conn.execute(select(client_emails.c.email)
                              .where(client_emails.c.client_id == client_id)
                              .order_by(client_emails.c.position, client_emails.c.id)
                              .limit(1))).first()
    return row.email if row else None


async def first_phone(conn: AsyncConnection, client_id: int) -> str | None:
    row = (await conn.execute(select(client_phones.c.e164)
                              .where(client_phones.c.client_id == client_id)
                              .order_by(client_phones.c.id).limit(1))).first()
    return row.e164 if row else None


def document_row_json(d: dict[str, Any]) -> dict[str, Any]:
    return {"id": d["id"], "kind": d["kind"], "number": d["number"], "shop_id": d["shop_id"],
            "order_id": d["order_id"], "client_id": d["client_id"], "bytes": d["bytes"],
            "sha256": d["sha256"], "total": f"{d['total']:.2f}", "currency": d["currency"],
            "created_by": d["created_by"], "created_at": _iso(d["created_at"]),
            "sent_message_id": d["sent_message_id"], "sent_to": d["sent_to"],
            "pdf_url": f"/api/documents/{d['id']}/pdf"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

