"""A message is encoded once and the same bytes go to every socket; /ws does not negotiate
permessage-deflate (per-socket compression costs more than it saves for pushes this small)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web

from callcenter.http.ws_hub import WebSocketHub
from tests.calls.conftest import pbx  # noqa: F401  (the real app beside an AMI simulator)
from tests.hub.test_ws_hub import start_hub_server


class CountingHub(WebSocketHub):
    encoded = 0

    @staticmethod
    def encode(message):
        CountingHub.encoded += 1
        return WebSocketHub.encode(message)


async def test_one_encoding_for_many_sockets_and_the_same_bytes_to_each(monkeypatch):
    handed: list[bytes] = []
    send_frame = web.WebSocketResponse.send_frame

    async def noting_send_frame(self, message, opcode, compress=None):
        handed.append(message)
        await send_frame(self, message, opcode, compress)

    monkeypatch.setattr(web.WebSocketResponse, "send_frame", noting_send_frame)
    hub = CountingHub()
    runner, port = await start_hub_server(hub)
    try:
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(f"http://127.0.0.1:{port}/ws?user={1 + i % 10}")
                       for i in range(20)]
            for _ in range(200):
                if hub.connection_count() == 20:
                    break
                await asyncio.sleep(0.01)
            message = {"type": "call.ringing", "client": {"name": "Иван Петров"}, "n": 1}
            CountingHub.encoded = 0
            assert hub.publish(range(1, 11), message) == 20
            assert CountingHub.encoded == 1
            for ws in sockets:
                frame = await ws.receive(timeout=5)
                assert frame.type == aiohttp.WSMsgType.TEXT  # text frames, as browsers expect
                assert json.loads(frame.data) == message
            assert len(handed) == 20
            assert all(data is handed[0] for data in handed)  # one bytes object, not 20 copies
            assert json.loads(handed[0].decode("utf-8")) == message
            for ws in sockets:
                await ws.close()
    finally:
        await hub.close_all()
        await runner.cleanup()


async def test_the_live_websocket_refuses_permessage_deflate(pbx):
    client = await pbx.browser("101")
    ws = await client.ws_connect("/ws", compress=15)  # offered, as browsers do
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    assert ws.compress == 0  # not negotiated: frames go out as they were encoded
    await ws.close()
