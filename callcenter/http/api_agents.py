"""Operators' states: ready, paused, ringing, talking, wrap-up; QueuePause on the PBX."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
