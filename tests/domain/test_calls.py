"""CallTracker replaying real AMI traffic from Asterisk 22 (tests/traces): every trace must lead to
exactly the conclusion in the traces' README, and no mangling of the stream may crash it.

Synthetic sequences for cases the traces do not cover are in test_calls_scenarios.py.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.calls import (
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    CallTracker,
    OperatorRinging,
    OperatorStoppedRinging,
    OriginateFailed,
    TrackerConfig,
)

TRACES = Path(__file__).resolve().parents[1] / "traces"
T0 = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
BANNER = "Asterisk Call Manager/"
CONFIG = TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/102"})


def split_messages(text: str) -> list[dict[str, str]]:
    """AMI text -> one dict per message.  ``Key: Value`` lines (the value may hold ``": "``);
    lines without ``": "`` (the banner) are skipped; blank lines separate messages."""
    messages = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            key, sep, value = line.partition(": ")
            if sep and key:
                fields[key] = value
        if fields:
            messages.append(fields)
    return messages


def read_trace(name: str, actions: bool = False) -> list[tuple[float, dict[str, str] | None]]:
    """``(t, message)`` in arrival order from NAME.jsonl; ``message`` is ``None`` for a login
    banner (a new TCP connection).  A message gets the ``t`` of the read that completed it.
    With ``actions``, the actions the recorded client sent are in the list too, where it sent
    them (they have ``Action`` instead of ``Event``)."""
    items: list[tuple[float, dict[str, str] | None]] = []
    pending = ""
    for line in (TRACES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] != "in":
            if actions:
                items.extend((chunk["t"], m) for m in split_messages(chunk["data"]) if "Action" in m)
            continue
        pending += chunk["data"]
        while True:
            if pending.startswith(BANNER):
                _, sep, rest = pending.partition("\r\n")
                if not sep:
                    break
                items.append((chunk["t"], None))
                pending = rest
                continue
            text, sep, rest = pending.partition("\r\n\r\n")
            if not sep:
                break
            items.extend((chunk["t"], message) for message in split_messages(text))
            pending = rest
    return items


def trace_events(name: str) -> list[tuple[float, dict[str, str]]]:
    return [(t, m) for t, m in read_trace(name) if m is not None and "Event" in m]


def replay(name: str, tracker: CallTracker | None = None, originates: bool = True) -> tuple[CallTracker, list]:
    """Feed a trace like the AMI listener does: the Originates the recorded client sent are
    announced to the tracker as they are sent (unless ``originates`` is false: somebody else
    sent them); after a second login banner, resync with the CoreShowChannel events up to
    CoreShowChannelsComplete."""
    tracker = tracker or CallTracker(CONFIG)
    effects: list = []
    banners = 0
    for t, message in read_trace(name, actions=True):
        at = T0 + timedelta(seconds=t)
        if message is None:
            banners += 1
            if banners > 1:
                tracker.begin_resync()
            continue
        if "Action" in message:
            if originates and message["Action"] == "Originate":
                tracker.originate_sent(message, at)
            continue
        effects += tracker.feed(message, at)
        if message.get("Event") == "CoreShowChannelsComplete":
            effects += tracker.end_resync(at)
    return tracker, effects


def ended(effects: list) -> list[CallRecord]:
    return [e.call for e in effects if isinstance(e, CallEnded)]


TRACE_NAMES = sorted(p.stem for p in TRACES.glob("*.jsonl"))


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_jsonl_and_ami_files_hold_the_same_messages(name: str) -> None:
    from_ami = split_messages((TRACES / f"{name}.ami").read_bytes().decode("utf-8"))
    assert [m for _, m in read_trace(name) if m is not None] == from_ami


# The README table, one row per trace (a list: one dict per call, in the order they end).
# talk: (seconds, tolerance); None keys are asserted None.
EXPECTED: dict[str, dict | list[dict]] = {
    "inbound_answered": dict(
        direction="inbound", outcome="answered", answered_by="PJSIP/101", handled_by=("PJSIP/101",),
        operators_rung=("PJSIP/101", "PJSIP/102"), talk=(6.0, 0.5), hangup_side="customer",
        caller="79161234567", caller_name="Иван Петров", callee="74951234567",
        recording="2026/11/23/1795449448.12.wav", linkedid="1795449448.12", queue="shop",
        abandoned=False, action_id=None, task_id=None, hangup_cause=16,
    ),
    "inbound_abandoned": dict(
        direction="inbound", outcome="missed", answered_by=None, handled_by=(),
        operators_rung=("PJSIP/101", "PJSIP/102"), talk=(0.0, 0.0), hangup_side="customer",
        caller="+79031112233", caller_name=None, callee="74951234567", customer_number="+79031112233",
        recording="2026/11/23/1795449466.15.wav", queue="shop", abandoned=True, wait=(9.0, 0.5),
    ),
    "outbound_click_to_call": dict(
        direction="outbound", outcome="answered", answered_by="PJSIP/101", handled_by=("PJSIP/101",),
        placed_by="PJSIP/101", talk=(6.0, 0.5), hangup_side="customer", caller="101",
        callee="79161234567", customer_number="79161234567", action_id="outbound_click_to_call-1",
        task_id="42", recording="2026/11/23/1795449695.37.wav", hangup_cause=16,
    ),
    "outbound_no_answer": dict(
        direction="outbound", outcome="no_answer", answered_by=None, handled_by=(), talk=(0.0, 0.0),
        placed_by="PJSIP/101", callee="79161234567", action_id="outbound_no_answer-1", task_id="43",
        recording="2026/11/23/1795449717.39.wav", hangup_side="system",
    ),
    "outbound_rejected": dict(
        direction="outbound", outcome="busy", answered_by=None, talk=(0.0, 0.0), callee="79161234567",
        action_id="outbound_rejected-1", task_id="44", hangup_cause=17, hangup_cause_text="User busy",
        hangup_side="customer",
    ),
    "outbound_operator_unreachable": dict(
        direction="outbound", outcome="unavailable", answered_by=None, operators_rung=(), linkedid=None,
        key="outbound_operator_unreachable-1", action_id="outbound_operator_unreachable-1",
        placed_by="PJSIP/103", callee="79161234567", talk=(0.0, 0.0), recording=None,
    ),
    "ami_reconnect_midcall": dict(
        direction="inbound", outcome="answered", answered_by="PJSIP/101", handled_by=("PJSIP/101",),
        operators_rung=("PJSIP/101", "PJSIP/102"), talk=(8.2, 0.5), hangup_side="customer",
        caller="79161234567", recording="2026/11/23/1795449613.30.wav", hangup_cause=16,
    ),
    "agent_pause_and_ready": [
        dict(direction="inbound", outcome="answered", caller="79161234567", caller_name="Иван Петров",
             operators_rung=("PJSIP/102",), answered_by="PJSIP/102", handled_by=("PJSIP/102",),
             talk=(4.0, 0.5), hangup_side="customer", linkedid="1796155220.0"),
        dict(direction="inbound", outcome="answered", caller="79857778899", caller_name="Мария Смирнова",
             operators_rung=("PJSIP/101", "PJSIP/102"), answered_by="PJSIP/101", handled_by=("PJSIP/101",),
             talk=(5.0, 0.5), hangup_side="customer", linkedid="1796155234.2"),
    ],
    "manual_dial_from_softphone": dict(
        direction="outbound", outcome="answered", placed_by="PJSIP/101", answered_by="PJSIP/101",
        handled_by=("PJSIP/101",), operators_rung=(), callee="89161234567", customer_number="89161234567",
        talk=(5.0, 0.5), hangup_side="customer", hangup_cause=16, action_id=None, task_id=None,
        linkedid="1796155253.5", recording="2026/12/01/1796155253.5.wav",
    ),
    "supervisor_whisper": dict(
        direction="inbound", outcome="answered", answered_by="PJSIP/101", handled_by=("PJSIP/101",),
        operators_rung=("PJSIP/101", "PJSIP/102"), hangup_side="customer", caller="79161234567",
        linkedid="1796155271.7", action_id=None, merged_into=None,
    ),
    "supervisor_barge": dict(
        direction="inbound", outcome="answered", answered_by="PJSIP/101", handled_by=("PJSIP/101",),
        operators_rung=("PJSIP/101", "PJSIP/102"), hangup_side="customer", caller="79161234567",
        linkedid="1796155295.11", action_id=None, merged_into=None,
    ),
    "inbound_invalid_number_then_callback": [
        dict(direction="inbound", outcome="missed", caller="8(916)123-45-67", caller_name="Иван Петров",
             operators_rung=("PJSIP/101", "PJSIP/102"), answered_by=None, abandoned=True, talk=(0.0, 0.0),
             linkedid="1796155787.3", customer_number="8(916)123-45-67"),
        dict(direction="outbound", outcome="answered", placed_by="PJSIP/101", answered_by="PJSIP/101",
             callee="89161234567", task_id="47", action_id="inbound_invalid_number_then_callback-1",
             talk=(5.0, 0.5), hangup_side="customer", linkedid="1796155799.6"),
    ],
}


def expected_calls(name: str) -> list[dict]:
    rows = EXPECTED[name]
    return rows if isinstance(rows, list) else [rows]


def test_every_trace_has_an_expectation() -> None:
    assert set(EXPECTED) | {"login_failed_wrong_secret"} == set(TRACE_NAMES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_trace_conclusion(name: str) -> None:
    tracker, effects = replay(name)
    calls = ended(effects)
    expected_rows = expected_calls(name)
    assert len(calls) == len(expected_rows), "exactly one CallEnded per call"
    assert sum(isinstance(e, CallStarted) for e in effects) == len(expected_rows)
    for call, expected_row in zip(calls, expected_rows):
        for field, expected in expected_row.items():
            if field in ("talk", "wait"):
                seconds, tolerance = expected
                actual = call.talk_seconds if field == "talk" else call.wait_seconds
                assert actual == pytest.approx(seconds, abs=tolerance), (call.key, field)
            else:
                assert getattr(call, field) == expected, (call.key, field)
        assert call.ended_at is not None and call.started_at <= call.ended_at
        if call.answered_at is not None:
            assert call.started_at <= call.answered_at <= call.ended_at
    assert tracker.live_calls() == [] and tracker.errors == 0


def test_inbound_answered_cards() -> None:
    """Both phones ring (cards pop), 102's card closes when 101 answers, 101's turns into the call."""
    _, effects = replay("inbound_answered")
    kinds = [(type(e).__name__, getattr(e, "endpoint", None)) for e in effects]
    assert kinds == [
        ("CallStarted", None),
        ("OperatorRinging", "PJSIP/101"),
        ("OperatorRinging", "PJSIP/102"),
        ("OperatorStoppedRinging", "PJSIP/102"),
        ("CallAnswered", "PJSIP/101"),
        ("CallEnded", None),
    ]
    stopped = next(e for e in effects if isinstance(e, OperatorStoppedRinging))
    assert stopped.reason == "answered_elsewhere"
    ringing = next(e for e in effects if isinstance(e, OperatorRinging))
    assert ringing.call_key == "1795449448.12"
    assert (ringing.call.caller, ringing.call.callee) == ("79161234567", "74951234567")
    answered = next(e for e in effects if isinstance(e, CallAnswered))
    assert answered.call.answered_by == "PJSIP/101" and answered.call.ended_at is None


def test_inbound_abandoned_closes_both_cards_because_the_caller_left() -> None:
    _, effects = replay("inbound_abandoned")
    stops = [(e.endpoint, e.reason) for e in effects if isinstance(e, OperatorStoppedRinging)]
    assert stops == [("PJSIP/101", "caller_hung_up"), ("PJSIP/102", "caller_hung_up")]
    assert not any(isinstance(e, CallAnswered) for e in effects)


def test_click_to_call_rings_the_operator_then_answers_when_the_customer_does() -> None:
    _, effects = replay("outbound_click_to_call")
    assert [type(e).__name__ for e in effects] == ["CallStarted", "OperatorRinging", "CallAnswered", "CallEnded"]
    answered = next(e for e in effects if isinstance(e, CallAnswered))
    assert answered.call.answered_at == T0 + timedelta(seconds=8.1252)  # the customer's answer


def test_operator_unreachable_is_reported_at_once() -> None:
    _, effects = replay("outbound_operator_unreachable")
    assert [type(e).__name__ for e in effects] == ["CallStarted", "OriginateFailed", "CallEnded"]
    failed = effects[1]
    assert isinstance(failed, OriginateFailed)
    assert (failed.action_id, failed.endpoint, failed.reason) == (
        "outbound_operator_unreachable-1", "PJSIP/103", "unavailable")


def test_login_failed_gives_no_call() -> None:
    tracker, effects = replay("login_failed_wrong_secret")
    assert effects == [] and tracker.live_calls() == []


def test_reconnect_resync_neither_loses_nor_doubles_the_call() -> None:
    """The listing after the reconnect shows the call still up: the resync changes nothing and
    the hang-up arriving on the new connection ends the call once."""
    tracker = CallTracker(CONFIG)
    effects, resync_effects, banners = [], None, 0
    for t, message in read_trace("ami_reconnect_midcall"):
        at = T0 + timedelta(seconds=t)
        if message is None:
            banners += 1
            if banners == 2:
                assert [c.answered_by for c in tracker.live_calls()] == ["PJSIP/101"]
                tracker.begin_resync()
            continue
        effects += tracker.feed(message, at)
        if message.get("Event") == "CoreShowChannelsComplete":
            resync_effects = tracker.end_resync(at)
    assert banners == 2 and resync_effects == []
    assert [type(e).__name__ for e in effects] == [
        "CallStarted", "OperatorRinging", "OperatorRinging", "OperatorStoppedRinging", "CallAnswered", "CallEnded"]
    assert ended(effects)[0].ended_at == T0 + timedelta(seconds=12.8229)


def test_reconnect_without_resync_still_ends_once() -> None:
    """A listener that forgot to resync must not double the call either."""
    tracker = CallTracker(CONFIG)
    effects = [f for t, e in trace_events("ami_reconnect_midcall") for f in tracker.feed(e, T0 + timedelta(seconds=t))]
    assert len(ended(effects)) == 1 and ended(effects)[0].outcome == "answered"


def test_duplicated_events_change_nothing() -> None:
    for name in EXPECTED:
        once = replay(name)[1]
        tracker = CallTracker(CONFIG)
        twice = []
        for t, event in read_trace(name, actions=True):
            at = T0 + timedelta(seconds=t)
            if event is None:
                continue
            if "Action" in event:
                if event["Action"] == "Originate":
                    tracker.originate_sent(event, at)
                continue
            twice += tracker.feed(event, at) + tracker.feed(dict(event), at)
        assert [(type(e), getattr(e, "endpoint", None)) for e in twice] == [
            (type(e), getattr(e, "endpoint", None)) for e in once], name
        assert ended(twice) == ended(once), name


def test_late_stray_events_after_the_end_are_ignored() -> None:
    tracker, _ = replay("inbound_answered")
    for t, event in trace_events("inbound_answered"):
        assert tracker.feed(event, T0 + timedelta(seconds=100 + t)) == []
    assert tracker.live_calls() == [] and tracker.errors == 0


def test_noise_is_ignored_without_creating_calls() -> None:
    tracker = CallTracker(CONFIG)
    noise = [e for _, e in trace_events("inbound_answered")
             if e["Event"] in ("RTCPSent", "DeviceStateChange", "QueueMemberStatus", "Cdr")
             or (e["Event"] == "VarSet" and "CRM_" not in e["Variable"] and e["Variable"] != "MIXMONITOR_FILENAME")
             or (e["Event"] == "Newexten" and e["Application"] != "MixMonitor")]
    assert len(noise) > 30
    assert all(tracker.feed(e, T0) == [] for e in noise)
    assert tracker.live_calls() == []


# -- robustness ---------------------------------------------------------------------------------

ALL_EVENTS = [event for name in sorted(EXPECTED) for _, event in trace_events(name)]


@settings(max_examples=300, deadline=None)
@given(
    picks=st.lists(st.integers(min_value=0, max_value=len(ALL_EVENTS) - 1), max_size=400),
    resync_at=st.sets(st.integers(min_value=0, max_value=400), max_size=3),
)
def test_shuffled_dropped_duplicated_events_never_raise(picks: list[int], resync_at: set[int]) -> None:
    tracker = CallTracker(CONFIG)
    effects: list = []
    for i, pick in enumerate(picks):
        at = T0 + timedelta(seconds=i)
        if i in resync_at:
            tracker.begin_resync()
        effects += tracker.feed(ALL_EVENTS[pick], at)
        if i - 1 in resync_at:
            effects += tracker.end_resync(at)
    assert tracker.errors == 0
    started = Counter(e.call.key for e in effects if isinstance(e, CallStarted))
    finished = Counter(e.call.key for e in effects if isinstance(e, CallEnded))
    assert all(n == 1 for n in started.values()) and all(n == 1 for n in finished.values())
    assert set(finished) <= set(started), "a call never ends without having started"
    assert {c.key for c in tracker.live_calls()}.isdisjoint(finished)


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(ALL_EVENTS),
    changes=st.dictionaries(
        st.sampled_from(["Event", "Uniqueid", "Linkedid", "Channel", "ChannelState", "DestUniqueid",
                         "DestChannel", "Cause", "DialStatus", "Variable", "Value", "Response", "Reason",
                         "BridgeUniqueid", "Duration", "AppData"]),
        st.one_of(st.text(max_size=12), st.sampled_from(["", "<unknown>", "-1", "6", "5", "0", "Failure"])),
        max_size=4,
    ),
    dropped=st.sets(st.sampled_from(["Uniqueid", "Linkedid", "Channel", "ChannelState", "Event"]), max_size=3),
)
def test_garbage_headers_never_raise(base: dict, changes: dict, dropped: set) -> None:
    event = {k: v for k, v in {**base, **changes}.items() if k not in dropped}
    tracker = CallTracker(CONFIG)
    tracker.begin_resync()
    tracker.feed(event, T0)
    tracker.end_resync(T0)
    tracker.feed(event, T0)
    assert tracker.errors == 0


@pytest.mark.parametrize("junk", [None, 42, "Event: Hangup", {}, {"Event": None}, {"Event": ["x"]},
                                  {"Event": "Hangup"}, {"Event": "Newchannel", "Uniqueid": "1.1"}])
def test_junk_events_are_ignored(junk) -> None:
    tracker = CallTracker(CONFIG)
    assert tracker.feed(junk, T0) == []  # type: ignore[arg-type]
    assert tracker.errors == 0 and tracker.live_calls() == []
