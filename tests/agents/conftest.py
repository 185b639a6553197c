"""The real app and a real AMI simulator on real TCP ports, on SQLite and PostgreSQL, for the
agent-state tests: operators 101 and 102 are queue members, 103 has a phone in no queue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.ami.sim import AmiSimulator
from callcenter.app import create_app
from callcenter.http.keys import CALLS, SERVICES
from callcenter.services.context import Actor
from tests.calls.conftest import AMI_SECRET, AMI_USER, TRACES
from tests.conftest import make_settings

PEOPLE = (("101", "Анна Соколова", "operator", "PJSIP/101"),
          ("102", "Борис Кузнецов", "operator", "PJSIP/102"),
          ("103", "Вера Новикова", "operator", "PJSIP/103"),
          ("sup", "Светлана", "supervisor", None))


@dataclass
class Desk:
    """One running app (it can be restarted on the same database and simulator)."""

    db_url: str
    sim: AmiSimulator
    overrides: dict[str, Any]
    app: Any = None
    server: TestServer | None = None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: list[TestClient] = field(default_factory=list)

    @property
    def agents(self):
        return self.app[SERVICES].agents

    @property
    def ami(self):
        return self.app[CALLS].ami

    async def start(self, *, seed: bool = False) -> None:
        settings = make_settings(self.db_url, ami_host="127.0.0.1", ami_port=self.sim.port,
                                 ami_username=AMI_USER, ami_secret=AMI_SECRET,
                                 ami_ping_interval=5.0, **self.overrides)
        if seed:
            # the users exist before the app's first AMI resync, as in a running shop
            seeder = TestServer(create_app(settings.replace(ami_host="")))
            await seeder.start_server()
            accounts = seeder.app[SERVICES].accounts
            for login, name, role, ext in PEOPLE:
                self.users[login] = await accounts.create_user(Actor.system("test"), {
                    "login": login, "name": name, "role": role, "extension": ext,
                    "password": "pw-secret-" + login})
            await seeder.close()
        self.app = create_app(settings)
        self.server = TestServer(self.app)
        await self.server.start_server()
        await self.ami.wait_connected(10)

    async def stop(self) -> None:
        for client in self.clients:
            await client.close()
        self.clients = []
        await self.server.close()

    async def browser(self, login: str) -> TestClient:
        client = TestClient(self.server)
        await client.start_server()
        resp = await client.post("/api/login",
                                 json={"login": login, "password": "pw-secret-" + login})
        assert resp.status == 200, await resp.text()
        me = await (await client.get("/api/me")).json()
        client.session.headers["X-CSRF-Token"] = me["csrf_token"]
        self.clients.append(client)
        return client

    async def replay(self, name: str, speed: float = 0, fresh_ids: bool = True) -> None:
        await self.sim.replay(TRACES / f"{name}.jsonl", speed=speed, fresh_ids=fresh_ids)

    def id(self, login: str) -> int:
        return self.users[login]["id"]

    async def wait_state(self, login: str, state: str, reason: Any = ...,
                         timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            s = self.agents.current(self.id(login))
            if s is not None and s.state == state and (reason is ... or s.reason == reason):
                await self.agents.drain()
                return
            if loop.time() > deadline:
                raise AssertionError(f"{login} is {s}, not {state} {reason}")
            await asyncio.sleep(0.02)

    async def history(self, login: str) -> list[tuple[str, Any, str]]:
        await self.agents.drain()
        return [(c["state"], c["reason"], c["source"])
                for c in await self.agents.history(self.id(login))]


async def open_desk(db_url: str, **overrides) -> Desk:
    sim = AmiSimulator(AMI_USER, AMI_SECRET, seed=1)
    await sim.start()
    desk = Desk(db_url, sim, overrides)
    await desk.start(seed=True)
    return desk


@pytest.fixture
async def desk(db_url):
    desk = await open_desk(db_url, wrap_up_seconds=1)
    yield desk
    await desk.stop()
    await desk.sim.stop()
