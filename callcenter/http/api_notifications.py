"""Messages to customers: templates, previews, the messages on a card."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
