"""Clients: search, create, read the card, edit, notes."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ALL_ROLES
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

PHONE = {"type": "object", "properties": {"number": {"type": "string"},
                                          "label": {"type": "string"}}}
EMAIL = {"type": "object", "properties": {"email": {"type": "string"},
                                          "label": {"type": "string"}}}
TEXT_OR_NULL = {"type": ["string", "null"], "description": "null or empty clears it"}
CLIENT_BODY = {"type": "object", "properties": {
    "name": {"type": "string"}, "company": TEXT_OR_NULL, "notes": TEXT_OR_NULL,
    "timezone": TEXT_OR_NULL, "city": TEXT_OR_NULL, "region": TEXT_OR_NULL,
    "tags": {"type": ["array", "string", "null"], "items": {"type": "string"},
             "description": "a list, or one text of comma-separated tags"},
    "assigned_operator_id": {"type": ["integer", "null"]},
    "birthday": {"type": ["string", "null"], "format": "date"},
    "do_not_call": {"type": "boolean"},
    "phones": {"type": "array", "items": PHONE}, "emails": {"type": "array", "items": EMAIL},
    "force": {"type": "boolean", "description": "create even if the phone/e-mail is taken"},
}}


@routes.get("/api/clients", roles=ALL_ROLES, query=("q", "limit", "offset"), tag="clients",
            summary="Search clients by name, any form of phone, e-mail or order number")
async def list_clients(request: web.Request) -> web.Response:
    result = await request.app[SERVICES].clients.search(
        ctx_of(request).actor, request.query.get("q"),
        limit=int_arg(request, "limit", 20, low=1, high=200),
        offset=int_arg(request, "offset", 0))
    return json_response(result)


@routes.post("/api/clients", roles=ALL_ROLES, body=CLIENT_BODY, tag="clients",
             summary="Create a client (409 duplicate_client if a phone/e-mail is taken)")
async def create_client(request: web.Request) -> web.Response:
    card = await request.app[SERVICES].clients.create(ctx_of(request).actor,
                                                      await read_json_object(request))
    return json_response(card, status=201)


@routes.get("/api/clients/{id}", roles=ALL_ROLES, tag="clients",
            summary="The client card: contacts, local time, orders, notes, edit history")
async def get_client(request: web.Request) -> web.Response:
    return json_response(
        await request.app[SERVICES].clients.card(ctx_of(request).actor, path_id(request)))


@routes.patch("/api/clients/{id}", roles=ALL_ROLES, body=CLIENT_BODY, tag="clients",
              summary="Edit a client; phones/emails replace the lists when given")
async def patch_client(request: web.Request) -> web.Response:
    card = await request.app[SERVICES].clients.update(
        ctx_of(request).actor, path_id(request), await read_json_object(request))
    return json_response(card)


@routes.post("/api/clients/{id}/notes", roles=ALL_ROLES, tag="clients",
             body={"type": "object", "properties": {"text": {"type": "string"}}},
             summary="Add a note to the client")
async def add_note(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    note = await request.app[SERVICES].clients.add_note(
        ctx_of(request).actor, path_id(request), data.get("text") if isinstance(data, dict)
        else None)
    return json_response(note, status=201)
