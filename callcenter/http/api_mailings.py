"""Segments, mailings, unsubscribe links and abandoned carts."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
