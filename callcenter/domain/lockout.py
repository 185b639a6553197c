"""Login lockout rule: too many failures for one account from one address locks it for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Guard:
    """What is counted for one login from one address: the current window, the failed attempts in
    it, the attempts being verified right now, and the lock if any.

    Attempts are counted when they are *claimed*, before the password is checked, so however many
    guesses arrive at once no more than ``max_failures`` are ever verified before the lock."""

    window_start: datetime
    failures: int = 0
    in_flight: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Claim:
    granted: bool
    guard: Guard
    locked_until: datetime | None = None  # when refused: until when, as far as known now


def claim_attempt(guard: Guard | None, now: datetime,
                  policy: LockoutPolicy = LockoutPolicy()) -> Claim:
    """Reserve the right to verify one password, or refuse it.

    Refused while locked, and while the failures plus the attempts still being verified already
    reach ``max_failures`` (those in flight could all be failures). A window (or a lock) that is
    over starts afresh; attempts left in flight by a process that died count until then."""
    if guard is not None and guard.locked_until is not None and guard.locked_until > now:
        return Claim(False, guard, guard.locked_until)
    if guard is None or guard.locked_until is not None \
            or guard.window_start + policy.window <= now:
        return Claim(True, Guard(window_start=now, failures=0, in_flight=1))
    if guard.failures + guard.in_flight >= policy.max_failures:
        return Claim(False, guard, now + policy.lock_for)
    return Claim(True, Guard(guard.window_start, guard.failures, guard.in_flight + 1))


def settle_attempt(guard: Guard, now: datetime, succeeded: bool,
                   policy: LockoutPolicy = LockoutPolicy()) -> Guard:
    """The guard after a claimed attempt was verified: a success clears the failures, a failure
    is counted and the one that reaches ``max_failures`` starts the lock."""
    in_flight = max(0, guard.in_flight - 1)
    if succeeded:
        return Guard(window_start=now, failures=0, in_flight=in_flight)
    failures = guard.failures + 1
    locked = guard.locked_until
    if failures >= policy.max_failures and (locked is None or locked <= now):
        locked = now + policy.lock_for
    return Guard(guard.window_start, failures, in_flight, locked)
