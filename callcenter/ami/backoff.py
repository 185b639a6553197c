"""Reconnect delays: capped exponential backoff with jitter. Pure; randomness is passed in."""

from __future__ import annotations


def backoff_delay(attempt: int, *, initial: float, cap: float, jitter: float, rand: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    ``min(cap, initial * 2**attempt)`` shortened by up to ``jitter`` (a fraction, 0..1) times
    ``rand`` (a draw from ``random()``, 0 <= rand < 1), so many CRM processes restarted together
    do not hammer Asterisk in step. Never more than ``cap``, never less than
    ``(1 - jitter) * min(cap, initial * 2**attempt)``.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    base = cap if attempt >= 64 else min(cap, initial * (2 ** attempt))
    return base * (1.0 - jitter * rand)
