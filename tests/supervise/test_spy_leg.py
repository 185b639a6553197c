"""The spy leg is no call: the dialplan variant of the real whisper trace replayed over a real
TCP socket into the real app (as Asterisk sends it with ``Events: on``, and as manager.conf's
filter lets it through), and the simulator's own spy leg, event by event."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from callcenter.ami.message_text import parse_message
from callcenter.ami.sim_spy import SpyLeg
from callcenter.ami.trace import FreshIds
from tests.asterisk.ami_filters import AmiMessage, ami_user
from tests.calls.conftest import start_pbx
from tests.supervise.derived_traces import DERIVED, derive, render


def test_the_derived_trace_is_exactly_the_documented_edit_of_the_real_one():
    jsonl, ami = render(derive())
    assert DERIVED.read_text(encoding="utf-8") == jsonl
    assert DERIVED.with_suffix(".ami").read_bytes() == ami.encode("utf-8")
    text = DERIVED.read_text(encoding="utf-8")
    assert "Application: ChanSpy\r\nData:" not in text  # the lab's direct Originate is gone
    assert text.count("Event: Newexten") - (DERIVED.parent.parent / "supervisor_whisper.jsonl"
                                             ).read_text(encoding="utf-8").count("Event: Newexten") == 3


def _filtered(path: Path, tmp: Path) -> Path:
    """The trace as the AMI user of asterisk/manager.conf receives it (its event filter)."""
    user = ami_user()
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["dir"] == "in":
            blocks = record["data"].split("\r\n\r\n")
            kept = [b for b in blocks[:-1]
                    if "Event" not in (fields := parse_message(b) or {})
                    or user.delivers(AmiMessage("derived", b + "\r\n", fields))]
            record = {**record, "data": "".join(b + "\r\n\r\n" for b in kept) + blocks[-1]}
        out.append(json.dumps(record, ensure_ascii=False))
    target = tmp / "filtered.jsonl"
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


@pytest.mark.parametrize("filtered", [False, True], ids=["events-on", "manager-filter"])
async def test_the_spy_leg_of_the_dialplan_variant_is_no_call(db_url, aiohttp_client, tmp_path,
                                                              filtered):
    pbx = await start_pbx(db_url, aiohttp_client)
    try:
        await pbx.telephony.ami.wait_connected(10)
        trace = _filtered(DERIVED, tmp_path) if filtered else DERIVED
        if filtered:
            assert "Event: Newexten" not in trace.read_text(encoding="utf-8")
        boris = await pbx.browser("102")  # 102's phone is the supervisor's in the lab
        ws = await boris.ws_connect("/ws")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        await pbx.replay(trace, speed=8, fresh_ids=True)
        got = []
        while not got or got[-1]["type"] != "call.ended":
            got.append(await ws.receive_json(timeout=10))
        await ws.close()
        await boris.session.close()
        (call,) = await pbx.settle(1)
        await pbx.telephony.calls.drain()
        assert await pbx.stored_calls() == [call]
        assert (call["direction"], call["outcome"], call["answered_by"], call["hangup_side"]) == (
            "inbound", "answered", "PJSIP/101", "customer")
        # 102 rang for the customer's queue call only, never for its own spy leg
        assert {m["call_key"] for m in got if m["type"] == "call.ringing"} == {call["linkedid"]}
        assert {m.get("call_key") for m in got if m["type"].startswith("call.")} == {call["linkedid"]}
        assert pbx.telephony.tracker.errors == 0
        assert pbx.telephony.tracker.live_calls() == []
    finally:
        await pbx.sim.stop()


OPERATOR_CHANNEL = {"Channel": "PJSIP/101-00000008", "ChannelState": "6", "ChannelStateDesc": "Up",
                    "CallerIDNum": "101", "CallerIDName": "Operator Anna",
                    "ConnectedLineNum": "79161234567", "ConnectedLineName": "Иван Петров",
                    "Language": "en", "AccountCode": "", "Context": "operators",
                    "Exten": "74951234567", "Priority": "1", "Uniqueid": "1796155271.8",
                    "Linkedid": "1796155271.7"}
ACTION = {"Action": "Originate", "ActionID": "crm-1", "Channel": "PJSIP/201",
          "Context": "callcenter-supervise", "Exten": "whisper", "Priority": "1",
          "CallerID": '"Whisper: Анна" <101>',
          "Variable": "CRM_SPY=PJSIP/101\x00CRM_SPY_MODE=whisper\x00CRM_SUPERVISOR=4"}


def _leg(action=ACTION, spyee=OPERATOR_CHANNEL) -> SpyLeg:
    from callcenter.ami.message_text import REPEAT_SEPARATOR

    action = {**action, "Variable": action["Variable"].replace("\x00", REPEAT_SEPARATOR)}
    return SpyLeg(action, spyee, FreshIds(1796155277, new_uuid=lambda: str(random.random())))


def test_the_simulators_spy_leg_follows_the_real_trace():
    leg = _leg()
    ringing = leg.ringing()
    assert [e["Event"] for e in ringing] == ["Newchannel", "VarSet", "VarSet", "VarSet",
                                             "NewCallerid", "DialBegin", "Newstate"]
    assert ringing[0]["Channel"].startswith("PJSIP/201-")
    assert (ringing[0]["Context"], ringing[0]["Exten"]) == ("operators", "s")
    assert [(e["Variable"], e["Value"]) for e in ringing[1:4]] == [
        ("CRM_SPY", "PJSIP/101"), ("CRM_SPY_MODE", "whisper"), ("CRM_SUPERVISOR", "4")]
    assert (ringing[4]["CallerIDNum"], ringing[4]["CallerIDName"]) == ("101", "Whisper: Анна")
    assert ringing[-1]["ChannelStateDesc"] == "Ringing"
    answered = leg.answered()
    assert [e["Event"] for e in answered] == ["Newstate", "DialEnd", "OriginateResponse",
                                              "Newexten", "Newexten", "Newexten", "ChanSpyStart"]
    response = answered[2]
    assert (response["ActionID"], response["Response"], response["Context"], response["Exten"]) == (
        "crm-1", "Success", "callcenter-supervise", "whisper")
    assert [(e["Priority"], e["Application"]) for e in answered[3:6]] == [
        ("1", "NoOp"), ("2", "GotoIf"), ("3", "ChanSpy")]
    assert answered[5]["AppData"] == "PJSIP/101-,qEw"
    start = answered[-1]
    assert start["SpyerUniqueid"] == leg.uniqueid and start["SpyerContext"] == "callcenter-supervise"
    assert {k[5:]: v for k, v in start.items() if k.startswith("Spyee")} == OPERATOR_CHANNEL
    assert leg.spying
    end = leg.hangup(by_supervisor=False)  # the customer hung up: E ends the spying
    assert [e["Event"] for e in end] == ["ChanSpyStop", "Newexten", "Hangup"]
    assert end[1]["Application"] == "Hangup" and end[-1]["Uniqueid"] == leg.uniqueid
    assert [e["Event"] for e in _spying().hangup(by_supervisor=True)] == [
        "HangupRequest", "ChanSpyStop", "Hangup"]


def _spying() -> SpyLeg:
    leg = _leg()
    leg.ringing()
    leg.answered()
    return leg


@pytest.mark.parametrize("change, last", [
    ({"Variable": "CRM_SPY=PJSIP/101&PJSIP/102\x00CRM_SPY_MODE=listen"}, ("Hangup", "21")),
    ({"Variable": "CRM_SPY=SIP/101\x00CRM_SPY_MODE=listen"}, ("Hangup", "21")),
    ({"Variable": "CRM_SPY_MODE=listen"}, ("Hangup", "21")),
    ({"Exten": "listen,qB"}, None),
])  # fmt: skip
def test_what_the_dialplan_refuses_the_simulator_refuses(change, last):
    leg = _leg({**ACTION, **change})
    leg.ringing()
    answered = leg.answered()
    assert not leg.spying and "ChanSpyStart" not in [e["Event"] for e in answered]
    assert "ChanSpy" not in [e.get("Application") for e in answered]
    if last is None:
        assert answered[-1]["Event"] == "OriginateResponse"
    else:
        assert (answered[-1]["Application"], answered[-1]["AppData"]) == last
    assert [e["Event"] for e in leg.hangup(by_supervisor=False)] == ["Hangup"]


def test_no_channel_to_spy_on_hangs_up_after_chanspy():
    leg = _leg(spyee=None)
    leg.ringing()
    answered = leg.answered()
    assert answered[-1]["Application"] == "ChanSpy" and not leg.spying
    assert [e["Event"] for e in leg.hangup(by_supervisor=False)] == ["Newexten", "Hangup"]
