"""A real PBX stand-in on a real TCP port, and the real app listening to it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from callcenter.ami.sim import AmiSimulator
from callcenter.app import create_app
from callcenter.http.keys import CALLS, SERVICES
from callcenter.services.context import Actor
from callcenter.storage import calls as calls_repo
from tests.conftest import make_settings

TRACES = Path(__file__).resolve().parents[1] / "traces"
AMI_USER, AMI_SECRET = "callcenter", "test-ami-secret"


def split_at_reconnect(trace: Path, tmp: Path) -> tuple[Path, Path]:
    """Cut a trace where the recorded client logged in again: before and after the drop."""
    lines = trace.read_text(encoding="utf-8").splitlines()
    banners = [i for i, line in enumerate(lines)
               if json.loads(line)["data"].startswith("Asterisk Call Manager")]
    assert len(banners) == 2, "the trace should hold exactly one reconnect"
    first, second = tmp / "before.jsonl", tmp / "after.jsonl"
    first.write_text("\n".join(lines[:banners[1]]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[banners[1]:]) + "\n", encoding="utf-8")
    return first, second


@dataclass
class Pbx:
    sim: AmiSimulator
    app: Any
    server: Any
    users: dict[str, dict[str, Any]]
    ivan_id: int

    @property
    def telephony(self):
        return self.app[CALLS]

    @property
    def services(self):
        return self.app[SERVICES]

    async def replay(self, name: str | Path, speed: float = 0, fresh_ids: bool = False) -> None:
        path = name if isinstance(name, Path) else TRACES / f"{name}.jsonl"
        await self.sim.replay(path, speed=speed, fresh_ids=fresh_ids)

    async def settle(self, calls: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``calls`` calls are stored complete (rows are written in progress when
        a call starts) and all effects are carried out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.telephony.calls.drain()
            rows = await self.stored_calls()
            done = [r for r in rows if r["status"] != "in_progress"]
            if (len(done) >= calls and len(done) == len(rows)) or loop.time() > deadline:
                return rows
            await asyncio.sleep(0.05)

    async def stored_calls(self) -> list[dict[str, Any]]:
        async with self.services.db.read() as conn:
            rows, _ = await calls_repo.list_calls(
                conn, since=None, until=None, operator_id=None, operator_endpoint=None,
                client_id=None, direction=None, outcome=None, limit=100, offset=0)
        return rows

    async def tasks(self) -> list[dict[str, Any]]:
        async with self.services.db.read() as conn:
            rows, _ = await calls_repo.list_tasks(conn, status=None, kind=None, limit=100,
                                                  offset=0)
        return rows

    async def browser(self, login: str) -> TestClient:
        client = TestClient(self.server)
        await client.start_server()
        resp = await client.post("/api/login", json={"login": login, "password": "pw-secret-" + login})
        assert resp.status == 200
        return client


async def start_pbx(db_url: str, aiohttp_client, *, sim_secret: str = AMI_SECRET,
                    settings_overrides: dict[str, Any] | None = None, **sim_options) -> Pbx:
    sim = AmiSimulator(AMI_USER, sim_secret, seed=1, **sim_options)
    port = await sim.start()
    settings = make_settings(db_url, ami_host="127.0.0.1", ami_port=port,
                             ami_username=AMI_USER, ami_secret=AMI_SECRET,
                             ami_ping_interval=5.0, **(settings_overrides or {}))
    app = create_app(settings)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    actor = Actor.system("test")
    users = {}
    for login, name, ext in (("101", "Анна Соколова", "PJSIP/101"),
                             ("102", "Борис Кузнецов", "PJSIP/102"),
                             ("103", "Вера Новикова", "PJSIP/103")):
        users[login] = await services.accounts.create_user(actor, {
            "login": login, "name": name, "role": "operator", "extension": ext,
            "password": "pw-secret-" + login})
    users["sup"] = await services.accounts.create_user(actor, {
        "login": "sup", "name": "Светлана", "role": "supervisor", "password": "pw-secret-sup"})
    ivan = await services.clients.create(actor, {
        "name": "Иван Петров", "phones": [{"number": "+79161234567", "label": "mobile"}],
        "timezone": "Europe/Moscow", "city": "Москва"})
    return Pbx(sim, app, client.server, users, ivan["id"])


@pytest.fixture
async def pbx(db_url, aiohttp_client):
    pbx = await start_pbx(db_url, aiohttp_client)
    if pbx.telephony.ami is not None:
        await pbx.telephony.ami.wait_connected(10)
    yield pbx
    await pbx.sim.stop()
