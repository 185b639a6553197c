"""The supervisors' live board: operators' states and calls, queues, today's counters; pausing an operator."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import STAFF
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, json_response
from callcenter.http.routing import RouteTable

routes = RouteTable()


@routes.get("/api/board", roles=STAFF, tag="board",
            summary="The live board: every operator's state, call and today's counters, the "
                    "queues' waiting callers, whether the data is stale (AMI down or "
                    "resyncing); kept up to date over /ws with board.operator, board.queue "
                    "and board.status")
async def board(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].board.snapshot(ctx_of(request).actor))
