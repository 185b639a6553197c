"""What the audit log viewer may ask for: its query string read into one filter. Pure.

Every parameter is optional; a bad one is named in the returned errors (never a guess):
- ``action``: one action (``login.failed``) or, ending with a dot, every action under it
  (``recording.`` = recording.listen, recording.download, ...);
- ``user_id``: who did it (the user's id); ``login``: part of the login written in the entry
  (failed logins have no user id, only the login that was tried);
- ``q``: free text looked for in the login, the entity, its id and the details;
- ``ip``: the address, or its beginning (``10.0.``);
- ``from`` / ``to``: local dates ``YYYY-MM-DD`` in the shop's zone (``to`` takes in its whole
  day) or ISO 8601 date-times (without an offset read in the shop's zone; ``to`` inclusive);
- ``limit`` (1..1000, 100 by default) and ``offset`` (0..10,000,000).
Text filters are bounded so that one request cannot make the database scan with megabytes of
pattern, and they are matched literally: ``%`` and ``_`` are not wildcards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Mapping

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 10_000_000
MAX_TEXT = 100
MAX_LOGIN = 64
MAX_ID = 2**31 - 1

_ACTION_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.?")
_IP_RE = re.compile(r"[0-9A-Fa-f:.]{1,64}")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AuditFilter:
    """The viewer's filter; ``since`` inclusive and ``until`` exclusive, both UTC-aware."""

    action: str | None = None
    action_prefix: bool = False
    user_id: int | None = None
    login: str | None = None
    q: str | None = None
    ip: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _whole(raw: str, low: int, high: int) -> int | None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _text(raw: str, limit: int) -> tuple[str | None, str | None]:
    """(the text, or None when empty; an error message or None)."""
    text = raw.strip()
    if len(text) > limit:
        return None, f"is longer than {limit} characters"
    if _CONTROL_RE.search(text):
        return None, "is invalid"
    return text or None, None


def _instant(raw: str, zone: tzinfo, *, end: bool) -> tuple[datetime | None, str | None]:
    """A bound of the period: a local date (its midnight; the next one for ``end``) or a
    date-time (a moment past it for ``end``, so that it is included)."""
    text = raw.strip()
    if _DATE_RE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
        except (ValueError, OverflowError):
            return None, f"'{text[:40]}' is not a date (YYYY-MM-DD)"
        return datetime.combine(day, time(), zone).astimezone(timezone.utc), None
    try:
        if len(text) > 40:
            raise ValueError
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        moment = moment.astimezone(timezone.utc)
        if end:
            moment += timedelta(microseconds=1)
    except (ValueError, OverflowError):
        return None, f"'{text[:40]}' is not an ISO 8601 date-time"
    return moment, None


def parse_audit_query(query: Mapping[str, str],
                      zone: tzinfo) -> tuple[AuditFilter, dict[str, str], str | None]:
    """The filter a viewer's query asks for, the errors by parameter (empty when it is good)
    and, with errors, a sentence for the whole (None when the field messages say it all)."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    message = None

    action = (query.get("action") or "").strip()
    if action:
        if len(action) > 64 or not _ACTION_RE.fullmatch(action):
            errors["action"] = "is invalid"
        else:
            values["action"] = action
            values["action_prefix"] = action.endswith(".")

    raw = (query.get("user_id") or "").strip()
    if raw:
        user_id = _whole(raw, 1, MAX_ID)
        if user_id is None:
            errors["user_id"] = "must be a positive integer id"
        else:
            values["user_id"] = user_id

    for name, limit in (("login", MAX_LOGIN), ("q", MAX_TEXT)):
        text, problem = _text(query.get(name) or "", limit)
        if problem:
            errors[name] = problem
        elif text:
            values[name] = text

    ip = (query.get("ip") or "").strip()
    if ip:
        if not _IP_RE.fullmatch(ip):
            errors["ip"] = "is invalid"
        else:
            values["ip"] = ip

    for name, key, end in (("from", "since", False), ("to", "until", True)):
        raw = (query.get(name) or "").strip()
        if raw:
            moment, problem = _instant(raw, zone, end=end)
            if problem:
                errors[name] = problem
            else:
                values[key] = moment
    if "since" in values and "until" in values and values["until"] <= values["since"]:
        errors["to"] = f"'{query['to'].strip()[:40]}' is out of range"
        message = "The period ends before it begins: 'to' is before 'from'"

    for name, low, high, default in (("limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
                                     ("offset", 0, MAX_OFFSET, 0)):
        raw = (query.get(name) or "").strip()
        if not raw:
            values[name] = default
            continue
        number = _whole(raw, low, high)
        if number is None:
            errors[name] = f"a whole number from {low} to {high}"
        else:
            values[name] = number

    if errors:
        return AuditFilter(), errors, message
    return AuditFilter(**values), {}, None  # type: ignore[arg-type]
