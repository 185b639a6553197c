"""The websocket hub over real sockets: a browser that stops reading is cut off and forgotten,
and nobody else waits for it."""

from __future__ import annotations

import asyncio
import base64
import os

from aiohttp import web

from callcenter.http.ws_hub import WebSocketHub


async def start_hub_server(hub: WebSocketHub):
    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = hub.register(ws, user_id=int(request.query["user"]), role="operator",
                            extension=None, transport=request.transport)
        try:
            async for _ in ws:
                pass
        finally:
            await hub.unregister(conn)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def stalled_browser(port: int, user: int):
    """A websocket client that completes the handshake and then never reads again."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws?user={user} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"101" in head.split(b"\r\n")[0]
    writer.transport.pause_reading()
    return reader, writer


async def test_a_browser_that_stops_reading_is_cut_off_and_unregistered():
    hub = WebSocketHub(queue_size=32)
    runner, port = await start_hub_server(hub)
    import aiohttp

    try:
        async with aiohttp.ClientSession() as session:
            reader_ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?user=1")
            _, stalled = await stalled_browser(port, 2)
            for _ in range(100):
                if hub.connection_count() == 2:
                    break
                await asyncio.sleep(0.01)
            payload = {"type": "call.ringing", "pad": "я" * 20_000}
            received = 0
            for _ in range(600):
                hub.publish([1, 2], payload)
                msg = await reader_ws.receive(timeout=5)
                received += msg.type == aiohttp.WSMsgType.TEXT
                if hub.connected_users() == {1}:
                    break
            assert received > 0
            for _ in range(300):  # the stalled one is gone within a few seconds
                if hub.connected_users() == {1}:
                    break
                await asyncio.sleep(0.02)
            assert hub.connected_users() == {1}
            assert hub.connection_count() == 1
            # the reading browser still gets every message promptly
            hub.publish([1], {"type": "after"})
            while True:
                msg = await reader_ws.receive_json(timeout=2)
                if msg["type"] == "after":
                    break
            stalled.close()
            await reader_ws.close()
    finally:
        await hub.close_all()
        await runner.cleanup()
