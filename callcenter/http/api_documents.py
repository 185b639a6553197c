"""Invoices and offers as PDF, the shops' requisites, XLSX exports."""

from __future__ import annotations

from callcenter.http.routing import RouteTable

routes = RouteTable()
