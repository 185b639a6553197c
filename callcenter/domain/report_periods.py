"""The period of a report: local calendar days in the shop's zone, turned into UTC instants.  Pure.

A period is ``first``..``last`` inclusive, local dates in ``CALLCENTER_TIMEZONE``.  It covers the
instants from the first day's local midnight up to (not including) the local midnight after the
last day, so a day of a DST change is 23 or 25 hours long and no call is counted twice or lost.
Where a zone skips midnight itself (a few zones change their clocks at 00:00), the day starts at
the first instant that exists on it (zoneinfo moves the nonexistent time forward).

Presets, computed from the clock passed in (``today`` is the local date now): ``today``,
``yesterday``, ``this_week`` (Monday up to today), ``this_month`` (the 1st up to today).  A
preset wins over ``from``/``to``.  At most :data:`MAX_DAYS` days.

Calls are grouped by local hour in SQL: the period is cut where the zone's UTC offset changes
(:func:`offset_segments`, a DST change), and within each piece the local hour is
``(epoch seconds + offset) // 3600 mod 24``, exact for any offset, whole-hour or not (India
+05:30, Nepal +05:45, Chatham +12:45).  :func:`local_hour_of_bucket` is the same rule for a
quarter-hour bucket (every offset in use is a multiple of 15 minutes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from callcenter.domain.calling_hours import CallingHours

__all__ = ["BUCKET_SECONDS", "MAX_DAYS", "PRESETS", "Period", "PeriodError",
           "local_hour_of_bucket", "offset_segments", "parse_period", "preset_days",
           "working_days"]

MAX_DAYS = 366
PRESETS = ("today", "yesterday", "this_week", "this_month")
#: the width of the UTC buckets calls are counted in before they are placed in local hours
BUCKET_SECONDS = 900


class PeriodError(ValueError):
    """Bad period input; ``fields`` maps a query parameter to its message."""

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields
        self.message = message


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (inclusive) in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first instant of the period (UTC)."""
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period (UTC)."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the local ``day`` begins."""
    local = datetime.combine(day, time(0), tzinfo=zone)
    # a nonexistent local time round-trips to a later wall time: take that instant
    return local.astimezone(timezone.utc)


def preset_days(preset: str, today: date) -> tuple[date, date]:
    """The first and last local day of a preset, ``today`` being the local date now."""
    if preset == "today":
        return today, today
    if preset == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if preset == "this_week":
        return today - timedelta(days=today.weekday()), today
    if preset == "this_month":
        return today.replace(day=1), today
    raise PeriodError({"preset": "one of: " + ", ".join(PRESETS)})


def _date(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    if value is None or value == "":
        errors[name] = "is required"
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"'{value[:40]}' is not a date (YYYY-MM-DD)"
        return None


def parse_period(query: Mapping[str, str], now: datetime, zone: ZoneInfo) -> Period:
    """The period named by ``preset`` or ``from``/``to`` in a report's query; raises
    :class:`PeriodError` for a bad preset or date, ``from`` after ``to``, or more than
    :data:`MAX_DAYS` days."""
    preset = query.get("preset")
    if preset:
        if preset not in PRESETS:
            raise PeriodError({"preset": "one of: " + ", ".join(PRESETS)})
        first, last = preset_days(preset, now.astimezone(zone).date())
        return Period(first, last, zone)
    errors: dict[str, str] = {}
    first = _date(query.get("from"), "from", errors)
    last = _date(query.get("to"), "to", errors)
    if errors:
        raise PeriodError(errors)
    assert first is not None and last is not None
    if first > last:
        raise PeriodError({"from": f"'{first.isoformat()}' is out of range"},
                          "The period starts after it ends (from > to)")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError({"to": f"'{last.isoformat()}' is out of range"},
                          f"A report covers at most {MAX_DAYS} days")
    return Period(first, last, zone)


def working_days(first: date, last: date, hours: CallingHours) -> int:
    """Days of ``first``..``last`` with calling hours (holidays and closed weekdays left out):
    what an operator's daily plan is multiplied by."""
    count, day = 0, first
    while day <= last:
        if hours.ranges_on(day):
            count += 1
        day += timedelta(days=1)
    return count


def local_hour_of_bucket(bucket: int, zone: ZoneInfo) -> int:
    """The local hour (0..23) of a UTC bucket: ``bucket * BUCKET_SECONDS`` seconds after the
    epoch."""
    instant = datetime.fromtimestamp(bucket * BUCKET_SECONDS, timezone.utc)
    return instant.astimezone(zone).hour


def _offset(instant: datetime, zone: ZoneInfo) -> int:
    offset = instant.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def offset_segments(start: datetime, end: datetime,
                    zone: ZoneInfo) -> list[tuple[datetime, datetime, int]]:
    """``[start, end)`` cut where ``zone``'s UTC offset changes: ``(from, to, offset seconds)``
    pieces in order.  Offsets are looked at every 6 hours and a change is found to the second
    by bisection (zones change their clocks at most a few times a year, never twice in 6 h)."""
    step = timedelta(hours=6)
    pieces: list[tuple[datetime, datetime, int]] = []
    piece_start, offset = start, _offset(start, zone)
    probe = start
    while probe < end:
        nxt = min(probe + step, end)
        later = _offset(nxt, zone) if nxt < end else offset
        if later != offset:
            lo, hi = probe, nxt  # offset(lo) == offset, offset(hi) != offset
            while (hi - lo) > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(mid, zone) == offset:
                    lo = mid
                else:
                    hi = mid
            change = hi.replace(microsecond=0)
            if _offset(change - timedelta(seconds=1), zone) != offset:
                change -= timedelta(seconds=1)
            pieces.append((piece_start, change, offset))
            piece_start, offset = change, _offset(change, zone)
        probe = nxt
    pieces.append((piece_start, end, offset))
    return [p for p in pieces if p[0] < p[1]]
