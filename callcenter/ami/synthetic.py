"""Plausible inbound queue calls as AMI events, for load tests and demos. Pure, no I/O.

Each call follows the sequence Asterisk 22 sent in ``tests/traces/inbound_answered`` (trunk
``Newchannel``, dialplan ``Newexten``/``VarSet`` with ``MIXMONITOR_FILENAME``,
``QueueCallerJoin``, a ringing leg per operator with ``AgentCalled``/``DialBegin``, then either
``DialEnd ANSWER``/``AgentConnect``/bridge/talk/``Hangup``, or — for a share of calls —
``QueueCallerAbandon``), padded with ``VarSet``/``Newexten`` noise to ~100 events, as with
``Events: on``. Times are offsets in seconds from the call's start.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from .trace import FreshIds

CALLER_NAMES = ("Иван Петров", "Мария Смирнова", "Ольга Кузнецова", "Алексей Иванов",
                "<unknown>", "<unknown>", "Anna Schmidt")
DID = "74951234567"
_STATE = {"Down": "0", "Ring": "4", "Ringing": "5", "Up": "6"}


class _Leg:
    """The snapshot of one channel, as it appears in every event about it."""

    def __init__(self, name: str, uniqueid: str, linkedid: str, num: str, cid_name: str,
                 context: str, exten: str) -> None:
        self.f = {"Channel": name, "ChannelState": "0", "ChannelStateDesc": "Down",
                  "CallerIDNum": num, "CallerIDName": cid_name,
                  "ConnectedLineNum": "<unknown>", "ConnectedLineName": "<unknown>",
                  "Language": "en", "AccountCode": "", "Context": context, "Exten": exten,
                  "Priority": "1", "Uniqueid": uniqueid, "Linkedid": linkedid}

    def state(self, desc: str) -> None:
        self.f["ChannelState"], self.f["ChannelStateDesc"] = _STATE[desc], desc

    def dest(self) -> dict[str, str]:
        return {"Dest" + k: v for k, v in self.f.items()}


class SyntheticCalls:
    """Generates one inbound call after another (see :meth:`next_call`)."""

    def __init__(self, rng: random.Random, ids: FreshIds, *,
                 operators: Sequence[str] = ("PJSIP/101", "PJSIP/102"),
                 callers: Sequence[str] | None = None, queue: str = "shop",
                 abandon_ratio: float = 0.15, events_per_call: int = 100,
                 epoch: float | None = None) -> None:
        self.rng, self.ids = rng, ids
        self.operators, self.callers = list(operators), list(callers or [])
        self.queue, self.abandon_ratio, self.events_per_call = queue, abandon_ratio, events_per_call
        self.day = time.strftime("%Y/%m/%d", time.gmtime(epoch if epoch is not None else ids.epoch))

    def next_call(self) -> list[tuple[float, dict[str, str]]]:
        """The events of one call, sorted by offset."""
        rng = self.rng
        number = rng.choice(self.callers) if self.callers else "79" + "".join(
            rng.choice("0123456789") for _ in range(9))
        uid = self.ids.call_id()
        trunk = _Leg(f"PJSIP/trunk-{self.ids.channel_seq()}", uid, uid, number,
                     rng.choice(CALLER_NAMES), "from-trunk", DID)
        trunk.state("Ring")
        out: list[tuple[float, dict[str, str]]] = []

        def ev(t: float, event: str, leg: _Leg | None, privilege: str = "call,all",
               **extra: str) -> None:
            fields = {"Event": event, "Privilege": privilege}
            if leg is not None:
                fields.update(leg.f)
            fields.update(extra)
            out.append((round(t, 6), fields))

        def app(t: float, leg: _Leg, priority: int, application: str, data: str) -> None:
            leg.f["Priority"] = str(priority)
            ev(t, "Newexten", leg, "dialplan,all", Extension=leg.f["Exten"],
               Application=application, AppData=data)

        def var(t: float, leg: _Leg, name: str, value: str) -> None:
            ev(t, "VarSet", leg, "dialplan,all", Variable=name, Value=value)

        recording = f"{self.day}/{uid}.wav"
        ev(0.0, "Newchannel", trunk)
        var(0.0, trunk, "SIPDOMAIN", "127.0.0.1")
        app(0.0, trunk, 1, "NoOp", f"Inbound call from {number} to {DID}")
        app(0.0, trunk, 2, "Set", f"__CRM_DID={DID}")
        var(0.0, trunk, "__CRM_DID", DID)
        app(0.0, trunk, 3, "MixMonitor", f"{recording},b")
        var(0.0, trunk, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{recording}")
        ev(0.0, "MixMonitorStart", trunk)
        app(0.0, trunk, 4, "Queue", f"{self.queue},t,,,40")
        for name in ("ANSWEREDTIME", "DIALEDTIME", "QUEUEWAIT"):
            var(0.0, trunk, name, "")
            var(0.0, trunk, name + "_MS", "")
        ev(0.0, "QueueCallerJoin", trunk, "agent,all", Queue=self.queue, Position="1", Count="1")
        legs: list[tuple[str, _Leg]] = []
        for endpoint in self.operators:
            ext = endpoint.rsplit("/", 1)[-1]
            leg = _Leg(f"{endpoint}-{self.ids.channel_seq()}", self.ids.call_id(), uid, ext,
                       f"Operator {ext}", "operators", DID)
            legs.append((endpoint, leg))
            t = 0.002
            ev(t, "Newchannel", leg)
            var(t, leg, "__CRM_DID", DID)
            var(t, leg, "DIALEDPEERNUMBER", ext)
            ev(t, "AgentCalled", trunk, "agent,all", **leg.dest(), Queue=self.queue,
               Interface=endpoint, MemberName=endpoint)
            ev(t, "DialBegin", trunk, **leg.dest(), DialString=endpoint)
            leg.state("Ringing")
            leg.f.update(ConnectedLineNum=number, ConnectedLineName=trunk.f["CallerIDName"])
            ev(t + 0.001, "Newstate", leg)
            app(t + 0.001, leg, 1, "AppQueue", "(Outgoing Line)")
            ev(t + 0.001, "DialState", trunk, **leg.dest(), DialStatus="RINGING")
        abandoned = not legs or rng.random() < self.abandon_ratio
        ring = rng.uniform(1.0, 8.0) if not abandoned else rng.uniform(5.0, 30.0)
        if abandoned:
            ev(ring, "HangupRequest", trunk)
            for _, leg in legs:
                ev(ring, "DialEnd", trunk, **leg.dest(), DialStatus="CANCEL")
                ev(ring, "Hangup", leg, Cause="0", **{"Cause-txt": "Unknown"})
            ev(ring, "QueueCallerAbandon", trunk, "agent,all", Queue=self.queue, Position="1",
               OriginalPosition="1", HoldTime=str(int(ring)))
            ev(ring, "QueueCallerLeave", trunk, "agent,all", Queue=self.queue, Position="1",
               Count="0")
            end = ring
        else:
            endpoint, agent = legs[rng.randrange(len(legs))]
            agent.state("Up")
            ev(ring, "Newstate", agent)
            ev(ring, "DialEnd", trunk, **agent.dest(), DialStatus="ANSWER")
            for _, leg in legs:
                if leg is not agent:
                    ev(ring, "DialEnd", trunk, **leg.dest(), DialStatus="CANCEL")
            trunk.f.update(ConnectedLineNum=agent.f["CallerIDNum"],
                           ConnectedLineName=agent.f["CallerIDName"])
            ev(ring, "QueueCallerLeave", trunk, "agent,all", Queue=self.queue, Position="1",
               Count="0")
            var(ring, trunk, "QUEUEWAIT", str(int(ring)))
            ev(ring, "AgentConnect", trunk, "agent,all", **agent.dest(), Queue=self.queue,
               Interface=endpoint, MemberName=endpoint, HoldTime=str(int(ring)),
               RingTime=str(int(ring)))
            trunk.state("Up")
            ev(ring, "Newstate", trunk)
            for _, leg in legs:
                if leg is not agent:
                    ev(ring, "Hangup", leg, Cause="26", **{"Cause-txt": "Answered elsewhere"})
            bridge = self.ids.bridge_id()
            ev(ring, "BridgeCreate", None, BridgeUniqueid=bridge, BridgeType="basic")
            for leg in (agent, trunk):
                ev(ring, "BridgeEnter", leg, BridgeUniqueid=bridge, BridgeType="basic")
            end = ring + rng.uniform(5.0, 90.0)
            ev(end, "HangupRequest", trunk)
            ev(end, "AgentComplete", trunk, "agent,all", **agent.dest(), Queue=self.queue,
               Interface=endpoint, MemberName=endpoint, HoldTime=str(int(ring)),
               TalkTime=str(int(end - ring)), Reason="caller")
            for leg in (trunk, agent):
                ev(end, "BridgeLeave", leg, BridgeUniqueid=bridge, BridgeType="basic")
            ev(end, "BridgeDestroy", None, BridgeUniqueid=bridge, BridgeType="basic")
            ev(end, "Hangup", agent, Cause="16", **{"Cause-txt": "Normal Clearing"})
        agent_leg = None if abandoned else agent
        spans = [(trunk, 0.0, end)] + [(leg, 0.003, end if leg is agent_leg else ring)
                                       for _, leg in legs]
        while len(out) < self.events_per_call:
            leg, start, stop = rng.choice(spans)
            t = rng.uniform(start, stop)
            if rng.random() < 0.5:
                ev(t, "VarSet", leg, "dialplan,all", Variable=f"CRM_NOISE_{len(out)}",
                   Value=str(rng.randrange(10**6)))
            else:
                ev(t, "Newexten", leg, "dialplan,all", Extension=leg.f["Exten"],
                   Application="NoOp", AppData="noise")
        ev(end + 0.0005, "Hangup", trunk, Cause="16", **{"Cause-txt": "Normal Clearing"})
        out.sort(key=lambda item: item[0])
        return out
