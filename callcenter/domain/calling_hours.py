"""When a client may be called: weekly ranges of local time per weekday, and holidays.  Pure.

Everything here is in the *client's* local time (wall clock and calendar); turning it into UTC
instants for one zone or for several candidate zones is :mod:`callcenter.domain.redial`'s job.

Text forms (the settings ``calling_hours`` and ``holidays``):

- hours: clauses separated by ``;``, each ``DAYS RANGES``.  ``DAYS`` is a weekday
  (``mon tue wed thu fri sat sun``), a span ``mon-fri`` (may wrap: ``fri-mon``) or a list of
  those joined by ``,``; ``RANGES`` is one or more ``HH:MM-HH:MM`` joined by ``,`` (a lunch
  gap: ``mon-fri 09:00-13:00,14:00-18:00``).  A range may end at ``24:00``; it may not cross
  midnight (write ``mon 22:00-24:00; tue 00:00-02:00``).  Clauses naming the same day add up;
  overlapping or touching ranges are merged.  Days not named are closed.  Case and extra
  spaces do not matter.  The default is ``mon-sun 09:00-21:00``.
- holidays: comma-separated ``MM-DD`` (every year) or ``YYYY-MM-DD`` (that day only).  A
  holiday is closed all day, whatever the weekly ranges say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "DEFAULT_CALLING_HOURS",
    "WEEKDAYS",
    "CallingHours",
    "MinuteRange",
    "parse_calling_hours",
    "parse_holidays",
]

#: Weekday names in ``date.weekday()`` order (Monday = 0).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_CALLING_HOURS = "mon-sun 09:00-21:00"

#: ``(start, end)`` in minutes after local midnight, ``0 <= start < end <= 1440``; the end is
#: not part of the range (``(540, 1260)`` is 09:00 up to, not including, 21:00).
MinuteRange = tuple[int, int]

_DAY_MINUTES = 24 * 60
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_RANGE = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")


@dataclass(frozen=True)
class CallingHours:
    """Weekly calling ranges (local time) and holidays (local calendar).

    ``weekly[d]`` holds the sorted, non-overlapping ranges of weekday ``d`` (Monday = 0);
    ``yearly_holidays`` are ``(month, day)`` pairs, ``dated_holidays`` single dates.  Build it
    with :func:`parse_calling_hours`; the value is hashable, so callers may cache by it.
    """

    weekly: tuple[tuple[MinuteRange, ...], ...]
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()
    dated_holidays: frozenset[date] = frozenset()

    def is_holiday(self, day: date) -> bool:
        return day in self.dated_holidays or (day.month, day.day) in self.yearly_holidays

    def ranges_on(self, day: date) -> tuple[MinuteRange, ...]:
        """The calling ranges of a local calendar day (none on a holiday)."""
        if self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def is_open_at(self, local: datetime) -> bool:
        """Whether a local wall-clock time (naive, or aware in the client's zone) is inside."""
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return any(start <= minute < end for start, end in self.ranges_on(local.date()))

    def describe(self) -> str:
        """The weekly ranges back as text in the form :func:`parse_calling_hours` reads."""
        clauses = []
        for index, ranges in enumerate(self.weekly):
            if ranges:
                clauses.append(WEEKDAYS[index] + " " + ",".join(
                    f"{_clock(start)}-{_clock(end)}" for start, end in ranges))
        return "; ".join(clauses)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _minute(text: str, *, end: bool) -> int:
    match = _TIME.fullmatch(text)
    if not match:
        raise ValueError(f"not a time of day: {text!r} (write HH:MM)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if end and (hours, minutes) == (24, 0):
        return _DAY_MINUTES
    if hours > 23 or minutes > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty weekday in {text!r}")
        first, sep, last = part.partition("-")
        first, last = first.strip(), last.strip()
        for name in (first, last) if sep else (first,):
            if name not in WEEKDAYS:
                raise ValueError(f"unknown weekday {name!r} (use {', '.join(WEEKDAYS)})")
        start = WEEKDAYS.index(first)
        stop = WEEKDAYS.index(last) if sep else start
        count = (stop - start) % 7 + 1
        days.extend((start + i) % 7 for i in range(count))
    return days


def _merge(ranges: list[MinuteRange]) -> tuple[MinuteRange, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def parse_holidays(text: str) -> tuple[frozenset[tuple[int, int]], frozenset[date]]:
    """``"01-01,2027-03-08"`` -> (yearly ``(month, day)`` pairs, single dates); ValueError."""
    yearly: set[tuple[int, int]] = set()
    dated: set[date] = set()
    for item in str(text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
            try:
                dated.add(date.fromisoformat(item))
            except ValueError:
                raise ValueError(f"not a date: {item!r}") from None
        elif re.fullmatch(r"\d{2}-\d{2}", item):
            month, day = int(item[:2]), int(item[3:])
            try:
                date(2000, month, day)  # a leap year, so 02-29 is a valid yearly holiday
            except ValueError:
                raise ValueError(f"not a day of the year: {item!r}") from None
            yearly.add((month, day))
        else:
            raise ValueError(f"holiday {item!r}: write MM-DD (every year) or YYYY-MM-DD")
    return frozenset(yearly), frozenset(dated)


def parse_calling_hours(hours_text: str, holidays_text: str = "") -> CallingHours:
    """Read the ``calling_hours`` and ``holidays`` texts (see the module docstring).

    Raises ValueError naming what is wrong: an unknown weekday, a malformed or empty range
    (start not before end), a range crossing midnight, a bad holiday, or hours that are never
    open at all.
    """
    weekly: list[list[MinuteRange]] = [[] for _ in WEEKDAYS]
    text = str(hours_text or "").strip().lower()
    for clause in text.split(";"):
        clause = clause.strip()
        if not clause:
            continue
        match = re.match(r"([a-z,\-\s]+?)\s+(\d.*)$", clause)
        if not match:
            raise ValueError(f"calling hours {clause!r}: write DAYS HH:MM-HH:MM, "
                             "e.g. 'mon-fri 09:00-21:00'")
        days = _days(match.group(1).replace(" ", ""))
        ranges: list[MinuteRange] = []
        for item in match.group(2).split(","):
            item = item.strip()
            found = _RANGE.fullmatch(item)
            if not found:
                raise ValueError(f"calling hours {clause!r}: {item!r} is not HH:MM-HH:MM")
            start = _minute(found.group(1), end=False)
            end = _minute(found.group(2), end=True)
            if start >= end:
                raise ValueError(f"calling hours {clause!r}: {item!r} ends before it starts "
                                 "(a range may not cross midnight; split it at 24:00)")
            ranges.append((start, end))
        for day in days:
            weekly[day].extend(ranges)
    if not any(weekly):
        raise ValueError("calling hours are never open: name at least one day with a range, "
                         f"e.g. {DEFAULT_CALLING_HOURS!r}")
    yearly, dated = parse_holidays(holidays_text)
    return CallingHours(tuple(_merge(ranges) for ranges in weekly), yearly, dated)
