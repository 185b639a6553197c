"""Operators' states: ready, paused, ringing, talking, wrap-up; QueuePause on the PBX."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ALL_ROLES, STAFF
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

STATE_BODY = {
    "type": "object", "required": ["state"],
    "properties": {"state": {"type": "string", "enum": ["ready", "paused", "offline"]},
                   "reason": {"type": ["string", "null"],
                              "description": "one of CALLCENTER_PAUSE_REASONS (paused only; "
                                             "the first when omitted)"}}}


@routes.get("/api/agents", roles=ALL_ROLES, tag="agents",
            summary="Operators' states (staff: every operator; an operator: self), the pause "
                    "reasons, the wrap-up limit and the auto-dial preview in seconds")
async def list_agents(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    listing = await services.agents.listing(ctx_of(request).actor)
    return json_response(
        dict(listing, autodial_preview_seconds=services.settings.autodial_preview_seconds))


@routes.post("/api/agents/me/state", roles=ALL_ROLES, tag="agents", body=STATE_BODY,
             summary="Choose one's own state: ready, paused (with a reason) or offline; "
                     "sent to the PBX as QueuePause (\"pbx\": sent | pending | refused | none)")
async def set_my_state(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    services = request.app[SERVICES]
    agent = await services.agents.set_state(ctx_of(request).actor, body.get("state"),
                                            body.get("reason"))
    return json_response(agent)


@routes.post("/api/agents/{id}/state", roles=STAFF, tag="agents", body=STATE_BODY,
             summary="Set an operator's state (a supervisor pausing or unpausing them from the "
                     "board): as if the operator chose it, QueuePause to the PBX; audited "
                     "agent.state_set. 404 for anyone but an active operator")
async def set_operator_state(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    agent = await request.app[SERVICES].agents.set_state_of(
        ctx_of(request).actor, path_id(request), body.get("state"), body.get("reason"))
    return json_response(agent)
