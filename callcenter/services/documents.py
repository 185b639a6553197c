"""Invoices and offers as PDF files, the shops' requisites and their images, sending by e-mail.

PDFs are rendered by WeasyPrint in worker threads, at most ``render_limit`` at a time, so the
event loop never waits for a layout.  Files live under ``documents_dir`` at paths this module
builds from ids and random tokens; nothing a user sends becomes part of a path.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from callcenter.domain import documents as dom
from callcenter.errors import BadImage, BadRequest, NoEmailAddress, NotFound, PayloadTooLarge, \
    ValidationFailed
from callcenter.services.clients import ClientService
from callcenter.services.context import Actor, Clock
from callcenter.services.document_html import invoice_html, offer_html
from callcenter.storage import audit
from callcenter.storage import clients as clients_repo
from callcenter.storage import documents as repo
from callcenter.storage import orders as orders_repo
from callcenter.storage.database import Database
from callcenter.storage.messages import queue_message
from callcenter.services.xlsx_exports import CLIENT_COLUMNS, ORDER_COLUMNS, SheetWriter, \
    client_row, order_row, paged, write_pages

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg"}
PDF_TYPE = "application/pdf"


def image_type(data: bytes) -> str | None:
    """"png" or "jpg" by the file's first bytes (never by its name), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def render_pdf(html: str) -> bytes:
    from weasyprint.urls import URLFetcher
    from weasyprint import HTML
    # only the data: URIs this module embeds are read; nothing on disk or the network is fetched
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


class DocumentService:
    def __init__(self, db: Database, clock: Clock, clients: ClientService, orders: Any, *,
                 documents_dir: str | Path, timezone: str, render_limit: int = 2):
        self.db = db
        self.clock = clock
        self.clients = clients
        self.orders = orders
        self.root = Path(documents_dir)
        self.zone = ZoneInfo(timezone)
        self.render_slots = asyncio.Semaphore(render_limit)
        # callbacks after a message was queued (create_app: wake the message sender)
        self.on_queued: list[Callable[[], None]] = []

    # requisites

    async def _shop(self, conn, shop_id: int) -> dict[str, Any]:
        shop = await orders_repo.get_shop(conn, shop_id=shop_id)
        if shop is None:
            raise NotFound.entity("shop", shop_id)
        return shop

    async def get_requisites(self, shop_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            await self._shop(conn, shop_id)
            row = await repo.get_requisites(conn, shop_id)
        return requisites_json(shop_id, row)

    async def put_requisites(self, actor: Actor, shop_id: int,
                             data: Mapping[str, Any]) -> dict[str, Any]:
        values, errors = dom.clean_requisites(data)
        if errors:
            raise ValidationFailed.fields(errors)
        now = self.clock()
        async with self.db.write() as conn:
            await self._shop(conn, shop_id)
            before = await repo.get_requisites(conn, shop_id) or {}
            await repo.put_requisites(conn, shop_id, {**values, "updated_at": now,
                                                      "updated_by": actor.user_id})
            changed = sorted(k for k, v in values.items() if before.get(k, "") != v)
            await audit.record(conn, at=now, action="requisites.update", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="shop", entity_id=shop_id,
                               details={"changed": changed})
            row = await repo.get_requisites(conn, shop_id)
        return requisites_json(shop_id, row)

    async def upload_image(self, actor: Actor, shop_id: int, kind: str,
                           data: bytes) -> dict[str, Any]:
        if kind not in dom.IMAGE_KINDS:
            raise NotFound.entity("image", kind)
        if len(data) > MAX_IMAGE_BYTES:
            raise PayloadTooLarge(f"An image may be {MAX_IMAGE_BYTES // 1024} KB at most",
                                  {"max_bytes": MAX_IMAGE_BYTES})
        ext = image_type(data)
        if ext is None:
            raise BadImage("Only PNG and JPEG images are accepted")
        name = f"{kind}-{secrets.token_hex(8)}.{ext}"
        folder = self.root / "shops" / str(shop_id)
        now = self.clock()
        async with self.db.write() as conn:
            await self._shop(conn, shop_id)
            await asyncio.to_thread(_write_file, folder / name, data)
            before = await repo.get_requisites(conn, shop_id)
            await repo.put_requisites(conn, shop_id, {f"{kind}_file": name, "updated_at": now,
                                                      "updated_by": actor.user_id})
            await audit.record(conn, at=now, action="requisites.image", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="shop", entity_id=shop_id,
                               details={"kind": kind, "bytes": len(data)})
            row = await repo.get_requisites(conn, shop_id)
        old = (before or {}).get(f"{kind}_file")
        if old:
            (folder / old).unlink(missing_ok=True)
        return requisites_json(shop_id, row)

    async def image(self, shop_id: int, kind: str) -> tuple[Path, str]:
        if kind not in dom.IMAGE_KINDS:
            raise NotFound.entity("image", kind)
        async with self.db.read() as conn:
            row = await repo.get_requisites(conn, shop_id)
        name = (row or {}).get(f"{kind}_file")
        path = self.root / "shops" / str(shop_id) / name if name else None
        if path is None or not path.is_file():
            raise NotFound.entity("image", kind)
        return path, IMAGE_TYPES[path.suffix.lstrip(".")]

    def _data_uri(self, shop_id: int, name: str | None) -> str | None:
        if not name:
            return None
        path = self.root / "shops" / str(shop_id) / name
        try:
            data = path.read_bytes()
        except OSError:
            return None
        kind = image_type(data)
        if kind is None:
            return None
        return f"data:{IMAGE_TYPES[kind]};base64,{base64.b64encode(data).decode()}"

    # documents

    async def create(self, actor: Actor, order_id: int, kind: Any) -> dict[str, Any]:
        if kind not in dom.KINDS:
            raise ValidationFailed.fields({"kind": "must be one of: invoice, offer"})
        async with self.db.read() as conn:
            order = await orders_repo.get_order(conn, order_id)
            if order is None:
                raise NotFound.entity("order", order_id)
            client = await clients_repo.get_client(conn, order["client_id"])
            try:
                self.clients._check_visible(actor, client)
            except NotFound:
                raise NotFound.entity("order", order_id) from None
            shop = await self._shop(conn, order["shop_id"])
            requisites = await repo.get_requisites(conn, shop["id"]) or {}
            buyer = {**client, "email": await repo.first_email(conn, client["id"]),
                     "phone": await repo.first_phone(conn, client["id"])}
        now = self.clock()
        day = now.astimezone(self.zone).date()
        prefix = (requisites.get("invoice_prefix") or "INV") if kind == "invoice" \
            else dom.DEFAULT_PREFIX["offer"]
        lines = dom.invoice_lines(order["items"] or [], order["total"],
                                  f"Заказ № {order['number']}")
        totals = dom.totals(lines, requisites.get("vat_rate") or "none")
        images = await asyncio.to_thread(lambda: {
            k: self._data_uri(shop["id"], requisites.get(f"{k}_file")) for k in dom.IMAGE_KINDS})
        for _attempt in range(5):
            async with self.db.read() as conn:
                taken = await repo.year_numbers(conn, shop["id"], kind, f"{prefix}-{day.year}")
            number = dom.document_number(prefix, day.year,
                                         dom.next_sequence(prefix, day.year, taken))
            args = dict(number=number, day=day, requisites=requisites, client=buyer,
                        order=order, totals=totals, images=images)
            html = invoice_html(**args) if kind == "invoice" else \
                offer_html(shop_name=shop["name"], **args)
            async with self.render_slots:
                pdf = await asyncio.to_thread(render_pdf, html)
            relative = f"shops/{shop['id']}/{day.year}/{kind}-{secrets.token_hex(8)}.pdf"
            await asyncio.to_thread(_write_file, self.root / relative, pdf)
            try:
                async with self.db.write() as conn:
                    doc_id = await repo.insert_document(conn, {
                        "kind": kind, "number": number, "shop_id": shop["id"],
                        "order_id": order_id, "client_id": client["id"], "file": relative,
                        "bytes": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest(),
                        "total": totals.total, "currency": order["currency"],
                        "created_by": actor.user_id, "created_at": now})
                    await audit.record(conn, at=now, action="document.create",
                                       user_id=actor.user_id, login=actor.login, ip=actor.ip,
                                       entity="document", entity_id=doc_id,
                                       details={"kind": kind, "number": number,
                                                "order_id": order_id})
                    row = await repo.get_document(conn, doc_id)
                return repo.document_row_json(row)
            except IntegrityError:  # someone took the number meanwhile: take the next one
                (self.root / relative).unlink(missing_ok=True)
        raise BadRequest("Could not give the document a number; try again")

    async def _visible_document(self, actor: Actor, document_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            doc = await repo.get_document(conn, document_id)
            client = await clients_repo.get_client(conn, doc["client_id"]) if doc else None
        if doc is None or client is None:
            raise NotFound.entity("document", document_id)
        try:
            self.clients._check_visible(actor, client)
        except NotFound:
            raise NotFound.entity("document", document_id) from None
        return doc

    async def list(self, actor: Actor, *, client_id: int | None,
                   order_id: int | None) -> dict[str, Any]:
        if client_id is None and order_id is None:
            raise BadRequest("Give client_id or order_id")
        if order_id is not None:
            async with self.db.read() as conn:
                order = await orders_repo.get_order(conn, order_id)
            if order is None:
                raise NotFound.entity("order", order_id)
            try:
                await self.clients.check_access(actor, order["client_id"])
            except NotFound:
                raise NotFound.entity("order", order_id) from None
        if client_id is not None:
            await self.clients.check_access(actor, client_id)
        async with self.db.read() as conn:
            rows = await repo.list_documents(conn, client_id=client_id, order_id=order_id)
        return {"items": [repo.document_row_json(r) for r in rows]}

    async def pdf(self, actor: Actor, document_id: int) -> tuple[Path, str]:
        doc = await self._visible_document(actor, document_id)
        path = self.root / doc["file"]
        if not path.is_file():
            raise NotFound.entity("document file", document_id)
        return path, dom.pdf_file_name(doc["kind"], doc["number"])

    async def send(self, actor: Actor, document_id: int, email: Any) -> dict[str, Any]:
        doc = await self._visible_document(actor, document_id)
        if email is not None and (not isinstance(email, str) or len(email) > 320
                                  or not dom._EMAIL.fullmatch(email.strip())):
            raise ValidationFailed.fields({"email": "not a valid e-mail address"})
        now = self.clock()
        async with self.db.write() as conn:
            client = await clients_repo.get_client(conn, doc["client_id"])
            to = email.strip() if email else await repo.first_email(conn, doc["client_id"])
            if not to:
                raise NoEmailAddress("The client has no e-mail address; give one",
                                     {"fields": {"email": "is required"}})
            shop = await self._shop(conn, doc["shop_id"])
            subject, body = _letter(shop, doc)
            skipped = bool(client["do_not_call"])
            message_id = await queue_message(
                conn, kind="document", channel="email", to_address=to, subject=subject,
                body=body, dedupe_key=f"document:{doc['id']}:{secrets.token_hex(8)}", now=now,
                client_id=doc["client_id"], order_id=doc["order_id"], shop_id=doc["shop_id"],
                attachments=[{"path": doc["file"], "type": PDF_TYPE,
                              "name": dom.pdf_file_name(doc["kind"], doc["number"])}],
                created_by=actor.user_id, status="skipped" if skipped else "queued",
                last_error="do_not_contact" if skipped else None)
            await repo.mark_sent(conn, doc["id"], message_id, to)
            await audit.record(conn, at=now, action="document.send", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="document",
                               entity_id=doc["id"], details={"to": to, "message_id": message_id})
        for callback in self.on_queued:
            callback()
        return {"message_id": message_id, "to": to, "status": "skipped" if skipped else "queued"}

    # XLSX exports

    async def export_clients(self, actor: Actor, path: Path, *, q: str | None,
                             lang: str) -> int:
        """The clients ``GET /api/clients?q=`` finds for ``actor``, every page, into ``path``."""
        writer = SheetWriter(path, "Клиенты" if lang != "en" else "Clients", CLIENT_COLUMNS, lang)

        async def pages():
            async for page in paged(lambda limit, offset: self.clients.search(
                    actor, q, limit=limit, offset=offset)):
                yield [client_row(c) for c in page]

        rows = await write_pages(writer, pages())
        await self._audit_export(actor, "clients", rows, {"q": q})
        return rows

    async def export_orders(self, actor: Actor, path: Path, *, client_id: int | None,
                            q: str | None, status: str | None, lang: str,
                            shop_id: int | None = None) -> int:
        """The orders ``GET /api/orders?…`` lists for ``actor``, every page, into ``path``."""
        writer = SheetWriter(path, "Заказы" if lang != "en" else "Orders", ORDER_COLUMNS, lang)
        by_shop = {"shop_id": shop_id} if shop_id is not None else {}

        async def pages():
            async for page in paged(lambda limit, offset: self.orders.list_orders(
                    actor, client_id=client_id, q=q, status=status, limit=limit,
                    offset=offset, **by_shop)):
                async with self.db.read() as conn:
                    found = await clients_repo.get_clients(
                        conn, sorted({o["client_id"] for o in page}))
                names = {c["id"]: c["name"] for c in found}
                yield [order_row(o, names, self.zone, lang) for o in page]

        rows = await write_pages(writer, pages())
        await self._audit_export(actor, "orders", rows,
                                 {"client_id": client_id, "shop_id": shop_id, "q": q,
                                  "status": status})
        return rows

    async def _audit_export(self, actor: Actor, what: str, rows: int,
                            filters: dict[str, Any]) -> None:
        async with self.db.write() as conn:
            await audit.record(conn, at=self.clock(), action=f"export.{what}",
                               user_id=actor.user_id, login=actor.login, ip=actor.ip,
                               entity=what, details={"rows": rows, "format": "xlsx",
                                                     "filters": filters})


def _letter(shop: Mapping[str, Any], doc: Mapping[str, Any]) -> tuple[str, str]:
    what_ru = "Счёт на оплату" if doc["kind"] == "invoice" else "Коммерческое предложение"
    what_en = "Invoice" if doc["kind"] == "invoice" else "Commercial offer"
    if shop.get("language") == "en":
        return (f"{what_en} {doc['number']} — {shop['name']}",
                f"Hello,\n\nplease find attached {what_en.lower()} {doc['number']}.\n\n"
                f"{shop['name']}")
    return (f"{what_ru} № {doc['number']} — {shop['name']}",
            f"Здравствуйте!\n\nВо вложении — {what_ru.lower()} № {doc['number']}.\n\n"
            f"{shop['name']}")


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def requisites_json(shop_id: int, row: Mapping[str, Any] | None) -> dict[str, Any]:
    row = row or {}
    out: dict[str, Any] = {"shop_id": shop_id}
    for field in dom.REQUISITE_FIELDS:
        out[field] = row.get(field) or {"vat_rate": "none", "invoice_prefix": "INV"}.get(field, "")
    # the file name in the link makes a new upload a new URL (no stale cached preview)
    out["images"] = {k: (f"/api/shops/{shop_id}/requisites/{k}?v={row[f'{k}_file'][:-4]}"
                         if row.get(f"{k}_file") else None) for k in dom.IMAGE_KINDS}
    updated = row.get("updated_at")
    out["updated_at"] = updated.isoformat() if isinstance(updated, datetime) else None
    return out
