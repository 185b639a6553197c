"""Segments, mailings, unsubscribe links and abandoned carts."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from aiohttp import web

from callcenter.domain.access import PUBLIC, STAFF
from callcenter.errors import BadRequest
from callcenter.http.api_orders import authenticated_shop
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import client_ip, ctx_of, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

FILTER = {"type": ["object", "null"], "description": "see domain/segments.py: cities, regions, "
          "timezones, age_min/max, tags_all/any, orders_min/max, spent_min/max, "
          "last_order_after/before, last_order_within_days, shop_id, product, has_email, "
          "has_phone"}
SEGMENT_BODY = {"type": "object", "properties": {"name": {"type": "string"}, "filter": FILTER}}
MAILING_BODY = {"type": "object", "properties": {
    "name": {"type": "string"}, "segment_id": {"type": ["integer", "null"]}, "filter": FILTER,
    "channel": {"type": "string", "enum": ["email", "sms"]},
    "shop_id": {"type": ["integer", "null"]}, "subject": {"type": ["string", "null"]},
    "body": {"type": ["string", "null"]}, "rate_per_minute": {"type": ["integer", "null"]}}}
CART_BODY = {"type": "object", "required": ["external_id", "total", "customer"], "properties": {
    "external_id": {"type": ["string", "integer"]}, "total": {"type": ["string", "number"]},
    "currency": {"type": "string"}, "items": {"type": "array"}, "ordered": {"type": "boolean"},
    "customer": {"type": "object"}}}


def _mailings(request: web.Request):
    return request.app[SERVICES].mailings


@routes.get("/api/segments", roles=STAFF, tag="mailings", summary="Saved segments")
async def list_segments(request: web.Request) -> web.Response:
    return json_response({"items": await _mailings(request).list_segments()})


@routes.post("/api/segments", roles=STAFF, body=SEGMENT_BODY, tag="mailings",
             summary="Save a segment (a name and a filter)")
async def create_segment(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).create_segment(
        ctx_of(request).actor, await read_json_object(request)), status=201)


@routes.post("/api/segments/count", roles=STAFF, body={"type": "object", "properties": {
    "filter": FILTER}}, tag="mailings", summary="How many clients a filter takes in")
async def count_segment(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    return json_response({"count": await _mailings(request).count(data.get("filter"))})


@routes.get("/api/segments/{id}", roles=STAFF, tag="mailings", summary="One segment")
async def get_segment(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).get_segment(path_id(request)))


@routes.put("/api/segments/{id}", roles=STAFF, body=SEGMENT_BODY, tag="mailings",
            summary="Rename a segment or change its filter")
async def put_segment(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).update_segment(
        ctx_of(request).actor, path_id(request), await read_json_object(request)))


@routes.delete("/api/segments/{id}", roles=STAFF, tag="mailings",
               summary="Remove a segment (mailings keep the filter they were sent with)")
async def delete_segment(request: web.Request) -> web.Response:
    await _mailings(request).delete_segment(ctx_of(request).actor, path_id(request))
    return json_response({"deleted": True})


@routes.get("/api/mailings", roles=STAFF, tag="mailings",
            summary="Mailings, newest first, with their messages' figures")
async def list_mailings(request: web.Request) -> web.Response:
    return json_response({"items": await _mailings(request).list_mailings()})


@routes.post("/api/mailings", roles=STAFF, body=MAILING_BODY, tag="mailings",
             summary="Compose a mailing (a draft)")
async def create_mailing(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).create(
        ctx_of(request).actor, await read_json_object(request)), status=201)


@routes.get("/api/mailings/{id}", roles=STAFF, tag="mailings",
            summary="One mailing, with a preview for its first recipient and their count")
async def get_mailing(request: web.Request) -> web.Response:
    service = _mailings(request)
    mailing = await service.get(path_id(request))
    return json_response(dict(mailing, preview=await service.preview(mailing["id"])))


@routes.patch("/api/mailings/{id}", roles=STAFF, body=MAILING_BODY, tag="mailings",
              summary="Edit a draft mailing")
async def patch_mailing(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).update(
        ctx_of(request).actor, path_id(request), await read_json_object(request)))


@routes.post("/api/mailings/{id}/test", roles=STAFF, body={"type": "object", "properties": {
    "to": {"type": "string"}}}, tag="mailings",
    summary="Send the mailing to one address (yours) as its first recipient would get it")
async def test_mailing(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    return json_response(await _mailings(request).send_test(
        ctx_of(request).actor, path_id(request), data.get("to")), status=202)


@routes.post("/api/mailings/{id}/start", roles=STAFF, tag="mailings",
             summary="Start a mailing: one message queued per recipient, spaced by its rate")
async def start_mailing(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).start(ctx_of(request).actor,
                                                        path_id(request)), status=202)


@routes.post("/api/mailings/{id}/cancel", roles=STAFF, tag="mailings",
             summary="Cancel a mailing: its messages not sent yet are skipped")
async def cancel_mailing(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).cancel(ctx_of(request).actor,
                                                         path_id(request)))


@routes.get("/api/mailings/{id}/report", roles=STAFF, tag="mailings",
            summary="A mailing's figures: queued, sent, delivered, failed, skipped, "
                    "unsubscribed since")
async def report_mailing(request: web.Request) -> web.Response:
    return json_response(await _mailings(request).report(path_id(request)))


@routes.post("/api/shops/{shop}/carts", roles=PUBLIC, csrf=False, body=CART_BODY,
             tag="intake",
             summary="A shop's site reports a cart (Authorization: Bearer <shop token>); "
                     "idempotent by external_id; \"ordered\": true means no reminder")
async def intake_cart(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    shop = await authenticated_shop(request)
    cart, created = await services.carts.intake(shop, await read_json_object(request),
                                                client_ip(request))
    return json_response(cart, status=201 if created else 200)


# the unsubscribe pages: no session, no script; the form posts the token and nothing else

TEXTS = {
    "ru": {"title": "Отписка от рассылок",
           "ask": "Больше не присылать вам рассылки? Уведомления о ваших заказах будут "
                  "приходить по-прежнему.",
           "button": "Отписаться",
           "done": "Готово: рассылки вам больше не придут. Если это ссылка не из нашего "
                   "письма, ничего не изменилось."},
    "en": {"title": "Unsubscribe from mailings",
           "ask": "Stop sending you mailings? Notifications about your orders will still "
                  "come.",
           "button": "Unsubscribe",
           "done": "Done: you will get no more mailings. If this link was not from our "
                   "message, nothing has changed."},
}


def _language(request: web.Request) -> str:
    wanted = request.query.get("lang") or request.headers.get("Accept-Language", "ru")
    return "en" if wanted.strip().lower().startswith("en") else "ru"


def _page(lang: str, body: str) -> web.Response:
    t = TEXTS[lang]
    page = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{html.escape(t['title'])}</title></head><body><main>"
            f"<h1>{html.escape(t['title'])}</h1>{body}</main></body></html>")
    return web.Response(text=page, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


@routes.get("/u/{token}", roles=PUBLIC, tag="mailings",
            summary="The unsubscribe page (a button; opening it changes nothing)")
async def unsubscribe_page(request: web.Request) -> web.Response:
    lang = _language(request)
    t = TEXTS[lang]
    token = html.escape(request.match_info["token"][:100], quote=True)
    return _page(lang, f"<p>{html.escape(t['ask'])}</p>"
                       f'<form method="post" action="/u/{token}?lang={lang}">'
                       f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                       f'<button type="submit" id="unsubscribe">{html.escape(t["button"])}'
                       "</button></form>")


@routes.post("/u/{token}", roles=PUBLIC, csrf=False, tag="mailings",
             body={"type": "object", "description": "a form: List-Unsubscribe=One-Click "
                   "(RFC 8058; the page's button posts the same)", "properties": {
                       "List-Unsubscribe": {"type": "string"}}},
             summary="Unsubscribe (the page's button, or RFC 8058 one-click); the same answer "
                     "for any token")
async def unsubscribe(request: web.Request) -> web.Response:
    # the page's button posts an empty form, RFC 8058 clients List-Unsubscribe=One-Click;
    # anything else is a client's mistake and changes nothing
    body = await request.read()
    if request.content_type == "application/json" or _form_keys(body) != ["List-Unsubscribe"]:
        raise BadRequest("this page takes the form List-Unsubscribe=One-Click")
    await request.app[SERVICES].unsubscribe.unsubscribe(request.match_info["token"][:100],
                                                         client_ip(request))
    lang = _language(request)
    return _page(lang, f'<p id="done">{html.escape(TEXTS[lang]["done"])}</p>')


def _form_keys(body: bytes) -> list[str]:
    """The field names of a url-encoded form; a body that is not one has a field no form has."""
    try:
        return list(parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                             max_num_fields=10))
    except ValueError:  # not UTF-8, not a form, too many fields
        return ["(not a form)"]
