"""Call recordings: playback with HTTP Range, downloads, the supervisors' "recording missing" list.

Who may hear what is decided in :mod:`callcenter.services.recording_access`; here the request is
read and the checked file handed to aiohttp's FileResponse, which answers Range (206 with
Content-Range), If-Range and unsatisfiable ranges (416) itself.
"""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ALL_ROLES, STAFF
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response, path_id
from callcenter.http.routing import RouteTable

routes = RouteTable()


async def _audio(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    download = request.query.get("download") in ("1", "true", "yes")
    found = await request.app[SERVICES].recording_access.open_for(
        ctx.actor, path_id(request), download=download, extension=ctx.user["extension"])
    disposition = "attachment" if download else "inline"
    return web.FileResponse(found.path, headers={
        "Content-Type": found.content_type,
        "Content-Disposition": f'{disposition}; filename="{found.filename}"',
        # a recording is personal data: never kept by a browser or a proxy
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })


@routes.get("/api/calls/{id}/recording", roles=ALL_ROLES, tag="recordings",
            query=("download",),
            summary="A call's recording (Range gives 206); ?download=1 as an attachment. "
                    "404 for a recording you may not hear")
async def call_recording(request: web.Request) -> web.StreamResponse:
    return await _audio(request)


@routes.route("HEAD", "/api/calls/{id}/recording", roles=ALL_ROLES, tag="recordings",
              query=("download",), summary="The recording's headers (size, type) without it")
async def call_recording_head(request: web.Request) -> web.StreamResponse:
    return await _audio(request)


@routes.get("/api/recordings/missing", roles=STAFF, tag="recordings", query=("limit", "offset"),
            summary="Calls whose recording is missing or failed, newest first (supervisors)")
async def missing_recordings(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].recording_access.missing(
        ctx_of(request).actor, limit=int_arg(request, "limit", 50, low=1, high=200),
        offset=int_arg(request, "offset", 0)))


@routes.post("/api/recordings/{call_id}/retry", roles=STAFF, tag="recordings",
             summary="Look for a call's recording again and convert it now (supervisors)")
async def retry_recording(request: web.Request) -> web.Response:
    recording = await request.app[SERVICES].recording_access.retry(
        ctx_of(request).actor, path_id(request, "call_id"))
    return json_response({"call_id": int(request.match_info["call_id"]),
                          "recording": recording})
