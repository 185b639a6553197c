"""The call log and the live views name the CRM's client and the operators by name, not by the
PBX's caller-ID text or the softphone's channel (PJSIP/102); on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from callcenter.storage.tables import calls, users
from tests.api.world import build_world
from tests.calls.conftest import start_pbx


async def test_the_call_log_names_the_client_and_the_operators(api_with):
    world = await build_world(api_with)
    now = world.api.clock()
    async with world.api.services.db.write() as conn:
        # an outbound call placed by Boris that rang Anna's phone and a phone nobody has
        placed = (await conn.execute(insert(calls).values(
            call_key="names-outbound", linkedid="names-outbound", direction="outbound",
            caller="102", callee="+79161110001", callee_e164="+79161110001",
            caller_name="PBX TEXT", client_id=world.clients["anna"],
            placed_by="PJSIP/102", operators_rung=["PJSIP/101", "PJSIP/999"],
            answered_by="PJSIP/101", answered_by_user_id=None, handled_by=["PJSIP/101"],
            started_at=now - timedelta(minutes=1), answered_at=now, ended_at=now,
            outcome="answered", talk_seconds=12, variables={}).returning(calls.c.id))
        ).scalar_one()
        # a deactivated operator still names the calls she took
        await conn.execute(update(users).where(users.c.id == world.users["boris"]["id"])
                           .values(active=False))
    resp = await world.session("admin").get("/api/calls", params={"limit": 50})
    assert resp.status == 200
    by_id = {c["id"]: c for c in (await resp.json())["items"]}

    anna = by_id[world.calls["anna"]]
    assert anna["client_name"] == "Клиент Анна Соколова"
    assert anna["answered_by"] == "PJSIP/101" and anna["answered_by_name"] == "Анна Соколова"
    assert anna["operators_rung_names"] == ["Анна Соколова"]

    unknown = by_id[world.calls["boris_unknown"]]
    assert unknown["client_id"] is None and unknown["client_name"] is None
    assert unknown["answered_by_name"] == "Борис Кузнецов"

    out = by_id[placed]
    assert out["client_name"] == "Клиент Анна Соколова"  # not the caller-ID text
    assert out["caller_name"] == "PBX TEXT"  # the raw value is still there for a tooltip
    assert out["placed_by_name"] == "Борис Кузнецов"
    assert out["answered_by_name"] == "Анна Соколова"  # by extension: no user id stored
    assert out["operators_rung_names"] == ["Анна Соколова", None]


async def test_an_operator_limited_to_own_clients_gets_names_in_their_own_log(api_with):
    world = await build_world(api_with, own_clients_only=True)
    resp = await world.session("anna").get("/api/calls")
    items = (await resp.json())["items"]
    assert items and all(c["answered_by_name"] == "Анна Соколова" for c in items)
    assert {c["client_name"] for c in items} == {"Клиент Анна Соколова", None}


async def _messages_until(ws, last_type: str, timeout: float = 15.0) -> list[dict]:
    seen = []
    while True:
        message = await ws.receive_json(timeout=timeout)
        seen.append(message)
        if message["type"] == last_type:
            return seen


@pytest.fixture
async def pbx(db_url, aiohttp_client):
    pbx = await start_pbx(db_url, aiohttp_client)
    await pbx.telephony.ami.wait_connected(10)
    yield pbx
    await pbx.sim.stop()


async def test_live_calls_and_their_pushes_name_the_client_and_the_operators(pbx):
    sup = await pbx.browser("sup")
    ws = await sup.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await ws.send_json({"type": "subscribe", "topic": "calls"})
    assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
    playing = asyncio.create_task(pbx.replay("inbound_answered", speed=3))
    try:
        got = await _messages_until(ws, "call.answered")
        resp = await sup.get("/api/calls/live")
        assert resp.status == 200
        live = (await resp.json())["items"]
        got += await _messages_until(ws, "call.ended")
    finally:
        await playing
    started = next(m for m in got if m["type"] == "call.started")
    for call in [started["call"]] + [m["call"] for m in got
                                     if m["type"] in ("call.answered", "call.ended")]:
        assert call["client_id"] == pbx.ivan_id
        assert call["client_name"] == "Иван Петров"
    answered = next(m for m in got if m["type"] == "call.answered")["call"]
    assert answered["answered_by"]["endpoint"] == "PJSIP/101"
    assert answered["answered_by"]["name"] == "Анна Соколова"
    assert {op["name"] for op in answered["operators_rung"]} >= {"Анна Соколова"}
    assert [c["client_name"] for c in live] == ["Иван Петров"]
    assert live[0]["answered_by"]["name"] == "Анна Соколова"

    await pbx.settle(1)
    logged = (await (await sup.get("/api/calls")).json())["items"]
    assert logged[0]["client_name"] == "Иван Петров"
    assert logged[0]["answered_by_name"] == "Анна Соколова"
    await sup.session.close()


async def test_an_unknown_caller_has_no_client_name(pbx):
    sup = await pbx.browser("sup")
    ws = await sup.ws_connect("/ws")
    await ws.receive_json(timeout=5)
    await ws.send_json({"type": "subscribe", "topic": "calls"})
    await ws.receive_json(timeout=5)
    await pbx.replay("inbound_abandoned")
    got = await _messages_until(ws, "call.ended")
    for m in got:
        if "call" in m:
            assert m["call"]["client_id"] is None and m["call"]["client_name"] is None
    await sup.session.close()
