"""Middlewares: one JSON error shape for everything, and authentication + roles + CSRF per route."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcenter.domain.access import Role
from callcenter.domain.clients import MAX_ID
from callcenter.domain.json_text import JsonRejected, bad_text, dumps, parse_json
from callcenter.errors import (
    AppError,
    BadRequest,
    CsrfFailed,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)
from callcenter.http.keys import SERVICES
from callcenter.http.routing import spec_of
from callcenter.services.context import Actor

log = logging.getLogger("callcenter.http")

SESSION_COOKIE = "cc_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Largest JSON body accepted: the biggest real payload, an order of 500 items, is ~100 KB.
MAX_JSON_BYTES = 1024 * 1024
_HTTP_CODES = {400: "bad_request", 411: "length_required", 413: "payload_too_large",
               414: "uri_too_long", 415: "unsupported_media_type", 431: "headers_too_large"}


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    user: dict[str, Any] | None
    session_token: str | None
    csrf_token: str | None


CTX: web.RequestKey[RequestContext] = web.RequestKey("ctx", RequestContext)


@functools.lru_cache(maxsize=8)
def _networks(trusted: str) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False)
                 for item in trusted.split(",") if item.strip())


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def forwarded_client(peer: str | None, forwarded_for: list[str], trusted: str) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
    address in X-Forwarded-For (read from the right) that is not a trusted proxy itself. A
    client may write anything in the header it sends, but only what trusted proxies appended is
    believed, so a forged entry left of them is never chosen."""
    networks = _networks(trusted) if trusted else ()
    address = _address(peer or "")
    if address is None or not any(address in net for net in networks):
        return peer or "unknown"
    hops = [h for header in forwarded_for for h in header.split(",")]
    for hop in reversed(hops):
        found = _address(hop)
        if found is None:
            return peer or "unknown"  # garbage in the chain: the proxy's own address
        if not any(found in net for net in networks):
            return str(found)
    return peer or "unknown"


def client_ip(request: web.Request) -> str:
    services = request.app.get(SERVICES)
    trusted = services.settings.trusted_proxies if services is not None else ""
    if not trusted:
        return request.remote or "unknown"
    return forwarded_client(request.remote, request.headers.getall("X-Forwarded-For", []),
                            trusted)


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """A JSON answer; never holds NaN or Infinity, which browsers cannot parse."""
    return web.json_response(data, status=status, dumps=dumps)


def error_response(error: AppError) -> web.Response:
    return json_response(error.to_json(), status=error.status)


def _check_request_text(request: web.Request) -> None:
    # Query parameters and path segments reach SQL as text: a NUL or a lone surrogate makes
    # PostgreSQL (and SQLite's UTF-8 encoding) fail, so they are refused here, once.
    for where, values in (("query parameter", request.query.items()),
                          ("path segment", request.match_info.items())):
        for name, value in values:
            reason = bad_text(value)
            if reason:
                raise BadRequest(f"The {where} {name} holds {reason}", {"param": name})


async def _refuse_unexpected_body(request: web.Request) -> None:
    # A write that takes no body (logout, a new shop token) accepts none, or an empty object:
    # a body it would silently ignore is refused like any other bad input.
    spec = spec_of(request)
    if spec is None or spec.body is not None or request.method not in UNSAFE \
            or not request.body_exists or request.content_type.startswith("multipart/"):
        return
    if await read_json(request) != {}:
        raise ValidationFailed.fields({"body": "this endpoint takes no body"})


@web.middleware
async def error_middleware(request: web.Request, handler):
    """Every error under /api/ answers in the one JSON shape; a bug answers 500 and is logged.

    Before the handler, refuses text SQL cannot hold in the query and path, and a body sent to
    a write that takes none."""
    try:
        _check_request_text(request)
        await _refuse_unexpected_body(request)
        return await handler(request)
    except AppError as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        # aiohttp 3.14's exception does not carry the limit: read it from the request
        limit = getattr(request, "_client_max_size", None)
        return error_response(PayloadTooLarge(
            "The request body is too large"
            + (f" (limit {limit // (1024 * 1024)} MB)" if limit else ""),
            {"max_bytes": limit} if limit else {}))
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        if exc.status == 404:
            return error_response(NotFound(f"No such endpoint: {request.method} {request.path}"))
        err = AppError(exc.reason if exc.status != 405
                       else f"{request.method} is not allowed on {request.path}")
        err.status = exc.status
        err.code = "method_not_allowed" if exc.status == 405 else \
            _HTTP_CODES.get(exc.status, f"http_{exc.status}")
        return error_response(err)
    except ConnectionResetError:
        raise  # the browser went away mid-request (a websocket handshake cut): nothing to tell
    except Exception as exc:
        if database_unreachable(exc):
            # the database is down, restarting, or out of connections: not a bug, and worth
            # trying again in a moment (the browser says so)
            log.warning("database not reachable on %s %s: %s", request.method, request.path,
                        exc.__class__.__name__)
            return error_response(ServiceUnavailable(
                "The database is not reachable right now; try again in a moment"))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(AppError("Internal error; it has been logged"))


#: what asyncpg raises when the server is going away, restarting or out of connections
_UNREACHABLE = frozenset({"TooManyConnectionsError", "CannotConnectNowError",
                          "ConnectionDoesNotExistError", "ConnectionFailureError",
                          "AdminShutdownError", "CrashShutdownError"})
#: and SQLite, when its file cannot be opened (a disk gone) or stays locked past the timeout
_SQLITE_UNREACHABLE = frozenset({"unable to open database file", "database is locked",
                                 "disk I/O error"})


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (rather than that a statement or
    the code is wrong): a connection refused or cut, the server shutting down or out of
    connections, the pool's wait for a connection timed out."""
    from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (PoolTimeout, ConnectionError)):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if type(current).__name__ in _UNREACHABLE:
            return True
        if isinstance(current, sqlite3.OperationalError) and \
                str(current) in _SQLITE_UNREACHABLE:
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


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


def public_origin(request: web.Request) -> tuple[str, str]:
    """The scheme and host the browser used: behind a reverse proxy that ends TLS, what it says
    in X-Forwarded-Proto / X-Forwarded-Host (a page cannot set these on a browser's request, so
    they cannot be used to pass a foreign Origin off as ours)."""
    scheme = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    return (scheme if scheme in ("http", "https") else request.scheme), (host or request.host)


def content_security_policy(request: web.Request) -> str:
    """The page may run only its own scripts and styles (nothing inline), talk only to this
    server (its websocket named with its host, as older browsers do not count ws: as 'self'),
    and may not be framed."""
    scheme, host = public_origin(request)
    ws_scheme = "wss" if scheme == "https" else "ws"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {ws_scheme}://{host}; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers on every answer, errors and static files included (run as on_response_prepare,
    which sees even the answers no middleware does)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(request))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON the product accepts (see ``parse_json``): 400 bad_request for
    anything else, 413 payload_too_large over MAX_JSON_BYTES (read no further than that)."""
    too_large = PayloadTooLarge(f"A JSON body may be at most {MAX_JSON_BYTES // 1024} KB",
                                {"max_bytes": MAX_JSON_BYTES})
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise too_large
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise too_large
        chunks.append(chunk)
    try:
        return parse_json(b"".join(chunks))
    except JsonRejected as exc:
        raise BadRequest(f"The body is not acceptable JSON: {exc}") from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """``read_json``, and 422 validation_failed unless the body is a JSON object."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed.fields({"body": "must be a JSON object"})
    return data


def int_arg(request: web.Request, name: str, default: int | None = None, *,
            low: int = 0, high: int = MAX_ID) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return default
    try:
        if len(raw) > 20:
            raise ValueError
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Query parameter {name} must be a whole number", {"param": name}) from None
    if not low <= value <= high:
        raise BadRequest(f"Query parameter {name} must be between {low} and {high}",
                         {"param": name})
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    try:
        if len(raw) > 20:
            raise ValueError
        value = int(raw)
    except ValueError:
        raise NotFound(f"{raw[:40]!r} is not an id") from None
    if value <= 0 or value > MAX_ID:
        raise NotFound(f"{value} is not an id")
    return value


def ctx_of(request: web.Request) -> RequestContext:
    return request[CTX]
