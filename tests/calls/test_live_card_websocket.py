"""The live client card over a real websocket, and callbacks that close themselves."""

from __future__ import annotations

import asyncio

from tests.calls.conftest import TRACES


async def messages_until(ws, last_type: str, timeout: float = 10.0) -> list[dict]:
    seen = []
    while True:
        message = await ws.receive_json(timeout=timeout)
        seen.append(message)
        if message["type"] == last_type:
            return seen


async def connect(pbx, login):
    client = await pbx.browser(login)
    ws = await client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["ami"]["status"] == "connected"
    return client, ws


async def test_card_pops_for_each_rung_operator_then_answered_then_ended(pbx):
    anna, ws_anna = await connect(pbx, "101")
    anna_tab2 = await anna.ws_connect("/ws")  # a second tab of the same operator
    await anna_tab2.receive_json(timeout=5)
    boris, ws_boris = await connect(pbx, "102")
    vera, ws_vera = await connect(pbx, "103")  # not in the queue: must get nothing
    await pbx.replay("inbound_answered", speed=0)

    got = await messages_until(ws_anna, "call.ended")
    types = [m["type"] for m in got]
    assert types.index("call.ringing") < types.index("call.answered") < types.index("call.ended")
    ringing = got[types.index("call.ringing")]
    assert ringing["client"]["name"] == "Иван Петров"
    assert ringing["client"]["id"] == pbx.ivan_id and ringing["number_e164"] == "+79161234567"
    for key in ("orders", "calls", "tasks", "activities", "local_time", "history"):
        assert key in ringing["client"]
    assert ringing["call"]["direction"] == "inbound"
    answered = got[types.index("call.answered")]
    assert answered["answered_by"]["user_id"] == pbx.users["101"]["id"]
    ended = got[-1]
    assert ended["call"]["outcome"] == "answered" and isinstance(ended["call"]["id"], int)

    assert [m["type"] for m in await messages_until(anna_tab2, "call.ended")].count(
        "call.ringing") == 1

    got = await messages_until(ws_boris, "call.ended")
    types = [m["type"] for m in got]
    assert "call.ringing" in types
    answered = got[types.index("call.answered")]
    assert answered["answered_by"]["user_id"] == pbx.users["101"]["id"]  # Boris's card closes

    try:
        stray = await ws_vera.receive_json(timeout=0.3)
    except asyncio.TimeoutError:
        stray = None
    assert stray is None
    for c in (anna, boris, vera):
        await c.session.close()


async def test_unknown_caller_pops_with_the_normalised_number(pbx):
    anna, ws = await connect(pbx, "101")
    await pbx.replay("inbound_abandoned")
    ringing = (await messages_until(ws, "call.ringing"))[-1]
    assert ringing["client"] is None and ringing["candidates"] == []
    assert ringing["number_e164"] == "+79031112233"
    ended = (await messages_until(ws, "call.ended"))[-1]
    assert ended["call"]["outcome"] == "missed"
    await anna.session.close()


async def test_shared_number_offers_candidates(pbx):
    from callcenter.services.context import Actor

    await pbx.services.clients.create(Actor.system("test"), {
        "name": "Мария Петрова", "phones": ["+79161234567"], "force": True})
    anna, ws = await connect(pbx, "101")
    await pbx.replay("inbound_answered")
    ringing = (await messages_until(ws, "call.ringing"))[-1]
    assert ringing["client"] is None
    assert sorted(c["name"] for c in ringing["candidates"]) == ["Иван Петров", "Мария Петрова"]
    await anna.session.close()


async def test_supervisor_subscribes_to_all_calls_operators_may_not(pbx):
    sup, ws = await connect(pbx, "sup")
    await ws.send_json({"type": "subscribe", "topic": "calls"})
    assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
    anna, ws_anna = await connect(pbx, "101")
    await ws_anna.send_json({"type": "subscribe", "topic": "calls"})
    assert (await ws_anna.receive_json(timeout=5))["code"] == "forbidden"
    await pbx.replay("inbound_abandoned")
    types = [m["type"] for m in await messages_until(ws, "call.ended")]
    assert "call.started" in types and "call.ringing" in types
    for c in (sup, anna):
        await c.session.close()


async def test_websocket_refuses_anonymous_and_cross_site(pbx):
    from aiohttp import WSServerHandshakeError
    from aiohttp.test_utils import TestClient

    anon = TestClient(pbx.server)
    await anon.start_server()
    try:
        await anon.ws_connect("/ws")
        raise AssertionError("anonymous websocket accepted")
    except WSServerHandshakeError as exc:
        assert exc.status == 401
    await anon.session.close()
    anna = await pbx.browser("101")
    try:
        await anna.ws_connect("/ws", headers={"Origin": "https://evil.example"})
        raise AssertionError("cross-site websocket accepted")
    except WSServerHandshakeError as exc:
        assert exc.status == 403
    await anna.session.close()


async def test_missed_callback_closes_when_the_client_is_reached(pbx, tmp_path):
    # Ivan calls and gives up (the abandoned trace, from his number)
    text = (TRACES / "inbound_abandoned.jsonl").read_text(encoding="utf-8")
    ivan_abandons = tmp_path / "ivan_abandons.jsonl"
    ivan_abandons.write_text(text.replace("+79031112233", "79161234567"), encoding="utf-8")
    await pbx.replay(ivan_abandons)
    await pbx.settle(1)
    (task,) = await pbx.tasks()
    assert (task["status"], task["client_id"]) == ("open", pbx.ivan_id)
    # the operator calls him back and he answers
    await pbx.replay("outbound_click_to_call")
    await pbx.settle(2)
    (task,) = await pbx.tasks()
    assert (task["status"], task["closed_reason"]) == ("done", "reached")


async def test_call_log_api_filters_and_after_call_note(pbx):
    await pbx.replay("inbound_answered")
    await pbx.replay("inbound_abandoned")
    await pbx.replay("outbound_rejected")
    await pbx.settle(3)
    anna = await pbx.browser("101")
    me = await (await anna.get("/api/me")).json()
    body = await (await anna.get("/api/calls")).json()
    assert body["total"] == 3
    item = body["items"][0]
    for key in ("id", "linkedid", "direction", "caller", "callee", "client_id", "operators_rung",
                "answered_by", "outcome", "started_at", "answered_at", "ended_at",
                "talk_seconds", "recording"):
        assert key in item
    missed = await (await anna.get("/api/calls", params={"outcome": "missed"})).json()
    assert [c["caller"] for c in missed["items"]] == ["+79031112233"]
    inbound = await (await anna.get("/api/calls", params={"direction": "inbound"})).json()
    assert inbound["total"] == 2
    mine = await (await anna.get("/api/calls", params={
        "operator_id": str(pbx.users["101"]["id"])})).json()
    assert mine["total"] == 2  # the call 101 answered and the one 101 placed
    ivan = await (await anna.get("/api/calls", params={"client_id": str(pbx.ivan_id)})).json()
    assert all(c["client_id"] == pbx.ivan_id for c in ivan["items"]) and ivan["total"] >= 1
    bad = await anna.get("/api/calls", params={"outcome": "lost"})
    assert bad.status == 400
    call_id = ivan["items"][0]["id"]
    resp = await anna.patch(f"/api/calls/{call_id}", json={
        "disposition": "order_placed", "note": "Оформил заказ на чайник"},
        headers={"X-CSRF-Token": me["csrf_token"]})
    assert resp.status == 200 and (await resp.json())["disposition"] == "order_placed"
    card = await (await anna.get(f"/api/clients/{pbx.ivan_id}")).json()
    assert card["calls"][0]["note"] == "Оформил заказ на чайник"
    assert card["activities"][0]["text"] == "Оформил заказ на чайник"
    await anna.session.close()


async def test_only_the_process_showing_a_pop_looks_the_caller_up(pbx):
    """With several server processes each follows every call; the number lookup and the card
    are read only where a page will show them: a rung operator's page, or a watching
    supervisor's (who also gets the caller's card when the call starts)."""
    calls = pbx.telephony.calls
    calls.look_up_at_start = False  # as create_app has it with several processes
    looked_up = []
    real_lookup = calls.lookup

    async def counting_lookup(number, client_id=None):
        looked_up.append(number)
        return await real_lookup(number, client_id)

    calls.lookup = counting_lookup
    await pbx.replay("inbound_answered", speed=0, fresh_ids=True)
    rows = await pbx.settle(1)
    assert [r["outcome"] for r in rows] == ["answered"]  # the call log does not depend on it
    assert looked_up == [] and calls.pops == 0  # nobody here to show it to

    anna, ws_anna = await connect(pbx, "101")
    await pbx.replay("inbound_answered", speed=0, fresh_ids=True)
    got = await messages_until(ws_anna, "call.ended")
    ringing = next(m for m in got if m["type"] == "call.ringing")
    assert ringing["client"]["id"] == pbx.ivan_id
    assert len(looked_up) == 1 and calls.pops == 1  # Anna's pop; Boris has no page here

    sup, ws_sup = await connect(pbx, "sup")
    await ws_sup.send_json({"type": "subscribe", "topic": "calls"})
    assert (await ws_sup.receive_json(timeout=5))["type"] == "subscribed"
    looked_up.clear()
    await pbx.replay("inbound_answered", speed=0, fresh_ids=True)
    got = await messages_until(ws_sup, "call.ended")
    started = next(m for m in got if m["type"] == "call.started")
    assert started["call"]["client_id"] == pbx.ivan_id  # looked up at the start
    assert len(looked_up) == 1  # once, at the start: the pops use it
    for c in (anna, sup):
        await c.session.close()
