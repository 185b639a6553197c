"""``CallTracker``: AMI events in, calls and effects out.  Pure: no I/O, no clock of its own.

Contract:

* ``feed(event, at)`` takes one parsed AMI event (header -> value; ``Event`` is its type) and
  the aware-UTC time it was received, and returns the effects it caused, in order.  It never
  raises: a missing header, a garbage value or an unknown event is ignored (at worst the event is
  dropped; ``errors`` counts internal failures so that tests can insist on zero).
* Channels (``Uniqueid``) are grouped into calls by ``Linkedid``.  A channel whose ``Linkedid``
  changes (Asterisk propagates the oldest one when bridges join, e.g. on attended transfer) moves
  to that call.  A call ends, with exactly one ``CallEnded``, when its last channel hangs up, or
  when an Originate fails before any channel existed (then it is keyed by the ``ActionID``).
* Every effect is emitted at most once: ``CallStarted``/``CallEnded`` per call,
  ``OperatorRinging``/``OperatorStoppedRinging`` per ringing channel, ``CallAnswered`` per call
  and operator, ``OriginateFailed`` per ActionID.  Events for ended calls or hung-up channels
  (remembered, bounded by ``recent_ended_limit``) are ignored; ended calls are dropped.
* After each AMI (re)connect: ``begin_resync()``, feed the ``CoreShowChannel`` events, then
  ``end_resync(at)`` adopts the calls that appeared meanwhile and ends (at ``at``) those whose
  channels are gone.  Events fed between the two calls are processed normally and protect the
  channels they mention from being ended.
* ``originate_sent(action, at)`` tells the tracker about each Originate the CRM sends, before
  it is sent.  An ``OriginateResponse`` whose ActionID the CRM did not send (another AMI
  client's, or forged) creates no call and no effect.  The Originate's ``Exten`` and ``CRM_*``
  variables are the call's number and variables even when no channel ever existed (a failed
  click-to-call keeps the number and the client it was for).
* A supervisor's ChanSpy leg (an Originate to ``Application: ChanSpy``, a channel carrying
  ``CRM_SPY``, or running ChanSpy from the dialplan) is not a customer call: it produces no
  effect at all, and the spied call goes on as one call.

Noise (VarSet, Newexten, RTCP, device/queue-member state...) costs one dict lookup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from callcenter.domain.call_book import CallBook, remember
from callcenter.domain.call_records import (
    CallEnded, CallRecord, CallStarted, Effect, OriginateFailed, TrackerConfig,
)
from callcenter.domain.call_state import (
    EXTERNAL, LOCAL, OPERATOR, STATE_RINGING, STATE_UP, Call, Leg, clean, dialled_number, to_int,
)
from callcenter.domain.originates import ORIGINATE_REASONS, SentOriginates

__all__ = ["CallTracker"]

class CallTracker:
    """Follows every call on one Asterisk; see the module docstring for the contract."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self._config = config = config or TrackerConfig()
        self._book = CallBook(config.operator_matcher(), config.recent_ended_limit,
                              trunks=frozenset(config.trunk_endpoints),
                              operator_contexts=frozenset(config.operator_contexts))
        self._spool = config.monitor_spool.rstrip("/") + "/"
        self._sent = SentOriginates(config.recent_ended_limit, config.originate_match_seconds)
        self.errors = 0
        self._handlers = {
            "Newchannel": self._on_newchannel,
            "Newstate": self._on_newstate,
            "NewCallerid": self._on_newcallerid,
            "VarSet": self._on_varset,
            "Newexten": self._on_newexten,
            "DialBegin": self._on_dialbegin,
            "AgentCalled": self._on_dialbegin,
            "DialEnd": self._on_dialend,
            "AgentConnect": self._on_agentconnect,
            "AgentComplete": self._on_agentcomplete,
            "AgentRingNoAnswer": self._on_agentringnoanswer,
            "QueueCallerJoin": self._on_queue,
            "QueueCallerAbandon": self._on_queue,
            "BridgeEnter": self._on_bridgeenter,
            "BridgeLeave": self._on_bridgeleave,
            "BridgeDestroy": self._on_bridgedestroy,
            "BlindTransfer": self._on_blindtransfer,
            "AttendedTransfer": self._on_attendedtransfer,
            "HangupRequest": self._on_hanguprequest,
            "SoftHangupRequest": self._on_softhanguprequest,
            "Hangup": self._on_hangup,
            "OriginateResponse": self._on_originateresponse,
            "CoreShowChannel": self._on_coreshowchannel,
            "ChanSpyStart": self._on_chanspystart,
        }

    # -- public API ----------------------------------------------------------------------------

    def feed(self, event: Mapping[str, str], at: datetime) -> list[Effect]:
        """Apply one AMI event received at ``at``; return the effects it caused."""
        try:
            handler = self._handlers.get(event.get("Event"))
        except Exception:  # not a mapping, unhashable type...: ignore like any garbage
            return []
        if handler is None:
            return []
        out: list[Effect] = []
        try:
            handler(event, at, out)
        except Exception:  # a defect must cost one event, never the AMI listener
            self.errors += 1
        return out

    def begin_resync(self) -> None:
        """The AMI link was (re)established and CoreShowChannels sent: collect what it lists.

        ``CoreShowChannel`` events fed outside a begin/end pair are ignored."""
        self._book.resyncing = True
        self._book.listed = []
        self._book.touched = set()

    def end_resync(self, at: datetime) -> list[Effect]:
        """CoreShowChannelsComplete arrived: adopt what is new, end what is gone (at ``at``)."""
        if not self._book.resyncing:
            return []
        self._book.resyncing = False
        out: list[Effect] = []
        try:
            self._book.apply_listing(at, out)
        except Exception:
            self.errors += 1
        self._book.listed, self._book.touched = [], set()
        return out

    def live_calls(self) -> list[CallRecord]:
        """Snapshots of the calls in progress (e.g. to repaint operators' screens)."""
        return [call.snapshot() for call in self._book.calls.values() if call.started and not call.spy]

    def ringing_at(self, endpoint: str) -> list[CallRecord]:
        """Snapshots of the calls ringing this operator's phone right now (their card is open
        there): a page of theirs that (re)connects pops them again."""
        return [call.snapshot() for call in self._book.calls.values()
                if call.started and not call.spy
                and any(leg.ringing and leg.endpoint == endpoint for leg in call.legs.values())]

    def originate_sent(self, action: Mapping[str, object], at: datetime) -> None:
        """The CRM is sending this Originate (its AMI fields: ``ActionID``, ``Channel``,
        ``Exten`` or ``Application``/``Data``, ``Variable``); call it before sending."""
        try:
            channel = str(action.get("Channel") or "")
            if channel:
                self._sent.add(action, self._book.classify(channel)[0],
                               clean(str(action.get("Exten") or "")), at)
        except Exception:
            self.errors += 1

    # -- event handlers: channels ----------------------------------------------------------------

    def _on_newchannel(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        uid, chan = e.get("Uniqueid"), e.get("Channel")
        if not uid or not chan or uid in self._book.legs:
            return
        leg = self._book.new_leg(uid, e.get("Linkedid") or uid, chan, to_int(e.get("ChannelState")) or 0,
                                 at, out, e.get("CallerIDNum"), e.get("CallerIDName"), e.get("Exten"),
                                 created=True, context=e.get("Context"))
        if leg is not None and leg.created_down and leg is leg.call.origin and leg.uid == leg.call.linkedid:
            self._claim_originate(leg, at, out)

    def _claim_originate(self, leg: Leg, at: datetime, out: list) -> None:
        """A channel Asterisk created as the first of a new call: the first channel of the
        oldest unclaimed Originate the CRM sent to that endpoint moments ago, if any."""
        sent = self._sent.claim(leg.endpoint, at)
        if sent is None:
            return
        call = leg.call
        call.action_id = call.action_id or sent.action_id
        call.originate_exten = call.originate_exten or sent.exten
        for name, value in sent.variables.items():
            call.variables.setdefault(name, value)
        if sent.spy:
            self._book.mark_spy(call, out)

    def _on_newstate(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.leg(e, at, out, adopt=True)
        state = to_int(e.get("ChannelState"))
        if leg is None or state is None:
            return
        leg.state = state
        call = leg.call
        if state == STATE_RINGING:
            if leg.kind == OPERATOR:
                self._book.ring(call, leg, at, out)
            elif leg is not call.origin and call.ring_started_at is None:
                call.ring_started_at = at
        elif state == STATE_UP:
            self._book.mark_up(leg, at, out)

    def _on_newcallerid(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.leg(e, at, out, adopt=True)
        if leg is not None and leg is leg.call.origin and leg.call.caller is None:
            leg.call.caller = clean(e.get("CallerIDNum"))
            leg.call.caller_name = leg.call.caller_name or clean(e.get("CallerIDName"))

    def _on_varset(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        name = e.get("Variable")
        if not name:
            return
        if name == "MIXMONITOR_FILENAME":
            leg = self._book.leg(e, at, out, adopt=True)
            path = (e.get("Value") or "").strip()
            if leg is not None and path:
                name = self._relative(path)
                if name not in leg.call.recordings:
                    leg.call.recordings.append(name)
                if not leg.call.recording_final:
                    leg.call.recording, leg.call.recording_final = name, True
        elif name == "DIALSTATUS":
            leg = self._book.leg(e, at, out, adopt=False)
            if leg is not None and e.get("Value"):
                leg.call.status_var = e.get("Value")
        elif "CRM_" in name:
            key, value = name.lstrip("_"), e.get("Value")
            if not key.startswith("CRM_") or not value:
                return
            leg = self._book.leg(e, at, out, adopt=True)
            if leg is not None:
                leg.call.variables[key] = value
                if key == "CRM_DID":
                    leg.call.did = clean(value)
                elif key == "CRM_SPY" and leg is leg.call.origin:
                    self._book.mark_spy(leg.call, out)

    def _on_newexten(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        app = e.get("Application")
        if app == "ChanSpy":  # a supervisor listening in from the dialplan (a feature code)
            leg = self._book.leg(e, at, out, adopt=False)
            if leg is not None and leg is leg.call.origin and leg.kind == OPERATOR:
                self._book.mark_spy(leg.call, out)
            return
        if app != "MixMonitor":
            return
        leg = self._book.leg(e, at, out, adopt=True)
        path = (e.get("AppData") or "").split(",", 1)[0].strip()
        if leg is not None and path and leg.call.recording is None:
            leg.call.recording = self._relative(path)

    def _relative(self, path: str) -> str:
        return path[len(self._spool):] if path.startswith(self._spool) else path

    # -- event handlers: dialling and queues -----------------------------------------------------

    def _on_dialbegin(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        self._book.leg(e, at, out, adopt=True)  # the dialling side (absent for an Originate)
        dest = self._book.dest_leg(e, at, out, adopt=True)
        if dest is None:
            return
        call = dest.call
        dest.target = True
        if dest.kind == OPERATOR:
            self._book.ring(call, dest, at, out)
        elif dest.kind == EXTERNAL and dest is not call.origin:
            if call.ring_started_at is None:
                call.ring_started_at = at
            if call.dialled is None:
                call.dialled = dialled_number(e.get("DialString")) or clean(e.get("DestExten"))
            origin = call.origin
            if origin is not None and origin.kind == OPERATOR:
                self._book.show_customer(call, origin, out)
        self._book.announce(call, out)

    def _on_dialend(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        src = self._book.leg(e, at, out, adopt=False)
        dest = self._book.dest_leg(e, at, out, adopt=False)
        if dest is None:
            return
        call, status = dest.call, e.get("DialStatus") or ""
        if status == "ANSWER":
            if src is not None:
                self._book.connect(call, src, dest, at, out)
            self._book.mark_up(dest, at, out)
            return
        if dest is call.origin:
            return
        if dest.kind == OPERATOR:
            call.op_status = status
            reason = {"NOANSWER": "no_answer", "BUSY": "declined"}.get(status)
            if reason is None:
                reason = "answered_elsewhere" if call.answered_at else (
                    "caller_hung_up" if call.caller_gone else "call_ended")
            self._book.stop(call, dest, reason, out)  # type: ignore[arg-type]
        elif dest.kind == EXTERNAL:
            call.ext_status = status

    def _on_agentconnect(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        src = self._book.leg(e, at, out, adopt=False)
        dest = self._book.dest_leg(e, at, out, adopt=False)
        if dest is not None:
            if src is not None:
                self._book.connect(dest.call, src, dest, at, out)
            self._book.mark_up(dest, at, out)

    def _on_agentcomplete(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        src = self._book.leg(e, at, out, adopt=False)
        reason = e.get("Reason")
        if src is None or src.call.side is not None or reason not in ("caller", "agent"):
            return
        call = src.call
        call.side = "customer" if reason == "caller" else "operator"
        call.decider = src if reason == "caller" else self._book.legs.get(e.get("DestUniqueid") or "")
        call.talk_end = call.talk_end or at

    def _on_agentringnoanswer(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        dest = self._book.dest_leg(e, at, out, adopt=False)
        if dest is not None:
            self._book.stop(dest.call, dest, "no_answer", out)

    def _on_queue(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.leg(e, at, out, adopt=True)
        if leg is not None:
            leg.call.queue = e.get("Queue") or leg.call.queue
            if e.get("Event") == "QueueCallerAbandon":
                leg.call.abandoned = True
            self._book.announce(leg.call, out)

    # -- event handlers: bridges and transfers ---------------------------------------------------

    def _on_bridgeenter(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg, bridge = self._book.leg(e, at, out, adopt=True), e.get("BridgeUniqueid")
        if leg is None or not bridge:
            return
        self._book.enter_bridge(leg, bridge)
        self._book.mark_up(leg, at, out)
        for uid in list(self._book.bridges.get(bridge, ())):
            other = self._book.legs.get(uid)
            if other is not None and other is not leg:
                if other.call is not leg.call and {leg.kind, other.kind} == {OPERATOR, EXTERNAL}:
                    op = leg if leg.kind == OPERATOR else other
                    ext = other if op is leg else leg
                    self._book.move(op, ext.call.linkedid, at, out)  # what Linkedid propagation will do
                self._book.connect(leg.call, leg, other, at, out)

    def _on_bridgeleave(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.leg(e, at, out, adopt=False)
        if leg is not None and leg.bridge is not None and leg.bridge == e.get("BridgeUniqueid"):
            self._book.leave_bridge(leg)

    def _on_bridgedestroy(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        for uid in self._book.bridges.pop(e.get("BridgeUniqueid") or "", ()):
            leg = self._book.legs.get(uid)
            if leg is not None:
                leg.bridge = None

    def _on_blindtransfer(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.legs.get(e.get("TransfererUniqueid") or "")
        if leg is not None and e.get("Result", "Success") == "Success":
            leg.transferred = True

    def _on_attendedtransfer(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        if e.get("Result", "Success") != "Success":
            return
        for key in ("OrigTransfererUniqueid", "SecondTransfererUniqueid"):
            leg = self._book.legs.get(e.get(key) or "")
            if leg is not None:
                leg.transferred = True
        target = self._book.legs.get(e.get("TransferTargetUniqueid") or "")
        transferee = self._book.legs.get(e.get("TransfereeUniqueid") or "")
        if target is not None and transferee is not None and target.call is not transferee.call:
            self._book.move(target, transferee.call.linkedid, at, out)

    # -- event handlers: hang-ups ----------------------------------------------------------------

    def _on_hanguprequest(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        """A party hung up (the channel driver got a BYE): this decides who ended the call."""
        leg = self._book.leg(e, at, out, adopt=False)
        if leg is None or leg.kind == LOCAL or leg.transferred:
            return
        call = leg.call
        self._far_end(leg, e)
        if leg.kind == OPERATOR and leg.target and not leg.up:
            self._book.stop(call, leg, "declined", out)  # one operator refused; the call goes on
            return
        if call.side is None and (call.answered_at is None or leg.up):
            call.side = "operator" if leg.kind == OPERATOR else "customer"
            call.decider, call.talk_end = leg, at
            cause = to_int(e.get("Cause"))
            if cause:
                call.decider_cause = (cause, None)
        if leg is call.origin or leg.kind == EXTERNAL:
            call.caller_gone = True
            for other in list(call.legs.values()):
                self._book.stop(call, other, "caller_hung_up", out)

    def _on_softhanguprequest(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.leg(e, at, out, adopt=False)
        if leg is not None and leg.call.side is None:
            leg.call.soft_seen = True

    def _on_hangup(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        leg = self._book.leg(e, at, out, adopt=False)
        if leg is None:
            return
        call = leg.call
        self._far_end(leg, e)
        cause = to_int(e.get("Cause"))
        if cause:
            pair = (cause, e.get("Cause-txt") or None)
            if leg is call.decider:
                call.decider_cause = pair
            if not (leg.kind == OPERATOR and leg.target and not leg.up and len(call.legs) > 1):
                call.last_cause = pair  # a losing ring leg's cause ("answered elsewhere") says nothing
        if leg.ringing:
            reason = ("answered_elsewhere" if cause == 26 or call.answered_at else
                      "caller_hung_up" if call.caller_gone else
                      "declined" if cause in (17, 21) else "no_answer" if cause in (18, 19) else "call_ended")
            self._book.stop(call, leg, reason, out)  # type: ignore[arg-type]
        self._book.drop(leg)
        if not call.legs:
            self._book.end(call, at, out)

    @staticmethod
    def _far_end(leg: Leg, e: Mapping[str, str]) -> None:
        """Remember why a dialled party that never answered went away: its Q.850 cause and, on
        PJSIP, the SIP response (``TechCause``); the outcome reads them (domain/outcomes.py)."""
        call = leg.call
        if leg is call.origin or leg.up or not leg.target or leg.kind == LOCAL:
            return
        cause, sip = to_int(e.get("Cause")), to_int(e.get("TechCause"))
        if not cause and not sip:
            return
        wanted = EXTERNAL if call.had_external else OPERATOR
        if leg.kind == wanted:
            old = leg.hangup or (None, None)
            leg.hangup = (cause or old[0], sip or old[1])
            call.far_end = leg

    # -- Originate -------------------------------------------------------------------------------

    def _on_originateresponse(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        action_id, uid = e.get("ActionID") or "", e.get("Uniqueid") or ""
        sent = self._sent.get(action_id)
        if sent is None:
            return  # not an Originate of ours: another AMI client's, or forged
        leg = self._book.legs.get(uid)
        if leg is not None:
            if not leg.call.action_id:
                leg.call.action_id = action_id
            if sent.spy or e.get("Application") == "ChanSpy":
                self._book.mark_spy(leg.call, out)
        if e.get("Response") != "Failure" or not self._sent.first_failure(action_id):
            return
        if sent.spy:
            return  # a supervisor's listen-in that did not connect: not a customer call
        reason = ORIGINATE_REASONS.get(to_int(e.get("Reason")), "failed")  # type: ignore[arg-type]
        endpoint = sent.endpoint
        call = leg.call if leg is not None else self._live_originate(endpoint, action_id)
        if call is not None and not call.spy:  # its channel still exists; CallEnded follows when it hangs up
            call.originate_failed = True
            call.action_id = call.action_id or action_id
            self._book.announce(call, out)
            out.append(OriginateFailed(action_id, endpoint, reason, call.snapshot()))
            return
        ended = self._match_ended_originate(endpoint, action_id, uid, at)
        if ended is not None:  # its channel existed and already hung up (operator did not answer)
            ended = dataclasses.replace(ended, action_id=action_id)
            out.append(OriginateFailed(action_id, endpoint, reason, ended))
            return
        key = action_id
        if key in self._book.recent or key in self._book.calls:
            key = f"originate:{key}"  # an ActionID that looks like a Linkedid must not collide
        variables = MappingProxyType(dict(sent.variables))
        callee = sent.exten or clean(e.get("Exten")) or sent.variables.get("CRM_NUMBER")
        started = CallRecord(key=key, linkedid=None, direction="outbound", started_at=at,
                             callee=callee, placed_by=endpoint, action_id=action_id,
                             variables=variables)
        record = dataclasses.replace(started, ended_at=at, talk_seconds=0.0, hangup_side="system",
                                     outcome="unavailable" if reason == "unavailable" else "failed")
        remember(self._book.recent, key, self._book.recent_limit)
        # a call of its own, so that consumers see the usual CallStarted ... CallEnded pair
        out += (CallStarted(started), OriginateFailed(action_id, endpoint, reason, record), CallEnded(record))

    def _live_originate(self, endpoint: str | None, action_id: str) -> Call | None:
        """The live call an Originate created: the one tied to its ActionID, else the newest
        whose first channel is that endpoint's, was created by Asterisk, and has no ActionID."""
        found = None
        for call in self._book.calls.values():
            if call.action_id == action_id:
                return call
            origin = call.origin
            if (origin is not None and origin.endpoint == endpoint and origin.created_down
                    and not call.action_id and call.answered_at is None):
                found = call  # dicts keep insertion order: the last match is the newest call
        return found

    def _match_ended_originate(self, endpoint: str | None, action_id: str, uid: str,
                               at: datetime) -> CallRecord | None:
        window = timedelta(seconds=self._config.originate_match_seconds)
        for linkedid in reversed(self._book.ended_originates):
            origin_endpoint, record = self._book.ended_originates[linkedid]
            recent = record.ended_at is not None and at - record.ended_at <= window
            if (record.action_id == action_id or linkedid == uid
                    or (record.action_id is None and origin_endpoint == endpoint and recent)):
                del self._book.ended_originates[linkedid]
                return record
        return None

    # -- resync ----------------------------------------------------------------------------------

    def _on_coreshowchannel(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        if self._book.resyncing:
            self._book.listed.append(e)

    def _on_chanspystart(self, e: Mapping[str, str], at: datetime, out: list) -> None:
        """Asterisk's own word that a channel is a spy: too late to keep it unannounced when
        nothing said so before its answer, but it still must not count as a customer call."""
        leg = self._book.legs.get(e.get("SpyerUniqueid") or "")
        if leg is not None and leg is leg.call.origin:
            self._book.mark_spy(leg.call, out, spied=e.get("SpyeeLinkedid") or None)

