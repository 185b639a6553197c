"""What the tracker concludes from the newer real traces and from variations of real traces:
phones no user has, forged OriginateResponses, supervisors' ChanSpy legs, calls dialled on the
softphone itself, dead numbers, failed click-to-calls.  Pure: no event loop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcenter.domain.calls import (
    CallAnswered, CallEnded, CallStarted, CallTracker, OperatorRinging, OriginateFailed, TrackerConfig,
)
from tests.domain.test_calls import CONFIG, T0, ended, read_trace, replay


def feed_events(tracker: CallTracker, events) -> list:
    return [f for t, e in events for f in tracker.feed(e, T0 + timedelta(seconds=t))]


def events_of(name: str):
    return [(t, m) for t, m in read_trace(name) if m is not None and "Event" in m]


def kinds(effects: list) -> list[tuple[str, str | None]]:
    return [(type(e).__name__, getattr(e, "endpoint", None)) for e in effects]


# -- item: a phone no user has ----------------------------------------------------------------

@pytest.mark.parametrize("config", [
    TrackerConfig(),  # nobody known: the phones' "operators" context tells
    TrackerConfig(trunk_endpoints={"PJSIP/trunk"}, operator_contexts=()),  # everything but the trunk
], ids=["by_context", "by_trunk_list"])
def test_a_phone_no_user_has_answers_the_call(config: TrackerConfig) -> None:
    tracker, effects = replay("inbound_answered", CallTracker(config))
    (call,) = ended(effects)
    assert (call.outcome, call.answered_by) == ("answered", "PJSIP/101")
    assert call.operators_rung == ("PJSIP/101", "PJSIP/102")
    assert tracker.errors == 0


def test_without_either_rule_the_phones_would_be_taken_for_the_outside() -> None:
    """The rule is what makes the difference (the bug as it was: missed, nobody rung)."""
    _, effects = replay("inbound_answered", CallTracker(TrackerConfig(operator_contexts=())))
    (call,) = ended(effects)
    assert (call.outcome, call.operators_rung) == ("missed", ())


def test_a_new_phone_is_recognised_in_the_middle_of_known_ones() -> None:
    """Only 102 is a user; 101 is a phone nobody registered in the CRM yet."""
    _, effects = replay("inbound_answered", CallTracker(TrackerConfig(operator_endpoints={"PJSIP/102"})))
    (call,) = ended(effects)
    assert call.answered_by == "PJSIP/101" and call.handled_by == ("PJSIP/101",)


def test_the_trunk_of_a_manual_dial_is_the_outside_even_without_a_trunk_list() -> None:
    _, effects = replay("manual_dial_from_softphone", CallTracker(TrackerConfig()))
    (call,) = ended(effects)
    assert (call.direction, call.outcome, call.placed_by) == ("outbound", "answered", "PJSIP/101")


# -- item: forged OriginateResponse ------------------------------------------------------------

FORGED = {"Event": "OriginateResponse", "ActionID": "not-ours-1", "Response": "Failure",
          "Channel": "PJSIP/101", "Context": "operators", "Exten": "79161234567", "Reason": "0",
          "Uniqueid": "<unknown>", "CallerIDNum": "<unknown>", "CallerIDName": "<unknown>"}


def test_a_forged_originate_response_creates_nothing() -> None:
    tracker = CallTracker(CONFIG)
    assert tracker.feed(FORGED, T0) == []
    assert tracker.feed({**FORGED, "Response": "Success"}, T0) == []
    assert tracker.live_calls() == [] and tracker.errors == 0


def test_an_originate_the_crm_sent_is_believed() -> None:
    tracker = CallTracker(CONFIG)
    tracker.originate_sent({"Action": "Originate", "ActionID": "not-ours-1", "Channel": "PJSIP/101",
                            "Exten": "79161234567"}, T0)
    assert [type(e).__name__ for e in tracker.feed(FORGED, T0)] == ["CallStarted", "OriginateFailed", "CallEnded"]


def test_an_outbound_trace_replayed_by_somebody_else_is_still_one_call_without_its_action_id() -> None:
    """Nobody told the tracker about the Originate: the channels still make the call; only the
    OriginateResponse's ActionID is not taken for ours."""
    _, effects = replay("outbound_click_to_call", originates=False)
    (call,) = ended(effects)
    assert (call.outcome, call.action_id, call.task_id) == ("answered", None, "42")


def test_a_forged_failure_for_an_unreachable_phone_makes_no_call() -> None:
    _, effects = replay("outbound_operator_unreachable", originates=False)
    assert effects == []


# -- item: a supervisor's ChanSpy leg ----------------------------------------------------------

@pytest.mark.parametrize("name", ["supervisor_whisper", "supervisor_barge"])
def test_the_spy_leg_makes_no_call_and_no_pop(name: str) -> None:
    tracker, effects = replay(name)
    assert kinds(effects) == [
        ("CallStarted", None), ("OperatorRinging", "PJSIP/101"), ("OperatorRinging", "PJSIP/102"),
        ("OperatorStoppedRinging", "PJSIP/102"), ("CallAnswered", "PJSIP/101"), ("CallEnded", None)]
    (call,) = ended(effects)
    assert call.answered_by == "PJSIP/101" and call.hangup_side == "customer"
    # the spied call was answered ~5 s before the supervisor came in and lasted beyond them
    assert call.talk_seconds == pytest.approx(12.5, abs=0.5)
    assert tracker.live_calls() == [] and tracker.errors == 0


def spy_without(name: str, variable: bool, originate: bool) -> list:
    """Replay a spy trace, without the CRM_SPY VarSet and/or without telling the tracker about
    the Originate (another tool sent it)."""
    tracker = CallTracker(CONFIG)
    effects = []
    for t, m in read_trace(name, actions=True):
        at = T0 + timedelta(seconds=t)
        if m is None:
            continue
        if "Action" in m:
            if originate and m["Action"] == "Originate":
                tracker.originate_sent({k: v for k, v in m.items() if variable or k != "Variable"}, at)
            continue
        if not variable and m.get("Variable") == "CRM_SPY":
            continue
        effects += tracker.feed(m, at)
    assert tracker.errors == 0
    return effects


def test_the_originate_alone_tells_a_spy_leg() -> None:
    effects = spy_without("supervisor_whisper", variable=False, originate=True)
    assert len(ended(effects)) == 1
    assert not [e for e in effects if isinstance(e, OperatorRinging) and e.call_key == "1796155277.10"]


def test_the_variable_alone_tells_a_spy_leg() -> None:
    effects = spy_without("supervisor_barge", variable=True, originate=False)
    assert [c.key for c in ended(effects)] == ["1796155295.11"]


def test_a_spy_leg_seen_only_at_chanspystart_is_folded_into_the_spied_call() -> None:
    """No hint before its answer: it was announced and rang, but ChanSpyStart folds it into
    the spied call (merged_into), so that it is not logged as a call of its own."""
    effects = spy_without("supervisor_whisper", variable=False, originate=False)
    spy = [c for c in ended(effects) if c.key == "1796155277.10"]
    assert len(spy) == 1 and spy[0].merged_into == "1796155271.7"
    customer = [c for c in ended(effects) if c.key == "1796155271.7"]
    assert customer[0].answered_by == "PJSIP/101" and customer[0].merged_into is None


def test_a_spy_listed_by_a_resync_is_not_adopted_as_a_call() -> None:
    tracker = CallTracker(CONFIG)
    tracker.begin_resync()
    tracker.feed({"Event": "CoreShowChannel", "Channel": "PJSIP/102-0000000a", "Uniqueid": "9.10",
                  "Linkedid": "9.10", "ChannelState": "6", "Context": "operators", "Exten": "s",
                  "Application": "ChanSpy", "ApplicationData": "PJSIP/101,qw", "Duration": "00:00:04"}, T0)
    assert tracker.end_resync(T0) == []
    assert tracker.live_calls() == []
    assert tracker.feed({"Event": "Hangup", "Channel": "PJSIP/102-0000000a", "Uniqueid": "9.10",
                         "Linkedid": "9.10", "Cause": "16"}, T0) == []


def test_a_failed_listen_in_is_not_a_call() -> None:
    tracker = CallTracker(CONFIG)
    tracker.originate_sent({"Action": "Originate", "ActionID": "spy-1", "Channel": "PJSIP/103",
                            "Application": "ChanSpy", "Data": "PJSIP/101,q", "Variable": "CRM_SPY=101"}, T0)
    assert tracker.feed({**FORGED, "ActionID": "spy-1", "Channel": "PJSIP/103"}, T0) == []


# -- item: dialled on the softphone itself -----------------------------------------------------

def test_a_manual_dial_pops_the_customer_card_at_dial_begin() -> None:
    _, effects = replay("manual_dial_from_softphone")
    assert kinds(effects) == [("CallStarted", None), ("OperatorRinging", "PJSIP/101"),
                              ("CallAnswered", "PJSIP/101"), ("CallEnded", None)]
    ringing = next(e for e in effects if isinstance(e, OperatorRinging))
    assert ringing.call.customer_number == "89161234567" and ringing.call.direction == "outbound"
    assert ringing.call.operators_rung == ()  # the operator's phone did not ring: they dialled
    # DialBegin of the trunk leg, 2.622 s into the trace, not the customer's answer
    assert ringing.call.answered_at is None
    started = next(e for e in effects if isinstance(e, CallStarted))
    assert started.call.direction == "outbound"


def test_an_originate_without_crm_variables_still_shows_the_customer() -> None:
    """Somebody else's Originate to 101 (no CRM_NUMBER, Exten unknown to us): the operator's
    card pops when their phone rings, and again with the number once it is dialled."""
    _, effects = replay("outbound_click_to_call", originates=False)
    rings = [e for e in effects if isinstance(e, OperatorRinging)]
    assert [r.endpoint for r in rings] == ["PJSIP/101", "PJSIP/101"]
    assert rings[0].call.customer_number is None and rings[1].call.customer_number == "79161234567"
    assert ended(effects)[0].operators_rung == ("PJSIP/101",)


def test_click_to_call_pops_once_with_the_number_from_the_originate() -> None:
    _, effects = replay("outbound_click_to_call")
    (ring,) = [e for e in effects if isinstance(e, OperatorRinging)]
    assert ring.call.customer_number == "79161234567"


# -- item: outcomes from the cause -------------------------------------------------------------

def dead_number(events):
    """outbound_rejected as a carrier answers for a number that does not exist."""
    out = []
    for t, e in events:
        e = dict(e)
        if e.get("Cause") == "17":
            e.update({"Cause": "1", "Cause-txt": "Unallocated (unassigned) number"})
        if e.get("TechCause") == "486":
            e["TechCause"] = "404"
        if e.get("DialStatus") == "BUSY":
            e["DialStatus"] = "CHANUNAVAIL"
        if e.get("Variable") == "DIALSTATUS" and e.get("Value") == "BUSY":
            e["Value"] = "CHANUNAVAIL"
        out.append((t, e))
    return out


def test_a_dead_number_is_logged_invalid_number() -> None:
    tracker = CallTracker(CONFIG)
    tracker.originate_sent({"Action": "Originate", "ActionID": "outbound_rejected-1",
                            "Channel": "PJSIP/101", "Exten": "79161234567"}, T0)
    (call,) = ended(feed_events(tracker, dead_number(events_of("outbound_rejected"))))
    assert (call.outcome, call.hangup_cause) == ("invalid_number", 1)


def test_the_sip_response_alone_tells_a_dead_number() -> None:
    """Asterisk mapped the 404 to a cause that says little: the SIP code decides."""
    events = [(t, {**e, "Cause": "127"} if e.get("Cause") == "1" else e)
              for t, e in dead_number(events_of("outbound_rejected"))]
    (call,) = ended(feed_events(CallTracker(CONFIG), events))
    assert call.outcome == "invalid_number"


# -- item: a failed click-to-call keeps the number and the client ------------------------------

def test_a_failed_click_to_call_keeps_the_number_and_the_client() -> None:
    tracker = CallTracker(CONFIG)
    tracker.originate_sent({"Action": "Originate", "ActionID": "outbound_operator_unreachable-1",
                            "Channel": "PJSIP/103", "Context": "operators", "Exten": "79161234567",
                            "Variable": ["CRM_TASK_ID=45", "CRM_NUMBER=+79161234567", "CRM_CLIENT_ID=7"]}, T0)
    effects = feed_events(tracker, events_of("outbound_operator_unreachable"))
    (failed,) = [e for e in effects if isinstance(e, OriginateFailed)]
    (call,) = ended(effects)
    for record in (failed.call, call):
        assert record.callee == "79161234567" and record.task_id == "45"
        assert record.variables["CRM_NUMBER"] == "+79161234567"
        assert record.variables["CRM_CLIENT_ID"] == "7"


def test_an_answered_call_is_announced_before_its_answer() -> None:
    for name in ("manual_dial_from_softphone", "inbound_invalid_number_then_callback"):
        _, effects = replay(name)
        seen = set()
        for e in effects:
            key = e.call.key if isinstance(e, (CallStarted, CallEnded)) else e.call_key
            if isinstance(e, CallStarted):
                seen.add(key)
            else:
                assert key in seen, (name, type(e).__name__)
        assert any(isinstance(e, CallAnswered) for e in effects)


@pytest.mark.parametrize("value, expected", [
    ("CRM_TASK_ID=42", {"CRM_TASK_ID": "42"}),
    ("CRM_TASK_ID=42,CRM_NUMBER=+79161234567", {"CRM_TASK_ID": "42", "CRM_NUMBER": "+79161234567"}),
    (["__CRM_CLIENT_ID=7", "OTHER=1", "CRM_EMPTY="], {"CRM_CLIENT_ID": "7"}),
    (None, {}), (42, {}), ("garbage", {}),
])
def test_originate_variables(value, expected) -> None:
    from callcenter.domain.originates import originate_variables

    assert originate_variables(value) == expected


def test_an_originate_claims_only_a_new_call_at_its_endpoint_within_the_window() -> None:
    from callcenter.domain.originates import SentOriginates

    sent = SentOriginates(limit=2, match_seconds=10)
    sent.add({"ActionID": "a-1"}, "PJSIP/101", "79161234567", T0)
    assert sent.claim("PJSIP/102", T0) is None
    assert sent.claim("PJSIP/101", T0 + timedelta(seconds=11)) is None
    assert sent.claim("PJSIP/101", T0 + timedelta(seconds=1)).action_id == "a-1"
    assert sent.claim("PJSIP/101", T0 + timedelta(seconds=1)) is None  # claimed once
    assert sent.first_failure("a-1") and not sent.first_failure("a-1")
    sent.add({"ActionID": "a-2"}, "PJSIP/101", None, T0)
    sent.add({"ActionID": "a-3"}, "PJSIP/101", None, T0)
    assert sent.get("a-1") is None and sent.get("a-3") is not None  # bounded
