"""QueuePause over a real TCP socket: the client's action, the simulator answering as
Asterisk 22 does (tests/traces/agent_pause_and_ready), and its QueueStatus showing the pause."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import ActionFailed, AmiNotConnected
from callcenter.ami.sim import AmiSimulator
from callcenter.ami.trace import load_trace
from callcenter.ami.message_text import parse_message
from tests.calls.conftest import TRACES


class Events:
    def __init__(self) -> None:
        self.events: list[dict[str, str]] = []

    def on_event(self, event: dict[str, str], at: datetime) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[dict[str, str]]:
        return [e for e in self.events if e.get("Event") == name]


async def until(check, timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "not within the time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def link():
    sim = AmiSimulator("crm", "s3cret", seed=2)
    port = await sim.start()
    events = Events()
    client = AmiClient("127.0.0.1", port, "crm", "s3cret", listener=events, ping_interval=5,
                       backoff_initial=0.05, backoff_cap=0.2)
    client.start()
    await client.wait_connected(5)
    yield sim, client, events
    await client.stop()
    await sim.stop()


def recorded_pause_event() -> dict[str, str]:
    trace = load_trace(TRACES / "agent_pause_and_ready.jsonl")
    for _, text in trace.messages:
        fields = parse_message(text)
        if fields and fields.get("Event") == "QueueMemberPause":
            return fields
    raise AssertionError("no QueueMemberPause in the trace")


async def test_queue_pause_as_asterisk_22(link):
    sim, client, events = link
    reply = await client.queue_pause("PJSIP/101", True, "lunch")
    assert reply["Message"] == "Interface paused successfully"
    (action,) = [a for a in sim.actions if a["Action"] == "QueuePause"]
    assert {k: action[k] for k in ("Interface", "Paused", "Reason")} == {
        "Interface": "PJSIP/101", "Paused": "true", "Reason": "lunch"}
    assert "Queue" not in action  # every queue the member is in
    await until(lambda: events.named("QueueMemberPause"))
    (pause,) = events.named("QueueMemberPause")
    recorded = recorded_pause_event()
    assert list(pause) == list(recorded)  # the same fields, in the same order
    assert (pause["Interface"], pause["Paused"], pause["PausedReason"]) == (
        "PJSIP/101", "1", "lunch")
    devices = [e for e in events.named("DeviceStateChange")
               if e["Device"] == "Queue:shop_pause_PJSIP/101"]
    assert [d["State"] for d in devices] == ["INUSE"]

    # the next QueueStatus says so (learnt from the event it sent); unpausing clears it
    members = {m["Name"]: m for m in sim.pbx.queue_status("x") if m["Event"] == "QueueMember"}
    assert (members["PJSIP/101"]["Paused"], members["PJSIP/101"]["PausedReason"]) == (
        "1", "lunch")
    assert members["PJSIP/102"]["Paused"] == "0"
    await client.queue_pause("PJSIP/101", False, queue="shop")
    await until(lambda: len(events.named("QueueMemberPause")) == 2)
    last = events.named("QueueMemberPause")[-1]
    assert (last["Paused"], last["PausedReason"]) == ("0", "")
    assert sim.pbx.paused == {}


async def test_queue_pause_refused_and_not_connected(link):
    sim, client, _ = link
    with pytest.raises(ActionFailed) as refused:
        await client.queue_pause("PJSIP/999", True, "lunch")
    assert refused.value.message == "Interface not found"
    with pytest.raises(ActionFailed):
        await client.queue_pause("PJSIP/101", True, queue="sales")
    with pytest.raises(ValueError):
        await client.queue_pause("PJSIP/101", True, "lunch\r\nAction: Originate")
    await client.stop()
    with pytest.raises(AmiNotConnected):
        await client.queue_pause("PJSIP/101", False)


async def test_a_pause_the_simulator_sends_is_in_its_queue_status(link):
    sim, _, events = link
    await sim.broadcast([recorded_pause_event()])  # as a replayed trace sends it
    assert sim.pbx.paused == {"PJSIP/101": "lunch"}
    members = {m["Name"]: m for m in sim.pbx.queue_status("x") if m["Event"] == "QueueMember"}
    assert (members["PJSIP/101"]["Paused"], members["PJSIP/101"]["LastPause"]) == (
        "1", "1796155217")
    await until(lambda: events.named("QueueMemberPause"))
