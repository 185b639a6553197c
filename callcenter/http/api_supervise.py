"""Listen, whisper, barge: a supervisor's phone joins an operator's call through ChanSpy."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
