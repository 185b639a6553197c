"""Backups: the last one, run one now."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
