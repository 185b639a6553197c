"""Quick date/time entry and the operator's planner (tasks per hour of a day)."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
