"""Middlewares: one JSON error shape for everything, and authentication + roles + CSRF per route."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcenter.domain.access import Role
from callcenter.errors import (
    AppError,
    BadRequest,
    CsrfFailed,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
)
from callcenter.http.keys import SERVICES
from callcenter.http.routing import spec_of
from callcenter.services.context import Actor

log = logging.getLogger("callcenter.http")

SESSION_COOKIE = "cc_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    user: dict[str, Any] | None
    session_token: str | None
    csrf_token: str | None


CTX: web.RequestKey[RequestContext] = web.RequestKey("ctx", RequestContext)


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


def error_response(error: AppError) -> web.Response:
    return web.json_response(error.to_json(), status=error.status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except AppError as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(PayloadTooLarge(
            f"The upload is too large (limit {exc.max_size // (1024 * 1024)} MB)",
            {"max_bytes": exc.max_size}))
    except web.HTTPException as exc:
        if not request.path.startswith("/api/"):
            raise
        if exc.status == 404:
            return error_response(NotFound(f"No such endpoint: {request.method} {request.path}"))
        if exc.status == 405:
            err = AppError(f"{request.method} is not allowed on {request.path}")
            err.status, err.code = 405, "method_not_allowed"
            return error_response(err)
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(AppError("Internal error; it has been logged"))


@web.middleware
async def auth_middleware(request: web.Request, handler):
    """Builds the RequestContext and refuses what the route's declared roles do not allow."""
    spec = spec_of(request)
    if spec is None:  # static files, unknown paths: nothing private behind them
        request[CTX] = RequestContext(Actor(None, None, None, client_ip(request)), None, None,
                                      None)
        return await handler(request)
    services = request.app[SERVICES]
    token = request.cookies.get(SESSION_COOKIE)
    session = await services.accounts.session(token) if token else None
    if session is not None:
        actor = Actor(user_id=session["id"], login=session["login"], role=Role(session["role"]),
                      ip=client_ip(request), name=session["name"])
        ctx = RequestContext(actor, session, token, session["csrf_token"])
    else:
        ctx = RequestContext(Actor(None, None, None, client_ip(request)), None, None, None)
    request[CTX] = ctx
    if not spec.public:
        if session is None:
            raise NotAuthenticated("Log in first")
        if ctx.actor.role not in spec.roles:
            raise Forbidden(f"Your role ({ctx.actor.role.value}) may not do this",
                            {"required": sorted(r.value for r in spec.roles)})
    if spec.csrf and request.method in UNSAFE and session is not None:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, session["csrf_token"]):
            raise CsrfFailed(f"Missing or wrong {CSRF_HEADER} header")
    return await handler(request)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None


def int_arg(request: web.Request, name: str, default: int | None = None, *,
            low: int = 0, high: int = 10**12) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Query parameter {name} must be a whole number", {"param": name}) from None
    if not low <= value <= high:
        raise BadRequest(f"Query parameter {name} must be between {low} and {high}",
                         {"param": name})
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    try:
        value = int(request.match_info[name])
    except ValueError:
        raise NotFound(f"{request.match_info[name]!r} is not an id") from None
    if value <= 0 or value > 2**62:
        raise NotFound(f"{value} is not an id")
    return value


def ctx_of(request: web.Request) -> RequestContext:
    return request[CTX]
