"""What the call tracker tells the rest of the system: immutable records, effects and settings.

Pure data, no I/O.  :class:`CallRecord` is a snapshot of one call (a ``Linkedid`` in Asterisk);
the effects are what :class:`~callcenter.domain.call_tracker.CallTracker` returns from ``feed``
for services to carry out (persist, push to operators' browsers, advance the redial ladder).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Union

__all__ = [
    "CallAnswered",
    "CallEnded",
    "CallRecord",
    "CallStarted",
    "Direction",
    "Effect",
    "HangupSide",
    "OperatorRinging",
    "OperatorStoppedRinging",
    "OriginateFailed",
    "OUTCOMES",
    "Outcome",
    "StopReason",
    "TrackerConfig",
    "endpoint_of",
]

Direction = Literal["inbound", "outbound", "internal"]
#: ``answered``: an operator talked with the other party.  ``missed``: inbound, nobody answered
#: (queue abandon included).  The rest are for outbound/internal calls that were not answered:
#: ``no_answer`` (rang out, or the caller gave up while it rang), ``busy`` (busy or rejected),
#: ``invalid_number`` (the number does not exist or cannot be dialled as written: redialling is
#: pointless), ``unavailable`` (exists but unreachable now: phone off, unregistered, out of
#: order), ``failed`` (congestion, errors, or the other party was never dialled, e.g. the
#: operator's own phone failed on an Originate).  See :mod:`callcenter.domain.outcomes`.
Outcome = Literal["answered", "missed", "no_answer", "busy", "invalid_number", "unavailable", "failed"]
#: Every outcome, in the order the API and the web app list them.
OUTCOMES: tuple[str, ...] = ("answered", "missed", "no_answer", "busy", "invalid_number",
                             "unavailable", "failed")
#: Whose hang-up ended the conversation; ``system`` when Asterisk itself hung up (dial timeout,
#: dialplan ``Hangup()``); ``None`` when unknown (e.g. the call ended while the AMI link was down).
HangupSide = Literal["customer", "operator", "system"]
StopReason = Literal["answered_elsewhere", "caller_hung_up", "no_answer", "declined", "call_ended"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as known at the moment of the snapshot.

    ``key`` is the ``Linkedid`` (or the Originate ``ActionID`` for an Originate that failed before
    any channel existed, then ``linkedid`` is ``None``).  Numbers are kept exactly as Asterisk
    sent them (normalising is :mod:`callcenter.domain.phones`' job); ``<unknown>`` becomes
    ``None``.  Endpoints look like ``"PJSIP/101"``.  ``outcome``, ``ended_at`` and
    ``talk_seconds`` are ``None`` while the call is live.  ``talk_seconds`` runs from the moment
    an operator and the other party were first connected to the end of the call (transfers
    included) and is ``0.0`` for an ended call that was never answered.  ``variables`` holds the
    channel variables whose name starts with ``CRM_`` (inheritance underscores stripped).
    ``merged_into`` is the key of the call that took over a party of this one: set on the
    operators' consultation call of an attended transfer (or a call pickup), so that views of
    customer calls can leave it out.  ``vanished`` marks a call that ended while the AMI link
    was down (a resync found its channels gone): its end time, and for a call not seen
    answered its outcome, are the tracker's best guess, not what the PBX told.
    """

    key: str
    linkedid: str | None
    direction: Direction
    started_at: datetime
    caller: str | None = None
    caller_name: str | None = None
    callee: str | None = None
    placed_by: str | None = None
    operators_rung: tuple[str, ...] = ()
    answered_by: str | None = None
    handled_by: tuple[str, ...] = ()
    ring_started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: Outcome | None = None
    talk_seconds: float | None = None
    hangup_side: HangupSide | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None
    recording: str | None = None
    # every MixMonitor file of the call in order (a second MixMonitor after a transfer)
    recordings: tuple[str, ...] = ()
    queue: str | None = None
    abandoned: bool = False
    action_id: str | None = None
    merged_into: str | None = None
    variables: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)
    vanished: bool = False

    @property
    def customer_number(self) -> str | None:
        """The outside party's number: the caller of an inbound call, the callee of an outbound one."""
        if self.direction == "inbound":
            return self.caller
        if self.direction == "outbound":
            return self.callee
        return None

    @property
    def task_id(self) -> str | None:
        """``CRM_TASK_ID`` as set by the Originate (or the dialplan), if any."""
        return self.variables.get("CRM_TASK_ID")

    @property
    def client_id_hint(self) -> int | None:
        """``CRM_CLIENT_ID``: the client a click-to-call was placed for, if any.  When that
        client still exists it is the call's client, ahead of a lookup by number (the number
        may be shared, or not be on the client's card at all)."""
        value = (self.variables.get("CRM_CLIENT_ID") or "").strip()
        return int(value) if value.isdigit() and 0 < len(value) < 19 and int(value) > 0 else None

    @property
    def wait_seconds(self) -> float | None:
        """Seconds from the start until answer (or until the end when never answered)."""
        until = self.answered_at or self.ended_at
        return None if until is None else max(0.0, (until - self.started_at).total_seconds())


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A call was first seen (at its first channel, or adopted during a resync)."""

    call: CallRecord


@dataclass(frozen=True, slots=True)
class OperatorRinging:
    """An operator's phone started ringing for this call: pop the card on their screen."""

    call_key: str
    endpoint: str
    call: CallRecord


@dataclass(frozen=True, slots=True)
class OperatorStoppedRinging:
    """An operator's phone stopped ringing without them answering: close the card."""

    call_key: str
    endpoint: str
    reason: StopReason


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """Operator ``endpoint`` is now in conversation on this call (once per call and operator)."""

    call_key: str
    endpoint: str
    call: CallRecord


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over; ``call`` is final (a best guess when ``call.vanished``).  Emitted
    exactly once per call."""

    call: CallRecord


@dataclass(frozen=True, slots=True)
class OriginateFailed:
    """An Originate failed (OriginateResponse ``Failure``): tell the operator, keep the task open.

    ``reason`` is one of ``unavailable`` (no channel could be created, e.g. phone not
    registered), ``rejected``, ``no_answer``, ``busy``, ``congestion``, ``failed``.
    """

    action_id: str | None
    endpoint: str | None
    reason: str
    call: CallRecord


Effect = Union[CallStarted, OperatorRinging, OperatorStoppedRinging, CallAnswered, CallEnded, OriginateFailed]


def endpoint_of(channel: str) -> str:
    """The endpoint part of a channel name: ``PJSIP/trunk-0000000c`` -> ``PJSIP/trunk``.

    Asterisk names channels ``TECH/resource-<hex sequence>`` (``;1``/``;2`` added for Local
    channels).  A name without such a suffix (an Originate's ``Channel: PJSIP/103``) is returned
    as is.
    """
    name = channel
    if len(name) > 2 and name[-2] == ";":
        name = name[:-2]
    head, sep, tail = name.rpartition("-")
    if sep and head and tail and all(c in "0123456789abcdefABCDEF" for c in tail):
        return head
    return name


@dataclass(frozen=True)
class TrackerConfig:
    """How the tracker tells operators' phones from the outside world; the rest comes from the
    events.

    Which channel is an operator's leg decides everything (who rang, who answered, whether a
    call was missed), and a real PBX has phones no CRM user has yet: a new hire's desk phone, a
    hot desk, a supervisor's second softphone.  Listing every phone cannot keep up with that,
    while the carrier trunks are few and fixed.  So, per channel, in this order:

    * ``Local/`` and other plumbing channels (``Snoop/``, ConfBridge's announcer...) are neither
      side of the conversation;
    * ``operator_endpoints`` (the phones of known users) are operators: either a collection
      (``{"PJSIP/101", "PJSIP/102"}``; an entry ending in ``*`` is a prefix, e.g. ``"PJSIP/1*"``)
      or a predicate called with an endpoint;
    * when ``trunk_endpoints`` is given (``{"PJSIP/trunk"}``), those are the outside world and
      every other endpoint is an operator's phone;
    * otherwise the channel's context decides: Asterisk creates every channel of an endpoint,
      incoming or dialled, in that endpoint's configured ``context`` (visible in Newchannel),
      and phones share one context, the one operators dial from (``operator_contexts``: by
      default this product's ``operators``/``callcenter-operators`` and FreePBX's
      ``from-internal``), while trunks have theirs (``from-trunk``, ``from-pstn``...).  What an
      endpoint's Newchannel showed is remembered for its later events.

    ``monitor_spool`` is stripped from MixMonitor file names.  ``recent_ended_limit`` bounds the
    memory of ended calls kept to ignore late stray events.  ``originate_match_seconds`` is how
    long after a channel-backed Originate ended its late ``OriginateResponse: Failure`` is still
    matched to it instead of being reported as a call of its own, and how long after it was
    sent an Originate's first channel is matched to it.
    """

    operator_endpoints: Collection[str] | Callable[[str], bool] = frozenset()
    monitor_spool: str = "/var/spool/asterisk/monitor/"
    recent_ended_limit: int = 10_000
    originate_match_seconds: float = 10.0
    trunk_endpoints: Collection[str] = frozenset()
    operator_contexts: Collection[str] = frozenset({"operators", "callcenter-operators", "from-internal"})

    def operator_matcher(self) -> Callable[[str], bool]:
        """A fast ``endpoint -> is an operator`` function built from ``operator_endpoints``."""
        spec = self.operator_endpoints
        if callable(spec):
            return spec  # type: ignore[return-value]
        exact = frozenset(e for e in spec if not e.endswith("*"))
        prefixes = tuple(e[:-1] for e in spec if e.endswith("*"))
        if not prefixes:
            return exact.__contains__
        return lambda endpoint: endpoint in exact or endpoint.startswith(prefixes)
