"""Invoices and offers as PDF, the shops' requisites, XLSX exports."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from callcenter.domain.access import ADMINS, ALL_ROLES, STAFF
from callcenter.domain.orders import STATUSES
from callcenter.errors import BadRequest, PayloadTooLarge
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable
from callcenter.services.documents import MAX_IMAGE_BYTES, PDF_TYPE
from callcenter.services.xlsx_exports import XLSX_TYPE

routes = RouteTable()

TEXT = {"type": ["string", "null"]}  # null clears the field
REQUISITES_BODY = {"type": "object", "properties": {k: TEXT for k in (
    "legal_name", "inn", "kpp", "ogrn", "address", "phone", "email", "bank_name", "bik",
    "account", "corr_account", "director", "accountant", "vat_rate", "invoice_prefix")}}
STAGE_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # a shop's stage code (orders.status)
IMAGE_KIND = "{kind}"  # logo / stamp / signature (anything else: 404)


def attachment(filename: str, disposition: str = "attachment") -> str:
    """Content-Disposition with an ASCII fallback and the RFC 5987 UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _language(request: web.Request) -> str:
    user = ctx_of(request).user
    return (user or {}).get("language") or "ru"


@routes.get("/api/shops/{id}/requisites", roles=STAFF, tag="documents",
            summary="A shop's requisites for its invoices and offers")
async def get_requisites(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].documents.get_requisites(path_id(request)))


@routes.put("/api/shops/{id}/requisites", roles=ADMINS, body=REQUISITES_BODY, tag="documents",
            summary="Save a shop's requisites (INN, KPP, BIK and accounts are checked)")
async def put_requisites(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].documents.put_requisites(
        ctx_of(request).actor, path_id(request), await read_json_object(request)))


@routes.post("/api/shops/{id}/requisites/" + IMAGE_KIND, roles=ADMINS, tag="documents",
             summary="Upload the shop's logo, stamp or signature (multipart field `file`; "
                     "PNG or JPEG, 2 MB at most)")
async def upload_image(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("Send the image as multipart/form-data in the field `file`")
    data = None
    async for part in await request.multipart():
        if part.name == "file":
            chunks, size = [], 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise PayloadTooLarge(f"An image may be {MAX_IMAGE_BYTES // 1024} KB at most",
                                          {"max_bytes": MAX_IMAGE_BYTES})
                chunks.append(chunk)
            data = b"".join(chunks)
    if data is None:
        raise BadRequest("No `file` field in the upload")
    return json_response(await request.app[SERVICES].documents.upload_image(
        ctx_of(request).actor, path_id(request), request.match_info["kind"], data))


@routes.get("/api/shops/{id}/requisites/" + IMAGE_KIND, roles=ADMINS, tag="documents",
            summary="The shop's logo, stamp or signature image")
async def get_image(request: web.Request) -> web.StreamResponse:
    path, content_type = await request.app[SERVICES].documents.image(
        path_id(request), request.match_info["kind"])
    return web.FileResponse(path, headers={"Content-Type": content_type,
                                           "X-Content-Type-Options": "nosniff",
                                           "Cache-Control": "private, max-age=3600"})


@routes.post("/api/orders/{id}/documents", roles=ALL_ROLES, tag="documents",
             body={"type": "object", "required": ["kind"],
                   "properties": {"kind": {"type": "string", "enum": ["invoice", "offer"]}}},
             summary="Make an invoice or a commercial offer PDF of the order")
async def create_document(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    doc = await request.app[SERVICES].documents.create(ctx_of(request).actor, path_id(request),
                                                       body.get("kind"))
    return json_response(doc, status=201)


@routes.get("/api/documents", roles=ALL_ROLES, tag="documents", query=("client_id", "order_id"),
            summary="The documents of a client or of an order, newest first")
async def list_documents(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].documents.list(
        ctx_of(request).actor, client_id=int_arg(request, "client_id", low=1),
        order_id=int_arg(request, "order_id", low=1)))


@routes.get("/api/documents/{id}/pdf", roles=ALL_ROLES, tag="documents", query=("download",),
            summary="The document's PDF (download=1: as an attachment)")
async def document_pdf(request: web.Request) -> web.StreamResponse:
    path, name = await request.app[SERVICES].documents.pdf(ctx_of(request).actor,
                                                           path_id(request))
    disposition = "attachment" if request.query.get("download") in ("1", "true") else "inline"
    return web.FileResponse(path, headers={"Content-Type": PDF_TYPE,
                                           "Content-Disposition": attachment(name, disposition),
                                           "X-Content-Type-Options": "nosniff"})


@routes.post("/api/documents/{id}/send", roles=ALL_ROLES, tag="documents",
             body={"type": "object", "properties": {"email": {"type": ["string", "null"]}}},
             summary="E-mail the document to the client (or to the address given)")
async def send_document(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    return json_response(await request.app[SERVICES].documents.send(
        ctx_of(request).actor, path_id(request), body.get("email")), status=202)


async def _stream_file(request: web.Request, path: Path, name: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": XLSX_TYPE,
                                           "Content-Disposition": attachment(name)})
    response.content_length = path.stat().st_size
    await response.prepare(request)
    with path.open("rb") as f:
        while chunk := f.read(256 * 1024):
            await response.write(chunk)
    await response.write_eof()
    return response


@routes.get("/api/clients/export.xlsx", roles=ALL_ROLES, tag="documents", query=("q",),
            summary="The client list (same search as /api/clients, all pages) as XLSX")
async def export_clients(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    with tempfile.TemporaryDirectory(prefix="export-") as folder:
        path = Path(folder) / "clients.xlsx"
        await services.documents.export_clients(ctx_of(request).actor, path,
                                                q=request.query.get("q"),
                                                lang=_language(request))
        return await _stream_file(request, path, "clients.xlsx")


@routes.get("/api/orders/export.xlsx", roles=ALL_ROLES, tag="documents",
            query=("client_id", "shop_id", "q", "status", "stage"),
            summary="The order list (same filters as /api/orders, all pages) as XLSX")
async def export_orders(request: web.Request) -> web.StreamResponse:
    status = request.query.get("stage") or request.query.get("status") or None
    if status and not STAGE_CODE.match(status):
        raise BadRequest("stage must be a stage code such as " + ", ".join(STATUSES))
    services = request.app[SERVICES]
    with tempfile.TemporaryDirectory(prefix="export-") as folder:
        path = Path(folder) / "orders.xlsx"
        await services.documents.export_orders(
            ctx_of(request).actor, path, client_id=int_arg(request, "client_id", low=1),
            shop_id=int_arg(request, "shop_id", low=1), q=request.query.get("q"),
            status=status, lang=_language(request))
        return await _stream_file(request, path, "orders.xlsx")
