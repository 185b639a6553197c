"""Reports per operator and per queue, KPI plans, CSV and XLSX exports."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
