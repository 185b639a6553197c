"""Tasks and the next-task queue: create, list, claim the next, record an attempt's outcome, the archive."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
