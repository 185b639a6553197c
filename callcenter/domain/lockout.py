"""Login lockout rule: too many failures for one account from one address locks it for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


def locked_until(failures: Sequence[datetime], now: datetime,
                 policy: LockoutPolicy = LockoutPolicy()) -> datetime | None:
    """When the lock ends, or None if not locked.

    ``failures`` are the times of failed attempts (any order). The lock starts at the failure that
    makes ``max_failures`` within ``window`` and lasts ``lock_for``.
    """
    times = sorted(t for t in failures if t <= now)
    latest_lock_end = None
    for i in range(policy.max_failures - 1, len(times)):
        first = times[i - policy.max_failures + 1]
        if times[i] - first <= policy.window:
            end = times[i] + policy.lock_for
            if latest_lock_end is None or end > latest_lock_end:
                latest_lock_end = end
    if latest_lock_end is not None and latest_lock_end > now:
        return latest_lock_end
    return None
