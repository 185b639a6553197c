"""The demo's call history: deterministic, before today, shaped like a working month."""

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callcenter.domain.demo_history import SHIFTS, generate_history

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=MOSCOW)
PHONES = [f"+7916{n:07d}" for n in range(50)]
EXTENSIONS = ["PJSIP/101", "PJSIP/102"]


def history(now=NOW, days=28):
    return generate_history(7, now, PHONES, EXTENSIONS, days=days)


def test_the_same_seed_gives_the_same_history():
    assert history() == history()
    assert generate_history(8, NOW, PHONES, EXTENSIONS) != history()


def test_nothing_is_today_or_later_and_no_sunday():
    calls, changes = history()
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    assert calls and changes
    assert max(c["ended_at"] for c in calls) <= today + timedelta(hours=1)  # a shift ends by 21:xx
    assert all(c["started_at"] < today for c in calls)
    assert all(c["started_at"].astimezone(MOSCOW).weekday() != 6 for c in calls)
    assert len({c["call_key"] for c in calls}) == len(calls)


@pytest.mark.parametrize("op", [0, 1])
def test_each_operator_works_their_shift_in_order(op):
    _, changes = history()
    mine = [c for c in changes if c["operator"] == op]
    assert [c["at"] for c in mine] == sorted(c["at"] for c in mine)
    start, end = SHIFTS[op]
    firsts = [c for c in mine if c["state"] == "ready"]
    local = firsts[0]["at"].astimezone(MOSCOW)
    assert start.hour <= local.hour < end.hour
    days = {c["at"].astimezone(MOSCOW).date() for c in mine}
    assert sum(c["state"] == "offline" for c in mine) == len(days)
    reasons = Counter(c["reason"] for c in mine if c["state"] == "paused")
    assert reasons["lunch"] == len(days) and reasons["break"] == 2 * len(days)


def test_calls_are_consistent_and_answered_calls_have_talk_and_wrap_up():
    calls, changes = history()
    outcomes = Counter((c["direction"], c["outcome"]) for c in calls)
    inbound = outcomes["inbound", "answered"] + outcomes["inbound", "missed"]
    assert 0.03 < outcomes["inbound", "missed"] / inbound < 0.3
    assert outcomes["outbound", "no_answer"] and outcomes["outbound", "busy"]
    for call in calls:
        if call["outcome"] == "answered":
            assert call["answered_at"] and call["talk_seconds"] > 0
            assert call["answered_by"] == EXTENSIONS[call["operator"]]
        else:
            assert call["answered_at"] is None and call["talk_seconds"] == 0
        assert (call["queue"] == "shop") == (call["direction"] == "inbound")
    states = Counter(c["state"] for c in changes)
    assert states["talking"] == states["wrap_up"] == sum(c["outcome"] == "answered" for c in calls)


def test_shifts_keep_local_hours_across_a_dst_change():
    berlin = ZoneInfo("Europe/Berlin")
    _, changes = generate_history(7, datetime(2026, 4, 5, 12, tzinfo=berlin), PHONES, EXTENSIONS)
    starts = {c["at"].astimezone(berlin).hour for c in changes
              if c["state"] == "ready" and c["operator"] == 0
              and c["at"].astimezone(berlin).hour < 10}
    assert starts == {9}


def test_no_phones_no_history():
    assert generate_history(7, NOW, [], EXTENSIONS) == ([], [])
