"""An operator's state: what they chose (ready, paused, offline) and what their phone does.

Pure: events in, the new state out (and whether the PBX must be told). The service keeps one
:class:`AgentState` per operator, feeds it :func:`step` with the events read from AMI by
:func:`read_ami_event` and with the operator's own choices, and carries out the result.

States: ``offline`` / ``ready`` / ``paused`` (with a reason) / ``ringing`` / ``talking`` /
``wrap_up`` (after-call work until the outcome is saved or ``wrap_up_until`` passes; no limit
when the setting is 0). ``chosen`` is what the operator chose, returned to after a call; a
choice made during a call only changes ``chosen``, except that choosing during wrap-up ends it.

Pauses made on the phone or by Asterisk (``QueueMemberPause``, and ``Paused`` in
``QueueMember``/``QueueMemberStatus``) become the operator's choice too, with the PBX's reason
(``pbx`` when it gives none, ``autopause`` for Asterisk's autopause).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

STATES = ("offline", "ready", "paused", "ringing", "talking", "wrap_up")
CHOICES = ("ready", "paused", "offline")
IN_CALL = ("ringing", "talking", "wrap_up")
SOURCES = ("crm", "pbx", "system")
OFFLINE_REASON = "offline"  # the QueuePause Reason sent when an operator goes offline

# Asterisk device states, by the number QueueMember/QueueMemberStatus give in ``Status``
DEVICE_STATES = {"0": "UNKNOWN", "1": "NOT_INUSE", "2": "INUSE", "3": "BUSY", "4": "INVALID",
                 "5": "UNAVAILABLE", "6": "RINGING", "7": "RINGINUSE", "8": "ONHOLD"}
_TALKING = frozenset({"INUSE", "BUSY", "ONHOLD"})
_RINGING = frozenset({"RINGING", "RINGINUSE"})
_GONE = frozenset({"UNAVAILABLE", "INVALID"})


@dataclass(frozen=True)
class AgentState:
    state: str
    reason: str | None
    since: datetime
    chosen: str = "offline"
    chosen_reason: str | None = None
    wrap_up_until: datetime | None = None


def initial_state(at: datetime) -> AgentState:
    """An operator the CRM has never seen: offline, until they choose or the PBX tells."""
    return AgentState("offline", None, at)


# events

@dataclass(frozen=True)
class Chosen:
    """The operator chose in the CRM (``choice`` in CHOICES)."""
    choice: str
    reason: str | None = None


@dataclass(frozen=True)
class PbxPause:
    """The PBX says the member is paused (with its reason, maybe empty) or not."""
    paused: bool
    reason: str | None = None


@dataclass(frozen=True)
class Device:
    """The operator's phone changed state (an Asterisk device state name: ``RINGING``...)."""
    state: str


@dataclass(frozen=True)
class OutcomeSaved:
    """The outcome of the operator's last call was saved: wrap-up is over."""


@dataclass(frozen=True)
class Tick:
    """Time passes: wrap-up ends at ``wrap_up_until``."""


Event = Chosen | PbxPause | Device | OutcomeSaved | Tick


@dataclass(frozen=True)
class QueuePause:
    """Effect: tell the PBX to pause (``paused``) or unpause the operator's queue membership."""
    paused: bool
    reason: str | None


@dataclass(frozen=True)
class Step:
    state: AgentState
    changed: bool               # state or reason changed: a row for the history
    stored: bool                # anything changed at all (chosen included): store it
    pbx: QueuePause | None = None


def pbx_reason(reason: str | None) -> str:
    """The reason of a pause the PBX reports: its own text, ``autopause`` for Asterisk's
    autopause, ``pbx`` when it names none (a pause made on the phone)."""
    text = (reason or "").strip()
    if not text:
        return "pbx"
    if text.lower().replace("-", "").replace("_", "").replace(" ", "") == "autopause":
        return "autopause"
    return text[:64]


def _back_to_chosen(s: AgentState) -> tuple[str, str | None]:
    return s.chosen, s.chosen_reason if s.chosen == "paused" else None


def _to(current: AgentState, state: str, reason: str | None, now: datetime, *,
        chosen: str | None = None, chosen_reason: str | None = None,
        keep_chosen: bool = True, wrap_up_until: datetime | None = None,
        pbx: QueuePause | None = None) -> Step:
    new = AgentState(
        state, reason, current.since,
        current.chosen if keep_chosen else chosen,  # type: ignore[arg-type]
        current.chosen_reason if keep_chosen else chosen_reason,
        wrap_up_until if state == "wrap_up" else None)
    changed = (new.state, new.reason) != (current.state, current.reason)
    if changed:
        new = replace(new, since=now)
    elif current.state == "wrap_up" and state == "wrap_up":
        new = replace(new, wrap_up_until=current.wrap_up_until)
    return Step(new, changed, new != current, pbx)


def step(current: AgentState, event: Event, now: datetime, *, wrap_up_seconds: int) -> Step:
    """The state after ``event`` at ``now``; see the module docstring."""
    s = current
    if isinstance(event, Chosen):
        if event.choice not in CHOICES:
            raise ValueError(f"unknown choice {event.choice!r}")
        reason = event.reason if event.choice == "paused" else None
        pbx = QueuePause(event.choice != "ready",
                         reason if event.choice == "paused" else
                         OFFLINE_REASON if event.choice == "offline" else None)
        if s.state in ("ringing", "talking"):
            return _to(s, s.state, s.reason, now, keep_chosen=False, chosen=event.choice,
                       chosen_reason=reason, pbx=pbx)
        return _to(s, event.choice, reason, now, keep_chosen=False, chosen=event.choice,
                   chosen_reason=reason, pbx=pbx)

    if isinstance(event, PbxPause):
        if event.paused:
            if s.chosen == "offline" or (s.chosen == "paused" and (
                    not event.reason or event.reason == s.chosen_reason)):
                # our own pause coming back, or the same pause told again
                return Step(s, False, False)
            chosen, reason = "paused", pbx_reason(event.reason)
        else:
            if s.chosen == "ready":
                return Step(s, False, False)
            chosen, reason = "ready", None
        if s.state in IN_CALL:
            return _to(s, s.state, s.reason, now, keep_chosen=False, chosen=chosen,
                       chosen_reason=reason, wrap_up_until=s.wrap_up_until)
        return _to(s, chosen, reason, now, keep_chosen=False, chosen=chosen,
                   chosen_reason=reason)

    if isinstance(event, Device):
        device = event.state.upper()
        if device in _RINGING:
            if s.state in ("talking", "ringing"):
                return Step(s, False, False)
            return _to(s, "ringing", None, now)
        if device in _TALKING:
            return _to(s, "talking", None, now)
        if device == "NOT_INUSE":
            if s.state == "talking":
                until = now + timedelta(seconds=wrap_up_seconds) if wrap_up_seconds > 0 else None
                return _to(s, "wrap_up", None, now, wrap_up_until=until)
            if s.state in ("ringing",) or (s.state == "offline" and s.chosen != "offline"):
                return _to(s, *_back_to_chosen(s), now)
            return Step(s, False, False)
        if device in _GONE:
            return _to(s, "offline", None, now)
        return Step(s, False, False)

    if isinstance(event, OutcomeSaved):
        if s.state != "wrap_up":
            return Step(s, False, False)
        return _to(s, *_back_to_chosen(s), now)

    if isinstance(event, Tick):
        if s.state == "wrap_up" and s.wrap_up_until is not None and now >= s.wrap_up_until:
            return _to(s, *_back_to_chosen(s), now)
        return Step(s, False, False)

    raise TypeError(f"not an agent event: {event!r}")


# reading AMI

PAUSE_EVENTS = frozenset({"QueueMemberPause", "QueueMemberPaused"})
MEMBER_EVENTS = frozenset({"QueueMember", "QueueMemberStatus", "QueueMemberAdded"})
AGENT_EVENTS = PAUSE_EVENTS | MEMBER_EVENTS | {"DeviceStateChange"}


def _interface(fields: dict[str, str]) -> str | None:
    for key in ("Interface", "StateInterface", "Location", "MemberName", "Name"):
        value = fields.get(key)
        if value:
            return value
    return None


def read_ami_event(fields: dict[str, str]) -> tuple[str, list[Event]] | None:
    """The operator's endpoint (``PJSIP/101``) an AMI event is about, and what it says, or
    None when it says nothing about an operator's state.

    ``DeviceStateChange`` gives the phone's state; ``QueueMemberPause`` the pause;
    ``QueueMember`` (the QueueStatus answer) and ``QueueMemberStatus`` both, the device state
    as a number in ``Status``.
    """
    name = fields.get("Event")
    if name not in AGENT_EVENTS:
        return None
    if name == "DeviceStateChange":
        device, state = fields.get("Device"), fields.get("State")
        if not device or not state:
            return None
        return device, [Device(state)]
    interface = _interface(fields)
    if not interface:
        return None
    events: list[Event] = []
    paused = fields.get("Paused")
    if paused in ("0", "1", "true", "false"):
        reason = fields.get("PausedReason")
        if reason is None:
            reason = fields.get("Reason")  # Asterisk before 13 named it so
        events.append(PbxPause(paused in ("1", "true"), reason or None))
    if name in MEMBER_EVENTS:
        device = DEVICE_STATES.get(fields.get("Status", ""))
        if device and device != "UNKNOWN":
            events.append(Device(device))
    return (interface, events) if events else None
