"""Backups, the pure part: file names, which backups retention keeps, when the daily job runs
next, and when the admins are warned that backups are stale.

No I/O and no clock: every function is given the time it reasons about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SQLITE_SUFFIX = ".sqlite3.gz"
PG_SUFFIX = ".pgdump"
MANIFEST_SUFFIX = ".json"
STALE_AFTER = timedelta(hours=26)  # a daily job plus two hours of slack

_NAME = re.compile(r"^callcenter-(\d{8})-(\d{6})(\.sqlite3\.gz|\.pgdump)$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def backup_name(kind: str, at: datetime) -> str:
    """``callcenter-YYYYmmdd-HHMMSS.sqlite3.gz`` (or ``.pgdump``), the UTC time it started."""
    suffix = SQLITE_SUFFIX if kind == "sqlite" else PG_SUFFIX
    return f"callcenter-{at.astimezone(timezone.utc):%Y%m%d-%H%M%S}{suffix}"


def parse_backup_name(name: str) -> datetime | None:
    """The UTC start time in a backup's file name; None for any other name."""
    m = _NAME.match(name)
    if not m:
        return None
    return datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class BackupInfo:
    name: str
    at: datetime
    verified: bool


def to_delete(backups: list[BackupInfo], *, now: datetime, keep_days: int) -> list[str]:
    """Names of the backups retention removes: those older than ``keep_days`` days, but never
    the newest verified one (so a run of failed backups cannot leave nothing to restore).
    ``keep_days`` < 1 keeps everything."""
    if keep_days < 1:
        return []
    verified = [b for b in backups if b.verified]
    newest_verified = max(verified, key=lambda b: b.at).name if verified else None
    cutoff = now - timedelta(days=keep_days)
    return sorted(b.name for b in backups if b.at < cutoff and b.name != newest_verified)


def parse_backup_time(value: str) -> time | None:
    """``"03:00"`` → 03:00; ``""`` → None (no daily job). ValueError for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    m = _TIME.match(value)
    if not m:
        raise ValueError(f"not a time of day HH:MM: {value!r}")
    return time(int(m[1]), int(m[2]))


def next_run(at: time, zone: str, now: datetime) -> datetime:
    """The next moment (UTC, strictly after ``now``) the wall clock in ``zone`` shows ``at``.
    On a day the time does not exist (spring forward) the job runs when clocks resume; on a
    day it exists twice it runs at the first."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    for days in range(0, 3):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, at, tzinfo=tz)  # fold 0: the first
        # a wall time in a gap does not survive the round trip: take the moment after the gap
        utc = candidate.astimezone(timezone.utc)
        if utc > now:
            return utc
    raise AssertionError("unreachable: a day always has the time")  # pragma: no cover


def is_stale(newest_verified: datetime | None, *, now: datetime, daily_job: bool) -> bool:
    """The admins' alarm: the newest verified backup is older than 26 h — or there is none at
    all while the daily job is on (with the job off and none made, nobody asked for backups)."""
    if newest_verified is None:
        return daily_job
    return now - newest_verified > STALE_AFTER
