"""The lockout rule, as tables: claiming an attempt before its password is checked, and settling it."""

from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.lockout import Guard, LockoutPolicy, claim_attempt, settle_attempt

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
POLICY = LockoutPolicy(max_failures=5, window=timedelta(minutes=15), lock_for=timedelta(minutes=15))


def t(minutes):
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize("guard,now,granted,after,refused_until", [
    # no guard yet: granted, one in flight
    (None, 0, True, Guard(t(0), 0, 1), None),
    (Guard(t(0), 3, 0), 1, True, Guard(t(0), 3, 1), None),
    # four failures and one still being checked: the fifth slot is taken, refuse
    (Guard(t(0), 4, 1), 1, False, Guard(t(0), 4, 1), 16),
    # five being checked at once, none settled: refuse a sixth
    (Guard(t(0), 0, 5), 0, False, Guard(t(0), 0, 5), 15),
    # locked: refused until the lock ends, even with nothing in flight
    (Guard(t(0), 5, 0, t(19)), 18, False, Guard(t(0), 5, 0, t(19)), 19),
    # the lock is over: a fresh window
    (Guard(t(0), 5, 0, t(19)), 19, True, Guard(t(19), 0, 1), None),
    # the window is over without a lock: fresh, and a claim a dead process left in flight is gone
    (Guard(t(0), 4, 1), 15, True, Guard(t(15), 0, 1), None),
])
def test_claim_attempt(guard, now, granted, after, refused_until):
    claim = claim_attempt(guard, t(now), POLICY)
    assert claim.granted is granted
    assert claim.guard == after
    assert claim.locked_until == (None if refused_until is None else t(refused_until))


@pytest.mark.parametrize("guard,now,ok,after", [
    (Guard(t(0), 0, 1), 0, False, Guard(t(0), 1, 0)),
    (Guard(t(0), 3, 2), 1, False, Guard(t(0), 4, 1)),
    # the fifth failure locks for 15 minutes from now
    (Guard(t(0), 4, 1), 4, False, Guard(t(0), 5, 0, t(19))),
    # a failure settled while already locked does not stretch the lock
    (Guard(t(0), 5, 1, t(19)), 5, False, Guard(t(0), 6, 0, t(19))),
    # a success clears the failures but not the others still in flight
    (Guard(t(0), 3, 2), 2, True, Guard(t(2), 0, 1)),
    # never below zero in flight (a window restarted meanwhile)
    (Guard(t(0), 0, 0), 1, False, Guard(t(0), 1, 0)),
])
def test_settle_attempt(guard, now, ok, after):
    assert settle_attempt(guard, t(now), ok, POLICY) == after


def test_a_burst_verifies_at_most_max_failures_before_the_lock():
    guard, verified = None, 0
    claims = []
    for _ in range(100):  # all claimed before any is settled: the worst timing
        claim = claim_attempt(guard, T0, POLICY)
        guard = claim.guard
        claims.append(claim.granted)
    verified = sum(claims)
    assert verified == 5
    for _ in range(verified):
        guard = settle_attempt(guard, T0, False, POLICY)
    assert guard.locked_until == T0 + POLICY.lock_for
    assert not claim_attempt(guard, T0 + timedelta(minutes=14), POLICY).granted
