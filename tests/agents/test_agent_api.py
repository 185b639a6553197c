"""The agent API against the running app and the AMI simulator (SQLite and PostgreSQL):
choices stored and sent as QueuePause, the list by role, pushes, AMI down, restarts."""

from __future__ import annotations

import asyncio

from tests.agents.conftest import Desk


def pauses(sim) -> list[tuple[str, str, str | None]]:
    return [(a["Interface"], a["Paused"], a.get("Reason")) for a in sim.actions
            if a.get("Action") == "QueuePause"]


async def test_pause_and_ready_are_sent_to_the_pbx(desk):
    await desk.wait_state("101", "ready")
    anna = await desk.browser("101")
    resp = await anna.post("/api/agents/me/state", json={"state": "paused", "reason": "lunch"})
    assert resp.status == 200
    agent = await resp.json()
    assert {k: agent[k] for k in ("user_id", "login", "name", "extension", "state", "reason",
                                  "pbx", "wrap_up_until", "autodial")} == {
        "user_id": desk.id("101"), "login": "101", "name": "Анна Соколова",
        "extension": "PJSIP/101", "state": "paused", "reason": "lunch", "pbx": "sent",
        "wrap_up_until": None, "autodial": False}
    assert agent["since"].endswith("+00:00")
    assert pauses(desk.sim) == [("PJSIP/101", "true", "lunch")]
    assert desk.sim.pbx.paused == {"PJSIP/101": "lunch"}
    # the QueueMemberPause coming back changes nothing
    await asyncio.sleep(0.2)
    resp = await anna.post("/api/agents/me/state", json={"state": "ready"})
    assert (await resp.json())["state"] == "ready"
    await asyncio.sleep(0.2)
    resp = await anna.post("/api/agents/me/state", json={"state": "offline"})
    assert (await resp.json())["state"] == "offline"
    await asyncio.sleep(0.2)
    assert pauses(desk.sim) == [("PJSIP/101", "true", "lunch"), ("PJSIP/101", "false", None),
                                ("PJSIP/101", "true", "offline")]
    assert await desk.history("101") == [
        ("ready", None, "pbx"), ("paused", "lunch", "crm"), ("ready", None, "crm"),
        ("offline", None, "crm")]
    # the first reason is the default pause
    resp = await anna.post("/api/agents/me/state", json={"state": "paused"})
    assert (await resp.json())["reason"] == "lunch"


async def test_bad_choices_are_field_errors(desk):
    anna = await desk.browser("101")
    for body, name in (({"state": "paused", "reason": "nap"}, "reason"),
                       ({"state": "paused", "reason": 5}, "reason"),
                       ({"state": "talking"}, "state"), ({}, "state")):
        resp = await anna.post("/api/agents/me/state", json=body)
        assert resp.status == 422, body
        error = (await resp.json())["error"]
        assert error["code"] == "validation_failed" and name in error["details"]["fields"]
    resp = await anna.post("/api/agents/me/state", data=b"not json",
                           headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert pauses(desk.sim) == []


async def test_a_phone_in_no_queue_and_a_user_with_no_phone(desk):
    vera = await desk.browser("103")
    agent = await (await vera.post("/api/agents/me/state", json={"state": "ready"})).json()
    assert (agent["state"], agent["pbx"]) == ("ready", "refused")
    sup = await desk.browser("sup")
    agent = await (await sup.post("/api/agents/me/state", json={"state": "paused",
                                                               "reason": "meeting"})).json()
    assert (agent["state"], agent["reason"], agent["pbx"]) == ("paused", "meeting", "none")
    assert pauses(desk.sim) == [("PJSIP/103", "false", None)]


async def test_staff_see_every_operator_an_operator_only_self(desk):
    await desk.wait_state("102", "ready")
    sup = await desk.browser("sup")
    listing = await (await sup.get("/api/agents")).json()
    assert [a["login"] for a in listing["items"]] == ["101", "102", "103"]
    assert listing["pause_reasons"] == ["lunch", "break", "training", "meeting", "technical"]
    assert listing["wrap_up_seconds"] == 1
    states = {a["login"]: a["state"] for a in listing["items"]}
    assert states == {"101": "ready", "102": "ready", "103": "offline"}
    anna = await desk.browser("101")
    mine = await (await anna.get("/api/agents")).json()
    assert [a["login"] for a in mine["items"]] == ["101"]


async def test_changes_are_pushed_to_the_agent_and_to_staff(desk):
    await desk.wait_state("102", "ready")
    sockets, clients = {}, {}
    for name, login in (("anna", "101"), ("boris", "102"), ("sup", "sup")):
        clients[name] = await desk.browser(login)
        ws = await clients[name].ws_connect("/ws")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        sockets[name] = ws
    await clients["anna"].post("/api/agents/me/state", json={"state": "paused", "reason": "break"})
    for name in ("anna", "sup"):
        while True:
            msg = await sockets[name].receive_json(timeout=5)
            if msg["type"] == "agent.state":
                break
        assert (msg["agent"]["login"], msg["agent"]["state"], msg["agent"]["reason"]) == (
            "101", "paused", "break")
    # 102 is told nothing about 101
    try:
        while True:
            msg = await sockets["boris"].receive_json(timeout=0.5)
            assert msg["type"] != "agent.state" or msg["agent"]["login"] == "102"
    except asyncio.TimeoutError:
        pass
    for ws in sockets.values():
        await ws.close()


async def test_a_choice_while_ami_is_down_is_sent_after_the_resync(desk):
    await desk.wait_state("101", "ready")
    desk.sim.set_fault("login", "close")
    desk.sim.disconnect_all()
    while desk.ami.connected:
        await asyncio.sleep(0.02)
    anna = await desk.browser("101")
    agent = await (await anna.post("/api/agents/me/state", json={"state": "paused",
                                                                "reason": "training"})).json()
    assert (agent["state"], agent["reason"], agent["pbx"]) == ("paused", "training", "pending")
    assert pauses(desk.sim) == []
    desk.sim.set_fault("login", None)
    await desk.ami.wait_connected(15)
    # the resync's QueueStatus still says 101 is not paused: the pending choice wins, and is sent
    for _ in range(200):
        if pauses(desk.sim):
            break
        await asyncio.sleep(0.05)
    assert pauses(desk.sim) == [("PJSIP/101", "true", "training")]
    await asyncio.sleep(0.3)
    await desk.wait_state("101", "paused", "training")
    assert await desk.history("101") == [("ready", None, "pbx"), ("paused", "training", "crm")]


async def test_states_survive_a_restart_and_the_pbx_is_the_truth(desk: Desk):
    await desk.wait_state("102", "ready")
    boris = await desk.browser("102")
    await boris.post("/api/agents/me/state", json={"state": "paused", "reason": "meeting"})
    anna = await desk.browser("101")
    await anna.post("/api/agents/me/state", json={"state": "paused", "reason": "lunch"})
    await asyncio.sleep(0.2)
    await desk.stop()
    # while the CRM is down, 101 is unpaused on the phone (the PBX alone knows)
    desk.sim.pbx.paused.pop("PJSIP/101")
    await desk.start()
    await desk.wait_state("101", "ready")
    await desk.wait_state("102", "paused", "meeting")
    assert await desk.history("102") == [("ready", None, "pbx"), ("paused", "meeting", "crm")]
    assert await desk.history("101") == [("ready", None, "pbx"), ("paused", "lunch", "crm"),
                                         ("ready", None, "pbx")]


async def test_a_pbx_event_written_before_the_pause_was_carried_out_does_not_undo_it(desk):
    await desk.wait_state("101", "ready")
    sim = desk.sim
    handle = sim._queue_pause

    async def busy_pbx(session, fields, head):
        # Asterisk wrote a member status (still unpaused) just before it took the action
        stale = {**sim.pbx.queue_member_pause("PJSIP/101", False, "", sim.clock()),
                 "Event": "QueueMemberStatus"}
        await sim.broadcast([stale])
        await handle(session, fields, head)
        await sim.broadcast([stale])  # and one after the pause was confirmed: believed

    sim._queue_pause = busy_pbx
    anna = await desk.browser("101")
    agent = await (await anna.post("/api/agents/me/state", json={"state": "paused",
                                                                "reason": "lunch"})).json()
    assert (agent["state"], agent["pbx"]) == ("paused", "sent")
    await desk.wait_state("101", "ready")
    assert await desk.history("101") == [
        ("ready", None, "pbx"), ("paused", "lunch", "crm"), ("ready", None, "pbx")]


async def test_a_choice_not_told_to_the_pbx_survives_a_restart(desk: Desk):
    await desk.wait_state("101", "ready")
    desk.sim.set_fault("login", "close")
    desk.sim.disconnect_all()
    while desk.ami.connected:
        await asyncio.sleep(0.02)
    anna = await desk.browser("101")
    agent = await (await anna.post("/api/agents/me/state", json={"state": "offline"})).json()
    assert agent["pbx"] == "pending"
    await desk.stop()
    desk.sim.set_fault("login", None)
    await desk.start()
    # the QueueStatus at start says 101 is in the queue, unpaused: the choice still wins
    for _ in range(200):
        if pauses(desk.sim):
            break
        await asyncio.sleep(0.05)
    assert pauses(desk.sim) == [("PJSIP/101", "true", "offline")]
    await asyncio.sleep(0.3)
    await desk.wait_state("101", "offline")
    assert await desk.history("101") == [("ready", None, "pbx"), ("offline", None, "crm")]
    async with desk.agents.db.read() as conn:
        from callcenter.storage.agents import pending_pbx
        assert await pending_pbx(conn) == set()
