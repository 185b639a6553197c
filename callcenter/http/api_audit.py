"""The audit log viewer: who did what, when, from where."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
