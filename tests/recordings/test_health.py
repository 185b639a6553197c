"""The health flag and the look-again schedule, table-tested (pure: no files, no loop)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.recording_health import (
    FAILED_AFTER, dbfs, health_of, next_look, retry_delay, speaks,
)

T = -45.0
SILENT = [None] * 7                       # digital zero, as G.711 makes of a silent phone
NOISE = [-62.0, -61.5, -60.3, -63.0]      # a real line's noise floor
DITHER = [-96.5] * 15                      # sox dither, ±1 LSB
TWO_WAY_CUSTOMER = [None, None, None, -49.9, -24.8, -23.9, -31.1]  # rec_two_way, measured
TWO_WAY_OPERATOR = [-21.5, -22.4, None, None, None, None, None]
ONE_WORD = [None, None, None, None, -30.0, None, None]             # the customer says "да"
CLIPPED = [-0.1, -0.2, None]


@pytest.mark.parametrize("customer, operator, seconds, expected", [
    (TWO_WAY_CUSTOMER, TWO_WAY_OPERATOR, 13.9, "ok"),
    (TWO_WAY_CUSTOMER, SILENT, 13.9, "operator_silent"),
    (SILENT, TWO_WAY_OPERATOR, 13.9, "customer_silent"),
    (SILENT, SILENT, 13.9, "both_silent"),
    (NOISE, NOISE, 8.0, "both_silent"),              # line noise is not speech
    (DITHER, TWO_WAY_OPERATOR, 30.0, "customer_silent"),
    (ONE_WORD, TWO_WAY_OPERATOR, 13.9, "ok"),         # one loud window is enough
    (CLIPPED, TWO_WAY_OPERATOR, 6.0, "ok"),           # clipping is loud, not silent
    ([-44.9], [-44.9], 1.9, "ok"),                    # just above the threshold, both: ok
    ([None], [-20.0], 1.5, "unknown"),                # too short to blame one side
    ([None], [None], 1.0, "unknown"),
    ([-45.0], [-20.0], 3.0, "customer_silent"),       # at the threshold is not above it
])  # fmt: skip
def test_health_from_both_directions(customer, operator, seconds, expected):
    assert health_of(customer=customer, operator=operator, mixed=None, threshold_dbfs=T,
                     duration_seconds=seconds) == expected


@pytest.mark.parametrize("mixed, seconds, expected", [
    ([-25.2, -30.0], 13.9, "unknown"),   # someone spoke; who cannot be told from a mix
    (SILENT, 13.9, "both_silent"),
    (NOISE, 8.0, "both_silent"),
    (SILENT, 1.0, "unknown"),
])  # fmt: skip
def test_health_from_the_mix_only(mixed, seconds, expected):
    assert health_of(customer=None, operator=None, mixed=mixed, threshold_dbfs=T,
                     duration_seconds=seconds) == expected


def test_one_direction_file_only_uses_the_mix():
    assert health_of(customer=SILENT, operator=None, mixed=[-20.0], threshold_dbfs=T,
                     duration_seconds=10) == "unknown"
    assert health_of(customer=None, operator=None, mixed=None, threshold_dbfs=T,
                     duration_seconds=10) == "unknown"


def test_threshold_is_a_setting():
    assert speaks(NOISE, -65.0) and not speaks(NOISE, -45.0)
    assert health_of(customer=NOISE, operator=TWO_WAY_OPERATOR, mixed=None,
                     threshold_dbfs=-65.0, duration_seconds=8) == "ok"


@pytest.mark.parametrize("rms, expected", [
    (32768, 0.0), (3276.8, -20.0), (1797.4, -25.2), (0, None), (-1, None),
])  # fmt: skip
def test_dbfs(rms, expected):
    got = dbfs(rms)
    assert got == expected if expected is None else abs(got - expected) < 0.05


@pytest.mark.parametrize("attempt, seconds", [
    (0, 5), (1, 5), (2, 15), (3, 30), (4, 60), (5, 120), (6, 300), (7, 300), (100, 300),
])  # fmt: skip
def test_retry_delays_grow_and_are_capped(attempt, seconds):
    assert retry_delay(attempt) == timedelta(seconds=seconds)


Q = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
WAIT = timedelta(minutes=10)


@pytest.mark.parametrize("attempts, after, expected", [
    (1, timedelta(0), Q + timedelta(seconds=5)),
    (3, timedelta(minutes=1), Q + timedelta(minutes=1, seconds=30)),
    (6, timedelta(minutes=8), Q + WAIT),             # the last look is at the deadline itself
    (9, timedelta(minutes=9, seconds=59), Q + WAIT),
    (9, WAIT, None),                                 # the wait is over: flag missing
    (1, timedelta(hours=2), None),
])  # fmt: skip
def test_next_look(attempts, after, expected):
    look = next_look(attempts=attempts, queued_at=Q, now=Q + after, wait=WAIT)
    assert look.at == expected
    assert look.give_up == (expected is None)


def test_a_corrupt_file_is_tried_a_few_times():
    assert 2 <= FAILED_AFTER <= 5
