"""The live board's pure parts: who waits in which queue, who is being listened to, and an
operator's counters of the day. No I/O, no asyncio; the clock is passed in.

* :class:`QueueBoard` follows the queues from AMI events: callers waiting (``QueueCallerJoin``
  adds one, ``QueueCallerLeave`` / ``QueueCallerAbandon`` / the caller's ``Hangup`` removes it)
  and members (``QueueMember`` / ``QueueMemberStatus`` / ``QueueMemberPause`` /
  ``QueueMemberAdded`` / ``QueueMemberRemoved``: paused or not, and the device status). After
  an AMI reconnect it is reset (:meth:`QueueBoard.begin_resync`) and rebuilt from the
  ``QueueStatus`` answer: ``QueueParams`` names a queue, ``QueueEntry`` is a caller waiting
  ``Wait`` seconds (so its ``since`` is the time the answer came, less ``Wait``), ``QueueMember``
  a member.
* :class:`SpyWatch` follows listen-in: ``ChanSpyStart`` / ``ChanSpyStop`` give the spyer's and
  the spyee's channels; the mode comes from the spyer channel's ``CRM_SPY_MODE`` (``VarSet``),
  else from the Originate's answer (``OriginateResponse`` with ``Exten`` = the mode, or
  ``Data`` = ChanSpy's options: ``w`` whisper, ``B`` barge), else ``listen``. After a
  reconnect it is reset and rebuilt from the ``CoreShowChannel`` of each spyer channel (its
  ``Application`` is ChanSpy, with the target and options in ``ApplicationData``).
* :func:`tally` counts an operator's calls of the day from the stored call rows.

``feed`` methods return what changed (queue names, spied-on endpoints) so the service pushes
only those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

QUEUE_EVENTS = frozenset({
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "QueueParams", "QueueEntry",
    "QueueMember", "QueueMemberStatus", "QueueMemberPause", "QueueMemberPaused",
    "QueueMemberAdded", "QueueMemberRemoved", "Hangup"})
SPY_EVENTS = frozenset({"ChanSpyStart", "ChanSpyStop", "VarSet", "OriginateResponse", "Hangup",
                        "CoreShowChannel"})
MODES = ("listen", "whisper", "barge")
# QueueMember Status numbers (Asterisk device states) in which a member can take a call
_FREE = frozenset({"1"})  # NOT_INUSE
_UNKNOWN = "<unknown>"


def endpoint_of(channel: str | None) -> str | None:
    """``PJSIP/101-0000000a`` -> ``PJSIP/101``."""
    if not channel:
        return None
    base, sep, tail = channel.rpartition("-")
    return base if sep and base else channel


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if not value or value == _UNKNOWN else value


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


@dataclass(frozen=True)
class Waiter:
    """One caller waiting in a queue."""
    uniqueid: str
    call_key: str          # the call's Linkedid (the tracker's key)
    number: str | None     # as Asterisk sent it
    caller_name: str | None
    since: datetime
    position: int


@dataclass(frozen=True)
class Member:
    interface: str
    paused: bool
    reason: str | None
    status: str            # Asterisk's device state number ("1" not in use...)

    @property
    def ready(self) -> bool:
        return not self.paused and self.status in _FREE


@dataclass
class Queue:
    name: str
    waiting: dict[str, Waiter] = field(default_factory=dict)   # by Uniqueid
    members: dict[str, Member] = field(default_factory=dict)   # by interface

    def ordered(self) -> list[Waiter]:
        return sorted(self.waiting.values(), key=lambda w: (w.position, w.since))

    @property
    def longest_since(self) -> datetime | None:
        return min((w.since for w in self.waiting.values()), default=None)


class QueueBoard:
    """The queues as AMI tells them; see the module docstring."""

    def __init__(self) -> None:
        self.queues: dict[str, Queue] = {}
        self._where: dict[str, str] = {}  # a waiting caller's Uniqueid -> its queue

    def queue(self, name: str) -> Queue:
        found = self.queues.get(name)
        if found is None:
            found = self.queues[name] = Queue(name)
        return found

    def begin_resync(self) -> set[str]:
        """Forget everything (the QueueStatus answer tells it again); the queues known until
        now, so the caller can say they changed."""
        names = set(self.queues)
        for queue in self.queues.values():
            queue.waiting.clear()
            queue.members.clear()
        self._where.clear()
        return names

    def feed(self, e: Mapping[str, str], now: datetime) -> set[str]:
        """Apply one event at ``now``; the names of the queues it changed."""
        name = e.get("Event")
        if name not in QUEUE_EVENTS:
            return set()
        if name == "Hangup":
            uid = e.get("Uniqueid") or ""
            return self._leave(uid) if uid in self._where else set()
        queue_name = e.get("Queue")
        if not queue_name:
            return set()
        if name in ("QueueCallerJoin", "QueueEntry"):
            uid = e.get("Uniqueid") or e.get("Channel") or ""
            if not uid:
                return set()
            since = now
            if name == "QueueEntry":
                since = now - timedelta(seconds=max(0, _int(e.get("Wait"))))
            self._leave(uid)  # joined another queue, or listed again
            queue = self.queue(queue_name)
            queue.waiting[uid] = Waiter(uid, e.get("Linkedid") or uid, _clean(e.get("CallerIDNum")),
                                        _clean(e.get("CallerIDName")), since,
                                        _int(e.get("Position"), len(queue.waiting) + 1))
            self._where[uid] = queue_name
            return {queue_name}
        if name in ("QueueCallerLeave", "QueueCallerAbandon"):
            uid = e.get("Uniqueid") or e.get("Channel") or ""
            changed = self._leave(uid)
            self.queue(queue_name)
            return changed or {queue_name}
        if name == "QueueParams":
            self.queue(queue_name)
            return {queue_name}
        interface = e.get("Interface") or e.get("StateInterface") or e.get("Location") or \
            e.get("Name") or e.get("MemberName")
        if not interface:
            return set()
        queue = self.queue(queue_name)
        if name == "QueueMemberRemoved":
            queue.members.pop(interface, None)
            return {queue_name}
        old = queue.members.get(interface)
        paused_field = e.get("Paused")
        paused = paused_field in ("1", "true") if paused_field is not None else \
            (old.paused if old else False)
        reason = _clean(e.get("PausedReason")) if paused else None
        status = e.get("Status") or (old.status if old else "0")
        member = Member(interface, paused, reason, status)
        if member == old:
            return set()
        queue.members[interface] = member
        return {queue_name}

    def _leave(self, uid: str) -> set[str]:
        queue_name = self._where.pop(uid, None)
        if queue_name is None:
            return set()
        queue = self.queues[queue_name]
        gone = queue.waiting.pop(uid, None)
        if gone is not None:  # those behind move up, as Asterisk moves them
            for other_uid, w in list(queue.waiting.items()):
                if w.position > gone.position:
                    queue.waiting[other_uid] = Waiter(w.uniqueid, w.call_key, w.number,
                                                      w.caller_name, w.since, w.position - 1)
        return {queue_name}

    def view(self, name: str, client_name_of=lambda waiter: None,
             shown_number=lambda number: number) -> dict[str, Any]:
        """A queue as the board's JSON has it (``client_name_of(waiter)``: the CRM's name of
        the caller, or None; ``shown_number``: the number as the pages show it)."""
        queue = self.queue(name)
        longest = queue.longest_since
        return {"name": name,
                "waiting": [{"call_key": w.call_key, "number": shown_number(w.number),
                             "client_name": client_name_of(w), "since": _iso(w.since),
                             "position": w.position} for w in queue.ordered()],
                "longest_since": _iso(longest),
                "members": len(queue.members),
                "members_ready": sum(1 for m in queue.members.values() if m.ready)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# listen-in

@dataclass(frozen=True)
class Spy:
    """A supervisor's phone (``spyer``, an endpoint) listening to an operator's."""
    spyer: str
    mode: str
    supervisor_id: int | None   # CRM_SUPERVISOR, when the CRM placed the spy call


def mode_of_options(options: str | None) -> str:
    """ChanSpy's options -> the mode: ``B`` barge, ``w`` whisper, else listen."""
    text = options or ""
    if "B" in text:
        return "barge"
    if "w" in text:
        return "whisper"
    return "listen"


class SpyWatch:
    """Who is listening to whom; see the module docstring."""

    def __init__(self) -> None:
        self.spied: dict[str, Spy] = {}          # spyee endpoint -> spy
        self._by_spyer: dict[str, str] = {}      # spyer Uniqueid -> spyee endpoint
        self._hints: dict[str, dict[str, str]] = {}  # spyer Uniqueid -> mode / supervisor

    def feed(self, e: Mapping[str, str]) -> set[str]:
        """Apply one event; the spyee endpoints whose ``supervised_by`` changed."""
        name = e.get("Event")
        if name not in SPY_EVENTS:
            return set()
        if name == "VarSet":
            variable = (e.get("Variable") or "").lstrip("_")
            if variable in ("CRM_SPY_MODE", "CRM_SUPERVISOR") and e.get("Uniqueid"):
                self._hints.setdefault(e["Uniqueid"], {})[variable] = e.get("Value") or ""
            return set()
        if name == "OriginateResponse":
            uid = e.get("Uniqueid") or ""
            if not uid or e.get("Response") != "Success":
                return set()
            exten = (e.get("Exten") or "").lower()
            if exten in MODES:
                self._hints.setdefault(uid, {}).setdefault("mode", exten)
            elif (e.get("Application") or "").lower() == "chanspy":
                self._hints.setdefault(uid, {}).setdefault("mode", mode_of_options(
                    (e.get("Data") or "").partition(",")[2]))
            return set()
        if name == "CoreShowChannel":
            return self._listed(e)
        if name == "Hangup":
            uid = e.get("Uniqueid") or ""
            self._hints.pop(uid, None)
            spyee = self._by_spyer.pop(uid, None)
            if spyee is not None and self.spied.pop(spyee, None) is not None:
                return {spyee}
            return set()
        spyer_uid = e.get("SpyerUniqueid") or ""
        spyee = endpoint_of(e.get("SpyeeChannel"))
        if name == "ChanSpyStop":
            spyee = self._by_spyer.pop(spyer_uid, None) or spyee
            if spyee is not None and self.spied.pop(spyee, None) is not None:
                return {spyee}
            return set()
        spyer = endpoint_of(e.get("SpyerChannel"))
        if spyee is None or spyer is None:
            return set()
        hints = self._hints.get(spyer_uid, {})
        mode = (hints.get("CRM_SPY_MODE") or hints.get("mode") or "listen").lower()
        supervisor = hints.get("CRM_SUPERVISOR") or ""
        self.spied[spyee] = Spy(spyer, mode if mode in MODES else "listen",
                                int(supervisor) if supervisor.isdigit() else None)
        self._by_spyer[spyer_uid] = spyee
        return {spyee}

    def _listed(self, e: Mapping[str, str]) -> set[str]:
        """A channel of the resync's CoreShowChannels answer running ChanSpy: a listen-in
        that began before the reconnect (its ChanSpyStart was missed). ``ApplicationData`` is
        ChanSpy's ``<spyee>[-],<options>``."""
        if (e.get("Application") or "").lower() != "chanspy":
            return set()
        target, _, options = (e.get("ApplicationData") or "").partition(",")
        spyee, spyer, uid = target.strip().rstrip("-"), endpoint_of(e.get("Channel")), \
            e.get("Uniqueid") or ""
        if "/" not in spyee or spyer is None or not uid:
            return set()
        self.spied[spyee] = Spy(spyer, mode_of_options(options), None)
        self._by_spyer[uid] = spyee
        return {spyee}

    def reset(self) -> set[str]:
        """After a reconnect nobody is known to listen (ChanSpyStop may have been missed)."""
        gone = set(self.spied)
        self.spied.clear()
        self._by_spyer.clear()
        self._hints.clear()
        return gone


# today's counters

def empty_counters() -> dict[str, Any]:
    return {"calls": 0, "inbound": 0, "outbound": 0, "answered": 0, "missed": 0,
            "talk_seconds": 0, "outcomes": {}}


def tally(rows: Iterable[Mapping[str, Any]], user_id: int,
          extension: str | None) -> dict[str, Any]:
    """An operator's counters from stored calls (finished ones; those still in progress are
    counted when they end): their calls are the inbound ones they answered, the inbound ones
    missed that rang their phone, and the outbound ones they placed (or answered, for a call
    the PBX placed for them). ``answered``: of those, the ones they talked on;
    ``talk_seconds``: the talk of those; ``outcomes``: the after-call outcome codes saved."""
    out = empty_counters()
    for r in rows:
        mine_answered = r.get("answered_by_user_id") == user_id
        direction = r.get("direction")
        if direction == "inbound":
            rang = bool(extension) and extension in (r.get("operators_rung") or ())
            if mine_answered:
                out["inbound"] += 1
            elif r.get("outcome") == "missed" and rang:
                out["inbound"] += 1
                out["missed"] += 1
            else:
                continue
        else:
            placed = bool(extension) and r.get("placed_by") == extension
            if not (placed or mine_answered):
                continue
            out["outbound"] += 1
        out["calls"] += 1
        if mine_answered and r.get("outcome") == "answered":
            out["answered"] += 1
            out["talk_seconds"] += int(r.get("talk_seconds") or 0)
        code = r.get("disposition")
        if code:
            out["outcomes"][code] = out["outcomes"].get(code, 0) + 1
    return out
