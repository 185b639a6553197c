"""Backups (admins): the list and the last one, and back up now.

The database itself is never downloadable over HTTP: the files are copied from backup_dir.
"""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ADMINS
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response
from callcenter.http.routing import RouteTable

routes = RouteTable()


@routes.get("/api/backups", roles=ADMINS, tag="backups",
            summary="The backups from their manifests, the last one, and whether backups are "
                    "stale (no verified backup in 26 h, or none while the daily job is on)")
async def list_backups(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].backups.status())


@routes.post("/api/backups", roles=ADMINS, tag="backups",
             summary="Back up now, in the background (409 while one is running, in any "
                     "server process)")
async def backup_now(request: web.Request) -> web.Response:
    service = request.app[SERVICES].backups
    await service.start_now(ctx_of(request).actor)
    return json_response({"running": True}, status=202)
