"""CallTracker on synthetic AMI sequences for what the real traces do not show: transfers,
overlapping calls, operator hang-ups, every dial status, resyncs after an outage.

The sequences (built with call_event_builders) copy the shape of the Asterisk 22 traces; each
scenario is a list of ``(seconds, event)`` steps and a table of what the tracker must conclude.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from call_event_builders import (
    DID, RESYNC_BEGIN, RESYNC_END, T0, Chan, bridge, dial, dial_end, hup, hup_req, inbound, leave,
    new, run, show, soft, state, var,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.calls import (
    CallAnswered,
    CallEnded,
    CallStarted,
    CallTracker,
    OperatorRinging,
    OperatorStoppedRinging,
    OriginateFailed,
    TrackerConfig,
    endpoint_of,
)


def blind_transfer(bye_before_event: bool = False):
    steps, trunk, ops = inbound(10, ring=("101",), ender=None)
    op101, lid = ops["101"], trunk.linkedid
    op102 = Chan("PJSIP/102", "1795450000.20", lid, num="102")
    event = {"Event": "BlindTransfer", "Result": "Success", **op101.headers("Transferer"),
             **trunk.headers("Transferee"), "Extension": "102", "Context": "operators"}
    transfer = [(8, event), (8, hup_req(op101))]
    steps += (transfer[::-1] if bye_before_event else transfer) + [
        (8, leave(trunk, "bridge-10")), (8, leave(op101, "bridge-10")), (8, hup(op101)),
        (8.5, new(op102, 0)), (8.5, dial(trunk, op102, "PJSIP/102")), (8.5, state(op102, 5)),
        (11, state(op102, 6)), (11, dial_end(trunk, op102, "ANSWER")),
        (11, bridge(op102, "b2")), (11, bridge(trunk, "b2")),
        (20, hup_req(trunk)), (20, soft(op102)), (20, hup(op102)), (20, hup(trunk)),
    ]
    return steps


def attended_transfer():
    steps, trunk, ops = inbound(30, ring=("101",), ender=None)
    op101, main = ops["101"], trunk.linkedid
    consult = "1795450100.40"
    op101b = Chan("PJSIP/101", consult, consult, num="101", exten="102")
    op102 = Chan("PJSIP/102", "1795450100.41", consult, num="102")
    steps += [
        (6, new(op101b, 4)), (6, new(op102, 0)), (6, dial(op101b, op102, "PJSIP/102")), (6, state(op102, 5)),
        (8, state(op102, 6)), (8, dial_end(op101b, op102, "ANSWER")), (8, state(op101b, 6)),
        (8, bridge(op101b, "b-consult")), (8, bridge(op102, "b-consult")),
        (10, {"Event": "AttendedTransfer", "Result": "Success", **op101.headers("OrigTransferer"),
              **op101b.headers("SecondTransferer"), **op102.headers("TransferTarget"),
              **trunk.headers("Transferee"), "DestType": "Bridge"}),
        (10, leave(op101b, "b-consult")), (10, leave(op102, "b-consult")), (10, hup(op101b)),
        (10, leave(op101, "bridge-30")), (10, hup(op101)),
    ]
    op102.linkedid = main  # Asterisk propagates the older Linkedid into the merged bridge
    steps += [(10, bridge(op102, "bridge-30")), (20, hup_req(op102)), (20, hup(op102)), (20, soft(trunk)),
              (20, hup(trunk))]
    return steps


def overlapping():
    one = inbound(50, ring=("101", "102"), answer="101", t_answer=3, t_end=10)[0]
    two = [(t + 1, e) for t, e in inbound(60, ring=("102",), answer="102", t_answer=4, t_end=11,
                                          ender="operator", caller="+79031112233")[0]]
    return sorted(one + two, key=lambda step: step[0])


def internal():
    lid = "1795450200.70"
    op101 = Chan("PJSIP/101", lid, lid, num="101", name="Operator Anna", exten="102")
    op102 = Chan("PJSIP/102", "1795450200.71", lid, num="102")
    return [(0, new(op101, 4)), (0, new(op102, 0)), (0, dial(op101, op102, "PJSIP/102")), (0, state(op102, 5)),
            (3, state(op102, 6)), (3, dial_end(op101, op102, "ANSWER")), (3, state(op101, 6)),
            (3, bridge(op101, "bi")), (3, bridge(op102, "bi")),
            (9, hup_req(op101)), (9, hup(op101)), (9, hup(op102))]


# (steps, {call key: {field: expected}}) — talk is checked to 0.01 s
SCENARIOS = {
    "customer_hangs_up": (inbound(1)[0], {"1795450000.1": dict(
        outcome="answered", answered_by="PJSIP/101", hangup_side="customer", talk_seconds=10.0,
        callee=DID, caller="89265550101", operators_rung=("PJSIP/101", "PJSIP/102"))}),
    "operator_hangs_up_first": (inbound(5, ender="operator")[0], {"1795450000.5": dict(
        outcome="answered", answered_by="PJSIP/101", hangup_side="operator", talk_seconds=10.0)}),
    "abandoned": (inbound(7, answer=None)[0], {"1795450000.7": dict(
        outcome="missed", answered_by=None, hangup_side="customer", abandoned=True, talk_seconds=0.0)}),
    "blind_transfer_101_to_102": (blind_transfer(), {"1795450000.10": dict(
        direction="inbound", outcome="answered", answered_by="PJSIP/101", handled_by=("PJSIP/101", "PJSIP/102"),
        operators_rung=("PJSIP/101", "PJSIP/102"), hangup_side="customer", talk_seconds=16.0)}),
    "blind_transfer_bye_before_the_event": (blind_transfer(bye_before_event=True), {"1795450000.10": dict(
        outcome="answered", handled_by=("PJSIP/101", "PJSIP/102"), hangup_side="customer", talk_seconds=16.0)}),
    "attended_transfer_101_to_102": (attended_transfer(), {
        "1795450000.30": dict(direction="inbound", outcome="answered", answered_by="PJSIP/101", merged_into=None,
                              handled_by=("PJSIP/101", "PJSIP/102"), hangup_side="operator", talk_seconds=16.0),
        "1795450100.40": dict(direction="internal", outcome="answered", answered_by="PJSIP/102", callee="102",
                              handled_by=("PJSIP/101", "PJSIP/102"), operators_rung=("PJSIP/102",),
                              merged_into="1795450000.30"),
    }),
    "two_overlapping_inbound_calls": (overlapping(), {
        "1795450000.50": dict(answered_by="PJSIP/101", operators_rung=("PJSIP/101", "PJSIP/102"),
                              hangup_side="customer", talk_seconds=7.0),
        "1795450000.60": dict(answered_by="PJSIP/102", operators_rung=("PJSIP/102",), caller="+79031112233",
                              hangup_side="operator", talk_seconds=7.0),
    }),
    "internal_101_to_102": (internal(), {"1795450200.70": dict(
        direction="internal", outcome="answered", caller="101", callee="102", answered_by="PJSIP/102",
        handled_by=("PJSIP/101", "PJSIP/102"), operators_rung=("PJSIP/102",), placed_by="PJSIP/101",
        hangup_side="operator", talk_seconds=6.0, customer_number=None)}),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str) -> None:
    steps, expected = SCENARIOS[name]
    tracker, effects = run(steps)
    records = {e.call.key: e.call for e in effects if isinstance(e, CallEnded)}
    assert sorted(records) == sorted(expected), "exactly one CallEnded per call"
    assert len([e for e in effects if isinstance(e, CallEnded)]) == len(expected)
    for key, fields in expected.items():
        for field, value in fields.items():
            actual = getattr(records[key], field)
            assert actual == (pytest.approx(value, abs=0.01) if field == "talk_seconds" else value), (key, field)
    assert tracker.live_calls() == []


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_twice_fed_events_and_late_strays_change_nothing(name: str) -> None:
    steps = SCENARIOS[name][0]
    once = run(steps)[1]
    tracker, twice = run([s for step in steps for s in (step, step)])
    assert twice == once
    assert run(steps, tracker)[1] == [], "events of ended calls are ignored"


def test_blind_transfer_announces_each_operator_once() -> None:
    effects = run(blind_transfer())[1]
    assert [(type(e).__name__, e.endpoint) for e in effects if isinstance(e, (OperatorRinging, CallAnswered))] == [
        ("OperatorRinging", "PJSIP/101"), ("CallAnswered", "PJSIP/101"),
        ("OperatorRinging", "PJSIP/102"), ("CallAnswered", "PJSIP/102")]
    assert not any(isinstance(e, OperatorStoppedRinging) for e in effects)


def test_overlapping_calls_close_only_their_own_cards() -> None:
    effects = run(overlapping())[1]
    stops = [(e.call_key, e.endpoint, e.reason) for e in effects if isinstance(e, OperatorStoppedRinging)]
    assert stops == [("1795450000.50", "PJSIP/102", "answered_elsewhere")]
    answered = [(e.call_key, e.endpoint) for e in effects if isinstance(e, CallAnswered)]
    assert answered == [("1795450000.50", "PJSIP/101"), ("1795450000.60", "PJSIP/102")]


# -- outbound: what the dialled customer's side says ---------------------------------------------

def outbound(status: str | None, cause: int, text: str, trunk_channel: bool = True, dialstatus_var: bool = True,
             operator_cancels: bool = False):
    lid = "1795450300.80"
    op = Chan("PJSIP/101", lid, lid, num="101", exten="89265550101")
    trunk = Chan("PJSIP/trunk", "1795450300.81", lid)
    steps = [(0, new(op, 4)), (0, var(op, "MIXMONITOR_FILENAME", "/var/spool/asterisk/monitor/x/1.wav"))]
    if trunk_channel:
        steps += [(0, new(trunk, 0)), (0, dial(op, trunk, "PJSIP/89265550101@trunk")), (0.5, state(trunk, 5))]
    if operator_cancels:
        steps += [(5, hup_req(op))]
    if trunk_channel and status:
        steps += [(5, dial_end(op, trunk, status))]
    if trunk_channel:
        steps += [(5, hup(trunk, cause, text))]
    if dialstatus_var and status:
        steps += [(5, var(op, "DIALSTATUS", status))]
    return steps + [(5, soft(op)), (5, hup(op, cause, text))]


@pytest.mark.parametrize("steps, outcome, side", [
    (outbound("BUSY", 17, "User busy"), "busy", "system"),
    (outbound("NOANSWER", 19, "No user responding"), "no_answer", "system"),
    (outbound("CHANUNAVAIL", 20, "Subscriber absent"), "unavailable", "system"),
    (outbound("CONGESTION", 34, "Circuit/channel congestion"), "failed", "system"),
    (outbound("CANCEL", 16, "Normal Clearing", operator_cancels=True), "no_answer", "operator"),
    (outbound("CHANUNAVAIL", 0, "Unknown", trunk_channel=False), "unavailable", "system"),
    (outbound(None, 17, "User busy", dialstatus_var=False), "busy", "system"),
    (outbound(None, 1, "Unallocated (unassigned) number", dialstatus_var=False), "invalid_number", "system"),
    (outbound("CHANUNAVAIL", 1, "Unallocated (unassigned) number"), "invalid_number", "system"),
    (outbound("CONGESTION", 28, "Invalid number format (address incomplete)"), "invalid_number", "system"),
    (outbound("NOANSWER", 16, "Normal Clearing"), "no_answer", "system"),
], ids=["busy", "noanswer", "chanunavail", "congestion", "operator_gave_up", "no_channel_at_all",
        "cause_only_busy", "cause_only_bad_number", "unallocated_beats_chanunavail",
        "invalid_format_beats_congestion", "normal_clearing_says_nothing"])
def test_outbound_not_answered(steps: list, outcome: str, side: str) -> None:
    effects = run(steps)[1]
    (call,) = [e.call for e in effects if isinstance(e, CallEnded)]
    assert (call.direction, call.outcome, call.hangup_side) == ("outbound", outcome, side)
    assert (call.callee, call.customer_number, call.placed_by) == ("89265550101", "89265550101", "PJSIP/101")
    assert (call.answered_by, call.talk_seconds, call.recording) == (None, 0.0, "x/1.wav")


@pytest.mark.parametrize("failure_first", [False, True], ids=["hangup_then_failure", "failure_then_hangup"])
def test_originate_the_operator_does_not_answer(failure_first: bool) -> None:
    """The operator's channel existed: whichever comes first, its Hangup or the OriginateResponse
    (whose Uniqueid is ``<unknown>``), there is one call and one failure, tied to the task."""
    lid = "1795450400.90"
    op = Chan("PJSIP/101", lid, lid, num="101")
    failure = {"Event": "OriginateResponse", "ActionID": "task-77-1", "Response": "Failure",
               "Channel": "PJSIP/101", "Context": "operators", "Exten": "79161234567", "Reason": "3",
               "Uniqueid": "<unknown>", "CallerIDNum": "<unknown>", "CallerIDName": "<unknown>"}
    end = [(30, hup(op, 19, "No answer")), (30, failure), (30, failure)]
    sent = {"Action": "Originate", "ActionID": "task-77-1", "Channel": "PJSIP/101",
            "Context": "operators", "Exten": "79161234567", "Variable": "CRM_TASK_ID=77"}
    effects = run([(0, sent), (0, new(op, 0)), (0, var(op, "CRM_TASK_ID", "77")), (0, dial(None, op, "101")),
                   (0, state(op, 5)), (30, dial_end(None, op, "NOANSWER"))] + (end[::-1] if failure_first else end))[1]
    names = [type(e).__name__ for e in effects]
    assert names[:2] == ["CallStarted", "OperatorRinging"] and sorted(names[2:]) == [
        "CallEnded", "OperatorStoppedRinging", "OriginateFailed"]
    (failed,) = [e for e in effects if isinstance(e, OriginateFailed)]
    (ended_,) = [e for e in effects if isinstance(e, CallEnded)]
    assert (failed.action_id, failed.endpoint, failed.reason) == ("task-77-1", "PJSIP/101", "no_answer")
    assert failed.call.key == lid and failed.call.action_id == "task-77-1" and failed.call.task_id == "77"
    assert (ended_.call.key, ended_.call.outcome, ended_.call.task_id) == (lid, "failed", "77")
    if failure_first:
        assert ended_.call.action_id == "task-77-1"


# -- resync after an AMI outage ----------------------------------------------------------------

def test_resync_ends_a_call_that_vanished_while_the_link_was_down() -> None:
    steps, trunk, ops = inbound(100, ender=None)
    tracker, effects = run(steps + [(30, RESYNC_BEGIN), (30, RESYNC_END)])
    (call,) = [e.call for e in effects if isinstance(e, CallEnded)]
    assert (call.outcome, call.answered_by, call.ended_at, call.hangup_side) == (
        "answered", "PJSIP/101", T0 + timedelta(seconds=30), None)
    assert call.talk_seconds == pytest.approx(26.0)
    late = [(31, hup_req(trunk)), (31, hup(ops["101"])), (31, hup(trunk)), (32, RESYNC_BEGIN), (32, RESYNC_END)]
    assert run(late, tracker)[1] == [], "never ended twice"


def test_resync_closes_cards_of_a_call_that_vanished_while_ringing() -> None:
    steps = inbound(110, answer=None, ender=None)[0]
    effects = run(steps + [(20, RESYNC_BEGIN), (20, RESYNC_END)])[1]
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in effects[-3:]] == [
        ("OperatorStoppedRinging", "call_ended"), ("OperatorStoppedRinging", "call_ended"), ("CallEnded", None)]
    assert effects[-1].call.outcome == "missed"


def test_resync_adopts_a_call_answered_while_the_link_was_down() -> None:
    lid = "1795450500.120"
    trunk = Chan("PJSIP/trunk", lid, lid, num="+79031112233", exten=DID)
    op = Chan("PJSIP/101", "1795450500.121", lid, num="101")
    tracker, effects = run([(100, RESYNC_BEGIN), (100, show(trunk, 6, "bx", duration=30)),
                            (100, show(op, 6, "bx", duration=20)), (100, RESYNC_END)])
    assert [type(e).__name__ for e in effects] == ["CallStarted", "CallAnswered"]
    started = effects[0].call
    assert (started.direction, started.caller, started.callee, started.started_at) == (
        "inbound", "+79031112233", DID, T0 + timedelta(seconds=70))
    assert effects[1].call.answered_at == T0 + timedelta(seconds=80)  # the operator's channel appeared then
    effects = run([(110, hup_req(trunk)), (110, hup(op)), (110, hup(trunk))], tracker)[1]
    (call,) = [e.call for e in effects if isinstance(e, CallEnded)]
    assert (call.outcome, call.hangup_side, call.talk_seconds) == ("answered", "customer", 30.0)


def test_resync_pops_cards_for_a_call_ringing_since_the_outage() -> None:
    lid = "1795450500.130"
    trunk = Chan("PJSIP/trunk", lid, lid, num="89265550101", exten=DID)
    op101 = Chan("PJSIP/101", "1795450500.131", lid, num="101")
    op102 = Chan("PJSIP/102", "1795450500.132", lid, num="102")
    effects = run([(50, RESYNC_BEGIN), (50, show(trunk, 4)), (50, show(op102, 5)), (50, show(op101, 5)),
                   (50, RESYNC_END)])[1]
    assert [(type(e).__name__, getattr(e, "endpoint", None)) for e in effects] == [
        ("CallStarted", None), ("OperatorRinging", "PJSIP/101"), ("OperatorRinging", "PJSIP/102")]


def test_resync_sees_an_answer_and_a_vanished_ring_leg() -> None:
    steps, trunk, ops = inbound(140, answer=None, ender=None)
    listing = [(9, RESYNC_BEGIN), (9, show(trunk, 6, "by", 9)), (9, show(ops["101"], 6, "by", 9)), (9, RESYNC_END)]
    effects = run(steps + listing)[1]
    assert [(type(e).__name__, getattr(e, "endpoint", None), getattr(e, "reason", None)) for e in effects[-2:]] == [
        ("OperatorStoppedRinging", "PJSIP/102", "answered_elsewhere"), ("CallAnswered", "PJSIP/101", None)]


def _ended_during_the_outage():
    steps, trunk, ops = inbound(160, ender=None)
    # the call hangs up while the resync runs: live events told its end
    return steps + [(20, RESYNC_BEGIN), (21, hup_req(trunk)), (21, hup(ops["101"])),
                    (21, hup(trunk)), (22, RESYNC_END)]


@pytest.mark.parametrize("steps, outcome, vanished", [
    (inbound(170, ender=None)[0] + [(30, RESYNC_BEGIN), (30, RESYNC_END)], "answered", True),
    (inbound(175, answer=None, ender=None)[0] + [(20, RESYNC_BEGIN), (20, RESYNC_END)], "missed", True),
    (inbound(180)[0] + [(30, RESYNC_BEGIN), (30, RESYNC_END)], "answered", False),
    (inbound(185, answer=None)[0], "missed", False),
    (_ended_during_the_outage(), "answered", False),
], ids=["answered-then-gone", "ringing-then-gone", "ended-before-the-outage", "missed-told",
        "ended-during-the-resync"])
def test_only_a_call_found_gone_by_the_resync_is_marked_vanished(steps, outcome, vanished) -> None:
    effects = run(steps)[1]
    (call,) = [e.call for e in effects if isinstance(e, CallEnded)]
    assert (call.outcome, call.vanished) == (outcome, vanished)
    assert not any(getattr(e, "call", None) is not None and e.call.vanished for e in effects
                   if not isinstance(e, CallEnded)), "only the final record is a guess"


def test_events_during_the_resync_protect_new_calls() -> None:
    steps = inbound(150, ender=None)[0]
    tracker, effects = run([(0, RESYNC_BEGIN)] + steps + [(5, RESYNC_END)])
    assert not any(isinstance(e, CallEnded) for e in effects)
    assert [c.key for c in tracker.live_calls()] == ["1795450000.150"]


def test_memory_of_ended_calls_is_bounded() -> None:
    tracker = CallTracker(TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/102"}, recent_ended_limit=3))
    for base in range(200, 260, 5):
        run(inbound(base)[0], tracker)
    assert tracker.live_calls() == []
    book = tracker._book  # white-box: the only place the bound is visible
    assert (len(book.calls), len(book.legs), len(book.bridges)) == (0, 0, 0)
    assert len(book.recent) == 3 and len(book.dead) <= 12


def test_end_resync_without_begin_does_nothing() -> None:
    tracker, _ = run(inbound(160, ender=None)[0])
    assert tracker.end_resync(T0) == [] and len(tracker.live_calls()) == 1


# -- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize("channel, endpoint", [
    ("PJSIP/trunk-0000000c", "PJSIP/trunk"),
    ("PJSIP/101-0000000d", "PJSIP/101"),
    ("PJSIP/my-trunk-0000001a", "PJSIP/my-trunk"),
    ("SIP/provider-00000a1b", "SIP/provider"),
    ("Local/101@agents-00000012;1", "Local/101@agents"),
    ("PJSIP/103", "PJSIP/103"),
    ("PJSIP/shop-trunk", "PJSIP/shop-trunk"),
    ("", ""),
])
def test_endpoint_of(channel: str, endpoint: str) -> None:
    assert endpoint_of(channel) == endpoint


@pytest.mark.parametrize("operators", [{"PJSIP/1*"}, lambda endpoint: endpoint.startswith("PJSIP/10")],
                         ids=["prefix", "callable"])
def test_operator_endpoints_as_prefix_or_rule(operators) -> None:
    tracker = CallTracker(TrackerConfig(operator_endpoints=operators))
    effects = run(inbound(170)[0], tracker)[1]
    assert [e.endpoint for e in effects if isinstance(e, OperatorRinging)] == ["PJSIP/101", "PJSIP/102"]


def test_local_helper_channels_are_neither_side() -> None:
    """Queue members as Local channels: the operator is the PJSIP channel behind them."""
    lid = "1795450600.180"
    trunk = Chan("PJSIP/trunk", lid, lid, num="89265550101", exten=DID)
    loc1 = Chan("Local/101@agents", "1795450600.181", lid)
    loc1.channel += ";1"
    loc2 = Chan("Local/101@agents", "1795450600.182", lid)
    loc2.channel += ";2"
    op = Chan("PJSIP/101", "1795450600.183", lid, num="101")
    effects = run([
        (0, new(trunk, 4)), (0, new(loc1, 0)), (0, new(loc2, 4)), (0, dial(trunk, loc1)),
        (0, new(op, 0)), (0, dial(loc2, op, "PJSIP/101")), (0, state(op, 5)),
        (3, state(op, 6)), (3, dial_end(loc2, op, "ANSWER")), (3, state(loc1, 6)), (3, state(loc2, 6)),
        (3, dial_end(trunk, loc1, "ANSWER")), (3, state(trunk, 6)),
        (3, bridge(trunk, "l1")), (3, bridge(loc1, "l1")), (3, bridge(loc2, "l2")), (3, bridge(op, "l2")),
        (9, hup_req(trunk)), (9, hup(trunk)), (9, hup(loc1)), (9, hup(loc2)), (9, hup(op)),
    ])[1]
    assert [type(e).__name__ for e in effects] == ["CallStarted", "OperatorRinging", "CallAnswered", "CallEnded"]
    call = effects[-1].call
    assert (call.direction, call.answered_by, call.hangup_side, call.talk_seconds) == (
        "inbound", "PJSIP/101", "customer", 6.0)
    assert isinstance(effects[0], CallStarted) and effects[0].call.caller == "89265550101"


SCENARIO_EVENTS = [event for name in sorted(SCENARIOS) for _, event in SCENARIOS[name][0]]


@settings(max_examples=300, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=len(SCENARIO_EVENTS) - 1), max_size=300),
       resync=st.sets(st.integers(min_value=0, max_value=300), max_size=3))
def test_mangled_scenarios_keep_the_invariants(picks: list[int], resync: set[int]) -> None:
    """Transfers moving channels between calls, shuffled/dropped/duplicated: still no crash,
    each call started and ended at most once, never ended before it started."""
    steps = []
    for i, pick in enumerate(picks):
        if i in resync:
            steps.append((i, RESYNC_BEGIN))
        steps.append((i, SCENARIO_EVENTS[pick]))
        if i - 1 in resync:
            steps.append((i, RESYNC_END))
    tracker, effects = run(steps)
    started = Counter(e.call.key for e in effects if isinstance(e, CallStarted))
    finished = Counter(e.call.key for e in effects if isinstance(e, CallEnded))
    assert max(started.values(), default=1) == 1 and max(finished.values(), default=1) == 1
    assert set(finished) <= set(started)
