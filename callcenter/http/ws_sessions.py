"""Websockets live no longer than the session they were opened with.

A page's websocket is closed (``SESSION_ENDED``) as soon as this process ends its session
(logout, log out everywhere) or changes its user (password, deactivation, role); and a periodic
check, every ``CALLCENTER_SESSION_CHECK_SECONDS``, closes the ones whose session expired or
was ended by another process through the database. Also: the Origin check of the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web

from callcenter.errors import Forbidden
from callcenter.http.middleware import public_origin
from callcenter.http.ws_hub import SESSION_ENDED, WebSocketHub
from callcenter.services.accounts import AccountService

log = logging.getLogger("callcenter.ws")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _origin_tuple(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int]:
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return scheme, (host or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def check_origin(request: web.Request) -> None:
    """Refuse a handshake whose Origin is not this server's own scheme, host and port (a page on
    another site, or plain http beside https, must not ride the session cookie). A request with
    no Origin (not a browser) passes: it cannot carry a victim's cookie."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    try:
        parts = urlsplit(origin)
        theirs = _origin_tuple(parts.scheme.lower(), parts.hostname, parts.port)
        scheme, host = public_origin(request)
        mine_url = urlsplit(f"{scheme}://{host}")
        mine = _origin_tuple(scheme, mine_url.hostname, mine_url.port)
    except ValueError:
        raise Forbidden("Cross-site websocket refused", {"origin": origin[:200]}) from None
    if theirs != mine:
        raise Forbidden("Cross-site websocket refused", {"origin": origin[:200]})


def close_on_sessions_ended(hub: WebSocketHub):
    """The hook AccountService calls when it ends sessions: closes the pages living on them."""
    async def close(*, user_id: int | None = None, token_hash: str | None = None) -> None:
        closed = await hub.close_where(
            lambda c: (user_id is not None and c.user_id == user_id)
            or (token_hash is not None and c.session == token_hash),
            SESSION_ENDED, b"session ended")
        if closed:
            log.info("closed %d websocket(s): session ended (user %s)", closed, user_id)
    return close


async def check_sessions_once(hub: WebSocketHub, accounts: AccountService) -> int:
    """Close the websockets whose session is no longer valid or whose user's role changed;
    returns how many were closed."""
    conns = [c for c in hub.connections() if c.session is not None]
    if not conns:
        return 0
    alive = await accounts.live_sessions(sorted({c.session for c in conns}))
    doomed = {id(c) for c in conns
              if c.session not in alive or alive[c.session]["role"] != c.role}
    if not doomed:
        return 0
    closed = await hub.close_where(lambda c: id(c) in doomed, SESSION_ENDED, b"session ended")
    log.info("closed %d websocket(s) whose session ended or whose role changed", closed)
    return closed


def session_watch(hub: WebSocketHub, accounts: AccountService, interval: float):
    """A cleanup context running ``check_sessions_once`` every ``interval`` seconds (and, while
    at it, forgetting lockout guards that are over)."""
    async def watch(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            rounds = 0
            while True:
                await asyncio.sleep(interval)
                try:
                    await check_sessions_once(hub, accounts)
                    rounds += 1
                    if rounds % 60 == 1:
                        await accounts.forget_stale_guards()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a database hiccup: try again next round
                    log.exception("websocket session check failed")

        task = asyncio.get_running_loop().create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return watch
