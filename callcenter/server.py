"""Run the web server until interrupted."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from typing import Callable

from aiohttp import web

from callcenter.app import create_app
from callcenter.config import Settings
from callcenter.errors import AppError

log = logging.getLogger("callcenter")


class CannotListen(AppError):
    """The web server's address cannot be bound (raised at start, not over HTTP)."""

    code = "cannot_listen"


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 = a free port chosen by the OS).

    Binding first, before anything else starts, turns a busy port into one clear error
    instead of a traceback after the services came up.
    """
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = "the address is already in use (another server is running there?)"
        else:
            reason = exc.strerror or str(exc)
        raise CannotListen(
            f"cannot listen on {host}:{port}: {reason}; choose another with --http-port "
            f"or CALLCENTER_HTTP_PORT") from None


def inherited_socket(fd: int) -> socket.socket:
    """The listening TCP socket passed down as file descriptor ``fd`` (``CannotListen`` if it
    is not one)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise CannotListen(f"file descriptor {fd} is not a listening TCP socket "
                           f"({exc.strerror})") from None
    if sock.type != socket.SOCK_STREAM or sock.getsockopt(socket.SOL_SOCKET,
                                                          socket.SO_ACCEPTCONN) == 0:
        sock.detach()
        raise CannotListen(f"file descriptor {fd} is not a listening TCP socket")
    return sock


class MissingSecretKey(AppError):
    """A server on PostgreSQL without CALLCENTER_SECRET_KEY (raised at start)."""

    code = "missing_secret_key"


async def serve(settings: Settings, *, demo_callers: list[str] | None = None,
                sock: socket.socket | None = None,
                on_listening: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM.

    The address is bound before the app starts (``CannotListen`` when it is taken), or ``sock``
    is used as it is. ``on_listening(url)`` runs once the server accepts connections. With
    ``demo_callers`` and no Asterisk configured, a pretend PBX sends calls from those numbers.
    """
    if sock is None:
        sock = listen(settings.http_host, settings.http_port)
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}/"
    if not settings.secret_key:
        if not settings.db_url.startswith("sqlite"):
            # every process must hash session tokens and sign links with one key: with a random
            # key each, a login on one process is unknown to the next behind the proxy
            raise MissingSecretKey(
                "CALLCENTER_SECRET_KEY must be set on PostgreSQL: every server process on the "
                "database must use the same key (generate one with: python3 -c 'import secrets; "
                "print(secrets.token_hex(32))')")
        log.warning("CALLCENTER_SECRET_KEY is not set: using a random key, "
                    "so sessions end when the server restarts")
    # handlers first: a stop asked for while starting up still ends cleanly, once started
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - not on Linux
            pass
    demo_pbx = None
    runner = None
    try:
        if demo_callers is not None and not settings.ami_host:
            from callcenter.ami.demo_pbx import start_demo_pbx

            demo_pbx = await start_demo_pbx(demo_callers, monitor_dir=settings.monitor_dir)
            settings = settings.replace(**demo_pbx.settings())
            log.info("demo: no Asterisk configured, using the built-in AMI simulator")
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        log.info("callcenter listening on %s", url)
        if on_listening is not None:
            on_listening(url)
        await stop.wait()
    finally:
        log.info("shutting down")
        if runner is not None:
            await runner.cleanup()
        if demo_pbx is not None:
            await demo_pbx.stop()
        sock.close()
