"""The outcomes operators press after a call, as admins configure them."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ALL_ROLES, Role
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

ADMIN = (Role.ADMIN,)
FLAG = {"type": "boolean"}
OUTCOME_BODY = {"type": "object", "properties": {
    "code": {"type": "string", "pattern": "^[a-z0-9_]{1,32}$"},
    "label_ru": {"type": "string"}, "label_en": {"type": "string"},
    "final": FLAG, "failed_attempt": FLAG, "archives": FLAG, "requires_next_at": FLAG,
    "next_task_kind": {"type": ["string", "null"]}, "hotkey": {"type": ["string", "null"]},
    "position": {"type": "integer"}, "active": FLAG}}


def _code(request: web.Request) -> str:
    return request.match_info["code"]


@routes.get("/api/outcomes", roles=ALL_ROLES, tag="outcomes",
            summary="The outcome buttons, in their order, with what each does to a task")
async def list_outcomes(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    language = ctx.user.get("language") if ctx.user else None
    return json_response({"items": await request.app[SERVICES].outcomes.list(
        ctx.actor, language=language)})


@routes.post("/api/outcomes", roles=ADMIN, tag="outcomes",
             body={**OUTCOME_BODY, "required": ["code", "label_ru", "label_en"]},
             summary="Add an outcome (admins)")
async def create_outcome(request: web.Request) -> web.Response:
    outcome = await request.app[SERVICES].outcomes.create(ctx_of(request).actor,
                                                          await read_json_object(request))
    return json_response(outcome, status=201)


@routes.patch("/api/outcomes/{code}", roles=ADMIN, tag="outcomes", body=OUTCOME_BODY,
              summary="Edit an outcome (admins); built-in ones may only be relabelled")
async def patch_outcome(request: web.Request) -> web.Response:
    outcome = await request.app[SERVICES].outcomes.update(
        ctx_of(request).actor, _code(request), await read_json_object(request))
    return json_response(outcome)


@routes.delete("/api/outcomes/{code}", roles=ADMIN, tag="outcomes",
               summary="Deactivate an outcome (admins); built-in ones cannot be (409)")
async def delete_outcome(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].outcomes.deactivate(
        ctx_of(request).actor, _code(request)))
