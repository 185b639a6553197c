"""Login, logout, who am I, health."""

from __future__ import annotations

from aiohttp import web

from callcenter.domain.access import ALL_ROLES, PUBLIC
from callcenter.errors import UnsupportedMediaType, ValidationFailed
from callcenter.http.views import user_json
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import (
    SESSION_COOKIE,
    client_ip,
    ctx_of,
    json_response,
    read_json,
)
from callcenter.http.routing import RouteTable

routes = RouteTable()

LOGIN_BODY = {"type": "object", "required": ["login", "password"],
              "properties": {"login": {"type": "string"}, "password": {"type": "string"}}}


@routes.post("/api/login", roles=PUBLIC, csrf=False, body=LOGIN_BODY, tag="auth",
             summary="Log in; sets the session cookie and returns the CSRF token")
async def login(request: web.Request) -> web.Response:
    # A cross-site HTML form can post urlencoded or text/plain without a CORS preflight, and
    # would sign the victim's browser into the attacker's account: only JSON is taken.
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Log in with a JSON body (Content-Type: application/json)",
                                   {"content_type": request.content_type})
    data = await read_json(request)
    if not isinstance(data, dict) or not isinstance(data.get("login"), str) \
            or not isinstance(data.get("password"), str):
        raise ValidationFailed.fields({"login": "login and password are required"})
    if len(data["login"]) > 64 or len(data["password"]) > 1024:
        # no account has such a login; hashing a megabyte "password" is only work for us
        raise ValidationFailed.fields({"login": "a login has at most 64 characters and a "
                                                "password at most 1024"})
    services = request.app[SERVICES]
    result = await services.accounts.login(data["login"], data["password"], client_ip(request))
    response = json_response({"user": user_json(result.user),
                                  "csrf_token": result.csrf_token})
    response.set_cookie(
        SESSION_COOKIE, result.token, httponly=True, samesite="Lax", path="/",
        secure=services.settings.cookie_secure,
        max_age=int(services.accounts.session_lifetime.total_seconds()))
    return response


@routes.post("/api/logout", roles=ALL_ROLES, tag="auth", summary="End this session")
async def logout(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    await request.app[SERVICES].accounts.logout(ctx.actor, ctx.session_token)
    response = json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.post("/api/logout/everywhere", roles=ALL_ROLES, tag="auth",
             summary="End every session of this user (all browsers); their websockets close")
async def logout_everywhere(request: web.Request) -> web.Response:
    await request.app[SERVICES].accounts.logout_everywhere(ctx_of(request).actor)
    response = json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/api/me", roles=ALL_ROLES, tag="auth",
            summary="The logged-in user and the CSRF token for writes")
async def me(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return json_response({"user": user_json(ctx.user), "csrf_token": ctx.csrf_token})


@routes.get("/api/health", roles=PUBLIC, tag="system",
            summary="Liveness: database and AMI link status")
async def health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.db.ping()
        db = "ok"
    except Exception as exc:  # the health page reports, it does not fail
        db = f"error: {type(exc).__name__}"
    ami = services.ami_status() if services.ami_status else {"status": "disabled",
                                                            "last_error": None}
    return json_response({"status": "ok" if db == "ok" else "degraded", "database": db,
                              "ami": ami})
