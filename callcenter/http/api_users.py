"""Users (admins)."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ADMINS
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable
from callcenter.http.views import user_json

routes = RouteTable()


def _user_json(user: dict) -> dict:
    return dict(user_json(user), autodial=bool(user.get("autodial")))

USER_BODY = {"type": "object", "properties": {
    "login": {"type": "string"},
    "name": {"type": ["string", "null"], "description": "the login when null (on creation)"},
    "role": {"type": "string", "enum": ["operator", "supervisor", "admin"]},
    "extension": {"type": ["string", "null"], "example": "PJSIP/101"},
    "password": {"type": "string"}, "active": {"type": "boolean"},
    "autodial": {"type": "boolean", "description": "power dialling: in ready state the next "
                 "task is dialled after CALLCENTER_AUTODIAL_PREVIEW_SECONDS"},
    "language": {"type": "string", "enum": ["ru", "en", "uk"]}}}


@routes.get("/api/users", roles=ADMINS, tag="users", summary="All users")
async def list_users(request: web.Request) -> web.Response:
    users = await request.app[SERVICES].accounts.list_users()
    return json_response({"items": [_user_json(u) for u in users]})


@routes.post("/api/users", roles=ADMINS, body=USER_BODY, tag="users", summary="Add a user")
async def create_user(request: web.Request) -> web.Response:
    user = await request.app[SERVICES].accounts.create_user(ctx_of(request).actor,
                                                            await read_json_object(request))
    return json_response(_user_json(user), status=201)


@routes.patch("/api/users/{id}", roles=ADMINS, body=USER_BODY, tag="users",
              summary="Edit a user: name, role, extension, password, active, auto-dial")
async def patch_user(request: web.Request) -> web.Response:
    # the agents' cache follows through accounts.on_change: auto-dial, name, phone
    user = await request.app[SERVICES].accounts.update_user(
        ctx_of(request).actor, path_id(request), await read_json_object(request))
    return json_response(_user_json(user))

