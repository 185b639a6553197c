"""Builders of synthetic AMI events for the CallTracker tests, shaped like the Asterisk 22
traces in tests/traces (same headers, same order of events), and a runner feeding them.

A scenario is a list of ``(seconds, event)`` steps; ``RESYNC_BEGIN``/``RESYNC_END`` in place of an
event call ``begin_resync()``/``end_resync(at)`` like the AMI listener does after a reconnect.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from callcenter.domain.calls import CallTracker, TrackerConfig

T0 = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
CONFIG = TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/102"})
DID = "74951234567"
_suffix = itertools.count(1)


class Chan:
    """A channel for building events; ``state``/``linkedid`` follow what the events say."""

    def __init__(self, endpoint: str, uid: str, linkedid: str, num: str = "<unknown>",
                 name: str = "<unknown>", exten: str = "s") -> None:
        self.channel = f"{endpoint}-{next(_suffix):08x}"
        self.uid, self.linkedid, self.num, self.name, self.exten = uid, linkedid, num, name, exten
        self.state = 0

    def headers(self, prefix: str = "") -> dict[str, str]:
        return {f"{prefix}Channel": self.channel, f"{prefix}ChannelState": str(self.state),
                f"{prefix}CallerIDNum": self.num, f"{prefix}CallerIDName": self.name,
                f"{prefix}Exten": self.exten, f"{prefix}Uniqueid": self.uid, f"{prefix}Linkedid": self.linkedid}

    def ev(self, event: str, **extra: str) -> dict[str, str]:
        return {"Event": event, **self.headers(), **extra}


def new(c: Chan, state: int) -> dict:
    c.state = state
    return c.ev("Newchannel")


def state(c: Chan, value: int) -> dict:
    c.state = value
    return c.ev("Newstate")


def dial(src: Chan | None, dst: Chan, dial_string: str = "") -> dict:
    return {"Event": "DialBegin", **(src.headers() if src else {}), **dst.headers("Dest"), "DialString": dial_string}


def dial_end(src: Chan | None, dst: Chan, status: str) -> dict:
    return {"Event": "DialEnd", **(src.headers() if src else {}), **dst.headers("Dest"), "DialStatus": status}


def var(c: Chan, name: str, value: str) -> dict:
    return c.ev("VarSet", Variable=name, Value=value)


def bridge(c: Chan, bid: str) -> dict:
    return c.ev("BridgeEnter", BridgeUniqueid=bid)


def leave(c: Chan, bid: str) -> dict:
    return c.ev("BridgeLeave", BridgeUniqueid=bid)


def hup_req(c: Chan, cause: int = 16) -> dict:
    return c.ev("HangupRequest", Cause=str(cause))


def soft(c: Chan) -> dict:
    return c.ev("SoftHangupRequest", Cause="16")


def hup(c: Chan, cause: int = 16, text: str = "Normal Clearing") -> dict:
    return c.ev("Hangup", Cause=str(cause), **{"Cause-txt": text})


def show(c: Chan, state_: int, bridge_id: str = "", duration: int = 10) -> dict:
    c.state = state_
    h, m, s = duration // 3600, duration // 60 % 60, duration % 60
    return c.ev("CoreShowChannel", BridgeId=bridge_id, Duration=f"{h:02}:{m:02}:{s:02}", Application="Queue")


RESYNC_BEGIN, RESYNC_END = "begin_resync", "end_resync"


def run(steps: list, tracker: CallTracker | None = None) -> tuple[CallTracker, list]:
    tracker = tracker or CallTracker(CONFIG)
    effects: list = []
    for t, step in steps:
        at = T0 + timedelta(seconds=t)
        if step == RESYNC_BEGIN:
            tracker.begin_resync()
        elif step == RESYNC_END:
            effects += tracker.end_resync(at)
        elif isinstance(step, dict) and "Action" in step:
            tracker.originate_sent(step, at)  # the CRM sends an Originate
        else:
            effects += tracker.feed(step, at)
    assert tracker.errors == 0
    return tracker, effects


def inbound(base: int, ring=("101", "102"), answer: str | None = "101", ender: str | None = "customer",
            t_answer: float = 4, t_end: float = 14, caller: str = "89265550101"):
    """A queue call from the trunk ringing ``ring``; ``answer`` picks up; ``ender`` hangs up."""
    lid = f"1795450000.{base}"
    trunk = Chan("PJSIP/trunk", lid, lid, num=caller, exten=DID)
    ops = {e: Chan(f"PJSIP/{e}", f"1795450000.{base + i + 1}", lid, num=e, name=f"Op {e}")
           for i, e in enumerate(ring)}
    steps = [(0, new(trunk, 4)), (0, var(trunk, "__CRM_DID", DID)),
             (0, trunk.ev("QueueCallerJoin", Queue="shop", Position="1"))]
    for op in ops.values():
        steps += [(0.1, new(op, 0)), (0.1, dial(trunk, op, op.channel[:9])), (0.1, state(op, 5))]
    if answer is None:
        if ender is not None:
            steps += [(t_end, hup_req(trunk, 127))]
            for op in ops.values():
                steps += [(t_end, dial_end(trunk, op, "CANCEL")), (t_end, hup(op, 0, "Unknown"))]
            steps += [(t_end, trunk.ev("QueueCallerAbandon", Queue="shop")), (t_end, hup(trunk, 127))]
        return steps, trunk, ops
    a, bid = ops[answer], f"bridge-{base}"
    steps += [(t_answer, state(a, 6)), (t_answer, dial_end(trunk, a, "ANSWER"))]
    for op in ops.values():
        if op is not a:
            steps += [(t_answer, dial_end(trunk, op, "CANCEL")), (t_answer, hup(op, 26, "Answered elsewhere"))]
    steps += [(t_answer, state(trunk, 6)), (t_answer, bridge(a, bid)), (t_answer, bridge(trunk, bid))]
    if ender is not None:
        first, second = (trunk, a) if ender == "customer" else (a, trunk)
        # Asterisk may report the other side's Hangup first: only HangupRequest tells who hung up
        steps += [(t_end, hup_req(first)), (t_end, leave(trunk, bid)), (t_end, leave(a, bid)),
                  (t_end, soft(second)), (t_end, hup(second)), (t_end, hup(first))]
    return steps, trunk, ops
