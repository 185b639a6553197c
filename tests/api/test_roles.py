"""Every declared route, called with every role and with no session: the server enforces roles."""

import re

import pytest

from callcenter.app import all_route_specs
from callcenter.domain.access import Role

# logout last: it ends the session the other calls use
SPECS = sorted((s for s in all_route_specs() if not s.public), key=lambda s: s.path == "/api/logout")
PUBLIC = [s for s in all_route_specs() if s.public]


def concrete(path: str) -> str:
    return re.sub(r"{shop}", "no-such-shop", re.sub(r"{id}", "1", path))


def test_every_route_declares_roles_or_is_knowingly_public():
    assert {(s.method, s.path) for s in PUBLIC} == {
        ("POST", "/api/login"), ("GET", "/api/health"), ("GET", "/api/openapi.json"),
        ("GET", "/"), ("POST", "/api/shops/{shop}/orders"),
    }


async def test_every_private_route_refuses_anonymous(api):
    for spec in SPECS:
        resp = await api.anon.request(spec.method, concrete(spec.path), json={})
        assert resp.status == 401, (spec.method, spec.path, resp.status)
        assert (await resp.json())["error"]["code"] == "not_authenticated"


async def test_every_route_with_every_role(api):
    sessions = {role: await api.login(f"user_{role.value}", role.value) for role in Role}
    for spec in SPECS:
        for role, session in sessions.items():
            call = {"GET": session.get, "POST": session.post, "PATCH": session.patch}[spec.method]
            resp = await call(concrete(spec.path)) if spec.method == "GET" else \
                await call(concrete(spec.path), json={})
            if role in spec.roles:
                assert resp.status not in (401, 403), (role, spec.method, spec.path, resp.status,
                                                       await resp.text())
            else:
                assert resp.status == 403, (role, spec.method, spec.path, resp.status)
                assert (await resp.json())["error"]["code"] == "forbidden"


async def test_writes_need_the_csrf_token(api):
    s = await api.login("anna")
    resp = await s.client.post("/api/clients", json={"name": "Без токена"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "csrf_failed"
    resp = await s.client.post("/api/clients", json={"name": "Чужой токен"},
                               headers={"X-CSRF-Token": "forged"})
    assert resp.status == 403
    resp = await s.post("/api/clients", json={"name": "С токеном"})
    assert resp.status == 201


@pytest.mark.parametrize("setting", [True, False])
async def test_operators_limited_to_their_clients_when_configured(api_with, setting):
    api = await api_with(operators_see_own_clients_only=setting)
    anna = await api.login("anna")
    boris = await api.login("boris")
    resp = await anna.post("/api/clients", json={"name": "Клиент Анны",
                                                 "assigned_operator_id": anna.user["id"]})
    client_id = (await resp.json())["id"]
    resp = await boris.get(f"/api/clients/{client_id}")
    assert resp.status == (403 if setting else 200)
    listing = await (await boris.get("/api/clients")).json()
    assert (listing["total"] == 0) is setting
    sup = await api.login("sup", "supervisor")
    assert (await sup.get(f"/api/clients/{client_id}")).status == 200
