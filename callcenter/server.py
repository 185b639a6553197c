"""Run the web server until interrupted."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from callcenter.app import create_app
from callcenter.config import Settings

log = logging.getLogger("callcenter")


async def serve(settings: Settings, *, demo: bool = False) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("callcenter listening on http://%s:%s/", settings.http_host, settings.http_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - not on Linux
            pass
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()
