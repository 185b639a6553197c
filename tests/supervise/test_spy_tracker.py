"""The call tracker and the CRM's own listen-in Originate, pure: the dialplan variant of the
whisper trace gives one call and no effect of the spy leg's; a listen-in whose phone never
answers is no failed call either."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from callcenter.ami.message_text import parse_message
from callcenter.ami.trace import load_trace
from callcenter.domain.call_records import CallEnded, CallStarted, OriginateFailed, TrackerConfig
from callcenter.domain.call_tracker import CallTracker
from callcenter.domain.supervise import spy_originate
from tests.supervise.derived_traces import DERIVED, SPY_UID

T0 = datetime(2026, 12, 1, 20, 1, tzinfo=timezone.utc)
CONFIG = TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/102"},
                       trunk_endpoints={"PJSIP/trunk"})


def _originate_action(action_id: str) -> dict:
    spy = spy_originate(supervisor_extension="PJSIP/102", supervisor_id=4,
                        operator_extension="PJSIP/101", operator_name="Operator Anna",
                        mode="whisper", context="callcenter-supervise")
    return {"ActionID": action_id, "Channel": spy.channel, "Context": spy.context,
            "Exten": spy.exten, "Variable": [f"{k}={v}" for k, v in spy.variables.items()]}


def test_the_dialplan_variant_is_one_call_and_the_spy_leg_causes_nothing():
    trace = load_trace(DERIVED)
    tracker = CallTracker(CONFIG)
    effects = []
    for t, text in trace.messages:  # the trace's own ids, its own ActionID
        fields = parse_message(text) or {}
        if fields.get("Event") == "Newchannel" and fields.get("Uniqueid") == SPY_UID:
            # the CRM told its tracker just before sending: what Telephony.originate does
            tracker.originate_sent(_originate_action("supervisor_whisper-1"), T0 + timedelta(seconds=t))
        effects += tracker.feed(fields, T0 + timedelta(seconds=t))
    assert tracker.errors == 0
    started = [e for e in effects if isinstance(e, CallStarted)]
    ended = [e for e in effects if isinstance(e, CallEnded)]
    assert [e.call.key for e in started] == [e.call.key for e in ended] == ["1796155271.7"]
    assert not [e for e in effects if isinstance(e, OriginateFailed)]
    (call,) = [e.call for e in ended]
    assert (call.direction, call.answered_by, call.hangup_side) == ("inbound", "PJSIP/101", "customer")
    assert SPY_UID not in repr(effects)  # nothing of the spy leg, not even a ringing 102


def test_a_listen_in_whose_phone_does_not_answer_is_no_failed_call():
    tracker = CallTracker(CONFIG)
    tracker.originate_sent(_originate_action("crm-spy-9"), T0)
    effects = tracker.feed({"Event": "OriginateResponse", "ActionID": "crm-spy-9",
                            "Response": "Failure", "Channel": "PJSIP/102",
                            "Context": "callcenter-supervise", "Exten": "whisper",
                            "Reason": "0", "Uniqueid": "<null>"}, T0 + timedelta(seconds=20))
    assert effects == [] and tracker.errors == 0
    # while a click-to-call failing the same way is one
    tracker.originate_sent({"ActionID": "crm-ctc-1", "Channel": "PJSIP/102", "Exten": "+79161234567",
                            "Variable": ["CRM_NUMBER=+79161234567"]}, T0)
    effects = tracker.feed({"Event": "OriginateResponse", "ActionID": "crm-ctc-1",
                            "Response": "Failure", "Channel": "PJSIP/102", "Context": "operators",
                            "Exten": "+79161234567", "Reason": "0", "Uniqueid": "<null>"},
                           T0 + timedelta(seconds=21))
    assert [type(e) for e in effects] == [CallStarted, OriginateFailed, CallEnded]
