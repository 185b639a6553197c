"""Orders and shops, including the intake endpoint the shops' sites call."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ADMINS, ALL_ROLES, PUBLIC
from callcenter.domain.orders import STAGE_RE, STATUSES
from callcenter.errors import BadRequest
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import (
    client_ip, ctx_of, int_arg, json_response, path_id, read_json_object,
)
from callcenter.http.routing import RouteTable

routes = RouteTable()

MONEY = {"type": ["string", "number"], "example": "1234.50"}
ITEM = {"type": "object", "properties": {"sku": {"type": ["string", "integer", "null"]},
                                         "name": {"type": "string"},
                                         "qty": {"type": "number"}, "price": MONEY}}
ORDER_BODY = {"type": "object", "properties": {
    "client_id": {"type": "integer"}, "shop_id": {"type": "integer"},
    "external_id": {"type": ["string", "integer"]}, "number": {"type": ["string", "integer"]},
    "status": {"type": "string", "example": "shipped",
               "description": "a stage code of the order's shop: " + ", ".join(STATUSES)},
    "tracking_number": {"type": ["string", "null"], "example": "RA123456789RU"},
    "total": MONEY, "currency": {"type": "string"},
    "items": {"type": "array", "items": ITEM}, "created_at": {"type": "string"}}}
INTAKE_BODY = {"type": "object", "required": ["external_id", "number", "total", "customer"],
               "properties": {**{k: v for k, v in ORDER_BODY["properties"].items()
                                 if k not in ("client_id", "shop_id")},
                              "customer": {"type": "object", "properties": {
                                  "name": {"type": ["string", "null"]},
                                  "phone": {"type": ["string", "null"]},
                                  "email": {"type": ["string", "null"]},
                                  "city": {"type": ["string", "null"]}}}}}


@routes.get("/api/orders", roles=ALL_ROLES, tag="orders",
            query=("client_id", "shop_id", "q", "status", "stage", "limit", "offset"),
            summary="List orders (by client, shop, number or stage)")
async def list_orders(request: web.Request) -> web.Response:
    status = request.query.get("stage") or request.query.get("status") or None
    if status and not STAGE_RE.match(status):
        raise BadRequest("stage must be a stage code such as " + ", ".join(STATUSES))
    result = await request.app[SERVICES].orders.list_orders(
        ctx_of(request).actor, client_id=int_arg(request, "client_id", low=1),
        shop_id=int_arg(request, "shop_id", low=1),
        q=request.query.get("q"), status=status,
        limit=int_arg(request, "limit", 50, low=1, high=500),
        offset=int_arg(request, "offset", 0))
    return json_response(result)


@routes.post("/api/orders", roles=ALL_ROLES, body=ORDER_BODY, tag="orders",
             summary="Create an order for a client")
async def create_order(request: web.Request) -> web.Response:
    order = await request.app[SERVICES].orders.create(ctx_of(request).actor,
                                                      await read_json_object(request))
    return json_response(order, status=201)


@routes.get("/api/orders/{id}", roles=ALL_ROLES, tag="orders", summary="One order")
async def get_order(request: web.Request) -> web.Response:
    return json_response(
        await request.app[SERVICES].orders.get(ctx_of(request).actor, path_id(request)))


@routes.patch("/api/orders/{id}", roles=ALL_ROLES, body=ORDER_BODY, tag="orders",
              summary="Edit an order (recorded in the client's history)")
async def patch_order(request: web.Request) -> web.Response:
    order = await request.app[SERVICES].orders.update(
        ctx_of(request).actor, path_id(request), await read_json_object(request))
    return json_response(order)


@routes.get("/api/shops", roles=ALL_ROLES, tag="orders", summary="The shops")
async def list_shops(request: web.Request) -> web.Response:
    return json_response({"items": await request.app[SERVICES].orders.list_shops()})


@routes.post("/api/shops", roles=ADMINS, tag="orders",
             body={"type": "object", "properties": {"slug": {"type": "string"},
                                                    "name": {"type": "string"}}},
             summary="Add a shop; the answer holds its intake token, shown only once")
async def create_shop(request: web.Request) -> web.Response:
    shop = await request.app[SERVICES].orders.create_shop(ctx_of(request).actor,
                                                          await read_json_object(request))
    return json_response(shop, status=201)


@routes.post("/api/shops/{id}/token", roles=ADMINS, tag="orders",
             summary="Issue a new intake token for a shop (the old one stops working)")
async def rotate_token(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].orders.rotate_token(
        ctx_of(request).actor, path_id(request)))


async def authenticated_shop(request: web.Request) -> dict:
    """The shop of an intake path ``/api/shops/{shop}/…``, by its token (Authorization: Bearer
    or X-Shop-Token); NotAuthenticated otherwise."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else \
        request.headers.get("X-Shop-Token")
    return await request.app[SERVICES].orders.authenticate_shop(request.match_info["shop"],
                                                                token)


@routes.post("/api/shops/{shop}/orders", roles=PUBLIC, csrf=False, body=INTAKE_BODY,
             tag="intake",
             summary="A shop's site sends an order (Authorization: Bearer <shop token>); "
                     "idempotent by external_id; finds or creates the client")
async def intake_order(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    shop = await authenticated_shop(request)
    order, created = await services.orders.intake(shop, await read_json_object(request),
                                                  client_ip(request))
    return json_response(order, status=201 if created else 200)
