"""The redial ladder and calling windows in the client's time zone.  Pure: the clock is passed in.

Calling windows (:func:`window_for`): the client's :class:`CallingHours` turned into UTC
instants in the client's zone.  A window is half-open, ``opens_at <= t < closes_at``; windows
that touch (``... 24:00`` then ``00:00 ...`` the next day) are one window.  When the zone is
not known (several candidate zones), the window is the intersection of the candidates'
windows, so whichever of them the client is in, nobody is called outside their hours.  When a
day has no intersection the next day that has one is taken; windows are looked for up to
:data:`SEARCH_DAYS` ahead (:class:`NoCallingWindow` if there is none at all, e.g. candidates
too far apart for the hours; a window open round the clock is cut at that horizon).

Local times that a DST switch makes non-existent or doubled are resolved explicitly
(:func:`local_to_utc`):

- non-existent (spring forward: in Vilnius on 2027-03-28 the clock goes 03:00 -> 04:00): the
  local time is read with the offset in force before the switch, which moves it forward by the
  length of the gap: 03:30 -> 04:30 summer time;
- doubled (fall back: in Vilnius on 2026-10-25 the clock goes 04:00 -> 03:00): the first
  occurrence (``fold=0``, still summer time): 03:30 -> 00:30 UTC, not 01:30 UTC.

The ladder (:func:`next_retry`): the ``failures``-th consecutive failed attempt waits the
ladder's ``failures``-th step (default ``5m, 30m, 3h, 1d``); one failure more than there are
steps archives.

- ``m`` and ``h`` steps are durations of *open* time: closed hours do not count.  With the
  window closing at 21:00, a failure at 20:50 + 30 min is 10 min today and 20 min after the
  next opening: 09:20 on the next open day.  Used up exactly at closing time, the retry is at
  the next opening.  A failure outside the window starts counting at the next opening.
- ``d`` steps keep the wall clock: the same local time that many days later (resolved at DST
  switches as above; with candidate zones, the latest of the candidates' results), then moved
  into the window: to the next opening if it falls outside.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from callcenter.domain.calling_hours import CallingHours
from callcenter.domain.client_zone import ClientZone

__all__ = [
    "DEFAULT_LADDER",
    "SEARCH_DAYS",
    "Ladder",
    "NoCallingWindow",
    "Retry",
    "Step",
    "Window",
    "is_open",
    "local_to_utc",
    "local_view",
    "next_retry",
    "parse_ladder",
    "window_for",
]

DEFAULT_LADDER = "5m,30m,3h,1d"

#: How far ahead a calling window is looked for, in days.
SEARCH_DAYS = 14

_UNITS = {"m": "m", "min": "m", "h": "h", "d": "d"}
_STEP = re.compile(r"(\d+)\s*([a-z]+)")


class NoCallingWindow(ValueError):
    """The calling hours never open for this zone (or never at once for all candidates)."""


@dataclass(frozen=True)
class Step:
    """One rung: ``amount`` of ``unit`` (``"m"`` minutes, ``"h"`` hours, ``"d"`` days)."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Ladder:
    """The delays after the 1st, 2nd, ... consecutive failed attempt."""

    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return ",".join(str(step) for step in self.steps)


def parse_ladder(text: str) -> Ladder:
    """``"5m,30m,3h,1d"`` -> Ladder; ValueError for an empty ladder or a step that is not a
    positive whole number of m, h or d."""
    steps = []
    for item in str(text or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        match = _STEP.fullmatch(item)
        if not match or match.group(2) not in _UNITS or int(match.group(1)) <= 0:
            raise ValueError(f"redial step {item!r}: write a positive number with m, h or d "
                             "(e.g. 5m, 3h, 1d)")
        steps.append(Step(int(match.group(1)), _UNITS[match.group(2)]))
    if not steps:
        raise ValueError(f"the redial ladder has no steps; e.g. {DEFAULT_LADDER!r}")
    return Ladder(tuple(steps))


@dataclass(frozen=True)
class Window:
    """A calling window in UTC (aware datetimes), ``opens_at <= t < closes_at``."""

    opens_at: datetime
    closes_at: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at


@dataclass(frozen=True)
class Retry:
    """What a failed attempt leads to: archive, or the next attempt at ``due_at`` (UTC), inside
    ``window``."""

    archive: bool
    due_at: datetime | None
    window: Window | None


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times passed to the redial rules must be timezone-aware")
    return at.astimezone(timezone.utc)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_to_utc(local: datetime, zone: str) -> datetime:
    """A naive local wall-clock time in ``zone`` -> the UTC instant it names.

    Non-existent (in a spring-forward gap): read with the offset before the switch, i.e. moved
    forward by the gap (Vilnius 2027-03-28 03:30 -> 04:30 summer time).  Doubled (fall back):
    the first occurrence (fold=0).
    """
    # fold=0 is both rules at once: zoneinfo gives a doubled time its first offset, and a
    # time in a gap the offset in force before the gap.
    return local.replace(tzinfo=_zone(zone), fold=0).astimezone(timezone.utc)


@lru_cache(maxsize=8192)
def _day_windows(zone: str, day: date,
                 hours: CallingHours) -> tuple[tuple[datetime, datetime], ...]:
    out = []
    for start, end in hours.ranges_on(day):
        opens = local_to_utc(datetime.combine(day, time()) + timedelta(minutes=start), zone)
        closes = local_to_utc(datetime.combine(day, time()) + timedelta(minutes=end), zone)
        if closes > opens:
            out.append((opens, closes))
    return tuple(out)


def _zone_windows(zone: str, start: datetime, stop: datetime,
                  hours: CallingHours) -> list[tuple[datetime, datetime]]:
    """The windows of one zone overlapping ``[start, stop)``, touching ones merged."""
    first = start.astimezone(_zone(zone)).date() - timedelta(days=1)
    last = stop.astimezone(_zone(zone)).date() + timedelta(days=1)
    windows: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for opens, closes in _day_windows(zone, day, hours):
            if windows and opens <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(windows[-1][1], closes))
            else:
                windows.append((opens, closes))
        day += timedelta(days=1)
    return [(max(opens, start), min(closes, stop)) for opens, closes in windows
            if closes > start and opens < stop]


def _intersect(a: list[tuple[datetime, datetime]],
               b: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        opens = max(a[i][0], b[j][0])
        closes = min(a[i][1], b[j][1])
        if opens < closes:
            out.append((opens, closes))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


@lru_cache(maxsize=4096)
def _windows_around(zones: tuple[str, ...], hours: CallingHours,
                    day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The (intersected) windows from the day before the UTC date ``day`` to SEARCH_DAYS
    after it; cached, since tasks falling due together share their day."""
    # from a day back, so a window that opened yesterday and is still open is whole
    start = datetime.combine(day, time(), timezone.utc) - timedelta(days=1)
    stop = start + timedelta(days=SEARCH_DAYS + 2)
    windows: list[tuple[datetime, datetime]] | None = None
    for name in zones:
        own = _zone_windows(name, start, stop, hours)
        windows = own if windows is None else _intersect(windows, own)
    return tuple(windows or ())


def window_for(at: datetime, zone: ClientZone, hours: CallingHours) -> Window:
    """The calling window containing ``at``, else the next one after it (UTC).

    For candidate zones, the intersection of their windows.  Raises :class:`NoCallingWindow`
    when there is none within :data:`SEARCH_DAYS`.
    """
    at = _utc(at)
    windows = _windows_around(zone.zones, hours, at.date())
    index = bisect_right(windows, at, key=lambda window: window[1])
    if index < len(windows):
        return Window(*windows[index])
    raise NoCallingWindow(
        f"no calling window within {SEARCH_DAYS} days after {at.isoformat()} for "
        f"{zone.text} with calling hours {hours.describe()!r}")


def is_open(at: datetime, zone: ClientZone, hours: CallingHours) -> bool:
    """Whether ``at`` is inside the calling window (of every candidate zone)."""
    try:
        return _utc(at) in window_for(at, zone, hours)
    except NoCallingWindow:
        return False


def _open_time_later(start: datetime, delay: timedelta, zone: ClientZone,
                     hours: CallingHours) -> datetime:
    """``delay`` of open time after ``start``: closed hours do not count."""
    at, remaining = start, delay
    while True:
        window = window_for(at, zone, hours)
        begin = max(at, window.opens_at)
        if begin + remaining < window.closes_at:
            return begin + remaining
        remaining -= window.closes_at - begin
        at = window.closes_at
        if remaining <= timedelta(0):
            return window_for(at, zone, hours).opens_at


def _same_wall_clock(at: datetime, days: int, zone: ClientZone) -> datetime:
    """The same local time ``days`` later, in each candidate zone; the latest of them."""
    results = []
    for name in zone.zones:
        local = at.astimezone(_zone(name)).replace(tzinfo=None)
        results.append(local_to_utc(local + timedelta(days=days), name))
    return max(results)


def next_retry(failed_at: datetime, failures: int, zone: ClientZone, hours: CallingHours,
               ladder: Ladder) -> Retry:
    """When to try again after a failed attempt (module docstring for the rules).

    ``failures`` counts the consecutive failed attempts including this one (1 = the first).
    Beyond the ladder's last step: ``Retry(archive=True, due_at=None, window=None)``.  Else
    ``due_at`` (UTC) is inside ``window``, never before ``failed_at``.
    """
    if failures < 1:
        raise ValueError("failures counts the failed attempts including this one: 1 or more")
    failed_at = _utc(failed_at)
    if failures > len(ladder.steps):
        return Retry(True, None, None)
    step = ladder.steps[failures - 1]
    if step.unit == "d":
        due = _same_wall_clock(failed_at, step.amount, zone)
    else:
        delay = timedelta(minutes=step.amount) if step.unit == "m" else timedelta(hours=step.amount)
        due = _open_time_later(failed_at, delay, zone, hours)
    window = window_for(due, zone, hours)
    return Retry(False, max(due, window.opens_at), window)


def local_view(at_utc: datetime, zone: ClientZone | str) -> dict:
    """How a UTC instant reads for the client, for the API.

    ``{"zone": "Asia/Yekaterinburg", "local": "2026-12-02T14:00:00+05:00",
    "known": true, "candidates": ["Asia/Yekaterinburg"]}``.  For candidate zones ``zone`` and
    ``local`` are those of the first candidate (the shop's zone when it is one of them) and
    ``known`` is false.
    """
    if isinstance(zone, str):
        zone = ClientZone((zone,), "client")
    first = zone.zones[0]
    return {
        "zone": first,
        "local": _utc(at_utc).astimezone(_zone(first)).isoformat(),
        "known": zone.known,
        "candidates": list(zone.zones),
    }
