"""Order stages per shop, the pipeline board and the funnel report."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
