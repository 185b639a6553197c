"""Is anybody heard on a recording, and when to look for a recording again.  Pure.

Health, from the RMS level of each 2-second window of a call (``WINDOW_SECONDS``), in dBFS,
``None`` for a window of digital silence (every sample zero: what G.711 makes of a silent
phone):

* a direction *speaks* when at least one window is louder than the threshold
  (``CALLCENTER_RECORDING_SILENCE_DBFS``, -45 by default). One window is enough: a customer
  who only says "yes" is heard. Real lines have a noise floor near -60 dBFS and sox/phones add
  dither near -96 dBFS, both well under the threshold; a clipped or very loud window is
  speech like any other;
* with both directions (MixMonitor ``r()``/``t()``): ``ok`` when both speak,
  ``customer_silent`` / ``operator_silent`` when one side never does (one-way audio, the
  classic NAT fault), ``both_silent`` when nobody spoke;
* with the mixed file only, the directions cannot be told apart: ``both_silent`` when the mix
  is silent, else ``unknown``;
* a recording shorter than ``MIN_JUDGED_SECONDS`` is too short to call one side silent (the
  other may simply not have answered yet): ``unknown`` unless both spoke.

Looking again (``next_look``): a recording not in the monitor directory yet is looked for
after 5 s, 15 s, 30 s, 1 min, 2 min, then every 5 min, until ``wait`` has passed since the
row was queued (the call's end); then the call is flagged missing. A file that is there but
cannot be read is tried ``FAILED_AFTER`` times (Asterisk may still be closing it) before it
is flagged failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Sequence

__all__ = ["FAILED_AFTER", "HEALTHS", "MIN_JUDGED_SECONDS", "RETRY_DELAYS", "WINDOW_SECONDS",
           "Health", "Look", "dbfs", "health_of", "next_look", "retry_delay", "speaks"]

Health = Literal["ok", "customer_silent", "operator_silent", "both_silent", "unknown"]
HEALTHS: tuple[str, ...] = ("ok", "customer_silent", "operator_silent", "both_silent", "unknown")

WINDOW_SECONDS = 2.0
MIN_JUDGED_SECONDS = 2.0
RETRY_DELAYS: tuple[float, ...] = (5, 15, 30, 60, 120, 300)
FAILED_AFTER = 3

Levels = Sequence[float | None]


def dbfs(rms: float, full_scale: float = 32768.0) -> float | None:
    """RMS amplitude -> dBFS (0 = full scale); ``None`` for digital silence."""
    if rms <= 0:
        return None
    return 20.0 * math.log10(rms / full_scale)


def speaks(levels: Levels, threshold_dbfs: float) -> bool:
    """Whether some window is louder than the threshold (``None`` = digital silence)."""
    return any(level is not None and level > threshold_dbfs for level in levels)


def health_of(*, customer: Levels | None, operator: Levels | None, mixed: Levels | None,
              threshold_dbfs: float, duration_seconds: float) -> Health:
    """The health flag of a recording; see the module docstring. ``customer``/``operator``
    are ``None`` when that direction's file does not exist."""
    if customer is not None and operator is not None:
        heard_customer = speaks(customer, threshold_dbfs)
        heard_operator = speaks(operator, threshold_dbfs)
        if heard_customer and heard_operator:
            return "ok"
        if duration_seconds < MIN_JUDGED_SECONDS:
            return "unknown"
        if heard_customer:
            return "operator_silent"
        if heard_operator:
            return "customer_silent"
        return "both_silent"
    if mixed is not None:
        if duration_seconds < MIN_JUDGED_SECONDS:
            return "unknown"
        return "unknown" if speaks(mixed, threshold_dbfs) else "both_silent"
    return "unknown"


def retry_delay(attempt: int) -> timedelta:
    """The pause before look number ``attempt + 1`` (``attempt`` >= 1 looks done)."""
    index = min(max(attempt, 1), len(RETRY_DELAYS)) - 1
    return timedelta(seconds=RETRY_DELAYS[index])


@dataclass(frozen=True, slots=True)
class Look:
    """What to do with a recording that was not usable this time: look again at ``at``, or
    give up (``at`` is ``None``)."""

    at: datetime | None

    @property
    def give_up(self) -> bool:
        return self.at is None


def next_look(*, attempts: int, queued_at: datetime, now: datetime, wait: timedelta) -> Look:
    """After ``attempts`` looks (this one included) that found no file: when to look again,
    or give up once ``wait`` has passed since ``queued_at``. The last look is moved to the
    deadline itself, so a file that comes late is still looked for once at the end."""
    deadline = queued_at + wait
    if now >= deadline:
        return Look(None)
    return Look(min(now + retry_delay(attempts), deadline))
