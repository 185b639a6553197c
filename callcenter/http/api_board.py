"""The supervisors' live board: operators' states and calls, queues, today's counters; pausing an operator."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
