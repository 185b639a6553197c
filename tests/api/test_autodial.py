"""Auto-dial (power dialling) per operator: switched by admins through the users API, shown by
GET /api/agents with the preview length, audited, pushed live; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

DEADLINE = 10.0


async def _agent(session, user_id: int) -> dict:
    resp = await session.get("/api/agents")
    assert resp.status == 200
    listing = await resp.json()
    (agent,) = [a for a in listing["items"] if a["user_id"] == user_id]
    return agent


async def test_admin_switches_autodial_on_and_off(api):
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    users = {u["login"]: u for u in (await (await admin.get("/api/users")).json())["items"]}
    assert users["anna"]["autodial"] is False
    assert (await _agent(anna, anna.user["id"]))["autodial"] is False

    resp = await admin.patch(f"/api/users/{anna.user['id']}", json={"autodial": True})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["autodial"] is True
    users = {u["login"]: u for u in (await (await admin.get("/api/users")).json())["items"]}
    assert users["anna"]["autodial"] is True and users["root"]["autodial"] is False
    assert (await _agent(anna, anna.user["id"]))["autodial"] is True
    assert (await _agent(admin, anna.user["id"]))["autodial"] is True

    resp = await admin.patch(f"/api/users/{anna.user['id']}", json={"autodial": False})
    assert resp.status == 200 and (await resp.json())["autodial"] is False
    assert (await _agent(anna, anna.user["id"]))["autodial"] is False


async def test_autodial_on_creation_and_audited(api):
    admin = await api.login("root", "admin")
    resp = await admin.post("/api/users", json={"login": "vera", "role": "operator",
                                                "password": "secret-pw-10", "autodial": True})
    assert resp.status == 201, await resp.text()
    vera = await resp.json()
    assert vera["autodial"] is True
    resp = await admin.post("/api/users", json={"login": "oleg", "role": "operator",
                                                "password": "secret-pw-10"})
    assert (await resp.json())["autodial"] is False  # off unless asked for
    await admin.patch(f"/api/users/{vera['id']}", json={"autodial": False})
    entries = (await (await admin.get("/api/audit", params={"action": "user.update"})).json())
    assert [e["details"] for e in entries["items"] if e["entity_id"] == str(vera["id"])] == [
        {"autodial": False}]
    entries = (await (await admin.get("/api/audit", params={"action": "user.create"})).json())
    (created,) = [e for e in entries["items"] if e["entity_id"] == str(vera["id"])]
    assert created["details"]["autodial"] is True


@pytest.mark.parametrize("value", ["true", 1, 0, None, [], {"on": True}])
async def test_autodial_must_be_a_boolean(api, value):
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    resp = await admin.patch(f"/api/users/{anna.user['id']}", json={"autodial": value})
    assert resp.status == 422, await resp.text()
    body = await resp.json()
    assert body["error"]["details"]["fields"] == {"autodial": "must be true or false"}
    resp = await admin.post("/api/users", json={"login": "vera", "role": "operator",
                                                "password": "secret-pw-10", "autodial": value})
    assert resp.status == 422
    assert "autodial" in (await resp.json())["error"]["details"]["fields"]
    users = {u["login"]: u for u in (await (await admin.get("/api/users")).json())["items"]}
    assert users["anna"]["autodial"] is False and "vera" not in users


async def test_only_admins_switch_autodial(api):
    await api.login("root", "admin")
    sup = await api.login("sup", "supervisor")
    anna = await api.login("anna")
    for who in (sup, anna):
        resp = await who.patch(f"/api/users/{anna.user['id']}", json={"autodial": True})
        assert resp.status == 403
    assert (await _agent(anna, anna.user["id"]))["autodial"] is False


async def test_agents_answer_names_the_preview_seconds(api_with):
    api = await api_with(autodial_preview_seconds=8)
    anna = await api.login("anna")
    listing = await (await anna.get("/api/agents")).json()
    assert listing["autodial_preview_seconds"] == 8


async def test_switch_reaches_the_operators_page_and_later_pushes(api):
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    assert (await anna.post("/api/agents/me/state", json={"state": "ready"})).status == 200
    ws = await anna.client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=DEADLINE))["type"] == "hello"
    await admin.patch(f"/api/users/{anna.user['id']}", json={"autodial": True})
    message = await ws.receive_json(timeout=DEADLINE)
    while message.get("type") != "agent.state":
        message = await ws.receive_json(timeout=DEADLINE)
    assert message["agent"]["user_id"] == anna.user["id"]
    assert message["agent"]["autodial"] is True and message["agent"]["state"] == "ready"
    # a later change of state carries the new flag, not the one cached before the switch
    assert (await anna.post("/api/agents/me/state",
                            json={"state": "paused", "reason": "lunch"})).status == 200
    message = await ws.receive_json(timeout=DEADLINE)
    while message.get("type") != "agent.state":
        message = await ws.receive_json(timeout=DEADLINE)
    assert message["agent"]["state"] == "paused" and message["agent"]["autodial"] is True
    await ws.close()
