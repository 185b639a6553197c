"""Calls as the CRM sees them, derived from Asterisk's AMI events.  Pure domain code.

This module is the public face; the parts live in:

* :mod:`callcenter.domain.call_records` — :class:`CallRecord`, the effects, :class:`TrackerConfig`;
* :mod:`callcenter.domain.call_tracker` — :class:`CallTracker`, the state machine
  (``feed(event, at) -> list[Effect]``, ``begin_resync()``, ``end_resync(at)``): which AMI
  event means what;
* :mod:`callcenter.domain.call_book` — the ledger of live calls/channels and its moves (private);
* :mod:`callcenter.domain.call_state` — the per-call working state and the rules reading it back
  as a record: direction, outcome, who hung up (private).

Typical use by the AMI listener::

    tracker = CallTracker(TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/102"}))
    for effect in tracker.feed(event, received_at):
        services.carry_out(effect)
"""

from callcenter.domain.call_records import (
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    Direction,
    Effect,
    HangupSide,
    OperatorRinging,
    OperatorStoppedRinging,
    OriginateFailed,
    Outcome,
    StopReason,
    TrackerConfig,
    endpoint_of,
)
from callcenter.domain.call_tracker import CallTracker

__all__ = [
    "CallAnswered",
    "CallEnded",
    "CallRecord",
    "CallStarted",
    "CallTracker",
    "Direction",
    "Effect",
    "HangupSide",
    "OperatorRinging",
    "OperatorStoppedRinging",
    "OriginateFailed",
    "Outcome",
    "StopReason",
    "TrackerConfig",
    "endpoint_of",
]
