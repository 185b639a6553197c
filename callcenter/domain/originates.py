"""``SentOriginates``: the Originates the CRM sent, what their responses and first channels are
matched to.  Pure: no I/O, no clock of its own.

Asterisk broadcasts every ``OriginateResponse`` to every AMI session, and anyone with AMI
access can send one; only the ActionIDs remembered here are the CRM's.  An Originate also says
what its call is for before any channel exists (its ``Exten`` and ``CRM_*`` variables), which
is all a failed click-to-call leaves to log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["ORIGINATE_REASONS", "SentOriginate", "SentOriginates", "originate_variables"]

#: OriginateResponse ``Reason`` (the last control frame seen on the dialled channel).
ORIGINATE_REASONS = {0: "unavailable", 1: "rejected", 3: "no_answer", 5: "busy", 8: "congestion"}
_SLACK = timedelta(seconds=1)


@dataclass(slots=True)
class SentOriginate:
    """One Originate the CRM sent."""

    action_id: str
    endpoint: str
    exten: str | None
    variables: dict[str, str]
    spy: bool  # a supervisor's listen-in (Application ChanSpy, or CRM_SPY): not a customer call
    sent_at: datetime
    claimed: bool = False  # its first channel was seen


def originate_variables(value: object) -> dict[str, str]:
    """An Originate's ``Variable`` header(s) -> ``{name: value}`` for the ``CRM_*`` ones.

    ``value`` is one header (``"A=1,B=2"``: Asterisk splits it on commas) or a list of them."""
    items = value if isinstance(value, (list, tuple)) else [value] if isinstance(value, str) else []
    found: dict[str, str] = {}
    for item in items:
        for pair in str(item).split(","):
            name, sep, val = pair.partition("=")
            name = name.strip().lstrip("_")
            if sep and name.startswith("CRM_") and val:
                found[name] = val
    return found


class SentOriginates:
    """The last ``limit`` Originates sent, by ActionID, and the failures already reported."""

    def __init__(self, limit: int, match_seconds: float) -> None:
        self.limit = max(1, limit)
        self.window = timedelta(seconds=match_seconds)
        self._sent: OrderedDict[str, SentOriginate] = OrderedDict()
        self._failed: OrderedDict[str, None] = OrderedDict()

    def add(self, action: Mapping[str, object], endpoint: str, exten: str | None, at: datetime) -> None:
        """Remember an Originate (its AMI fields) sent to ``endpoint`` at ``at``."""
        action_id = str(action.get("ActionID") or "")
        if not action_id:
            return
        variables = originate_variables(action.get("Variable"))
        spy = str(action.get("Application") or "").lower() == "chanspy" or "CRM_SPY" in variables
        self._sent[action_id] = SentOriginate(action_id, endpoint, None if spy else exten,
                                              variables, spy, at)
        while len(self._sent) > self.limit:
            self._sent.popitem(last=False)

    def get(self, action_id: str | None) -> SentOriginate | None:
        return self._sent.get(action_id) if action_id else None

    def claim(self, endpoint: str, at: datetime) -> SentOriginate | None:
        """The oldest unclaimed Originate sent to ``endpoint`` within the match window before
        ``at``: the one a new call whose first channel Asterisk created there belongs to."""
        for sent in self._sent.values():
            # a second of slack: the event's receive time and the send time come from one clock,
            # but not from one instant
            if (not sent.claimed and sent.endpoint == endpoint
                    and -_SLACK <= at - sent.sent_at <= self.window):
                sent.claimed = True
                return sent
        return None

    def first_failure(self, action_id: str) -> bool:
        """True the first time a failure of this Originate is seen (Asterisk may repeat it)."""
        if action_id in self._failed:
            return False
        self._failed[action_id] = None
        if len(self._failed) > self.limit:
            self._failed.popitem(last=False)
        return True
