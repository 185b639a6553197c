""""Operators see only their own clients": every list, read and write endpoint, the websocket and
the screen pop, for both values of the setting, with two operators (Anna and Boris, each with a
client, an order, a call and a task, and a call and a task with no client) and a supervisor."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.world import PHONES, build_world
from tests.calls.conftest import TRACES

ON_OFF = pytest.mark.parametrize("own_only", [True, False], ids=["own-only", "all"])


@pytest.fixture
async def world_of(api_with):
    worlds = []

    async def build(own_only: bool, pbx: bool = False):
        world = await build_world(api_with, own_clients_only=own_only, pbx=pbx)
        worlds.append(world)
        return world

    yield build
    for world in worlds:
        if world.sim is not None:
            await world.sim.stop()


async def ids(session, path: str) -> set[int]:
    resp = await session.get(path)
    assert resp.status == 200, (path, resp.status, await resp.text())
    body = await resp.json()
    assert body["total"] == len(body["items"])
    return {item["id"] for item in body["items"]}


@ON_OFF
async def test_lists(world_of, own_only):
    w = await world_of(own_only)
    anna, sup = w.session("anna"), w.session("sup")
    everything = {
        "/api/clients": set(w.clients.values()),
        "/api/calls": set(w.calls.values()),
        "/api/orders": set(w.orders.values()),
        "/api/tasks": set(w.tasks.values()),
    }
    annas = {
        "/api/clients": {w.clients["anna"]},
        "/api/calls": {w.calls["anna"], w.calls["anna_unknown"]},
        "/api/orders": {w.orders["anna"]},
        "/api/tasks": {w.tasks["anna"], w.tasks["anna_unknown"], w.tasks["anna_order"]},
    }
    for path, all_ids in everything.items():
        assert await ids(sup, path) == all_ids, path
        assert await ids(anna, path) == (annas[path] if own_only else all_ids), path
    # searches that would hit Boris's client
    boris_hits = {
        f"/api/clients?q={PHONES['boris'][1:]}": w.clients["boris"],
        "/api/clients?q=Борис": w.clients["boris"],
        f"/api/orders?q={w.order_numbers['boris']}": w.orders["boris"],
        f"/api/calls?operator_id={w.users['boris']['id']}": w.calls["boris"],
        "/api/tasks?status=open&kind=callback": w.tasks["boris"],
    }
    for path, boris_id in boris_hits.items():
        assert (boris_id in await ids(anna, path)) is not own_only, path
        assert boris_id in await ids(sup, path), path


@ON_OFF
async def test_reads(world_of, own_only):
    w = await world_of(own_only)
    anna, sup = w.session("anna"), w.session("sup")
    boris_client, boris_order = w.clients["boris"], w.orders["boris"]
    for path in (f"/api/clients/{boris_client}", f"/api/orders/{boris_order}",
                 f"/api/calls?client_id={boris_client}", f"/api/orders?client_id={boris_client}"):
        resp = await anna.get(path)
        assert resp.status == (404 if own_only else 200), (path, resp.status)
        if own_only:
            body = await resp.json()
            assert body["error"]["code"] == "not_found"
            assert "Борис" not in await resp.text()
        assert (await sup.get(path)).status == 200
    # her own objects stay readable
    for path in (f"/api/clients/{w.clients['anna']}", f"/api/orders/{w.orders['anna']}"):
        assert (await anna.get(path)).status == 200


async def boris_card(w) -> dict:
    resp = await w.session("sup").get(f"/api/clients/{w.clients['boris']}")
    return await resp.json()


@ON_OFF
async def test_writes(world_of, own_only):
    w = await world_of(own_only, pbx=True)
    anna = w.session("anna")
    boris_client, boris_order, boris_call = w.clients["boris"], w.orders["boris"], w.calls["boris"]
    before = await boris_card(w)
    writes = [
        ("PATCH", f"/api/clients/{boris_client}", {"city": "Тула"}, 200),
        ("POST", f"/api/clients/{boris_client}/notes", {"text": "чужая заметка"}, 201),
        ("PATCH", f"/api/orders/{boris_order}", {"status": "cancelled"}, 200),
        ("POST", "/api/orders", {"client_id": boris_client, "shop_id": w.shop["id"],
                                 "number": "M-1", "total": "10"}, 201),
        ("PATCH", f"/api/orders/{w.orders['anna']}", {"client_id": boris_client}, 200),
        ("PATCH", f"/api/calls/{boris_call}", {"note": "чужой звонок"}, 200),
        ("PATCH", f"/api/calls/{w.calls['boris_unknown']}", {"disposition": "resolved"}, 200),
        ("PATCH", f"/api/calls/{w.calls['anna']}", {"client_id": boris_client,
                                                   "note": "перенос"}, 200),
        ("POST", "/api/calls/originate", {"number": PHONES["boris"],
                                          "client_id": boris_client}, 202),
        ("POST", "/api/calls/originate", {"number": PHONES["boris"],
                                          "task_id": w.tasks["boris"]}, 202),
        ("POST", "/api/calls/originate", {"number": "+79034445566",
                                          "task_id": w.tasks["boris_unknown"]}, 202),
    ]
    for method, path, body, allowed in writes:
        resp = await (anna.post if method == "POST" else anna.patch)(path, json=body)
        assert resp.status == (404 if own_only else allowed), (method, path, body, resp.status,
                                                               await resp.text())
    after = await boris_card(w)
    if own_only:  # nothing reached Boris's client
        for key in ("city", "activities", "orders", "history", "calls"):
            assert after[key] == before[key], key
    else:
        assert after["city"] == "Тула" and len(after["orders"]) == len(before["orders"]) + 2
    # her own writes go through either way
    assert (await anna.patch(f"/api/calls/{w.calls['anna_unknown']}",
                             json={"disposition": "resolved"})).status == 200
    assert (await anna.post("/api/calls/originate", json={
        "number": PHONES["anna"], "task_id": w.tasks["anna_unknown"]})).status == 202


@ON_OFF
async def test_duplicate_warning_and_assignment(world_of, own_only):
    w = await world_of(own_only)
    anna, sup = w.session("anna"), w.session("sup")
    resp = await anna.post("/api/clients", json={"name": "Двойник", "phones": [PHONES["boris"]]})
    assert resp.status == 409
    text = await resp.text()
    match = (await resp.json())["error"]["details"]["matches"][0]
    assert match["matched_on"] == "phone" and match["value"] == PHONES["boris"]
    if own_only:
        assert "Борис" not in text and "id" not in match and "name" not in match
        assert match["assigned_to_another_operator"] is True
    else:
        assert match["id"] == w.clients["boris"] and "Борис" in match["name"]
    resp = await sup.post("/api/clients", json={"name": "Двойник", "phones": [PHONES["anna"]]})
    assert (await resp.json())["error"]["details"]["matches"][0]["id"] == w.clients["anna"]

    boris_id = w.users["boris"]["id"]
    resp = await anna.post("/api/clients", json={"name": "Подарок",
                                                 "assigned_operator_id": boris_id})
    assert resp.status == (422 if own_only else 201)
    resp = await anna.patch(f"/api/clients/{w.clients['anna']}",
                            json={"assigned_operator_id": None})
    assert resp.status == (422 if own_only else 200)
    resp = await anna.post("/api/clients", json={"name": "Мой новый"})
    assert resp.status == 201
    mine = await resp.json()
    if own_only:  # made by a limited operator: hers, so that she still sees it
        assert mine["assigned_operator"]["id"] == w.users["anna"]["id"]


async def next_of(ws, kind: str, timeout: float = 10.0) -> dict:
    while True:
        message = await ws.receive_json(timeout=timeout)
        if message["type"] == kind:
            return message


@ON_OFF
async def test_websocket_and_screen_pop(world_of, own_only):
    """Иван Петров, Boris's client, calls; the queue rings Anna (101) and Boris (102)."""
    w = await world_of(own_only, pbx=True)
    system_sup = w.session("sup")
    resp = await w.session("boris").post("/api/clients", json={
        "name": "Иван Петров", "phones": ["+79161234567"],
        "assigned_operator_id": w.users["boris"]["id"]})
    assert resp.status == 201
    ivan = await resp.json()
    sockets = {}
    for login in ("anna", "boris", "sup"):
        ws = await w.session(login).client.ws_connect("/ws")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        sockets[login] = ws
    await sockets["sup"].send_json({"type": "subscribe", "topic": "calls"})
    assert (await next_of(sockets["sup"], "subscribed"))["topic"] == "calls"
    await sockets["anna"].send_json({"type": "subscribe", "topic": "calls"})
    assert (await next_of(sockets["anna"], "error"))["code"] == "forbidden"

    await w.sim.replay(TRACES / "inbound_answered.jsonl", speed=0)
    pops = {login: await next_of(sockets[login], "call.ringing") for login in ("anna", "boris")}
    watched = [await next_of(sockets["sup"], "call.ringing") for _ in range(2)]

    for message in [pops["boris"], *watched]:
        assert message["client"]["id"] == ivan["id"]
        assert "orders" in message["client"] and "phones" in message["client"]
    anna_client = pops["anna"]["client"]
    if own_only:
        assert anna_client == {"name": "Иван Петров", "restricted": True, "assigned_operator": {
            "id": w.users["boris"]["id"], "name": "Борис Кузнецов"}}
    else:
        assert anna_client["id"] == ivan["id"] and "orders" in anna_client
    for ws in sockets.values():
        await ws.close()
    # the card a supervisor opens is whole in both cases
    assert (await system_sup.get(f"/api/clients/{ivan['id']}")).status == 200


async def test_pop_candidates_are_limited_too(world_of):
    """Two clients share a number: a limited operator sees her own in full, the other reduced."""
    w = await world_of(True, pbx=True)
    sup = w.session("sup")
    for login in ("anna", "boris"):
        resp = await sup.post("/api/clients", json={
            "name": f"Петров ({login})", "phones": ["+79161234567"], "force": True,
            "assigned_operator_id": w.users[login]["id"]})
        assert resp.status == 201
    ws = await w.session("anna").client.ws_connect("/ws")
    await ws.receive_json(timeout=5)
    await w.sim.replay(TRACES / "inbound_answered.jsonl", speed=0)
    pop = await next_of(ws, "call.ringing")
    assert pop["client"] is None
    by_name = {c["name"]: c for c in pop["candidates"]}
    assert "phones" in by_name["Петров (anna)"]
    assert by_name["Петров (boris)"] == {"name": "Петров (boris)", "restricted": True,
                                         "assigned_operator": {"id": w.users["boris"]["id"],
                                                               "name": "Борис Кузнецов"}}
    await ws.close()
    await asyncio.sleep(0)
