"""AmiClient against AmiSimulator over real TCP: login, liveness, reconnects, resync, actions."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import ActionFailed, ActionLost, AmiNotConnected
from callcenter.ami.sim import AmiSimulator
from callcenter.ami.status import AmiState

from .conftest import SECRET, TRACES, USER, Recorder, wait_until

CONNECTED, DOWN, AUTH_FAILED = AmiState.CONNECTED, AmiState.DOWN, AmiState.AUTH_FAILED


async def test_login_ok_connects_and_resyncs(sim, make_client):
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder)
    await client.wait_connected(2)
    assert client.status.state is CONNECTED and client.status.reconnects == 0
    await wait_until(lambda: recorder.count("resync_end") == 1, what="resync end")
    assert [a["Action"] for a in sim.actions[:3]] == ["Login", "CoreShowChannels", "QueueStatus"]
    kinds = [kind for kind, _ in recorder.timeline]
    assert kinds.index("connected") < kinds.index("resync_begin") < kinds.index("resync_end")
    names = recorder.event_names()
    assert "QueueStatusComplete" in names and "CoreShowChannelsComplete" in names
    assert [s.state.value for s in recorder.statuses] == ["connecting", "connected"]


async def test_wrong_secret_is_auth_failed_and_retried_without_crash(sim, make_client, caplog):
    recorder = Recorder()
    client = make_client(sim.port, secret="not-the-secret-42", listener=recorder)
    await wait_until(lambda: client.status.attempts >= 3, what="three refused logins")
    assert sim.action_count("Login") >= 3
    assert client.status.state is AUTH_FAILED
    assert "Authentication failed" in client.status.last_error
    assert not client._runner.done()
    assert recorder.count("connected") == 0
    refused = [r for r in caplog.records if "login refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR  # retries: DEBUG only
    assert "check the AMI username/secret" in refused[0].getMessage()
    assert "not-the-secret-42" not in caplog.text


async def test_server_killed_then_back_reconnects_with_backoff(make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="callcenter.ami.client")
    sim = AmiSimulator(USER, SECRET)
    port = await sim.start()
    recorder = Recorder()
    client = make_client(port, listener=recorder)
    await client.wait_connected(2)
    await wait_until(lambda: recorder.count("resync_end") == 1)
    await sim.stop()
    await wait_until(lambda: client.status.state is DOWN, what="down")
    await wait_until(lambda: client.status.attempts >= 5, what="five failed attempts")
    status = client.status
    assert "connection closed" in recorder.statuses[-1].last_error  # the loss itself
    assert "failed" in status.last_error and status.since == recorder.statuses[-1].since
    assert [s.state.value for s in recorder.statuses] == ["connecting", "connected", "down"]
    delays = [float(m) for m in re.findall(r"retry \d+ in ([\d.]+) s", caplog.text)]
    assert delays[0] <= 0.05 < 0.14 <= delays[-1] <= 0.2  # grows, capped at backoff_cap
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # one line for the state change, retries at DEBUG
    await sim.start(port=port)
    try:
        await client.wait_connected(2)
        assert client.status.reconnects == 1 and client.status.attempts == 0
        assert recorder.count("disconnected") == 1 and recorder.count("connected") == 2
        await wait_until(lambda: recorder.count("resync_end") == 2, what="second resync")
    finally:
        await sim.stop()


async def test_silent_link_is_noticed_within_two_ping_intervals(sim, make_client):
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder, ping_interval=0.2)
    await client.wait_connected(2)
    sim.set_fault("ping", "ignore")
    started = time.monotonic()
    await wait_until(lambda: recorder.count("disconnected") == 1, what="dead link noticed")
    assert time.monotonic() - started <= 2 * 0.2 + 0.15  # two intervals, plus scheduling
    assert "Ping" in next(r for k, r in recorder.timeline if k == "disconnected")
    sim.set_fault("ping", None)
    await wait_until(lambda: client.connected and client.status.reconnects >= 1)


async def test_resync_after_every_connect_in_wire_order(sim, make_client):
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder)
    await client.wait_connected(2)
    await sim.broadcast([{"Event": "Newchannel", "Channel": "PJSIP/trunk-00000001",
                          "ChannelStateDesc": "Ring", "CallerIDName": "Иван Петров",
                          "Uniqueid": "1.1", "Linkedid": "1.1"}])
    await wait_until(lambda: "Newchannel" in recorder.event_names())
    sim.disconnect_all()
    await wait_until(lambda: recorder.count("resync_end") == 2, what="resync after reconnect")
    logins = [i for i, a in enumerate(sim.actions) if a["Action"] == "Login"]
    assert len(logins) == 2
    for i in logins:
        assert [a["Action"] for a in sim.actions[i:i + 3]] == [
            "Login", "CoreShowChannels", "QueueStatus"]
    second = recorder.timeline[[k for k, _ in recorder.timeline].index("disconnected"):]
    kinds = [k if k != "event" else v["Event"] for k, v in second]
    begin, end = kinds.index("resync_begin"), kinds.index("resync_end")
    listed = kinds[begin:end]
    assert listed.index("CoreShowChannel") < listed.index("CoreShowChannelsComplete")
    assert "QueueStatusComplete" in listed
    channel = next(v for k, v in second if k == "event" and v["Event"] == "CoreShowChannel")
    assert channel["Uniqueid"] == "1.1" and channel["CallerIDName"] == "Иван Петров"


async def test_events_arrive_in_order_through_split_writes(make_client):
    sim = AmiSimulator(USER, SECRET, seed=3, chunk_sizes=(1, 700))
    port = await sim.start()
    try:
        recorder = Recorder()
        client = make_client(port, listener=recorder)
        await client.wait_connected(2)
        await wait_until(lambda: recorder.count("resync_end") == 1)
        before = len(recorder.events)
        sent = await sim.replay(TRACES / "inbound_answered.jsonl", speed=0)
        await wait_until(lambda: len(recorder.events) - before == sent, what="all events")
        replayed = recorder.events[before:]
        trace = sim._traces[str(TRACES / "inbound_answered.jsonl")]
        assert [e["Event"] for e in replayed] == [t.split("\r\n")[0][7:] for _, t in trace.messages]
        assert {e["CallerIDName"] for e in replayed if e["Event"] == "Newchannel"} >= {
            "Иван Петров"}
        assert all(e["Uniqueid"] not in trace.call_ids for e in replayed if "Uniqueid" in e)
    finally:
        await sim.stop()


async def test_originate_returns_action_id_and_response_event_follows(make_client):
    sim = AmiSimulator(USER, SECRET,
                       originate_trace=TRACES / "outbound_operator_unreachable.jsonl")
    port = await sim.start()
    try:
        recorder = Recorder()
        client = make_client(port, listener=recorder)
        await client.wait_connected(2)
        action_id = await client.originate("PJSIP/103", "operators", "79161234567",
                                           variables={"CRM_TASK_ID": "45"},
                                           caller_id='"Иван Петров" <79161234567>')
        await wait_until(lambda: "OriginateResponse" in recorder.event_names())
        response = next(e for e in recorder.events if e["Event"] == "OriginateResponse")
        assert response["ActionID"] == action_id and response["Response"] == "Failure"
        sent = next(a for a in sim.actions if a["Action"] == "Originate")
        assert sent["Variable"] == "CRM_TASK_ID=45" and sent["Async"] == "true"
        assert sent["CallerID"] == '"Иван Петров" <79161234567>'
        assert await client.originate("PJSIP/101", "operators", "1", action_id="mine-1") == "mine-1"
    finally:
        await sim.stop()


async def test_lost_originate_raises_and_is_never_resent(sim, make_client):
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder)
    await client.wait_connected(2)
    sim.set_fault("originate", "close")
    with pytest.raises(ActionLost):
        await client.originate("PJSIP/101", "operators", "79161234567")
    sim.set_fault("originate", None)
    await wait_until(lambda: client.connected and client.status.reconnects == 1)
    await wait_until(lambda: recorder.count("resync_end") == 2)
    # a round trip after the resync: whatever the client sent before it reached the simulator
    await client.send_action({"Action": "Ping"})
    assert sim.action_count("Originate") == 1


async def test_action_errors_are_named(sim, make_client):
    never_started = AmiClient("127.0.0.1", sim.port, USER, SECRET)
    with pytest.raises(AmiNotConnected):
        await never_started.originate("PJSIP/101", "operators", "1")
    good = make_client(sim.port)
    await good.wait_connected(2)
    sim.set_fault("originate", "error")
    with pytest.raises(ActionFailed, match="Simulated failure"):
        await good.originate("PJSIP/101", "operators", "1")
    with pytest.raises(ValueError):
        await good.originate("PJSIP/101", "operators", "1\r\nAction: Hangup")
    with pytest.raises(ActionFailed, match="Invalid/unknown command"):
        await good.send_action({"Action": "NoSuchThing"})
    sim.set_fault("status", "ignore")
    with pytest.raises(ActionLost, match="no reply"):
        await good.send_action({"Action": "Status"}, timeout=0.1)
    assert good.connected


async def test_malformed_input_is_skipped_and_client_keeps_working(sim, make_client, caplog):
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder, ping_interval=0.1)
    await client.wait_connected(2)
    await sim.send_raw(b"\x00\xff\xfe\xd0 binary junk\r\n\r\n")
    await sim.send_raw(b"Event: Huge\r\nValue: " + b"A" * (2 * 1024 * 1024) + b"\r\n\r\n")
    await sim.send_raw(b"a line without colon\r\nanother one\r\n\r\nKey: but no Event\r\n\r\n")
    await sim.broadcast([{"Event": "AfterJunk", "Name": "Иван Петров"}])
    await wait_until(lambda: "AfterJunk" in recorder.event_names(), what="event after junk")
    assert "Huge" not in recorder.event_names()
    assert recorder.events[-1]["Name"] == "Иван Петров"
    # three more pings go out (one each 0.1 s) and none goes unanswered: a link silent for two
    # intervals would have been reconnected
    pings = sim.action_count("Ping")
    await wait_until(lambda: sim.action_count("Ping") >= pings + 3, what="three more pings")
    assert client.connected and client.status.reconnects == 0
    assert "dropped" in caplog.text and "neither Event nor Response" in caplog.text


async def test_listener_exceptions_are_logged_and_swallowed(sim, make_client, caplog):
    class Angry(Recorder):
        def on_event(self, event, at):
            super().on_event(event, at)
            raise RuntimeError("listener bug")

        async def on_resync_end(self, at):
            await asyncio.sleep(0)
            super().on_resync_end(at)
            raise RuntimeError("async listener bug")

    recorder = Angry()
    client = make_client(sim.port, listener=recorder)
    await client.wait_connected(2)
    await wait_until(lambda: recorder.count("resync_end") == 1)
    await sim.broadcast([{"Event": "Later"}])
    await wait_until(lambda: "Later" in recorder.event_names())
    assert client.connected
    assert "listener bug" in caplog.text and "async listener bug" in caplog.text


async def test_stop_logs_off_and_ends_everything(sim, make_client):
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder)
    await client.wait_connected(2)
    await client.stop()
    assert client.status.state is DOWN and client.status.last_error == "stopped"
    assert client._runner is None
    assert sim.action_count("Logoff") == 1
    assert recorder.count("disconnected") == 1
    assert ("disconnected", "stopped") in recorder.timeline
    assert recorder.statuses[-1].state is DOWN
    await wait_until(lambda: sim.clients == 0)
    with pytest.raises(AmiNotConnected):
        await client.originate("PJSIP/101", "operators", "1")


async def test_a_late_ping_reply_while_events_flow_keeps_the_link(sim, make_client, caplog):
    """A process behind the PBX's stream (a busy machine) gets the Ping reply late, but the
    events keep coming: that is not a dead link, and dropping it would lose what is in flight."""
    recorder = Recorder()
    client = make_client(sim.port, listener=recorder, ping_interval=0.2)
    await client.wait_connected(2)
    sim.set_fault("ping", "ignore")
    for i in range(12):  # 1.2 s of events, six ping intervals
        await sim.broadcast([{"Event": "VarSet", "Channel": "PJSIP/trunk-00000001",
                              "Variable": "N", "Value": str(i), "Uniqueid": "1.1",
                              "Linkedid": "1.1"}])
        await asyncio.sleep(0.1)
    assert recorder.count("disconnected") == 0 and client.connected
    assert "behind the PBX's stream" in caplog.text
    # the events stop too: now it is a dead link
    await wait_until(lambda: recorder.count("disconnected") == 1, what="dead link noticed")
    sim.set_fault("ping", None)
