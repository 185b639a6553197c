"""Call recordings: playback with HTTP Range, downloads, the supervisors' "recording missing" list."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
