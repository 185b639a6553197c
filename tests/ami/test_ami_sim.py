"""The simulator speaks AMI like the traces show Asterisk does."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.message_text import parse_message
from callcenter.ami.sim import AmiSimulator, main
from callcenter.ami.trace import load_trace

from .conftest import SECRET, TRACES, USER, RawAmi, Recorder, wait_until


async def test_banner_login_ping_unknown_logoff(sim, raw_ami):
    raw = await raw_ami(sim.port, login=False)
    assert (await raw.reader.readuntil(b"\r\n")) == b"Asterisk Call Manager/11.0.0\r\n"
    raw.framer.version = "11.0.0"
    refused = await raw.ask({"Action": "Ping", "ActionID": "p0"})
    assert refused["Message"] == "Authentication Required"
    ok = await raw.ask({"Action": "Login", "ActionID": "l1", "Username": USER, "Secret": SECRET})
    assert ok == {"Response": "Success", "ActionID": "l1", "Message": "Authentication accepted"}
    assert (await raw.read())["Event"] == "FullyBooted"
    pong = await raw.ask({"Action": "Ping", "ActionID": "p1"})
    assert pong["Ping"] == "Pong" and pong["ActionID"] == "p1" and float(pong["Timestamp"]) > 0
    unknown = await raw.ask({"Action": "Frobnicate", "ActionID": "f1"})
    assert unknown["Response"] == "Error" and unknown["Message"] == "Invalid/unknown command"
    bye = await raw.ask({"Action": "Logoff", "ActionID": "b1"})
    assert bye["Response"] == "Goodbye" and await raw.read() is None


async def test_wrong_secret_answers_like_the_trace_and_hangs_up(sim, raw_ami):
    recorded = [parse_message(t) for t in (TRACES / "login_failed_wrong_secret.ami").read_text(
        encoding="utf-8").split("\r\n\r\n") if "Response" in t][0]
    raw = await raw_ami(sim.port, login=False)
    reply = await raw.ask({"Action": "Login", "ActionID": "login-0", "Username": USER,
                           "Secret": "wrong"})
    assert reply == recorded
    assert await raw.read() is None


async def test_core_show_channels_lists_what_the_replay_left_up(sim, raw_ami):
    trace = load_trace(TRACES / "inbound_answered.jsonl")
    half = [parse_message(text) for _, text in trace.messages[:40]]  # both phones ringing
    raw = await raw_ami(sim.port)
    await sim.broadcast(half)
    await raw.send({"Action": "CoreShowChannels", "ActionID": "c1"})
    listing = await raw.read_until("CoreShowChannelsComplete")
    listing = [m for m in listing if m.get("ActionID") == "c1"]
    assert listing[0]["EventList"] == "start" and listing[0]["Message"] == "Channels will follow"
    channels = [m for m in listing if m.get("Event") == "CoreShowChannel"]
    assert sorted(c["Channel"] for c in channels) == [
        "PJSIP/101-0000000d", "PJSIP/102-0000000e", "PJSIP/trunk-0000000c"]
    trunk = next(c for c in channels if "trunk" in c["Channel"])
    assert trunk["CallerIDName"] == "Иван Петров" and trunk["Application"] == "Queue"
    assert listing[-1]["ListItems"] == "3"
    await raw.send({"Action": "QueueStatus", "ActionID": "q1"})
    queue = await raw.read_until("QueueStatusComplete")
    answer = [m for m in queue if m.get("ActionID") == "q1"]
    assert [m.get("Event") for m in answer][-5:] == [
        "QueueParams", "QueueMember", "QueueMember", "QueueEntry", "QueueStatusComplete"]
    # the caller still waits (both phones ring), as Asterisk lists it
    entry = answer[-2]
    assert (entry["Queue"], entry["Position"], entry["Channel"], entry["CallerIDNum"]) == (
        "shop", "1", "PJSIP/trunk-0000000c", "79161234567")
    assert int(entry["Wait"]) >= 0 and answer[-5]["Calls"] == "1"
    await sim.broadcast([parse_message(text) for _, text in trace.messages[40:]])
    await raw.send({"Action": "CoreShowChannels", "ActionID": "c2"})
    listing = await raw.read_until("CoreShowChannelsComplete")
    assert listing[-1]["ListItems"] == "0"
    await raw.close()


async def read_events(raw: RawAmi, count: int) -> list[dict[str, str]]:
    events = []
    while len(events) < count:
        message = await raw.read()
        assert message is not None
        if message.get("Event") != "FullyBooted":
            events.append(message)
    return events


async def test_replays_get_fresh_ids_and_reach_every_client(sim, raw_ami):
    clients = [await raw_ami(sim.port), await raw_ami(sim.port)]
    path = TRACES / "inbound_answered.jsonl"
    recorded_ids = load_trace(path).call_ids
    sent = await sim.replay(path, speed=0)
    assert sent == len(load_trace(path).messages) == 104
    await sim.replay(path, speed=0)
    for raw in clients:
        got = await read_events(raw, 2 * sent)
        runs = [got[:sent], got[sent:]]
        uids = [{m["Uniqueid"] for m in run if "Uniqueid" in m} for run in runs]
        assert len(uids[0]) == len(recorded_ids) == 3
        assert not uids[0] & uids[1] and not (uids[0] | uids[1]) & recorded_ids
        for run, ids in zip(runs, uids):
            wav = next(m["Value"] for m in run if m.get("Variable") == "MIXMONITOR_FILENAME")
            assert wav.endswith(f"/{min(ids, key=lambda i: int(i.split('.')[1]))}.wav")
            assert {m["Linkedid"] for m in run if "Linkedid" in m} == {
                min(ids, key=lambda i: int(i.split(".")[1]))}
    await sim.replay(path, speed=0, fresh_ids=False)
    same = await read_events(clients[0], sent)
    assert {m["Uniqueid"] for m in same if "Uniqueid" in m} == recorded_ids


async def test_replay_keeps_the_recorded_pace(sim, raw_ami):
    await raw_ami(sim.port)
    recorded = load_trace(TRACES / "outbound_rejected.jsonl").messages[-1][0]
    assert recorded > 7
    loop = asyncio.get_running_loop()
    start = loop.time()
    await sim.replay(TRACES / "outbound_rejected.jsonl", speed=20)
    assert recorded / 20 - 0.01 <= loop.time() - start <= recorded / 20 + 0.2


async def test_synthetic_calls_look_like_queue_calls(sim, raw_ami):
    raw = await raw_ami(sim.port)
    started = await sim.synthetic(rate=100, count=6, speed=0, callers=["+79031112233"],
                                  operators=["PJSIP/101", "PJSIP/102", "PJSIP/103"])
    assert started == 6
    events = []
    while len([e for e in events if e.get("Event") == "Hangup"]) < 6 * 3:
        message = await raw.read()
        assert message is not None
        events.append(message)
    events = [e for e in events if "Event" in e and e["Event"] != "FullyBooted"]
    calls = {e["Linkedid"] for e in events if "Linkedid" in e}
    assert len(calls) == 6
    assert 90 <= len(events) / 6 <= 115
    names = {e["Event"] for e in events}
    assert {"Newchannel", "QueueCallerJoin", "AgentCalled", "DialBegin", "Hangup"} <= names
    assert {e["CallerIDNum"] for e in events if e["Event"] == "QueueCallerJoin"} == {
        "+79031112233"}
    assert any(e["Variable"] == "MIXMONITOR_FILENAME" for e in events if e["Event"] == "VarSet")
    assert not sim.pbx.channels


async def test_command_line_replays_to_a_client():
    # port 0: the simulator binds a port the OS picks and says which
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.ami.sim", "--port", "0", "--username", USER,
        "--secret", SECRET, "--replay", str(TRACES / "inbound_abandoned.jsonl"),
        "--speed", "0", "--chunk-sizes", "1,300", "--seed", "5", stderr=subprocess.PIPE)

    async def listening_port() -> int:
        while line := await process.stderr.readline():
            if m := re.search(rb"AMI simulator listening on 127\.0\.0\.1:(\d+)", line):
                return int(m[1])
        raise AssertionError("the simulator ended without listening")

    port = await asyncio.wait_for(listening_port(), 30)
    drain = asyncio.ensure_future(process.stderr.read())  # keep its pipe from filling up
    recorder = Recorder()
    client = AmiClient("127.0.0.1", port, USER, SECRET, listener=recorder,
                       backoff_initial=0.05, backoff_cap=0.1)
    client.start()
    try:
        await wait_until(lambda: "QueueCallerAbandon" in recorder.event_names(), timeout=10)
        assert "+79031112233" in {e.get("CallerIDNum") for e in recorder.events}
    finally:
        await client.stop()
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        await drain


def test_command_line_help():
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0


async def test_the_simulator_serves_on_a_socket_it_is_given(raw_ami):
    """Tests bind the port and hand the socket over, so no other process can take it between."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sim = AmiSimulator(USER, SECRET)
    try:
        assert await sim.start(sock=sock) == port
        raw = await raw_ami(port)
        pong = await raw.ask({"Action": "Ping", "ActionID": "p1"})
        assert pong["Ping"] == "Pong"
    finally:
        await sim.stop()
    assert sock.fileno() == -1  # the simulator closed it on stop
