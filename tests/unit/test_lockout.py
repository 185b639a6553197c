"""The lockout rule, as a table."""

from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.lockout import locked_until

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def at(*minutes):
    return [T0 + timedelta(minutes=m) for m in minutes]


@pytest.mark.parametrize("failures,now_min,expected_min", [
    (at(), 0, None),
    (at(0, 1, 2, 3), 4, None),                 # four failures: not yet
    (at(0, 1, 2, 3, 4), 4, 19),                # the fifth locks for 15 minutes
    (at(0, 1, 2, 3, 4), 18, 19),
    (at(0, 1, 2, 3, 4), 19, None),             # lock over
    (at(0, 5, 10, 15, 20), 20, None),          # spread over 20 minutes: outside the window
    (at(0, 3, 6, 9, 12, 15), 15, 30),          # a sixth failure inside the window extends it
    (at(0, 1, 2, 3, 30), 30, None),
])
def test_locked_until(failures, now_min, expected_min):
    expected = None if expected_min is None else T0 + timedelta(minutes=expected_min)
    assert locked_until(failures, T0 + timedelta(minutes=now_min)) == expected
