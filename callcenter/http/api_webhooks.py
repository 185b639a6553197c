"""Outgoing webhooks and their delivery log (admins)."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ADMINS
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable
from callcenter.storage.events import EVENT_TYPES

routes = RouteTable()

EVENTS = {"type": "array", "items": {"type": "string", "enum": ["*", *EVENT_TYPES]}}
WEBHOOK_BODY = {"type": "object", "properties": {
    "url": {"type": "string", "maxLength": 2000, "description": "http:// or https://"},
    "events": EVENTS, "active": {"type": "boolean"},
    "description": {"type": ["string", "null"]},
    "secret": {"type": ["string", "null"],
               "description": "16-200 characters; generated when absent, shown only once"}}}


def _service(request: web.Request):
    return request.app[SERVICES].webhooks


@routes.post("/api/webhooks", roles=ADMINS, tag="webhooks",
             body={**WEBHOOK_BODY, "required": ["url", "events"]},
             summary="Register a webhook; the answer shows its signing secret, once")
async def create_webhook(request: web.Request) -> web.Response:
    hook = await _service(request).create(ctx_of(request).actor, await read_json_object(request))
    return json_response(hook, status=201)


@routes.get("/api/webhooks", roles=ADMINS, tag="webhooks",
            summary="The webhooks, secrets masked, with their deliveries counted by status")
async def list_webhooks(request: web.Request) -> web.Response:
    return json_response({"items": await _service(request).list(ctx_of(request).actor),
                          "events": list(EVENT_TYPES)})


@routes.get("/api/webhooks/{id}", roles=ADMINS, tag="webhooks", summary="One webhook")
async def get_webhook(request: web.Request) -> web.Response:
    return json_response(await _service(request).get(ctx_of(request).actor, path_id(request)))


@routes.patch("/api/webhooks/{id}", roles=ADMINS, tag="webhooks", body=WEBHOOK_BODY,
              summary="Edit, disable or enable a webhook, or give it a new secret")
async def patch_webhook(request: web.Request) -> web.Response:
    return json_response(await _service(request).update(
        ctx_of(request).actor, path_id(request), await read_json_object(request)))


@routes.delete("/api/webhooks/{id}", roles=ADMINS, tag="webhooks",
               summary="Delete a webhook and its delivery log")
async def delete_webhook(request: web.Request) -> web.Response:
    return json_response(await _service(request).delete(ctx_of(request).actor,
                                                        path_id(request)))


@routes.get("/api/webhooks/{id}/deliveries", roles=ADMINS, tag="webhooks",
            query=("status", "limit", "before_id"),
            summary="A webhook's deliveries, newest first (status filter; page on with "
                    "before_id = the answer's next_before_id)")
async def list_deliveries(request: web.Request) -> web.Response:
    query = request.query
    return json_response(await _service(request).deliveries(
        ctx_of(request).actor, path_id(request), status=query.get("status"),
        limit=query.get("limit"), before_id=query.get("before_id")))


@routes.post("/api/webhooks/{id}/ping", roles=ADMINS, tag="webhooks",
             summary="Send a ping delivery to the webhook now")
async def ping_webhook(request: web.Request) -> web.Response:
    return json_response(await _service(request).ping(ctx_of(request).actor, path_id(request)),
                         status=202)


@routes.post("/api/webhook-deliveries/{id}/retry", roles=ADMINS, tag="webhooks",
             summary="Send a delivery again now (a given-up one gets a fresh schedule)")
async def retry_delivery(request: web.Request) -> web.Response:
    return json_response(await _service(request).retry(ctx_of(request).actor,
                                                       path_id(request)), status=202)
