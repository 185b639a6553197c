"""Every real trace, replayed by the AMI simulator over a real TCP socket into the real listener;
the conclusions are read back from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from tests.calls.conftest import TRACES, split_at_reconnect, start_pbx


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
    assert (task["kind"], task["status"], task["phone_e164"]) == ("callback", "open",
                                                                  "+79031112233")
    # the same caller giving up twice more: still one callback, with the attempts counted
    await pbx.replay("inbound_abandoned", fresh_ids=True)
    await pbx.replay("inbound_abandoned", fresh_ids=True)
    assert len(await pbx.settle(3)) == 3
    (task,) = await pbx.tasks()
    assert task["attempts"] == 3 and task["status"] == "open"


async def test_outbound_click_to_call(pbx):
    await pbx.replay("outbound_click_to_call")
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"]) == ("outbound", "answered")
    assert call["placed_by"] == "PJSIP/101" and call["answered_by"] == "PJSIP/101"
    assert call["callee_e164"] == "+79161234567" and call["client_id"] == pbx.ivan_id
    assert call["task_id"] == 42 and call["action_id"] == "outbound_click_to_call-1"


async def test_outbound_no_answer(pbx):
    await pbx.replay("outbound_no_answer")
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"], call["task_id"]) == ("outbound", "no_answer", 43)
    assert call["talk_seconds"] == 0 and call["answered_at"] is None


async def test_outbound_rejected_is_busy(pbx):
    await pbx.replay("outbound_rejected")
    (call,) = await pbx.settle(1)
    assert (call["direction"], call["outcome"], call["task_id"]) == ("outbound", "busy", 44)
    assert call["hangup_cause"] == 17 and call["hangup_cause_text"] == "User busy"


async def test_outbound_operator_unreachable_places_no_call_and_tells_the_operator(pbx):
    vera = await pbx.browser("103")
    ws = await vera.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await pbx.replay("outbound_operator_unreachable")
    message = await ws.receive_json(timeout=5)
    assert message["type"] == "call.originate_failed"
    assert message["endpoint"] == "PJSIP/103" and message["reason"] == "unavailable"
    (call,) = await pbx.settle(1)
    assert call["outcome"] in ("unavailable", "failed") and call["answered_at"] is None
    assert call["talk_seconds"] == 0
    await ws.close()
    await vera.session.close()


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
    calls = await pbx.settle(1)
    await asyncio.sleep(0.3)
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


async def test_calls_not_stored_at_shutdown_are_spooled_and_stored_at_next_start(pbx, tmp_path):
    from callcenter.services.calls import record_from_json, record_to_json

    calls = pbx.telephony.calls
    real_store = calls.store
    failures = []

    async def broken_store(call):
        failures.append(call.key)
        raise ConnectionError("database is down")

    calls.store = broken_store
    calls.store_retry_seconds = 0.05
    await pbx.replay("inbound_answered")
    for _ in range(100):
        if calls.unsaved:
            break
        await asyncio.sleep(0.05)
    (record,) = calls.unsaved.values()
    assert record_from_json(record_to_json(record)) == record
    spool = tmp_path / "unsaved-calls.jsonl"
    for task in list(calls.sequencer._tails.values()):
        task.cancel()
    assert calls.spool(spool) == 1
    assert await pbx.stored_calls() == []
    calls.store = real_store
    assert await calls.store_spooled(spool) == 1
    (call,) = await pbx.stored_calls()
    assert call["linkedid"] == record.linkedid and call["outcome"] == "answered"
    assert not spool.exists()
