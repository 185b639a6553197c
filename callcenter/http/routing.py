"""Declared routes: every route names the roles that may call it, so none can be left unguarded.

Handlers take ``(request, ctx)``; ``ctx`` is the RequestContext built by the auth middleware.
The OpenAPI description and the role tests are generated from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable

from aiohttp import web

from callcenter.domain.access import Role

Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    roles: frozenset[Role]  # empty: public (no login needed)
    summary: str
    csrf: bool = True       # unsafe methods with a session cookie must carry X-CSRF-Token
    body: dict[str, Any] | None = None  # JSON schema of the request body, for OpenAPI
    query: tuple[str, ...] = ()
    tag: str = "api"

    @property
    def public(self) -> bool:
        return not self.roles


@dataclass
class RouteTable:
    specs: list[RouteSpec] = field(default_factory=list)

    def route(self, method: str, path: str, *, roles: Iterable[Role], summary: str,
              csrf: bool = True, body: dict[str, Any] | None = None,
              query: tuple[str, ...] = (), tag: str = "api") -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            spec = RouteSpec(method, path, handler, frozenset(roles), summary, csrf, body, query,
                             tag)
            handler.route_spec = spec  # type: ignore[attr-defined]
            self.specs.append(spec)
            return handler
        return register

    def get(self, path: str, **kw):
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw):
        return self.route("PATCH", path, **kw)

    def put(self, path: str, **kw):
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw):
        return self.route("DELETE", path, **kw)

    def add_to(self, app: web.Application) -> None:
        for spec in self.specs:
            app.router.add_route(spec.method, spec.path, spec.handler)


def spec_of(request: web.Request) -> RouteSpec | None:
    route = request.match_info.route
    return getattr(getattr(route, "handler", None), "route_spec", None)
