"""The agent state machine, table-driven: a state and an event in, the state and effect out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.agents import (
    AgentState, Chosen, Device, OutcomeSaved, PbxPause, QueuePause, Tick, pbx_reason,
    read_ami_event, step,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(minutes=5)
WRAP = 60


def st(state, reason=None, chosen=None, chosen_reason=None, wrap_up_until=None, since=T0):
    if chosen is None:
        chosen = state if state in ("ready", "paused", "offline") else "ready"
        chosen_reason = reason if state == "paused" else chosen_reason
    return AgentState(state, reason, since, chosen, chosen_reason, wrap_up_until)


# (name, before, event, after (state, reason, chosen, chosen_reason), history row?, pbx effect)
CASES = [
    ("offline operator gets ready", st("offline"), Chosen("ready"),
     ("ready", None, "ready", None), True, QueuePause(False, None)),
    ("ready operator pauses for lunch", st("ready"), Chosen("paused", "lunch"),
     ("paused", "lunch", "paused", "lunch"), True, QueuePause(True, "lunch")),
    ("lunch becomes training", st("paused", "lunch"), Chosen("paused", "training"),
     ("paused", "training", "paused", "training"), True, QueuePause(True, "training")),
    ("going offline pauses on the PBX", st("ready"), Chosen("offline"),
     ("offline", None, "offline", None), True, QueuePause(True, "offline")),
    ("choosing the same again still tells the PBX", st("ready"), Chosen("ready"),
     ("ready", None, "ready", None), False, QueuePause(False, None)),
    ("a pause chosen while talking waits for the call's end", st("talking", chosen="ready"),
     Chosen("paused", "lunch"), ("talking", None, "paused", "lunch"), False,
     QueuePause(True, "lunch")),
    ("ready chosen during wrap-up ends it", st("wrap_up", chosen="paused", chosen_reason="lunch",
                                               wrap_up_until=NOW), Chosen("ready"),
     ("ready", None, "ready", None), True, QueuePause(False, None)),
    # the PBX
    ("paused on the phone", st("ready"), PbxPause(True, None),
     ("paused", "pbx", "paused", "pbx"), True, None),
    ("Asterisk's autopause", st("ready"), PbxPause(True, "Auto-Pause"),
     ("paused", "autopause", "paused", "autopause"), True, None),
    ("our own pause comes back", st("paused", "lunch"), PbxPause(True, "lunch"),
     ("paused", "lunch", "paused", "lunch"), False, None),
    ("the pause of an offline operator comes back", st("offline"), PbxPause(True, "offline"),
     ("offline", None, "offline", None), False, None),
    ("unpaused on the phone", st("paused", "lunch"), PbxPause(False),
     ("ready", None, "ready", None), True, None),
    ("an unpause when ready is nothing new", st("ready"), PbxPause(False),
     ("ready", None, "ready", None), False, None),
    ("a pause made on the phone during a call", st("talking", chosen="ready"),
     PbxPause(True, "break"), ("talking", None, "paused", "break"), False, None),
    # the phone
    ("the phone rings", st("ready"), Device("RINGING"), ("ringing", None, "ready", None), True,
     None),
    ("a click-to-call rings a paused operator", st("paused", "lunch"), Device("RINGING"),
     ("ringing", None, "paused", "lunch"), True, None),
    ("answered", st("ringing", chosen="ready"), Device("INUSE"),
     ("talking", None, "ready", None), True, None),
    ("on hold is still talking", st("talking", chosen="ready"), Device("ONHOLD"),
     ("talking", None, "ready", None), False, None),
    ("a second call ringing in use", st("talking", chosen="ready"), Device("RINGINUSE"),
     ("talking", None, "ready", None), False, None),
    ("the ring stopped unanswered", st("ringing", chosen="paused", chosen_reason="lunch"),
     Device("NOT_INUSE"), ("paused", "lunch", "paused", "lunch"), True, None),
    ("the call ended: wrap-up", st("talking", chosen="ready"), Device("NOT_INUSE"),
     ("wrap_up", None, "ready", None), True, None),
    ("not in use when ready", st("ready"), Device("NOT_INUSE"),
     ("ready", None, "ready", None), False, None),
    ("the phone went away", st("ready"), Device("UNAVAILABLE"),
     ("offline", None, "ready", None), True, None),
    ("the phone is back", st("offline", chosen="ready"), Device("NOT_INUSE"),
     ("ready", None, "ready", None), True, None),
    ("the phone of an operator who chose offline is back", st("offline"), Device("NOT_INUSE"),
     ("offline", None, "offline", None), False, None),
    ("an unknown device state", st("ready"), Device("UNKNOWN"),
     ("ready", None, "ready", None), False, None),
    # wrap-up's end
    ("outcome saved", st("wrap_up", chosen="ready", wrap_up_until=NOW + timedelta(seconds=30)),
     OutcomeSaved(), ("ready", None, "ready", None), True, None),
    ("outcome saved, back to the pause chosen during the call",
     st("wrap_up", chosen="paused", chosen_reason="meeting", wrap_up_until=NOW),
     OutcomeSaved(), ("paused", "meeting", "paused", "meeting"), True, None),
    ("outcome saved outside wrap-up", st("ready"), OutcomeSaved(),
     ("ready", None, "ready", None), False, None),
    ("the wrap-up limit passed", st("wrap_up", chosen="ready", wrap_up_until=NOW),
     Tick(), ("ready", None, "ready", None), True, None),
    ("the wrap-up limit not yet", st("wrap_up", chosen="ready",
                                     wrap_up_until=NOW + timedelta(seconds=1)),
     Tick(), ("wrap_up", None, "ready", None), False, None),
    ("no limit: only the outcome ends it", st("wrap_up", chosen="ready"), Tick(),
     ("wrap_up", None, "ready", None), False, None),
]


@pytest.mark.parametrize("name,before,event,after,history,pbx", CASES, ids=[c[0] for c in CASES])
def test_step(name, before, event, after, history, pbx):
    result = step(before, event, NOW, wrap_up_seconds=WRAP)
    s = result.state
    assert (s.state, s.reason, s.chosen, s.chosen_reason) == after
    assert result.changed is history
    assert result.pbx == pbx
    assert s.since == (NOW if history else T0)
    if result.changed or (s.chosen, s.chosen_reason) != (before.chosen, before.chosen_reason):
        assert result.stored


def test_wrap_up_until_is_set_by_the_limit_and_cleared_after():
    talking = st("talking", chosen="ready")
    wrap = step(talking, Device("NOT_INUSE"), NOW, wrap_up_seconds=WRAP).state
    assert wrap.wrap_up_until == NOW + timedelta(seconds=WRAP)
    # QueueMemberStatus repeats the device state: the limit is not pushed back
    again = step(wrap, Device("NOT_INUSE"), NOW + timedelta(seconds=5), wrap_up_seconds=WRAP)
    assert again.state.wrap_up_until == NOW + timedelta(seconds=WRAP) and not again.stored
    ready = step(wrap, Tick(), NOW + timedelta(seconds=WRAP), wrap_up_seconds=WRAP).state
    assert (ready.state, ready.wrap_up_until) == ("ready", None)
    unlimited = step(talking, Device("NOT_INUSE"), NOW, wrap_up_seconds=0).state
    assert (unlimited.state, unlimited.wrap_up_until) == ("wrap_up", None)


def test_a_pause_from_the_phone_during_wrap_up_keeps_its_limit():
    wrap = st("wrap_up", chosen="ready", wrap_up_until=NOW + timedelta(seconds=20))
    s = step(wrap, PbxPause(True, "lunch"), NOW, wrap_up_seconds=WRAP).state
    assert (s.state, s.chosen, s.chosen_reason) == ("wrap_up", "paused", "lunch")
    assert s.wrap_up_until == NOW + timedelta(seconds=20)


def test_unknown_choice():
    with pytest.raises(ValueError):
        step(st("ready"), Chosen("talking"), NOW, wrap_up_seconds=WRAP)


@pytest.mark.parametrize("given,expected", [
    (None, "pbx"), ("", "pbx"), ("  ", "pbx"), ("lunch", "lunch"), ("Auto-Pause", "autopause"),
    ("autopause", "autopause"), ("x" * 100, "x" * 64)])
def test_pbx_reason(given, expected):
    assert pbx_reason(given) == expected


QUEUE_MEMBER_PAUSE = {  # as Asterisk 22 sends it (tests/traces/agent_pause_and_ready.ami)
    "Event": "QueueMemberPause", "Privilege": "agent,all", "Queue": "shop",
    "MemberName": "PJSIP/101", "Interface": "PJSIP/101", "StateInterface": "PJSIP/101",
    "Membership": "static", "Penalty": "0", "CallsTaken": "0", "LastCall": "0",
    "LastPause": "1796155217", "LoginTime": "1796155200", "InCall": "0", "Status": "1",
    "Paused": "1", "PausedReason": "lunch", "Ringinuse": "1", "Wrapuptime": "0"}


@pytest.mark.parametrize("fields,expected", [
    (QUEUE_MEMBER_PAUSE, ("PJSIP/101", [PbxPause(True, "lunch")])),
    ({**QUEUE_MEMBER_PAUSE, "Paused": "0", "PausedReason": ""},
     ("PJSIP/101", [PbxPause(False, None)])),
    ({**QUEUE_MEMBER_PAUSE, "Event": "QueueMemberStatus", "Status": "6", "Paused": "0"},
     ("PJSIP/101", [PbxPause(False, "lunch"), Device("RINGING")])),
    ({"Event": "QueueMember", "Queue": "shop", "Name": "PJSIP/102", "Location": "PJSIP/102",
      "StateInterface": "PJSIP/102", "Status": "2", "Paused": "1", "PausedReason": ""},
     ("PJSIP/102", [PbxPause(True, None), Device("INUSE")])),
    ({"Event": "QueueMember", "Location": "PJSIP/102", "Status": "0", "Paused": "0"},
     ("PJSIP/102", [PbxPause(False, None)])),
    ({"Event": "DeviceStateChange", "Device": "PJSIP/101", "State": "RINGING"},
     ("PJSIP/101", [Device("RINGING")])),
    ({"Event": "DeviceStateChange", "Device": "Queue:shop_pause_PJSIP/101", "State": "INUSE"},
     ("Queue:shop_pause_PJSIP/101", [Device("INUSE")])),
    ({"Event": "DeviceStateChange", "Device": "PJSIP/101"}, None),
    ({"Event": "Newchannel", "Channel": "PJSIP/101-00000001"}, None),
    ({"Event": "QueueMemberPause"}, None),
    ({"Event": "QueueParams", "Queue": "shop"}, None),
])
def test_read_ami_event(fields, expected):
    assert read_ami_event(fields) == expected
