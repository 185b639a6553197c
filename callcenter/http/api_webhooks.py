"""Outgoing webhooks and their delivery log."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
