"""Report periods and KPI arithmetic: table tests, no database."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from callcenter.domain.calling_hours import parse_calling_hours
from callcenter.domain.kpi import average, kpi, rate
from callcenter.domain.report_periods import (
    BUCKET_SECONDS, PeriodError, local_hour_of_bucket, offset_segments, parse_period, preset_days,
    working_days,
)

MSK, BERLIN, KOLKATA = ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
UTC = timezone.utc


@pytest.mark.parametrize("preset, today, first, last", [
    ("today", date(2026, 12, 2), date(2026, 12, 2), date(2026, 12, 2)),
    ("yesterday", date(2026, 12, 1), date(2026, 11, 30), date(2026, 11, 30)),
    ("yesterday", date(2026, 1, 1), date(2025, 12, 31), date(2025, 12, 31)),
    ("this_week", date(2026, 12, 2), date(2026, 11, 30), date(2026, 12, 2)),   # Wednesday
    ("this_week", date(2026, 11, 30), date(2026, 11, 30), date(2026, 11, 30)),  # Monday
    ("this_week", date(2026, 12, 6), date(2026, 11, 30), date(2026, 12, 6)),   # Sunday
    ("this_month", date(2026, 12, 2), date(2026, 12, 1), date(2026, 12, 2)),
    ("this_month", date(2026, 2, 28), date(2026, 2, 1), date(2026, 2, 28)),
])
def test_presets(preset, today, first, last):
    assert preset_days(preset, today) == (first, last)


@pytest.mark.parametrize("now_utc, preset, first", [
    # 00:30 in Moscow is still 21:30 of the day before in UTC: the local date decides
    (datetime(2026, 11, 30, 21, 30, tzinfo=UTC), "today", date(2026, 12, 1)),
    (datetime(2026, 11, 30, 21, 30, tzinfo=UTC), "yesterday", date(2026, 11, 30)),
    (datetime(2026, 11, 30, 21, 30, tzinfo=UTC), "this_month", date(2026, 12, 1)),
    (datetime(2026, 11, 30, 20, 59, tzinfo=UTC), "this_month", date(2026, 11, 1)),
])
def test_presets_follow_the_local_date_at_half_past_midnight(now_utc, preset, first):
    period = parse_period({"preset": preset, "from": "2020-01-01", "to": "2020-01-02"},
                          now_utc, MSK)
    assert period.first == first


@pytest.mark.parametrize("zone, first, last, start, end, hours", [
    (MSK, "2026-11-01", "2026-11-30", datetime(2026, 10, 31, 21, tzinfo=UTC),
     datetime(2026, 11, 30, 21, tzinfo=UTC), 720),
    # the spring change: 29 March 2026 has 23 hours in Berlin
    (BERLIN, "2026-03-29", "2026-03-29", datetime(2026, 3, 28, 23, tzinfo=UTC),
     datetime(2026, 3, 29, 22, tzinfo=UTC), 23),
    # the autumn change: 25 October 2026 has 25 hours
    (BERLIN, "2026-10-25", "2026-10-25", datetime(2026, 10, 24, 22, tzinfo=UTC),
     datetime(2026, 10, 25, 23, tzinfo=UTC), 25),
    (BERLIN, "2026-03-01", "2026-03-31", datetime(2026, 2, 28, 23, tzinfo=UTC),
     datetime(2026, 3, 31, 22, tzinfo=UTC), 31 * 24 - 1),
    (KOLKATA, "2026-12-01", "2026-12-01", datetime(2026, 11, 30, 18, 30, tzinfo=UTC),
     datetime(2026, 12, 1, 18, 30, tzinfo=UTC), 24),
])
def test_period_instants_are_local_midnights(zone, first, last, start, end, hours):
    period = parse_period({"from": first, "to": last}, datetime(2027, 1, 1, tzinfo=UTC), zone)
    assert (period.start, period.end) == (start, end)
    assert (period.end - period.start).total_seconds() == hours * 3600


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
    ({"from": "2026-13-01", "to": "2026-11-01"}, "from"),
    ({"from": "2026-11-01", "to": "30.11.2026"}, "to"),
    ({"from": "2026-11-1", "to": "2026-11-30"}, "from"),
    ({"to": "2026-11-30"}, "from"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),     # 367 days
    ({"preset": "last_year"}, "preset"),
])
def test_bad_periods(query, field):
    with pytest.raises(PeriodError) as caught:
        parse_period(query, datetime(2026, 12, 1, tzinfo=UTC), MSK)
    assert field in caught.value.fields


def test_366_days_is_the_longest_period():
    period = parse_period({"from": "2024-01-01", "to": "2024-12-31"},
                          datetime(2026, 12, 1, tzinfo=UTC), MSK)
    assert period.days == 366


@pytest.mark.parametrize("hours, holidays, first, last, days", [
    ("mon-sun 09:00-21:00", "", date(2026, 11, 1), date(2026, 11, 30), 30),
    ("mon-fri 09:00-18:00", "", date(2026, 11, 1), date(2026, 11, 30), 21),
    ("mon-fri 09:00-18:00", "11-04", date(2026, 11, 1), date(2026, 11, 30), 20),
    ("mon-fri 09:00-18:00", "2026-11-04,2026-11-07", date(2026, 11, 1), date(2026, 11, 30), 20),
    ("sat 10:00-12:00", "", date(2026, 11, 1), date(2026, 11, 30), 4),
    ("mon-sun 09:00-21:00", "01-01,01-02,01-07", date(2026, 1, 1), date(2026, 1, 10), 7),
])
def test_working_days(hours, holidays, first, last, days):
    assert working_days(first, last, parse_calling_hours(hours, holidays)) == days


@pytest.mark.parametrize("utc, zone, hour", [
    (datetime(2026, 12, 1, 5, 15, tzinfo=UTC), MSK, 8),
    (datetime(2026, 12, 1, 20, 45, tzinfo=UTC), MSK, 23),
    (datetime(2026, 12, 1, 21, 0, tzinfo=UTC), MSK, 0),
    # +05:30: the quarter-hours 04:15 and 04:30 UTC fall in local 09 and 10
    (datetime(2026, 12, 1, 4, 15, tzinfo=UTC), KOLKATA, 9),
    (datetime(2026, 12, 1, 4, 30, tzinfo=UTC), KOLKATA, 10),
    (datetime(2026, 12, 1, 4, 15, tzinfo=UTC), ZoneInfo("Asia/Kathmandu"), 10),
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), BERLIN, 2),   # CEST, before the change
    (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), BERLIN, 2),   # CET, the repeated hour
])
def test_local_hour_of_a_bucket(utc, zone, hour):
    assert local_hour_of_bucket(int(utc.timestamp()) // BUCKET_SECONDS, zone) == hour


@pytest.mark.parametrize("part, whole, expected", [
    (1, 3, 0.3333), (2, 3, 0.6667), (0, 5, 0.0), (5, 5, 1.0), (1, 0, None), (0, 0, None),
])
def test_rate(part, whole, expected):
    assert rate(part, whole) == expected


@pytest.mark.parametrize("total, count, expected", [
    (350, 3, 116.7), (30, 2, 15.0), (0, 4, 0.0), (10, 0, None),
])
def test_average(total, count, expected):
    assert average(total, count) == expected


@pytest.mark.parametrize("plan, days, expected", [
    (None, 20, None),
    ({"calls_per_day": 2, "confirmed_orders_per_day": 1, "sales_per_day": Decimal("1000.00")},
     3, {"calls": 0.6667, "orders": 0.6667, "sales": 0.8302}),
    ({"calls_per_day": None, "confirmed_orders_per_day": 0, "sales_per_day": None}, 3,
     {"calls": None, "orders": None, "sales": None}),
    ({"calls_per_day": 4, "confirmed_orders_per_day": 1, "sales_per_day": Decimal("10")}, 0,
     {"calls": None, "orders": None, "sales": None}),
    ({"calls_per_day": 1, "confirmed_orders_per_day": 1, "sales_per_day": Decimal("830.17")}, 1,
     {"calls": 4.0, "orders": 2.0, "sales": 3.0}),
])
def test_kpi(plan, days, expected):
    assert kpi(plan, days, calls=4, orders=2, sales=Decimal("2490.50")) == expected


@pytest.mark.parametrize("zone, start, end, expected", [
    (MSK, datetime(2026, 10, 31, 21, tzinfo=UTC), datetime(2026, 11, 30, 21, tzinfo=UTC),
     [(datetime(2026, 10, 31, 21, tzinfo=UTC), datetime(2026, 11, 30, 21, tzinfo=UTC), 10800)]),
    (BERLIN, datetime(2026, 2, 28, 23, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC),
     [(datetime(2026, 2, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC), 3600),
      (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC), 7200)]),
    (BERLIN, datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC),
     [(datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC), 3600),
      (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC), 7200),
      (datetime(2026, 10, 25, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC), 3600)]),
    (KOLKATA, datetime(2026, 11, 30, 18, 30, tzinfo=UTC), datetime(2026, 12, 1, 18, 30, tzinfo=UTC),
     [(datetime(2026, 11, 30, 18, 30, tzinfo=UTC), datetime(2026, 12, 1, 18, 30, tzinfo=UTC),
       19800)]),
])
def test_offset_segments_cut_at_clock_changes(zone, start, end, expected):
    assert offset_segments(start, end, zone) == expected
