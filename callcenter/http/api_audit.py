"""The audit log viewer: who did what, when, from where (supervisors and admins)."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import STAFF
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response
from callcenter.http.routing import RouteTable

routes = RouteTable()


@routes.get("/api/audit", roles=STAFF, tag="audit",
            query=("action", "user_id", "login", "q", "ip", "from", "to", "limit", "offset"),
            summary="The audit log, newest first: action (one, or a prefix ending with a dot), "
                    "user_id, login (part of), q (free text), ip (or its beginning), from/to "
                    "(local dates or ISO date-times), limit (1-1000), offset")
async def list_audit(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].audit.entries(ctx_of(request).actor,
                                                                   request.query))


@routes.get("/api/audit/actions", roles=STAFF, tag="audit",
            summary="Every action in the audit log, for the viewer's filter")
async def list_actions(request: web.Request) -> web.Response:
    return json_response({"items": await request.app[SERVICES].audit.actions(
        ctx_of(request).actor)})
