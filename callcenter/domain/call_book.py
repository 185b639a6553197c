"""``CallBook``: the ledger of live calls and channels behind :class:`CallTracker`, and the
primitive moves on it (adopt a channel, move it between calls, ring, connect, end a call).

Private to :mod:`callcenter.domain.call_tracker`, which decides *when* to make these moves from
the AMI events; this module makes sure each move keeps the ledger consistent and emits each
effect at most once.  Pure Python, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from callcenter.domain.call_records import (
    CallAnswered, CallEnded, CallRecord, CallStarted, OperatorRinging, OperatorStoppedRinging,
    StopReason, endpoint_of,
)
from callcenter.domain.call_state import (
    EXTERNAL, LOCAL, OPERATOR, PLUMBING_PREFIXES, STATE_DOWN, STATE_RINGING, STATE_UP, Call, Leg,
    clean, to_int,
)

_ENDED_ORIGINATES_LIMIT = 256
_ENDPOINT_MEMORY_LIMIT = 20_000


def remember(memory: OrderedDict, key: str, limit: int) -> None:
    memory[key] = None
    if len(memory) > limit:
        memory.popitem(last=False)


def _seconds(duration: str | None) -> int:
    """``HH:MM:SS`` (CoreShowChannel ``Duration``) or plain seconds -> seconds; junk -> 0."""
    total = 0
    for part in (duration or "").split(":"):
        value = to_int(part)
        if value is None or value < 0:
            return 0
        total = total * 60 + value
    return total


def _creation_order(uniqueid: str) -> tuple:
    """Sort key putting older channels first (``1795449448.12`` < ``1795449448.13``)."""
    head, _, tail = uniqueid.partition(".")
    try:
        return (0, int(head), int(tail or 0))
    except ValueError:
        return (1, uniqueid)


class CallBook:
    """Live calls (by Linkedid) and legs (by Uniqueid), plus bounded memories of what ended."""

    def __init__(self, is_operator: Callable[[str], bool], recent_limit: int,
                 trunks: frozenset[str] = frozenset(),
                 operator_contexts: frozenset[str] = frozenset()) -> None:
        self.is_operator = is_operator
        self.trunks = trunks
        self.operator_contexts = operator_contexts
        self.endpoint_kinds: dict[str, str] = {}  # learnt from each endpoint's Newchannel context
        self.calls: dict[str, Call] = {}
        self.legs: dict[str, Leg] = {}
        self.bridges: dict[str, set[str]] = {}  # BridgeUniqueid -> Uniqueids in it
        self.recent_limit = max(1, recent_limit)
        self.dead_limit = 4 * self.recent_limit
        self.recent: OrderedDict[str, None] = OrderedDict()  # keys of ended calls
        self.dead: OrderedDict[str, None] = OrderedDict()  # Uniqueids that hung up
        # channel-backed Originates that ended with no ActionID known: a late Failure matches them
        self.ended_originates: OrderedDict[str, tuple[str, CallRecord]] = OrderedDict()
        self.resyncing = False
        self.listed: list[Mapping[str, str]] = []  # CoreShowChannel events of the resync
        self.touched: set[str] = set()  # Uniqueids mentioned by live events during the resync

    # -- legs and calls ------------------------------------------------------------------------

    def classify(self, channel: str, context: str | None = None, learn: bool = False) -> tuple[str, str]:
        """``(endpoint, kind)`` of a channel name; kind is OPERATOR, EXTERNAL or LOCAL.

        In this order (why: see :class:`~callcenter.domain.call_records.TrackerConfig`):
        plumbing technologies (``Local/``, ``Snoop/``...) are LOCAL; a known user's phone is
        OPERATOR; with trunks configured, those are EXTERNAL and every other endpoint is a phone;
        otherwise an endpoint whose channels live in an operators' context is OPERATOR, the rest
        EXTERNAL.  ``context`` is the channel's context as an event gives it; with ``learn`` (a
        Newchannel: the context is the endpoint's own, from its configuration) the verdict is
        remembered for that endpoint, so that later events without a context (an Originate's
        bare ``PJSIP/105``) read it the same way."""
        endpoint = endpoint_of(channel)
        if channel.startswith(PLUMBING_PREFIXES):
            return endpoint, LOCAL
        if self.is_operator(endpoint):
            return endpoint, OPERATOR
        if endpoint != channel and self.is_operator(channel):
            return channel, OPERATOR  # an Originate's bare ``PJSIP/op-101``
        if self.trunks:
            if endpoint in self.trunks or channel in self.trunks:
                return endpoint if endpoint in self.trunks else channel, EXTERNAL
            return endpoint, OPERATOR
        if learn and context:
            kind = OPERATOR if context in self.operator_contexts else EXTERNAL
            if len(self.endpoint_kinds) >= _ENDPOINT_MEMORY_LIMIT:
                self.endpoint_kinds.clear()
            self.endpoint_kinds[endpoint] = kind
            return endpoint, kind
        kind = self.endpoint_kinds.get(endpoint)
        if kind is None:
            kind = OPERATOR if context and context in self.operator_contexts else EXTERNAL
        return endpoint, kind

    def leg(self, e: Mapping[str, str], at: datetime, out: list, adopt: bool) -> Leg | None:
        """The leg an event is about; with ``adopt``, start tracking a channel we never saw."""
        uid = e.get("Uniqueid")
        leg = self.legs.get(uid)  # type: ignore[arg-type]
        if leg is None:
            chan = e.get("Channel")
            if not adopt or not uid or not chan:
                return None
            return self.new_leg(uid, e.get("Linkedid") or uid, chan, to_int(e.get("ChannelState")) or 0,
                                at, out, e.get("CallerIDNum"), e.get("CallerIDName"), e.get("Exten"),
                                context=e.get("Context"))
        linkedid = e.get("Linkedid")
        if linkedid and linkedid != leg.call.linkedid:
            self.move(leg, linkedid, at, out)
        if self.resyncing:
            self.touched.add(uid)  # type: ignore[arg-type]
        return leg

    def dest_leg(self, e: Mapping[str, str], at: datetime, out: list, adopt: bool) -> Leg | None:
        """The ``Dest*`` channel of a Dial/Agent event (adopted from its headers if new)."""
        uid = e.get("DestUniqueid")
        leg = self.legs.get(uid)  # type: ignore[arg-type]
        if leg is not None:
            linkedid = e.get("DestLinkedid")
            if linkedid and linkedid != leg.call.linkedid:
                self.move(leg, linkedid, at, out)
            if self.resyncing:
                self.touched.add(uid)  # type: ignore[arg-type]
            return leg
        chan, linkedid = e.get("DestChannel"), e.get("DestLinkedid") or e.get("Linkedid")
        if not adopt or not uid or not chan or not linkedid:
            return None
        return self.new_leg(uid, linkedid, chan, to_int(e.get("DestChannelState")) or 0, at, out,
                            e.get("DestCallerIDNum"), e.get("DestCallerIDName"), e.get("DestExten"),
                            context=e.get("DestContext"))

    def new_leg(self, uid: str, linkedid: str, chan: str, state: int, at: datetime, out: list,
                num: str | None, name: str | None, exten: str | None, created: bool = False,
                context: str | None = None) -> Leg | None:
        """Start tracking a channel (``created``: from its Newchannel); starts its call if new.

        A call whose first channel is an operator's phone is announced (``CallStarted``) only
        when it does something (dials, rings, is answered, ends: see :meth:`announce`), a few
        milliseconds later: by then a supervisor's ChanSpy leg has shown what it is and is never
        announced at all.  Returns ``None`` for a channel of an ended call or one that already
        hung up."""
        if linkedid in self.recent or uid in self.dead:
            return None  # a late stray event of something that is over
        endpoint, kind = self.classify(chan, context, learn=created)
        leg = Leg(uid, chan, endpoint, kind, state, at, num, name, exten)
        leg.created_down = created and state == STATE_DOWN
        if self.resyncing:
            self.touched.add(uid)
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = Call(linkedid, at)
            self.attach(call, leg)
            if kind != OPERATOR:
                self.announce(call, out)
        else:
            self.attach(call, leg)
            if created and kind == OPERATOR:
                self.ring(call, leg, at, out)  # a new operator channel in a call is being dialled
        return leg

    def attach(self, call: Call, leg: Leg) -> None:
        """Put ``leg`` in ``call``; the channel whose Uniqueid is the Linkedid is the origin."""
        call.legs[leg.uid] = leg
        self.legs[leg.uid] = leg
        leg.call = call
        if leg.kind == EXTERNAL:
            call.had_external = True
        elif leg.kind == OPERATOR:
            call.ops_seen.add(leg.endpoint)
        if leg.kind == LOCAL:
            return
        origin = call.origin
        if origin is None or (leg.uid == call.linkedid and origin.uid != call.linkedid):
            call.origin = leg
            call.caller, call.caller_name = clean(leg.num), clean(leg.name)
            call.origin_exten = clean(leg.exten)

    def move(self, leg: Leg, linkedid: str, at: datetime, out: list) -> None:
        """Asterisk gave the channel another Linkedid: it now belongs to that call.

        Asterisk only ever propagates the older Linkedid, so an event still carrying the one the
        channel left (events racing a transfer) is stale and does not move it back."""
        if linkedid in self.recent or linkedid == leg.left:
            return
        old = leg.call
        leg.left = old.linkedid
        call = self.calls.get(linkedid)
        created = call is None
        if call is None:
            call = self.calls[linkedid] = Call(linkedid, at)
        del old.legs[leg.uid]
        old.merged_into = linkedid
        self.attach(call, leg)
        if created:
            self.announce(call, out)
        if leg.up:
            self.connect_if_up(call, leg, at, out)
        if not old.legs:
            self.end(old, at, out)

    def drop(self, leg: Leg) -> None:
        """Forget a channel that hung up (remembering its Uniqueid against late events)."""
        self.legs.pop(leg.uid, None)
        leg.call.legs.pop(leg.uid, None)
        remember(self.dead, leg.uid, self.dead_limit)
        if leg.bridge is not None:
            members = self.bridges.get(leg.bridge)
            if members is not None:
                members.discard(leg.uid)
                if not members:
                    del self.bridges[leg.bridge]

    def end(self, call: Call, at: datetime, out: list, vanished: bool = False) -> None:
        """Emit the call's one ``CallEnded`` and forget it (``vanished``: seen gone by a resync,
        so the record says its end is a guess)."""
        if self.calls.get(call.linkedid) is not call:
            return
        del self.calls[call.linkedid]
        remember(self.recent, call.linkedid, self.recent_limit)
        for leg in list(call.legs.values()):
            self.stop(call, leg, "answered_elsewhere" if call.answered_at else "call_ended", out)
            self.drop(leg)
        if call.spy and not call.started:
            return  # a supervisor listened in: nothing to log
        self.announce(call, out)
        record = call.snapshot(ended_at=at, final_side=call.final_side(vanished), vanished=vanished)
        out.append(CallEnded(record))
        origin = call.origin
        if origin is not None and origin.created_down and not call.originate_failed and not call.spy:
            self.ended_originates[call.linkedid] = (origin.endpoint, record)
            if len(self.ended_originates) > _ENDED_ORIGINATES_LIMIT:
                self.ended_originates.popitem(last=False)

    # -- ringing and answering -----------------------------------------------------------------

    def ring(self, call: Call, leg: Leg, at: datetime, out: list) -> None:
        """An operator's channel rings: ``OperatorRinging`` once per channel."""
        if leg.ring_emitted or leg.up or leg.kind != OPERATOR or call.spy:
            return
        leg.ring_emitted = leg.ringing = leg.target = True
        if leg.endpoint not in call.operators_rung:
            call.operators_rung.append(leg.endpoint)
        if call.ring_started_at is None and leg is not call.origin:
            call.ring_started_at = at
        self.announce(call, out)
        record = call.snapshot()
        leg.shown = record.customer_number is not None or "CRM_NUMBER" in call.variables
        out.append(OperatorRinging(call.linkedid, leg.endpoint, record))

    def show_customer(self, call: Call, leg: Leg, out: list) -> None:
        """The operator who places an outbound call (dialling on the softphone itself, or an
        Originate that did not say whom it was for) sees the customer's card as soon as the
        dialled number is known, once: ``OperatorRinging`` for their endpoint, although their
        own phone does not ring (so it is not added to ``operators_rung``)."""
        if leg.shown or leg.kind != OPERATOR or call.spy:
            return
        record = call.snapshot()
        if record.customer_number is None:
            return
        leg.shown = leg.ring_emitted = True
        self.announce(call, out)
        out.append(OperatorRinging(call.linkedid, leg.endpoint, record))

    def announce(self, call: Call, out: list) -> None:
        """Emit the call's ``CallStarted`` unless done already (never for a spy's leg)."""
        if not call.started and not call.spy:
            call.started = True
            out.append(CallStarted(call.snapshot()))

    def mark_spy(self, call: Call, out: list, spied: str | None = None) -> None:
        """``call`` is a supervisor's ChanSpy leg: no effects from now on.  Seen only after it
        was announced (no hint before its answer), it is folded into the spied call
        (``merged_into``) so that views of customer calls leave it out."""
        if call.spy:
            return
        call.spy = True
        if call.started:
            for leg in list(call.legs.values()):
                self.stop(call, leg, "call_ended", out)
            if spied and spied != call.linkedid:
                call.merged_into = spied

    def stop(self, call: Call, leg: Leg, reason: StopReason, out: list) -> None:
        """Close a ringing operator's card (no-op unless it is open)."""
        if leg.ringing:
            leg.ringing = False
            out.append(OperatorStoppedRinging(call.linkedid, leg.endpoint, reason))

    def mark_up(self, leg: Leg, at: datetime, out: list) -> None:
        """The channel was answered."""
        if not leg.up:
            # an operator who picked up their own phone (an Originate's first leg) is no longer
            # "ringing"; what follows for them is CallAnswered or CallEnded, not a stop
            leg.up, leg.state, leg.ringing = True, STATE_UP, False
            self.connect_if_up(leg.call, leg, at, out)

    def connect_if_up(self, call: Call, leg: Leg, at: datetime, out: list) -> None:
        """``leg`` is up: if an operator and the other party are now both up, they talk."""
        if leg.kind == OPERATOR:
            want = EXTERNAL if call.had_external else OPERATOR
        elif leg.kind == EXTERNAL:
            want = OPERATOR
        else:
            return
        partner = None
        for other in call.legs.values():
            if other is not leg and other.kind == want and other.up and not other.transferred:
                partner = other
                if other.bridge is not None and other.bridge == leg.bridge:
                    break
        if partner is not None:
            self.connect(call, leg, partner, at, out)

    def connect(self, call: Call, a: Leg, b: Leg, at: datetime, out: list) -> None:
        """Operator(s) and the other party are talking: answer the call, announce the operators."""
        if a.call is not call or b.call is not call or a is b:
            return
        if a.kind == OPERATOR and b.kind == EXTERNAL:
            ops, answerer = [a], a
        elif a.kind == EXTERNAL and b.kind == OPERATOR:
            ops, answerer = [b], b
        elif a.kind == OPERATOR and b.kind == OPERATOR and not call.had_external:
            caller, answerer = (b, a) if b is call.origin or (a.target and not b.target) else (a, b)
            ops = [caller, answerer]
        else:
            return
        if call.spy:
            return
        joined_later = call.answered_at is not None
        if not joined_later:
            call.answered_at, call.answered_by = at, answerer.endpoint
        fresh = [op for op in ops if op.endpoint not in call.announced]
        for op in ops:
            op.ringing = False  # their card turns into the conversation, no "stopped ringing"
            if op.endpoint not in call.handled_by:
                call.handled_by.append(op.endpoint)
        if not fresh:
            return
        if joined_later and call.side is not None:
            # a hang-up seen before this operator joined (a transferer's BYE racing the transfer
            # event) did not end the conversation after all: decide again later
            call.side = call.decider = call.decider_cause = call.talk_end = None
            call.soft_seen = False
        for other in list(call.legs.values()):
            if other.ringing and other not in ops:
                self.stop(call, other, "answered_elsewhere", out)
        self.announce(call, out)
        for op in fresh:
            call.announced.add(op.endpoint)
            out.append(CallAnswered(call.linkedid, op.endpoint, call.snapshot()))

    def enter_bridge(self, leg: Leg, bridge: str) -> None:
        """Record bridge membership (a channel is in at most one bridge)."""
        if leg.bridge is not None and leg.bridge != bridge:
            self.leave_bridge(leg)
        leg.bridge = bridge
        self.bridges.setdefault(bridge, set()).add(leg.uid)

    def leave_bridge(self, leg: Leg) -> None:
        members = self.bridges.get(leg.bridge or "")
        if members is not None:
            members.discard(leg.uid)
            if not members:
                del self.bridges[leg.bridge]  # type: ignore[arg-type]
        leg.bridge = None

    # -- resync ----------------------------------------------------------------------------------

    def apply_listing(self, at: datetime, out: list) -> None:
        """Reconcile with the CoreShowChannel events collected in ``listed`` (see the tracker):
        adopt unknown channels (oldest first, so each call's origin is found), refresh state and
        bridges, pop cards and record answers that happened meanwhile, then end every channel that
        is neither listed nor ``touched`` by a live event since the resync began."""
        listed: dict[str, Mapping[str, str]] = {}
        for e in self.listed:
            uid, chan = e.get("Uniqueid"), e.get("Channel")
            if uid and chan:
                listed[uid] = e
        new_calls: list[Call] = []
        seen_calls: dict[str, Call] = {}
        for uid in sorted(listed, key=_creation_order):
            e = listed[uid]
            linkedid, state = e.get("Linkedid") or uid, to_int(e.get("ChannelState")) or 0
            leg = self.legs.get(uid)
            if leg is None:
                if linkedid in self.recent or uid in self.dead:
                    continue
                created = at - timedelta(seconds=_seconds(e.get("Duration")))
                endpoint, kind = self.classify(e["Channel"], e.get("Context"))
                leg = Leg(uid, e["Channel"], endpoint, kind, state, created,
                          e.get("CallerIDNum"), e.get("CallerIDName"), e.get("Exten"))
                call = self.calls.get(linkedid)
                if call is None:
                    call = self.calls[linkedid] = Call(linkedid, created)
                    new_calls.append(call)
                call.started_at = min(call.started_at, created)
                self.attach(call, leg)
                if e.get("Application") == "ChanSpy" and call in new_calls:
                    call.spy = True
            elif linkedid != leg.call.linkedid:
                self.move(leg, linkedid, at, out)
            leg.state = state
            leg.up = leg.up or state == STATE_UP
            if e.get("BridgeId"):
                self.enter_bridge(leg, e["BridgeId"])
            seen_calls[leg.call.linkedid] = leg.call
        for call in new_calls:
            self.announce(call, out)
        for call in seen_calls.values():
            for leg in list(call.legs.values()):
                if leg.kind == OPERATOR and leg.state == STATE_RINGING:
                    self.ring(call, leg, at, out)
            for leg in list(call.legs.values()):
                if leg.up and leg.kind == OPERATOR and leg.endpoint not in call.announced:
                    # answered while we were away: the later-created of the pair is the best bound
                    partner = next((o for o in call.legs.values() if o.up and o.kind == EXTERNAL
                                    and (leg.bridge is None or o.bridge == leg.bridge)), None)
                    if partner is not None:
                        self.connect(call, leg, partner, max(leg.created_at, partner.created_at), out)
        for uid, leg in list(self.legs.items()):
            if uid in listed or uid in self.touched:
                continue
            call = leg.call  # this channel hung up while the link was down
            self.stop(call, leg, "answered_elsewhere" if call.answered_at else "call_ended", out)
            self.drop(leg)
            if not call.legs:
                self.end(call, at, out, vanished=True)
