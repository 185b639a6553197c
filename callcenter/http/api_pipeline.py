"""Order stages per shop, the pipeline board and the funnel report."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ADMINS, ALL_ROLES, STAFF
from callcenter.errors import BadRequest
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()


def _shop_id(request: web.Request) -> int:
    shop_id = int_arg(request, "shop_id", low=1)
    if shop_id is None:
        raise BadRequest("Query parameter shop_id is required", {"param": "shop_id"})
    return shop_id

STAGE = {"type": "object", "properties": {
    "code": {"type": "string", "example": "shipped"}, "name_ru": {"type": "string"},
    "name_en": {"type": "string"}, "kind": {"type": "string", "enum": ["open", "won", "lost"]},
    "roles": {"type": "array", "items": {"type": "string",
                                         "enum": ["operator", "supervisor", "admin"]}},
    "next_task": {"type": ["object", "null"], "properties": {
        "title": {"type": "string", "example": "Check delivery of order {number}"},
        "in_days": {"type": "integer"}}},
    "notify_event": {"type": ["string", "null"]}, "active": {"type": "boolean"}}}


@routes.get("/api/shops/{id}/stages", roles=ALL_ROLES, tag="pipeline",
            summary="A shop's order stages in board order, with how many orders each holds")
async def get_stages(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].pipeline.stages(path_id(request)))


@routes.put("/api/shops/{id}/stages", roles=ADMINS, tag="pipeline",
            body={"type": "object", "properties": {"stages": {"type": "array", "items": STAGE}}},
            summary="Replace a shop's stages (a stage holding orders cannot be dropped)")
async def put_stages(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].pipeline.save_stages(
        ctx_of(request).actor, path_id(request), await read_json_object(request)))


@routes.get("/api/pipeline", roles=ALL_ROLES, tag="pipeline",
            query=("shop_id", "q", "operator_id", "per_column"),
            summary="The board: a shop's stages with their newest orders and counts")
async def get_board(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].pipeline.board(
        ctx_of(request).actor, _shop_id(request),
        q=(request.query.get("q") or "")[:200] or None,
        operator_id=int_arg(request, "operator_id", low=1),
        per_column=int_arg(request, "per_column", 50, low=1, high=200)))


@routes.get("/api/reports/funnel", roles=STAFF, tag="pipeline",
            query=("shop_id", "from", "to", "preset", "operator_id"),
            summary="The funnel: orders reaching each stage, conversion, time in stage, "
                    "per operator")
async def get_funnel(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].pipeline.funnel(
        _shop_id(request), request.query,
        int_arg(request, "operator_id", low=1)))


@routes.post("/api/orders/{id}/stage", roles=ALL_ROLES, tag="pipeline",
             body={"type": "object", "required": ["stage"], "properties": {
                 "stage": {"type": "string"}, "tracking_number": {"type": ["string", "null"]}}},
             summary="Move an order to a stage (the same as PATCH /api/orders/{id} status)")
async def move_order(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].orders.move(
        ctx_of(request).actor, path_id(request), await read_json_object(request)))
