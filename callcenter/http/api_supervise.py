"""Listen, whisper, barge: a supervisor's phone joins an operator's call through ChanSpy."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import STAFF
from callcenter.domain.supervise import MODES, parse_request
from callcenter.errors import ValidationFailed
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

SUPERVISE_BODY = {
    "type": "object", "required": ["operator_id", "mode"], "additionalProperties": False,
    "properties": {
        "operator_id": {"type": "integer", "minimum": 1,
                        "description": "the operator whose current call to join"},
        "mode": {"type": "string", "enum": list(MODES),
                 "description": "listen: hear both parties, unheard; whisper: the operator "
                                "(only) hears you; barge: both parties hear you"}}}


@routes.post("/api/supervise", roles=STAFF, tag="agents", body=SUPERVISE_BODY,
             summary="Listen in on an operator's call: ring my softphone, then ChanSpy on the "
                     "operator's phone (listen / whisper / barge); 202 with the Originate's "
                     "ActionID")
async def supervise(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    parsed, errors = parse_request(await read_json_object(request))
    if parsed is None:
        raise ValidationFailed.fields(errors)
    started = await request.app[SERVICES].supervise.start(ctx.actor, parsed, ctx.actor.ip)
    return json_response(started.as_json(), status=202)
