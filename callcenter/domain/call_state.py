"""The tracker's mutable working state: legs (channels) and calls (Linkedids), and how a call's
state is read back as an immutable :class:`~callcenter.domain.call_records.CallRecord`.

Private to :mod:`callcenter.domain.call_tracker`; pure Python, no I/O.  The reading rules
(direction, outcome, hang-up side) live here so that they are written down once.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from callcenter.domain.call_records import CallRecord, Direction, HangupSide, Outcome
from callcenter.domain.outcomes import CAUSE_OUTCOMES, INVALID_NUMBER, unanswered_outcome

OPERATOR = "operator"
EXTERNAL = "external"
LOCAL = "local"  # Local/ helper channels: plumbing, neither side of the conversation

# ChannelState values; an incoming channel starts in 4 (Ring), one Asterisk creates in 0 (Down)
STATE_DOWN = 0
STATE_RINGING = 5  # a dialled channel whose phone rings
STATE_UP = 6

UNKNOWN_VALUES = frozenset({"", "<unknown>", "<Unknown>", "unknown", "s"})

PLUMBING_PREFIXES = ("Local/", "Snoop/", "Announcer/", "Recorder/", "CBAnn/", "CBRec/", "Bridge/",
                     "Message/")
"""Channel technologies that carry no party of the conversation (Local helpers, spies'
snoops, ConfBridge announcers and recorders...): LOCAL legs."""


def clean(value: str | None) -> str | None:
    """A caller-id style value, or ``None`` for Asterisk's placeholders."""
    if value is None:
        return None
    value = value.strip()
    return None if value in UNKNOWN_VALUES else value


def to_int(value: str | None) -> int | None:
    """``int(value)`` or ``None`` for anything that is not a plain integer."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def dialled_number(dial_string: str | None) -> str | None:
    """The number in a Dial string: ``PJSIP/79161234567@trunk`` -> ``79161234567``."""
    if not dial_string:
        return None
    target = dial_string.split("&", 1)[0].rsplit("/", 1)[-1].split("@", 1)[0]
    if target.startswith(("sip:", "tel:")):
        target = target[4:]
    return clean(target)


class Leg:
    """One channel, keyed by its ``Uniqueid``."""

    __slots__ = (
        "uid", "channel", "endpoint", "kind", "call", "state", "up", "ringing", "ring_emitted",
        "target", "created_at", "created_down", "transferred", "bridge", "num", "name", "exten",
        "left", "shown", "hangup",
    )

    def __init__(
        self, uid: str, channel: str, endpoint: str, kind: str, state: int, at: datetime,
        num: str | None = None, name: str | None = None, exten: str | None = None,
    ) -> None:
        self.uid = uid
        self.channel = channel
        self.endpoint = endpoint
        self.kind = kind
        self.call: Call | None = None
        self.state = state
        self.up = state == STATE_UP
        self.ringing = False  # an operator's card is open for this leg
        self.ring_emitted = False
        self.target = False  # somebody dialled this channel
        self.created_at = at
        self.created_down = False  # created by Asterisk (Dial/Originate), not by a phone calling in
        self.transferred = False  # left the call by transferring it: its hang-up decides nothing
        self.bridge: str | None = None
        self.num = num  # caller id and extension as first seen, to read the caller from
        self.name = name
        self.exten = exten
        self.left: str | None = None  # Linkedid of the call it was moved out of
        self.shown = False  # this operator's card carried the customer's number
        self.hangup: tuple[int | None, int | None] | None = None  # (Q.850 cause, SIP code)


class Call:
    """One call, keyed by ``Linkedid``; holds its live legs and everything learnt so far."""

    __slots__ = (
        "linkedid", "legs", "started_at", "origin", "caller", "caller_name", "origin_exten",
        "did", "dialled", "originate_exten", "operators_rung", "handled_by", "answered_by",
        "answered_at", "announced", "ring_started_at", "ext_status", "op_status", "status_var",
        "had_external", "ops_seen", "side", "decider", "decider_cause", "last_cause", "soft_seen",
        "talk_end",
        "caller_gone", "recording", "recording_final", "recordings", "variables", "action_id", "queue",
        "abandoned", "originate_failed", "merged_into", "started", "spy", "far_end",
    )

    def __init__(self, linkedid: str, at: datetime) -> None:
        self.linkedid = linkedid
        self.legs: dict[str, Leg] = {}
        self.started_at = at
        self.origin: Leg | None = None  # first non-Local channel (Uniqueid == Linkedid preferred)
        self.caller: str | None = None
        self.caller_name: str | None = None
        self.origin_exten: str | None = None
        self.did: str | None = None
        self.dialled: str | None = None
        self.originate_exten: str | None = None
        self.operators_rung: list[str] = []
        self.handled_by: list[str] = []
        self.answered_by: str | None = None
        self.answered_at: datetime | None = None
        self.announced: set[str] = set()  # endpoints that got CallAnswered
        self.ring_started_at: datetime | None = None
        self.ext_status: str | None = None  # last DialEnd status of a dialled outside channel
        self.op_status: str | None = None  # last DialEnd status of a dialled operator channel
        self.status_var: str | None = None  # DIALSTATUS channel variable
        self.had_external = False
        self.ops_seen: set[str] = set()  # operator endpoints that had a leg in this call
        self.side: HangupSide | None = None
        self.decider: Leg | None = None  # the leg whose hang-up ended the conversation
        self.decider_cause: tuple[int, str | None] | None = None
        self.last_cause: tuple[int, str | None] | None = None
        self.soft_seen = False  # Asterisk hung a channel up before any party did
        self.talk_end: datetime | None = None  # when the deciding party hung up
        self.caller_gone = False
        self.recording: str | None = None
        self.recording_final = False  # set from MIXMONITOR_FILENAME, not guessed from AppData
        self.recordings: list[str] = []  # every MIXMONITOR_FILENAME of the call, in order
        self.variables: dict[str, str] = {}
        self.action_id: str | None = None
        self.queue: str | None = None
        self.abandoned = False
        self.originate_failed = False
        self.merged_into: str | None = None  # a party of this call moved to that call
        self.started = False  # CallStarted was emitted
        self.spy = False  # a supervisor's ChanSpy leg: not a customer call, no effects at all
        self.far_end: Leg | None = None  # the dialled party whose hang-up explains a failure

    # -- reading the state -------------------------------------------------------------------

    def direction(self) -> Direction:
        """Inbound when the first channel came from outside by itself; outbound when it is an
        operator's phone (or an outside channel Asterisk created: an Originate to the customer
        first); internal when only operators took part."""
        origin = self.origin
        if origin is None or origin.kind == EXTERNAL:
            if origin is not None and (origin.created_down or self.action_id):
                return "outbound"
            return "inbound"
        if self.had_external:
            return "outbound"
        if len(self.ops_seen) > 1:
            return "internal"
        return "outbound"

    def outcome(self, direction: Direction) -> Outcome:
        """Final outcome; see :data:`~callcenter.domain.call_records.Outcome` and
        :func:`~callcenter.domain.outcomes.unanswered_outcome` (the far end's cause and SIP
        response beat the dial status)."""
        if self.answered_at is not None:
            return "answered"
        if direction == "inbound":
            return "missed"
        status = (self.ext_status if direction == "outbound" else self.op_status) or self.status_var
        cause = self.decider_cause or self.last_cause
        if direction == "outbound" and not self.had_external:
            # the customer was never dialled: the operator's own phone failed on an Originate,
            # or the dialplan refused the number (Hangup(28) for a number it cannot dial)
            if cause is not None and CAUSE_OUTCOMES.get(cause[0]) == INVALID_NUMBER:
                return INVALID_NUMBER
            return unanswered_outcome(self.status_var) if self.status_var else "failed"
        far = self.far_end.hangup if self.far_end is not None else None
        if far is not None and far != (None, None):
            return unanswered_outcome(status, far[0], far[1])
        return unanswered_outcome(status, cause[0] if cause else None)

    def placed_by(self, direction: Direction) -> str | None:
        """The operator endpoint that placed an outbound/internal call."""
        if direction == "inbound":
            return None
        origin = self.origin
        if origin is not None and origin.kind == OPERATOR:
            return origin.endpoint
        return self.handled_by[0] if self.handled_by else None

    def snapshot(self, ended_at: datetime | None = None, final_side: HangupSide | None = None,
                 vanished: bool = False) -> CallRecord:
        """The call as a :class:`CallRecord`; pass ``ended_at`` for the final record
        (``vanished``: seen gone by a resync, so that record is a guess)."""
        direction = self.direction()
        if direction == "inbound":
            callee = self.did or self.origin_exten
        else:
            callee = self.dialled or self.origin_exten or self.originate_exten
        outcome = talk = None
        cause = self.decider_cause or self.last_cause
        if ended_at is not None:
            outcome = self.outcome(direction)
            talk = 0.0
            if self.answered_at is not None:
                until = self.talk_end or ended_at
                talk = max(0.0, (until - self.answered_at).total_seconds())
        return CallRecord(
            key=self.linkedid,
            linkedid=self.linkedid,
            direction=direction,
            started_at=self.started_at,
            caller=self.caller,
            caller_name=self.caller_name,
            callee=callee,
            placed_by=self.placed_by(direction),
            operators_rung=tuple(self.operators_rung),
            answered_by=self.answered_by,
            handled_by=tuple(self.handled_by),
            ring_started_at=self.ring_started_at,
            answered_at=self.answered_at,
            ended_at=ended_at,
            outcome=outcome,
            talk_seconds=talk,
            hangup_side=final_side if ended_at is not None else self.side,
            hangup_cause=cause[0] if cause else None,
            hangup_cause_text=cause[1] if cause else None,
            recording=self.recording,
            recordings=tuple(self.recordings),
            queue=self.queue,
            abandoned=self.abandoned,
            action_id=self.action_id,
            merged_into=self.merged_into,
            variables=MappingProxyType(dict(self.variables)),
            vanished=vanished,
        )

    def final_side(self, vanished: bool) -> HangupSide | None:
        """Who hung up, once the call is over: the deciding leg's side when one was seen;
        otherwise ``system`` if Asterisk itself hung a channel up first; unknown after a call
        vanished during an AMI outage."""
        if self.side is not None or vanished:
            return self.side
        return "system" if self.soft_seen else None
