"""Reports per operator and per queue, KPI plans, CSV and XLSX exports."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import STAFF
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable
from callcenter.services.reports import Export

routes = RouteTable()

PERIOD_QUERY = ("from", "to", "preset", "format")
PLAN_NUMBER = {"type": ["integer", "null"], "minimum": 0}
PLAN_BODY = {"type": "object", "properties": {
    "calls_per_day": PLAN_NUMBER, "confirmed_orders_per_day": PLAN_NUMBER,
    "sales_per_day": {"type": ["string", "number", "null"]}}}


def _answer(result) -> web.StreamResponse:
    if isinstance(result, Export):
        return web.Response(body=result.body, headers={
            "Content-Type": result.content_type,
            "Content-Disposition": f'attachment; filename="{result.filename}"'})
    return json_response(result)


def _language(request: web.Request) -> str | None:
    user = ctx_of(request).user
    return user.get("language") if user else None


@routes.get("/api/reports/operators", roles=STAFF, tag="reports", query=PERIOD_QUERY,
            summary="Per-operator figures and KPI over local days from..to (or a preset); "
                    "format=csv|xlsx for a file")
async def operators_report(request: web.Request) -> web.StreamResponse:
    return _answer(await request.app[SERVICES].reports.operators(
        ctx_of(request).actor, request.query, language=_language(request)))


@routes.get("/api/reports/queues", roles=STAFF, tag="reports", query=PERIOD_QUERY,
            summary="Per-queue inbound figures over local days from..to (or a preset); "
                    "format=csv|xlsx for a file")
async def queues_report(request: web.Request) -> web.StreamResponse:
    return _answer(await request.app[SERVICES].reports.queues(
        ctx_of(request).actor, request.query, language=_language(request)))


@routes.get("/api/reports/plans", roles=STAFF, tag="reports",
            summary="Every operator's daily plan (calls, confirmed orders, sales)")
async def list_plans(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].reports.plans())


@routes.put("/api/reports/plans/{user_id}", roles=STAFF, tag="reports", body=PLAN_BODY,
            summary="Set an operator's daily plan; a figure left out keeps its value")
async def put_plan(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].reports.set_plan(
        ctx_of(request).actor, path_id(request, "user_id"),
        await read_json_object(request)))
