"""API fixtures: the real app on a real database, driven over HTTP by aiohttp's test client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from callcenter.app import create_app
from callcenter.http.keys import SERVICES
from callcenter.services.context import Actor
from tests.conftest import FrozenClock, make_settings

PASSWORD = "secret-pw-10"  # the password rule wants at least 10 characters


@dataclass
class Session:
    """A logged-in browser: the cookie jar lives in ``client``, the CSRF token here."""

    client: Any
    user: dict[str, Any]
    csrf: str
    headers: dict[str, str] = field(default_factory=dict)

    def _h(self, extra):
        return {"X-CSRF-Token": self.csrf, **(extra or {})}

    async def get(self, path, **kw):
        return await self.client.get(path, **kw)

    async def post(self, path, json=None, headers=None, **kw):
        return await self.client.post(path, json=json, headers=self._h(headers), **kw)

    async def patch(self, path, json=None, headers=None, **kw):
        return await self.client.patch(path, json=json, headers=self._h(headers), **kw)


@dataclass
class Api:
    app: Any
    clock: FrozenClock
    make_client: Any
    anon: Any

    @property
    def services(self):
        return self.app[SERVICES]

    async def user(self, login: str, role: str = "operator", password: str = PASSWORD,
                   **extra) -> dict[str, Any]:
        return await self.services.accounts.create_user(
            Actor.system("test"), {"login": login, "role": role, "password": password,
                                   "name": extra.pop("name", login.title()), **extra})

    async def login(self, login: str, role: str = "operator", password: str = PASSWORD,
                    create: bool = True, **extra) -> Session:
        if create:
            await self.user(login, role, password, **extra)
        client = await self.make_client(self.app)
        resp = await client.post("/api/login", json={"login": login, "password": password})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        return Session(client, body["user"], body["csrf_token"])


@pytest.fixture
async def api_with(db_url, aiohttp_client):
    """A factory: the app with some settings changed (``await api_with(max_upload_mb=1)``)."""
    clients_made = []

    async def build(**overrides) -> Api:
        clock = FrozenClock()
        app = create_app(make_settings(db_url, **overrides), clock=clock)
        anon = await aiohttp_client(app)

        async def make_client(app_):
            from aiohttp.test_utils import TestClient

            # one server, several browsers: each client has its own cookie jar
            client = TestClient(anon.server)
            await client.start_server()
            clients_made.append(client)
            return client

        return Api(app, clock, make_client, anon)

    yield build
    for c in clients_made:
        await c.session.close()


@pytest.fixture
async def api(api_with) -> Api:
    return await api_with()
