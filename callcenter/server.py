"""Run the web server until interrupted."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from callcenter.app import create_app
from callcenter.config import Settings

log = logging.getLogger("callcenter")


async def serve(settings: Settings, *, demo_callers: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM. With ``demo_callers`` and no Asterisk configured, a pretend
    PBX sends calls from those numbers."""
    demo_pbx = None
    if demo_callers is not None and not settings.ami_host:
        from callcenter.ami.demo_pbx import start_demo_pbx

        demo_pbx = await start_demo_pbx(demo_callers)
        settings = settings.replace(**demo_pbx.settings())
        log.info("demo: no Asterisk configured, using the built-in AMI simulator")
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
        if demo_pbx is not None:
            await demo_pbx.stop()
