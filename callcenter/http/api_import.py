"""CSV import of clients and leads, with a dry-run preview."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import STAFF
from callcenter.errors import BadRequest, PayloadTooLarge
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response
from callcenter.http.routing import RouteTable

routes = RouteTable()


@routes.post("/api/import/clients", roles=STAFF, tag="clients", query=("dry_run",),
             summary="Import clients from a CSV upload (multipart field `file`); "
                     "dry_run=1 previews without writing")
async def import_clients(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.settings.max_upload_mb * 1024 * 1024
    dry_run = request.query.get("dry_run", "1") not in ("0", "false", "no")
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("Send the file as multipart/form-data in the field `file`")
    reader = await request.multipart()
    data = None
    async for part in reader:
        if part.name == "file":
            chunks, size = [], 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"The file is larger than {services.settings.max_upload_mb} MB",
                        {"max_bytes": limit})
                chunks.append(chunk)
            data = b"".join(chunks)
    if data is None:
        raise BadRequest("No `file` field in the upload")
    report = await services.importer.import_clients(ctx_of(request).actor, data, dry_run=dry_run)
    return json_response(report)
