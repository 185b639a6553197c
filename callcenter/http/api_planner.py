"""Quick date/time entry and the operator's planner (tasks per hour of a day)."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ALL_ROLES
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response
from callcenter.http.routing import RouteTable

routes = RouteTable()


@routes.get("/api/planner/parse", roles=ALL_ROLES, tag="planner",
            query=("text", "client_id", "tz"),
            summary="Read a quick time entry (+30m, завтра 10:00, пн 15, tomorrow 10am...) in "
                    "the client's time zone: the UTC instant, the client's and the operator's "
                    "(tz) wall clock, and whether it is inside the client's calling window; "
                    "400 unreadable_time when it cannot be read")
async def parse_time(request: web.Request) -> web.Response:
    result = await request.app[SERVICES].planner.parse(
        ctx_of(request).actor, request.query.get("text", ""),
        int_arg(request, "client_id", low=1), request.query.get("tz"))
    return json_response(result)


@routes.get("/api/planner/day", roles=ALL_ROLES, tag="planner",
            query=("date", "tz", "user_id"),
            summary="How many open tasks the operator has due in each hour of a day (date "
                    "YYYY-MM-DD, hours in tz); staff may name user_id")
async def planner_day(request: web.Request) -> web.Response:
    result = await request.app[SERVICES].planner.day(
        ctx_of(request).actor, request.query.get("date"), request.query.get("tz"),
        int_arg(request, "user_id", low=1))
    return json_response(result)
