"""Every real trace, replayed by the AMI simulator over a real TCP socket into the real listener;
the conclusions are read back from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiohttp.test_utils import TestClient

from tests.calls.conftest import TRACES, split_at_reconnect, start_pbx


async def click_to_call(pbx, trace: str | Path, login: str = "101", **body) -> str:
    """Place a click-to-call as ``login`` through the API; the simulated PBX answers it by
    playing ``trace`` (its ActionIDs replaced by the new one).  Returns the ActionID."""
    pbx.sim.originate_trace = trace if isinstance(trace, Path) else TRACES / f"{trace}.jsonl"
    person = await pbx.browser(login)
    try:
        me = await (await person.get("/api/me")).json()
        resp = await person.post("/api/calls/originate", headers={"X-CSRF-Token": me["csrf_token"]},
                                 json={"number": "+79161234567", **body})
        assert resp.status == 202, await resp.text()
        return (await resp.json())["action_id"]
    finally:
        await person.session.close()


def split_at_originate(trace: Path, tmp: Path) -> tuple[Path, Path]:
    """Cut a trace where the recorded client sent its Originate: the calls before, and the
    Originate with what followed (for the simulator to play when the CRM sends its own)."""
    lines = trace.read_text(encoding="utf-8").splitlines()
    (cut,) = [i for i, line in enumerate(lines)
              if json.loads(line)["dir"] == "out" and "Action: Originate" in json.loads(line)["data"]]
    first, second = tmp / "before-originate.jsonl", tmp / "originate.jsonl"
    first.write_text("\n".join(lines[:cut]) + "\n", encoding="utf-8")
    second.write_text("\n".join(lines[cut:]) + "\n", encoding="utf-8")
    return first, second


async def messages_until(ws, kind: str, timeout: float = 5.0) -> list[dict]:
    """Websocket messages up to and including the first of type ``kind``."""
    got = []
    while not got or got[-1]["type"] != kind:
        got.append(await ws.receive_json(timeout=timeout))
    return got


async def test_inbound_answered(pbx):
    await pbx.replay("inbound_answered", speed=4)
    (call,) = await pbx.settle(1)
    assert call["direction"] == "inbound"
    assert call["outcome"] == "answered"
    assert call["caller"] == "79161234567" and call["caller_e164"] == "+79161234567"
    assert call["caller_name"] == "Иван Петров"
    assert call["callee_e164"] == "+74951234567"
    assert call["client_id"] == pbx.ivan_id
    assert call["operators_rung"] == ["PJSIP/101", "PJSIP/102"]
    assert call["answered_by"] == "PJSIP/101"
    assert call["answered_by_user_id"] == pbx.users["101"]["id"]
    assert call["hangup_side"] == "customer"
    assert call["recording"] == f"2026/11/23/{call['linkedid']}.wav"
    # ~6 s of talk recorded, played four times faster
    assert 1.0 <= call["talk_seconds"] <= 2.5
    assert call["started_at"] <= call["answered_at"] <= call["ended_at"]


async def test_inbound_abandoned_is_missed_and_owes_one_callback(pbx):
    await pbx.replay("inbound_abandoned")
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"]) == ("inbound", "missed")
    assert call["caller_e164"] == "+79031112233" and call["client_id"] is None
    assert call["answered_by"] is None and call["talk_seconds"] == 0
    assert call["operators_rung"] == ["PJSIP/101", "PJSIP/102"]
    (task,) = await pbx.tasks()
    assert (task["kind"], task["status"], task["phone_e164"]) == ("missed_call", "open",
                                                                  "+79031112233")
    # the same caller giving up twice more: still one callback, with the attempts counted
    await pbx.replay("inbound_abandoned", fresh_ids=True)
    await pbx.replay("inbound_abandoned", fresh_ids=True)
    assert len(await pbx.settle(3)) == 3
    (task,) = await pbx.tasks()
    assert task["attempts"] == 3 and task["status"] == "open"


async def test_outbound_click_to_call(pbx):
    action_id = await click_to_call(pbx, "outbound_click_to_call", client_id=pbx.ivan_id, task_id=42)
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"]) == ("outbound", "answered")
    assert call["placed_by"] == "PJSIP/101" and call["answered_by"] == "PJSIP/101"
    assert call["callee_e164"] == "+79161234567" and call["client_id"] == pbx.ivan_id
    assert call["task_id"] == 42 and call["action_id"] == action_id


async def test_outbound_no_answer(pbx):
    await click_to_call(pbx, "outbound_no_answer", task_id=43)
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"], call["task_id"]) == ("outbound", "no_answer", 43)
    assert call["talk_seconds"] == 0 and call["answered_at"] is None


async def test_outbound_rejected_is_busy(pbx):
    await click_to_call(pbx, "outbound_rejected", task_id=44)
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"], call["task_id"]) == ("outbound", "busy", 44)
    assert call["hangup_cause"] == 17 and call["hangup_cause_text"] == "User busy"


async def test_outbound_operator_unreachable_places_no_call_and_tells_the_operator(pbx):
    vera = await pbx.browser("103")
    ws = await vera.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    action_id = await click_to_call(pbx, "outbound_operator_unreachable", login="103",
                                    client_id=pbx.ivan_id)
    message = await ws.receive_json(timeout=5)
    assert message["type"] == "call.originate_failed" and message["action_id"] == action_id
    assert message["endpoint"] == "PJSIP/103" and message["reason"] == "unavailable"
    (call,) = await pbx.settle(1)
    assert call["outcome"] == "unavailable" and call["answered_at"] is None
    assert call["talk_seconds"] == 0
    # the failed click-to-call keeps the number and the client it was for
    assert call["callee_e164"] == "+79161234567" and call["client_id"] == pbx.ivan_id
    await ws.close()
    await vera.session.close()


async def test_a_forged_originate_failure_stores_nothing(pbx):
    """The PBX (or anybody on the AMI) reports an Originate the CRM never sent."""
    await pbx.replay("outbound_operator_unreachable")
    await pbx.replay("inbound_abandoned", fresh_ids=True)  # something real, to know we waited
    calls = await pbx.settle(1)
    await pbx.telephony.calls.drain()
    assert [c["direction"] for c in await pbx.stored_calls()] == ["inbound"] == [
        c["direction"] for c in calls]


async def test_reconnect_midcall_keeps_exactly_one_call(pbx, tmp_path):
    before, after = split_at_reconnect(TRACES / "ami_reconnect_midcall.jsonl", tmp_path)
    ami = pbx.telephony.ami
    await pbx.replay(before)
    reconnects = ami.status.reconnects
    pbx.sim.disconnect_all()
    for _ in range(200):
        if ami.status.reconnects > reconnects and ami.connected:
            break
        await asyncio.sleep(0.05)
    assert ami.connected and ami.status.reconnects == reconnects + 1
    assert pbx.sim.action_count("CoreShowChannels") == 2
    assert pbx.sim.action_count("QueueStatus") == 2
    await pbx.replay(after)
    await pbx.settle(1)
    # a round trip on the AMI link: every event the simulator sent before its reply has been
    # read and tracked; then whatever those events would store is stored
    await ami.send_action({"Action": "Ping"})
    await pbx.telephony.calls.drain()
    calls = await pbx.stored_calls()
    assert len(calls) == 1
    (call,) = calls
    assert (call["outcome"], call["answered_by"]) == ("answered", "PJSIP/101")
    assert call["ended_at"] is not None


async def test_wrong_secret_is_reported_and_nothing_crashes(db_url, aiohttp_client):
    pbx = await start_pbx(db_url, aiohttp_client, sim_secret="another-secret")
    try:
        ami = pbx.telephony.ami
        for _ in range(200):
            if ami.status.state.value == "auth_failed":
                break
            await asyncio.sleep(0.05)
        client = await pbx.browser("sup")
        health = await (await client.get("/api/health")).json()
        assert health["ami"]["status"] == "auth_failed"
        assert "Authentication failed" in (health["ami"]["last_error"] or "")
        assert "another-secret" not in str(health) and "test-ami-secret" not in str(health)
        await client.session.close()
    finally:
        await pbx.sim.stop()


async def test_the_same_call_is_never_stored_twice(pbx):
    await pbx.replay("inbound_answered")
    (call,) = await pbx.settle(1)
    # the PBX repeats the whole call (a replayed log, a restarted listener): nothing new
    await pbx.replay("inbound_answered")
    await pbx.telephony.calls.drain()
    assert [c["id"] for c in await pbx.stored_calls()] == [call["id"]]


async def test_storing_a_call_again_after_a_restart_keeps_one_row(pbx):
    from callcenter.domain.call_records import CallRecord

    await pbx.replay("inbound_answered")
    (call,) = await pbx.settle(1)
    # a restarted listener that adopted the call during its resync reports it again
    again = CallRecord(key=call["call_key"], linkedid=call["linkedid"], direction="inbound",
                       started_at=call["started_at"], ended_at=call["ended_at"],
                       outcome="answered", caller="79161234567")
    assert await pbx.telephony.calls.store(again) == call["id"]
    assert len(await pbx.stored_calls()) == 1


async def test_agent_pause_and_ready_two_calls(pbx):
    await pbx.replay("agent_pause_and_ready")
    first, second = sorted(await pbx.settle(2), key=lambda c: c["started_at"])
    assert (first["outcome"], first["answered_by"], first["operators_rung"]) == (
        "answered", "PJSIP/102", ["PJSIP/102"])
    assert first["caller_e164"] == "+79161234567" and first["client_id"] == pbx.ivan_id
    assert first["answered_by_user_id"] == pbx.users["102"]["id"]
    assert (second["outcome"], second["answered_by"], second["operators_rung"]) == (
        "answered", "PJSIP/101", ["PJSIP/101", "PJSIP/102"])
    assert second["caller_e164"] == "+79857778899" and first["linkedid"] != second["linkedid"]


async def test_manual_dial_pops_the_client_and_logs_one_outbound_call(pbx):
    anna = await pbx.browser("101")
    ws = await anna.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await pbx.replay("manual_dial_from_softphone", speed=2)
    got = await messages_until(ws, "call.ended", timeout=10)
    kinds = [m["type"] for m in got]
    assert kinds.index("call.ringing") < kinds.index("call.answered") < kinds.index("call.ended")
    ringing = next(m for m in got if m["type"] == "call.ringing")
    assert ringing["number_e164"] == "+79161234567"
    assert ringing["client"]["id"] == pbx.ivan_id and ringing["call"]["direction"] == "outbound"
    # a supervisor watching every call tells their own dialled call by placed_by (never rung)
    assert ringing["call"]["operators_rung"] == []
    assert ringing["call"]["placed_by"]["user_id"] == pbx.users["101"]["id"]
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"], call["placed_by"]) == ("outbound", "answered", "PJSIP/101")
    assert call["callee"] == "89161234567" and call["callee_e164"] == "+79161234567"
    assert call["client_id"] == pbx.ivan_id and call["task_id"] is None
    assert call["answered_by_user_id"] == pbx.users["101"]["id"] and call["hangup_side"] == "customer"
    assert 2 <= call["talk_seconds"] <= 3  # ~5 s of talk, played twice as fast
    assert await pbx.tasks() == []
    await ws.close()
    await anna.session.close()


async def test_supervisor_listening_in_is_no_call_and_no_pop(pbx):
    for name in ("supervisor_whisper", "supervisor_barge"):
        boris = await pbx.browser("102")
        ws = await boris.ws_connect("/ws")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        await pbx.replay(name, speed=8, fresh_ids=True)  # pops of an ended call are dropped
        got = await messages_until(ws, "call.ended", timeout=10)
        await pbx.telephony.calls.drain()
        # 102 rang for the customer's call (queue), but never for its own spy leg
        assert {m["call_key"] for m in got if m["type"] == "call.ringing"} == {got[-1]["call_key"]}
        await ws.close()
        await boris.session.close()
    calls = await pbx.settle(2)
    await pbx.telephony.calls.drain()
    calls = await pbx.stored_calls()
    assert len(calls) == 2
    for call in calls:
        assert (call["direction"], call["outcome"], call["answered_by"]) == ("inbound", "answered", "PJSIP/101")
        assert call["hangup_side"] == "customer"


async def test_missed_unformatted_number_then_callback_closes_the_task(pbx, tmp_path):
    before, callback = split_at_originate(TRACES / "inbound_invalid_number_then_callback.jsonl", tmp_path)
    await pbx.replay(before)
    (missed,) = await pbx.settle(1)
    assert (missed["direction"], missed["outcome"]) == ("inbound", "missed")
    assert missed["caller"] == "8(916)123-45-67" and missed["caller_e164"] == "+79161234567"
    assert missed["client_id"] == pbx.ivan_id
    (task,) = await pbx.tasks()
    assert (task["status"], task["phone_e164"]) == ("open", "+79161234567")
    action_id = await click_to_call(pbx, callback, client_id=pbx.ivan_id, task_id=task["id"])
    calls = await pbx.settle(2)
    (back,) = [c for c in calls if c["direction"] == "outbound"]
    assert (back["outcome"], back["action_id"], back["client_id"]) == ("answered", action_id, pbx.ivan_id)
    assert back["callee"] == "89161234567" and back["callee_e164"] == "+79161234567"
    (task,) = await pbx.tasks()
    assert task["status"] != "open"


def renamed(trace: str, old: str, new: str, tmp: Path) -> Path:
    """A real trace with one phone's endpoint renamed (a phone the CRM has no user for)."""
    path = tmp / f"{trace}-{new.replace('/', '_')}.jsonl"
    path.write_text((TRACES / f"{trace}.jsonl").read_text(encoding="utf-8").replace(old, new),
                    encoding="utf-8")
    return path


async def test_a_call_answered_on_a_phone_no_user_has_is_answered(pbx, tmp_path):
    await pbx.replay(renamed("inbound_answered", "PJSIP/101", "PJSIP/105", tmp_path))
    (call,) = await pbx.settle(1)
    assert (call["outcome"], call["answered_by"], call["answered_by_user_id"]) == (
        "answered", "PJSIP/105", None)
    assert call["operators_rung"] == ["PJSIP/105", "PJSIP/102"]
    assert await pbx.tasks() == []  # no callback owed


async def test_a_user_added_by_the_cli_meanwhile_gets_the_pop(db_url, aiohttp_client, tmp_path):
    """`callcenter user add` runs in another process while the server runs; the next call to
    the new user's phone pops their card, and the call is theirs (before any periodic check)."""
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={"users_check_seconds": 3600.0})
    await pbx.telephony.ami.wait_connected(10)
    env = {"CALLCENTER_DB_URL": pbx.telephony.settings.db_url, "PATH": "/usr/bin:/bin"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "user", "add", "dina", "--role", "operator",
        "--name", "Дина", "--extension", "PJSIP/105", env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(b"a-strong-password-105\n"), 60)
    assert proc.returncode == 0, err.decode()
    assert pbx.telephony.directory.user("PJSIP/105") is None  # the server has not looked yet
    client = TestClient(pbx.server)
    await client.start_server()
    resp = await client.post("/api/login", json={"login": "dina", "password": "a-strong-password-105"})
    assert resp.status == 200, await resp.text()
    ws = await client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    # at a pace where the phones ring before the call ends (a pop after its call is dropped)
    await pbx.replay(renamed("inbound_answered", "PJSIP/101", "PJSIP/105", tmp_path), speed=4)
    ringing = (await messages_until(ws, "call.ringing", timeout=10))[-1]
    assert ringing["client"]["id"] == pbx.ivan_id
    (call,) = await pbx.settle(1)
    dina = pbx.telephony.directory.user("PJSIP/105")
    assert dina is not None and call["answered_by_user_id"] == dina["id"]
    await ws.close()
    await client.close()
    await pbx.sim.stop()


async def test_users_changed_by_another_process_are_noticed_by_the_periodic_check(db_url, aiohttp_client):
    from callcenter.app import build_services
    from callcenter.services.context import Actor, utc_now
    from callcenter.storage.database import Database

    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={"users_check_seconds": 0.1})
    other = Database(db_url)  # the CLI's own connection to the same database
    try:
        directory = pbx.telephony.directory
        accounts = build_services(pbx.telephony.settings, other, utc_now).accounts
        anna = directory.user("PJSIP/101")
        await accounts.update_user(Actor.system("cli"), anna["id"], {"extension": "PJSIP/111"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while directory.user("PJSIP/111") is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert directory.user("PJSIP/111")["id"] == anna["id"]
        assert directory.user("PJSIP/101") is None
    finally:
        await other.dispose()
        await pbx.sim.stop()


async def test_a_failed_click_to_call_names_the_client_it_was_for(pbx):
    """Two clients share the number: the call row and the card name the one the operator
    clicked (CRM_CLIENT_ID), whether the customer did not answer or no channel ever existed."""
    from callcenter.services.context import Actor

    maria = await pbx.services.clients.create(Actor.system("test"), {
        "name": "Мария Петрова", "phones": [{"number": "+79161234567", "label": "home"}], "force": True})
    anna = await pbx.browser("101")
    ws = await anna.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await click_to_call(pbx, "outbound_no_answer", client_id=maria["id"])
    ringing = (await messages_until(ws, "call.ringing"))[-1]
    assert ringing["client"]["id"] == maria["id"]
    await click_to_call(pbx, "outbound_operator_unreachable", login="103", client_id=maria["id"])
    calls = await pbx.settle(2)
    assert sorted(c["outcome"] for c in calls) == ["no_answer", "unavailable"]
    for call in calls:
        assert call["client_id"] == maria["id"] and call["callee_e164"] == "+79161234567"
    await ws.close()
    await anna.session.close()


async def test_an_originate_the_crm_did_not_send_still_pops_the_client_once_dialled(pbx):
    """Another tool's Originate (no CRM variables): the operator's card pops while the phone
    rings, with nobody yet, and shows the client as soon as Asterisk dials the number."""
    anna = await pbx.browser("101")
    ws = await anna.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await pbx.replay("outbound_click_to_call", speed=4)  # pops of an ended call are dropped
    got = await messages_until(ws, "call.ended", timeout=10)
    first, second = [m for m in got if m["type"] == "call.ringing"]
    assert first["client"] is None and second["client"]["id"] == pbx.ivan_id
    assert second["number_e164"] == "+79161234567" and first["call_key"] == second["call_key"]
    (call,) = await pbx.settle(1)
    assert (call["client_id"], call["action_id"]) == (pbx.ivan_id, None)
    await ws.close()
    await anna.session.close()
