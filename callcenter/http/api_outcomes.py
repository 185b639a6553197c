"""The outcomes operators press after a call, as admins configure them."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
