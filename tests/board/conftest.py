"""The real app and the AMI simulator on real TCP ports (tests/agents' desk: operators 101, 102
in the queue, 103 with a phone in no queue, supervisor "sup"), a CRM client whose number calls
in the traces, and helpers to read the board over HTTP and a supervisor's websocket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.services.context import Actor
from tests.agents.conftest import Desk, open_desk


async def seed_client(desk: Desk) -> int:
    from callcenter.http.keys import SERVICES

    ivan = await desk.app[SERVICES].clients.create(Actor.system("test"), {
        "name": "Иван Петров", "phones": [{"number": "+79161234567", "label": "mobile"}],
        "timezone": "Europe/Moscow", "city": "Москва", "force": True})
    return ivan["id"]


@pytest.fixture
async def board_desk(db_url):
    desk = await open_desk(db_url, wrap_up_seconds=1)
    desk.ivan_id = await seed_client(desk)
    yield desk
    await desk.stop()
    await desk.sim.stop()


@pytest.fixture
async def sqlite_desk(sqlite_url):
    desk = await open_desk(sqlite_url, wrap_up_seconds=1)
    desk.ivan_id = await seed_client(desk)
    yield desk
    await desk.stop()
    await desk.sim.stop()


async def until(check, timeout: float = 10.0, what: str = "the condition"):
    """Poll ``check`` (sync or async) until it returns something truthy; that value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        await asyncio.sleep(0.05)


async def board_of(client) -> dict[str, Any]:
    resp = await client.get("/api/board")
    assert resp.status == 200, await resp.text()
    return await resp.json()


def row(board: dict[str, Any], login: str) -> dict[str, Any]:
    (found,) = [o for o in board["operators"] if o["login"] == login]
    return found


class Pushes:
    """Everything a websocket received, read in the background."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            self.messages.append(msg.json())

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def operator_rows(self, login: str) -> list[dict[str, Any]]:
        return [m["operator"] for m in self.of("board.operator")
                if m["operator"]["login"] == login]

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def open_ws(client) -> Pushes:
    ws = await client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    return Pushes(ws)
