"""domain/calling_hours.py: weekly calling ranges and holidays in the client's local time, read
from the settings' text.  Table-driven: text -> ranges, local time -> open or not."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from callcenter.config import SettingsError, load_settings
from callcenter.domain.calling_hours import (
    DEFAULT_CALLING_HOURS, CallingHours, parse_calling_hours, parse_holidays,
)

H = 60  # minutes in an hour

PARSED = [
    # text -> the weekly ranges back as text
    ("mon-sun 09:00-21:00", "mon 09:00-21:00; tue 09:00-21:00; wed 09:00-21:00; "
     "thu 09:00-21:00; fri 09:00-21:00; sat 09:00-21:00; sun 09:00-21:00"),
    ("mon-fri 09:00-18:00", "mon 09:00-18:00; tue 09:00-18:00; wed 09:00-18:00; "
     "thu 09:00-18:00; fri 09:00-18:00"),
    ("mon-fri 09:00-21:00; sat 10:00-18:00", "mon 09:00-21:00; tue 09:00-21:00; "
     "wed 09:00-21:00; thu 09:00-21:00; fri 09:00-21:00; sat 10:00-18:00"),
    # a lunch gap
    ("mon 09:00-13:00,14:00-18:00", "mon 09:00-13:00,14:00-18:00"),
    # a span that wraps over the week's end
    ("fri-mon 10:00-12:00", "mon 10:00-12:00; fri 10:00-12:00; sat 10:00-12:00; "
     "sun 10:00-12:00"),
    # a list of days, case and spaces do not matter
    ("  MON, Wed ,fri  08:00 - 09:30 ", "mon 08:00-09:30; wed 08:00-09:30; fri 08:00-09:30"),
    # a range may end at 24:00
    ("sat 22:00-24:00", "sat 22:00-24:00"),
    ("sun 00:00-24:00", "sun 00:00-24:00"),
    # clauses for the same day add up; overlapping and touching ranges merge
    ("mon 09:00-12:00; mon 11:00-13:00; mon 13:00-14:00; mon 16:00-17:00",
     "mon 09:00-14:00,16:00-17:00"),
    ("mon-fri 09:00-18:00; fri 18:00-20:00", "mon 09:00-18:00; tue 09:00-18:00; "
     "wed 09:00-18:00; thu 09:00-18:00; fri 09:00-20:00"),
    # single-digit hours are read
    ("tue 9:00-9:30", "tue 09:00-09:30"),
    # an empty clause is ignored
    ("mon 09:00-10:00;", "mon 09:00-10:00"),
]


@pytest.mark.parametrize("text, described", PARSED)
def test_calling_hours_are_read(text: str, described: str) -> None:
    hours = parse_calling_hours(text)
    assert hours.describe() == described
    assert parse_calling_hours(hours.describe()) == hours


BAD_HOURS = [
    ("", "never open"),
    ("   ", "never open"),
    ("mon", "DAYS HH:MM-HH:MM"),
    ("09:00-21:00", "DAYS HH:MM-HH:MM"),
    ("monday 09:00-21:00", "unknown weekday 'monday'"),
    ("пн 09:00-21:00", "DAYS HH:MM-HH:MM"),
    ("mon-xyz 09:00-21:00", "unknown weekday 'xyz'"),
    ("mon 25:00-26:00", "not a time of day: '25:00'"),
    ("mon 09:60-10:00", "not a time of day"),
    ("mon 24:00-24:00", "not a time of day: '24:00'"),   # 24:00 only ends a range
    ("mon 21:00-09:00", "ends before it starts"),        # crossing midnight
    ("mon 09:00-09:00", "ends before it starts"),        # empty
    ("mon 09:00-", "not HH:MM-HH:MM"),
    ("mon 09:00-10:00,", "not HH:MM-HH:MM"),
    ("mon 9-21", "not HH:MM-HH:MM"),
    ("mon,,tue 09:00-10:00", "empty weekday"),
]


@pytest.mark.parametrize("text, message", BAD_HOURS)
def test_bad_calling_hours_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_calling_hours(text)


HOLIDAYS = [
    ("", set(), set()),
    ("01-01", {(1, 1)}, set()),
    ("01-01,01-02,01-07,05-09", {(1, 1), (1, 2), (1, 7), (5, 9)}, set()),
    (" 02-29 , 2027-03-08 ", {(2, 29)}, {date(2027, 3, 8)}),
    ("2026-12-31,", set(), {date(2026, 12, 31)}),
]


@pytest.mark.parametrize("text, yearly, dated", HOLIDAYS)
def test_holidays_are_read(text: str, yearly: set, dated: set) -> None:
    assert parse_holidays(text) == (frozenset(yearly), frozenset(dated))


@pytest.mark.parametrize("text, message", [
    ("13-01", "not a day of the year"),
    ("02-30", "not a day of the year"),
    ("2027-02-29", "not a date"),
    ("1-1", "MM-DD"),
    ("01/01", "MM-DD"),
    ("xmas", "MM-DD"),
])
def test_bad_holidays_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_holidays(text)
    with pytest.raises(ValueError, match=message):
        parse_calling_hours(DEFAULT_CALLING_HOURS, text)


LUNCH = parse_calling_hours("mon-fri 09:00-13:00,14:00-18:00; sat 10:00-15:00",
                            "01-01,2026-12-31")
# 2026-12-02 is a Wednesday
OPEN = [
    ("2026-12-02 08:59:59", False),
    ("2026-12-02 09:00", True),
    ("2026-12-02 12:59:59", True),
    ("2026-12-02 13:00", False),      # lunch
    ("2026-12-02 13:30", False),
    ("2026-12-02 14:00", True),
    ("2026-12-02 17:59", True),
    ("2026-12-02 18:00", False),      # the end is not part of the range
    ("2026-12-05 09:30", False),      # Saturday opens at 10
    ("2026-12-05 10:00", True),
    ("2026-12-06 12:00", False),      # Sunday: not named, closed
    ("2026-12-31 10:00", False),      # a dated holiday, a Thursday
    ("2027-01-01 10:00", False),      # a yearly holiday, a Friday
    ("2027-01-02 10:00", True),       # a Saturday, not a holiday here
]


@pytest.mark.parametrize("local, expected", OPEN)
def test_is_open_at_local_time(local: str, expected: bool) -> None:
    assert LUNCH.is_open_at(datetime.fromisoformat(local)) is expected


def test_yearly_holidays_repeat_and_dated_ones_do_not() -> None:
    assert LUNCH.is_holiday(date(2028, 1, 1)) and LUNCH.is_holiday(date(2026, 1, 1))
    assert LUNCH.is_holiday(date(2026, 12, 31)) and not LUNCH.is_holiday(date(2027, 12, 31))
    assert LUNCH.ranges_on(date(2027, 12, 31)) == ((9 * H, 13 * H), (14 * H, 18 * H))
    assert LUNCH.ranges_on(date(2026, 12, 31)) == ()


def test_a_range_to_midnight_includes_the_last_minute() -> None:
    hours = parse_calling_hours("mon-sun 20:00-24:00")
    assert hours.is_open_at(datetime(2026, 12, 2, 23, 59, 59))
    assert not hours.is_open_at(datetime(2026, 12, 3, 0, 0))


def test_the_default_is_nine_to_nine_every_day() -> None:
    hours = parse_calling_hours(DEFAULT_CALLING_HOURS)
    assert hours.weekly == (((9 * H, 21 * H),),) * 7
    assert isinstance(hours, CallingHours) and hash(hours) == hash(parse_calling_hours(
        DEFAULT_CALLING_HOURS))


# -- the settings are checked when they are loaded -----------------------------------------

@pytest.mark.parametrize("env, message", [
    ({"CALLCENTER_CALLING_HOURS": "mon 21:00-09:00"}, "calling_hours.*ends before it starts"),
    ({"CALLCENTER_CALLING_HOURS": "weekdays 09:00-18:00"}, "calling_hours.*unknown weekday"),
    ({"CALLCENTER_CALLING_HOURS": ""}, "calling_hours.*never open"),
    ({"CALLCENTER_HOLIDAYS": "31-12"}, "holidays.*not a day of the year"),
    ({"CALLCENTER_REDIAL_LADDER": "5m,soon"}, "redial_ladder.*'soon'"),
    ({"CALLCENTER_REDIAL_LADDER": ""}, "redial_ladder.*no steps"),
    ({"CALLCENTER_NEXT_TASK_ORDER": "redial,urgent"}, "next_task_order.*unknown 'urgent'"),
    ({"CALLCENTER_NEXT_TASK_ORDER": "redial,redial"}, "next_task_order.*twice"),
])
def test_bad_settings_are_refused_at_load_naming_the_setting(env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=env)


def test_good_settings_load_as_text() -> None:
    settings = load_settings(environ={
        "CALLCENTER_CALLING_HOURS": " mon-fri 09:00-13:00,14:00-18:00 ",
        "CALLCENTER_HOLIDAYS": "2027-03-08",
        "CALLCENTER_REDIAL_LADDER": "10m,2h,2d",
        "CALLCENTER_NEXT_TASK_ORDER": "missed_call, callback ,redial",
    })
    assert settings.calling_hours == "mon-fri 09:00-13:00,14:00-18:00"
    assert settings.holidays == "2027-03-08"
    assert settings.redial_ladder == "10m,2h,2d"
    assert settings.next_task_order == "missed_call,callback,redial"
    defaults = load_settings(environ={})
    assert parse_calling_hours(defaults.calling_hours, defaults.holidays).is_holiday(
        date(2027, 5, 9))


def test_the_example_in_the_settings_help_is_valid() -> None:
    import re

    from callcenter.config import SETTINGS_BY_NAME

    example = re.search(r"e\.g\. '([^']+)'", SETTINGS_BY_NAME["calling_hours"].help).group(1)
    assert parse_calling_hours(example).ranges_on(date(2026, 12, 2)) == ((9 * H, 13 * H),
                                                                         (14 * H, 21 * H))
