"""Deterministic demo history: the weeks before the demo's day, so the reports and the board's
counters have something to show the moment the demo starts.

Pure: the same ``seed``, ``now`` and ``phones`` always give the same calls and agent-state
changes.  Each working day (Monday to Saturday, in the shop's zone of ``now``) every demo
operator works a shift: ready from its start, a lunch pause and short breaks, inbound queue
calls answered (talking, then wrap-up) or missed while everyone was busy, and outbound calls
that reach the client or not.  The calls are plain ``calls`` rows (all but ids), the changes
``agent_state_changes`` rows with the operator's index in place of the user id.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from typing import Any

__all__ = ["SHIFTS", "generate_history"]

#: (start, end) of each demo operator's shift, local time
SHIFTS = ((time(9), time(18)), (time(12), time(21)))
_OUTBOUND_OUTCOMES = ("answered",) * 6 + ("no_answer",) * 3 + ("busy",)


def generate_history(seed: int, now: datetime, phones: list[str], extensions: list[str],
                     days: int = 28) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(calls, agent_state_changes) of the ``days`` days before ``now``'s date, in ``now``'s
    zone.  ``phones`` are clients' E.164 numbers to call from and to, ``extensions`` the demo
    operators' endpoints (``SHIFTS`` gives each one's hours).  Nothing is at or after the start
    of ``now``'s day."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not phones:
        return [], []
    rng = random.Random(f"history-{seed}")
    zone = now.tzinfo
    calls: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for back in range(days, 0, -1):
        day = (now - timedelta(days=back)).date()
        if day.weekday() == 6:
            continue
        for op, (extension, (start, end)) in enumerate(zip(extensions, SHIFTS)):
            begin = datetime.combine(day, start, zone).astimezone(timezone.utc)
            finish = datetime.combine(day, end, zone).astimezone(timezone.utc)
            _shift(rng, op, extension, begin, finish, phones, calls, changes)
    for n, call in enumerate(calls):
        call["call_key"] = f"demo-history-{n}"
    return calls, changes


def _shift(rng: random.Random, op: int, extension: str, begin: datetime, finish: datetime,
           phones: list[str], calls: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    def change(at: datetime, state: str, reason: str | None = None, source: str = "crm") -> None:
        changes.append({"operator": op, "at": at, "state": state, "reason": reason,
                        "source": source})

    lunch = begin + timedelta(hours=4, minutes=rng.randint(-20, 20))
    breaks = sorted([begin + timedelta(hours=2, minutes=rng.randint(0, 30)),
                     begin + timedelta(hours=6, minutes=rng.randint(0, 40))])
    pauses = [(lunch, timedelta(minutes=rng.randint(35, 50)), "lunch")] + \
        [(at, timedelta(minutes=rng.randint(7, 14)), "break") for at in breaks]
    pauses.sort()
    at = begin + timedelta(minutes=rng.randint(0, 6))
    change(at, "ready")
    while at < finish - timedelta(minutes=10):
        if pauses and at >= pauses[0][0]:
            _, length, reason = pauses.pop(0)
            change(at, "paused", reason)
            at += length
            change(at, "ready")
            continue
        at += timedelta(seconds=rng.randint(60, 900))
        if at >= finish:
            break
        inbound = rng.random() < 0.6
        phone = rng.choice(phones)
        if inbound and rng.random() < 0.12:  # everyone was busy: the caller gave up
            wait = rng.randint(15, 90)
            calls.append(_call("inbound", phone, extension, at, None, at + timedelta(seconds=wait),
                               "missed", wait, op))
            continue
        ring = rng.randint(3, 35) if inbound else rng.randint(5, 25)
        outcome = "answered" if inbound else rng.choice(_OUTBOUND_OUTCOMES)
        change(at, "ringing", source="pbx")
        if outcome != "answered":
            end = at + timedelta(seconds=ring)
            calls.append(_call("outbound", phone, extension, at, None, end, outcome, None, op))
            change(end, "ready", source="pbx")
            at = end
            continue
        answered = at + timedelta(seconds=ring)
        talk = int(rng.lognormvariate(4.6, 0.6)) + 10
        end = answered + timedelta(seconds=talk)
        calls.append(_call("inbound" if inbound else "outbound", phone, extension, at, answered,
                           end, "answered", ring if inbound else None, op))
        change(answered, "talking", source="pbx")
        change(end, "wrap_up", source="pbx")
        at = end + timedelta(seconds=rng.randint(10, 70))
        change(at, "ready")
    change(max(at, finish), "offline")


def _call(direction: str, phone: str, extension: str, started: datetime,
          answered: datetime | None, ended: datetime, outcome: str, wait: int | None,
          op: int) -> dict[str, Any]:
    inbound = direction == "inbound"
    return {
        "direction": direction,
        "caller": phone.lstrip("+") if inbound else extension.rsplit("/", 1)[-1],
        "caller_e164": phone if inbound else None,
        "callee": None if inbound else phone, "callee_e164": None if inbound else phone,
        "operators_rung": [extension] if inbound else [],
        "answered_by": extension if answered else None, "operator": op,
        "handled_by": [extension] if answered else [],
        "placed_by": None if inbound else extension,
        "started_at": started, "answered_at": answered, "ended_at": ended, "outcome": outcome,
        "talk_seconds": int((ended - answered).total_seconds()) if answered else 0,
        "wait_seconds": wait, "hangup_side": "customer", "queue": "shop" if inbound else None,
        "variables": {}, "status": "completed"}
