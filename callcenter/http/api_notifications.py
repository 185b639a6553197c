"""Messages to customers: templates, previews, the messages on a card, SMS delivery reports."""

from __future__ import annotations

import hmac

from aiohttp import web

from callcenter.domain.access import ADMINS, ALL_ROLES, PUBLIC, STAFF
from callcenter.errors import NotFound, ValidationFailed
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

TEMPLATE_BODY = {"type": "object", "required": ["event", "channel", "lang"], "properties": {
    "shop_id": {"type": ["integer", "null"]}, "event": {"type": "string"},
    "channel": {"type": "string", "enum": ["email", "sms"]},
    "lang": {"type": "string", "enum": ["ru", "en"]}, "subject": {"type": ["string", "null"]},
    "body": {"type": "string"}, "enabled": {"type": "boolean"},
    "reset": {"type": "boolean"}}}
PREVIEW_BODY = {"type": "object", "required": ["event", "channel", "lang"], "properties": {
    **{k: v for k, v in TEMPLATE_BODY["properties"].items() if k != "reset"},
    "order_id": {"type": ["integer", "null"]}}}


@routes.get("/api/messages", roles=ALL_ROLES, tag="messages", query=("client_id", "order_id"),
            summary="E-mails and SMS to a client or about an order, newest first")
async def list_messages(request: web.Request) -> web.Response:
    items = await request.app[SERVICES].notifications.list_messages(
        ctx_of(request).actor, client_id=int_arg(request, "client_id", low=1),
        order_id=int_arg(request, "order_id", low=1))
    return json_response({"items": items, "can_retry": ctx_of(request).actor.role in STAFF})


@routes.post("/api/messages/{id}/retry", roles=STAFF, tag="messages",
             summary="Send a failed or skipped message again")
async def retry_message(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].notifications.retry(
        ctx_of(request).actor, path_id(request)))


@routes.get("/api/notification-templates", roles=ADMINS, tag="messages", query=("shop_id",),
            summary="Every notification template (a shop's own, every shop's, or the default)")
async def list_templates(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].notifications.templates(
        int_arg(request, "shop_id", low=1)))


@routes.put("/api/notification-templates", roles=ADMINS, body=TEMPLATE_BODY, tag="messages",
            summary="Save one template (shop_id null = every shop); reset=true goes back to "
                    "the default")
async def save_template(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].notifications.save_template(
        ctx_of(request).actor, await read_json_object(request)))


@routes.post("/api/notification-templates/preview", roles=ADMINS, body=PREVIEW_BODY,
             tag="messages", summary="A template rendered with sample values or a real order")
async def preview_template(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].notifications.preview(
        await read_json_object(request)))


STATUS_BODY = {"type": "object", "properties": {
    "id": {"type": ["string", "integer"]}, "status": {"type": "string"},
    "error": {"type": ["string", "null"]}}}


@routes.post("/api/messages/sms-status/{token}", roles=PUBLIC, csrf=False, body=STATUS_BODY,
             tag="messages",
             summary="An SMS gateway's delivery report: JSON {id, status: delivered|failed, "
                     "error} or SMS.ru's form callback (data[]=sms_status\\n<id>\\n<code>)")
async def sms_status(request: web.Request) -> web.Response:
    service = request.app[SERVICES].notifications
    if not hmac.compare_digest(request.match_info["token"], service.callback_token):
        raise NotFound("no such callback")
    if request.content_type == "application/json":
        data = await read_json_object(request)
        _check_status_report(data)
        status = str(data.get("status") or "").lower()
        provider_id = str(data.get("id") or "")[:200]
        if provider_id and status in ("delivered", "failed", "undelivered", "rejected"):
            await service.delivery_report(provider_id, status == "delivered",
                                          str(data.get("error") or status)[:300])
        return json_response({"ok": True})
    form = await request.post()
    for item in form.getall("data[]", []):
        parts = str(item).split("\n")
        if len(parts) >= 3 and parts[0] == "sms_status":
            code = parts[2].strip()
            if code == "103":
                await service.delivery_report(parts[1].strip()[:200], True)
            elif code in ("104", "105", "106", "107", "108", "150"):
                await service.delivery_report(parts[1].strip()[:200], False,
                                              f"sms.ru status {code}")
    return web.Response(text="100")


def _check_status_report(data) -> None:
    """A JSON report's fields have the types the gateway documents; statuses other than
    delivered / failed (queued, sent …) are accepted and change nothing."""
    errors = {}
    if "id" in data and (isinstance(data["id"], bool)
                         or not isinstance(data["id"], (str, int))):
        errors["id"] = "must be text"
    elif len(str(data.get("id", ""))) > 200:
        errors["id"] = "is longer than 200 characters"
    if "status" in data and not isinstance(data["status"], str):
        errors["status"] = "must be text"
    elif len(data.get("status", "")) > 64:
        errors["status"] = "is longer than 64 characters"
    if data.get("error") is not None and not isinstance(data["error"], str):
        errors["error"] = "must be text or null"
    elif len(data.get("error") or "") > 2000:
        errors["error"] = "is longer than 2000 characters"
    if errors:
        raise ValidationFailed.fields(errors)
