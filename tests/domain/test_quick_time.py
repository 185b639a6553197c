"""Quick date/time entry: text → UTC instant, at a fixed now, in a client's zone.  Pure."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callcenter.domain.quick_time import (
    EmptyTime, MissingTime, NoSuchClock, NoSuchDate, QuickTimeError, TimeOutOfRange,
    UnknownTimeFormat, local_to_utc, parse_quick_time,
)

MSK = ZoneInfo("Europe/Moscow")
EKB = ZoneInfo("Asia/Yekaterinburg")
VILNIUS = ZoneInfo("Europe/Vilnius")
# Wednesday 2 December 2026, 10:00 in Moscow (07:00 UTC)
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)


def local(text: str, zone: ZoneInfo = MSK, now: datetime = NOW) -> str:
    """The parsed instant as a wall clock in ``zone``: "Thu 2026-12-03 10:00"."""
    at = parse_quick_time(text, now, zone)
    assert at.tzinfo is timezone.utc
    return at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize("text,expected", [
    # offsets: minutes and hours are durations, days keep the wall clock
    ("+30m", "Wed 2026-12-02 10:30"),
    ("+30м", "Wed 2026-12-02 10:30"),
    ("+2h", "Wed 2026-12-02 12:00"),
    ("+2ч", "Wed 2026-12-02 12:00"),
    ("+1d", "Thu 2026-12-03 10:00"),
    ("+1д", "Thu 2026-12-03 10:00"),
    ("+1w", "Wed 2026-12-09 10:00"),
    ("+1h30m", "Wed 2026-12-02 11:30"),
    ("+ 45 мин", "Wed 2026-12-02 10:45"),
    ("через 2 часа", "Wed 2026-12-02 12:00"),
    ("через 30 минут", "Wed 2026-12-02 10:30"),
    ("через час", "Wed 2026-12-02 11:00"),
    ("через полчаса", "Wed 2026-12-02 10:30"),
    ("через 1,5 часа", "Wed 2026-12-02 11:30"),
    ("через 2 часа и 30 минут", "Wed 2026-12-02 12:30"),
    ("через 3 дня", "Sat 2026-12-05 10:00"),
    ("in 2 hours", "Wed 2026-12-02 12:00"),
    ("in 30 min", "Wed 2026-12-02 10:30"),
    ("in an hour", "Wed 2026-12-02 11:00"),
    ("in half an hour", "Wed 2026-12-02 10:30"),
    # a day and a time
    ("завтра 10:00", "Thu 2026-12-03 10:00"),
    ("завтра в 10", "Thu 2026-12-03 10:00"),
    ("завтра в 10 утра", "Thu 2026-12-03 10:00"),
    ("завтра в 3 дня", "Thu 2026-12-03 15:00"),
    ("завтра 7 вечера", "Thu 2026-12-03 19:00"),
    ("послезавтра 9:30", "Fri 2026-12-04 09:30"),
    ("сегодня 18:30", "Wed 2026-12-02 18:30"),
    ("tomorrow 10am", "Thu 2026-12-03 10:00"),
    ("tomorrow 3:30pm", "Thu 2026-12-03 15:30"),
    ("tomorrow at 12pm", "Thu 2026-12-03 12:00"),
    ("tomorrow 12am", "Thu 2026-12-03 00:00"),
    ("day after tomorrow 9:30", "Fri 2026-12-04 09:30"),
    ("10 a.m. tomorrow", "Thu 2026-12-03 10:00"),
    ("today 18:00", "Wed 2026-12-02 18:00"),
    ("10:00 завтра", "Thu 2026-12-03 10:00"),
    # weekdays: the next such day, today only while the time is ahead (now: Wed 10:00)
    ("пн 15", "Mon 2026-12-07 15:00"),
    ("вт 10:30", "Tue 2026-12-08 10:30"),
    ("в пятницу 11", "Fri 2026-12-04 11:00"),
    ("во вторник в 10:30", "Tue 2026-12-08 10:30"),
    ("11 в пятницу", "Fri 2026-12-04 11:00"),
    ("mon 15", "Mon 2026-12-07 15:00"),
    ("friday 11am", "Fri 2026-12-04 11:00"),
    ("on friday at 11am", "Fri 2026-12-04 11:00"),
    ("ср 11", "Wed 2026-12-02 11:00"),
    ("ср 10", "Wed 2026-12-09 10:00"),
    ("wednesday 9", "Wed 2026-12-09 09:00"),
    ("среду 12:15", "Wed 2026-12-02 12:15"),
    ("сб 12", "Sat 2026-12-05 12:00"),
    ("вс. 12", "Sun 2026-12-06 12:00"),
    # a time alone: today if still ahead, else tomorrow
    ("15:00", "Wed 2026-12-02 15:00"),
    ("15", "Wed 2026-12-02 15:00"),
    ("в 15", "Wed 2026-12-02 15:00"),
    ("10", "Thu 2026-12-03 10:00"),
    ("9:59", "Thu 2026-12-03 09:59"),
    ("10:01", "Wed 2026-12-02 10:01"),
    ("3pm", "Wed 2026-12-02 15:00"),
    ("в 15 часов", "Wed 2026-12-02 15:00"),
    ("полдень", "Wed 2026-12-02 12:00"),
    ("12 ночи", "Thu 2026-12-03 00:00"),
    # dates
    ("10.12 14:00", "Thu 2026-12-10 14:00"),
    ("10.12.2026 14:00", "Thu 2026-12-10 14:00"),
    ("10.12.26 14:00", "Thu 2026-12-10 14:00"),
    ("2026-12-10 14:00", "Thu 2026-12-10 14:00"),
    ("2026-12-10 9:30", "Thu 2026-12-10 09:30"),
    ("10 декабря 14:00", "Thu 2026-12-10 14:00"),
    ("10 декабря 2027 в 14:00", "Fri 2027-12-10 14:00"),
    ("dec 10 2pm", "Thu 2026-12-10 14:00"),
    ("10 Dec 14:00", "Thu 2026-12-10 14:00"),
    ("14:00 10.12", "Thu 2026-12-10 14:00"),
    # a day and month without a year that has passed is next year's
    ("1.12 10:00", "Wed 2027-12-01 10:00"),
    ("02.12 10:00", "Thu 2027-12-02 10:00"),
    ("02.12 10:01", "Wed 2026-12-02 10:01"),
    # sometimes the past is what was asked for: today's and full dates are kept
    ("сегодня 8:00", "Wed 2026-12-02 08:00"),
    ("01.12.2026 10:00", "Tue 2026-12-01 10:00"),
    # any case, ё = е, extra spaces, punctuation at the ends
    ("ЗАВТРА   10:00", "Thu 2026-12-03 10:00"),
    ("  Через  Час ", "Wed 2026-12-02 11:00"),
    ("Завтра, в 10.", "Thu 2026-12-03 10:00"),
    ("TOMORROW 10AM", "Thu 2026-12-03 10:00"),
    ("через 2 часа\u00a0", "Wed 2026-12-02 12:00"),
    ("10 сентября 10:00", "Fri 2027-09-10 10:00"),
])
def test_quick_forms_in_moscow(text, expected):
    assert local(text) == expected


@pytest.mark.parametrize("text,utc", [
    ("2026-12-10T14:00+03:00", "2026-12-10T11:00:00+00:00"),
    ("2026-12-10T14:00:00+05:00", "2026-12-10T09:00:00+00:00"),
    ("2026-12-10t14:00z", "2026-12-10T14:00:00+00:00"),
    ("2026-12-10T14:00-0230", "2026-12-10T16:30:00+00:00"),
    ("2026-12-10T14:00:00.250+03", "2026-12-10T11:00:00+00:00"),
])
def test_iso_with_an_offset_is_that_instant_whatever_the_zone(text, utc):
    for zone in (MSK, EKB, ZoneInfo("America/New_York")):
        assert parse_quick_time(text, NOW, zone).isoformat() == utc


def test_local_times_are_in_the_given_zone():
    # Yekaterinburg is UTC+5: 10:00 there is 05:00 UTC, and it is already 12:00 there
    assert parse_quick_time("завтра 10:00", NOW, EKB) == datetime(2026, 12, 3, 5, 0,
                                                                  tzinfo=timezone.utc)
    assert local("11", EKB) == "Thu 2026-12-03 11:00"
    assert local("13", EKB) == "Wed 2026-12-02 13:00"
    # "today" is the client's day: at 20:30 UTC it is 23:30 in Moscow, 06:30 next day in
    # Vladivostok
    late = datetime(2026, 12, 2, 20, 30, tzinfo=timezone.utc)
    assert local("сегодня 10:00", ZoneInfo("Asia/Vladivostok"), late) == "Thu 2026-12-03 10:00"
    assert local("сегодня 10:00", MSK, late) == "Wed 2026-12-02 10:00"


def test_offsets_count_from_the_current_minute():
    now = NOW + timedelta(seconds=41, microseconds=5)
    assert parse_quick_time("+30m", now, MSK) == NOW + timedelta(minutes=30)


def test_a_midnight_crossing():
    evening = datetime(2026, 12, 2, 20, 30, tzinfo=timezone.utc)  # 23:30 in Moscow
    assert local("+1h", MSK, evening) == "Thu 2026-12-03 00:30"
    assert local("завтра 10:00", MSK, evening) == "Thu 2026-12-03 10:00"
    assert local("9", MSK, evening) == "Thu 2026-12-03 09:00"


# Vilnius: clocks go forward 29 March 2026 03:00 → 04:00, back 25 October 2026 04:00 → 03:00
@pytest.mark.parametrize("now,text,utc", [
    # a local time in the gap moves forward by the gap: 03:30 → 04:30 EEST = 01:30 UTC
    (datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc), "завтра 3:30", "2026-03-29T01:30:00+00:00"),
    (datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc), "29.03 03:00", "2026-03-29T01:00:00+00:00"),
    # just before and after the gap
    (datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc), "завтра 2:59", "2026-03-29T00:59:00+00:00"),
    (datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc), "завтра 4:00", "2026-03-29T01:00:00+00:00"),
    # a doubled local time is the first of the two (03:30 EEST = 00:30 UTC, not 01:30)
    (datetime(2026, 10, 24, 9, 0, tzinfo=timezone.utc), "завтра 3:30", "2026-10-25T00:30:00+00:00"),
    # "+1d" keeps the wall clock across the switch: 23 hours of real time in spring
    (datetime(2026, 3, 28, 8, 0, tzinfo=timezone.utc), "+1d", "2026-03-29T07:00:00+00:00"),
    (datetime(2026, 10, 24, 7, 0, tzinfo=timezone.utc), "+1d", "2026-10-25T08:00:00+00:00"),
    # hours stay real hours: 02:30 + 1h is 04:30 local on the switch night
    (datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), "+1h", "2026-03-29T01:30:00+00:00"),
])
def test_dst_switch_in_vilnius(now, text, utc):
    assert parse_quick_time(text, now, VILNIUS).isoformat() == utc


def test_local_to_utc_rule():
    gap = datetime(2026, 3, 29, 3, 15)
    assert local_to_utc(gap, VILNIUS) == datetime(2026, 3, 29, 1, 15, tzinfo=timezone.utc)
    doubled = datetime(2026, 10, 25, 3, 15)
    assert local_to_utc(doubled, VILNIUS) == datetime(2026, 10, 25, 0, 15, tzinfo=timezone.utc)
    # New York skips 02:00-03:00 on 8 March 2026: 02:30 reads as 03:30 EDT = 07:30 UTC
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), ZoneInfo("America/New_York")) == \
        datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("zone", ["Europe/Vilnius", "Europe/Kyiv", "America/New_York",
                                  "Europe/Moscow", "Australia/Lord_Howe"])
def test_local_times_resolve_as_the_redial_rules_do(zone):
    from callcenter.domain import redial

    start = datetime(2026, 1, 1)
    for step in range(0, 365 * 24 * 4, 7):  # every 1 h 45 min through the year
        naive = start + timedelta(minutes=15 * step)
        assert local_to_utc(naive, ZoneInfo(zone)) == redial.local_to_utc(naive, zone), naive


@pytest.mark.parametrize("text,error", [
    ("", EmptyTime),
    ("   ", EmptyTime),
    ("завтра", MissingTime),
    ("в пятницу", MissingTime),
    ("10.12", MissingTime),
    ("10 декабря", MissingTime),
    ("25:00", NoSuchClock),
    ("10:75", NoSuchClock),
    ("13pm", NoSuchClock),
    ("0am", NoSuchClock),
    ("завтра 24:00", NoSuchClock),
    ("31.02 10:00", NoSuchDate),
    ("31.02.2027 10:00", NoSuchDate),
    ("2026-13-01 10:00", NoSuchDate),
    ("2026-02-30T10:00+03:00", NoSuchDate),
    ("0000-01-01 10:00", NoSuchDate),
    ("2026-12-10T14:00+25:00", NoSuchClock),
    ("+99999999d", TimeOutOfRange),
    ("+5000d", TimeOutOfRange),
    ("31.12.9999 23:59", TimeOutOfRange),
    ("01.01.0001 00:00", TimeOutOfRange),
    ("abc", UnknownTimeFormat),
    ("+15", UnknownTimeFormat),
    ("+", UnknownTimeFormat),
    ("через", UnknownTimeFormat),
    ("через 2 попугая", UnknownTimeFormat),
    ("+1.5d", UnknownTimeFormat),
    ("завтра завтра 10", UnknownTimeFormat),
    ("next friday 10", UnknownTimeFormat),
    ("x" * 101, UnknownTimeFormat),
    ("...", UnknownTimeFormat),
])
def test_unreadable_texts_raise_a_named_error(text, error):
    with pytest.raises(error) as info:
        parse_quick_time(text, NOW, MSK)
    assert isinstance(info.value, QuickTimeError) and isinstance(info.value, ValueError)
    assert info.value.reason and str(info.value)


def test_reasons_are_distinct_machine_codes():
    classes = [EmptyTime, UnknownTimeFormat, MissingTime, NoSuchDate, NoSuchClock,
               TimeOutOfRange]
    assert len({c.reason for c in classes}) == len(classes)


WORDS = st.sampled_from([
    "+", "через", "in", "завтра", "tomorrow", "сегодня", "пн", "friday", "в", "at", "10",
    "10:30", "3pm", "утра", "дня", "ч", "час", "h", "m", "д", "10.12", "2026-12-10", "t",
    "14:00+03:00", "декабря", "dec", "2026", "и", "полчаса", ",", ".", "0", "99", "29.02",
    "31.12.9999", "1,5", "-", "z", "12am", "noon", "9999999",
])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40),
                 st.lists(WORDS, max_size=6).map(" ".join),
                 st.lists(WORDS, max_size=6).map("".join)),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.just(timezone.utc)),
       st.sampled_from([MSK, EKB, VILNIUS, ZoneInfo("Asia/Kamchatka"),
                        ZoneInfo("America/New_York"), ZoneInfo("UTC")]))
@example("31.12.9999 23:59", datetime(2089, 12, 31, tzinfo=timezone.utc), MSK)
@example("+9999999m", NOW, MSK)
def test_no_text_raises_anything_but_its_own_error(text, now, zone):
    try:
        at = parse_quick_time(text, now, zone)
    except QuickTimeError:
        return
    assert at.tzinfo is timezone.utc
    assert abs(at - now) <= timedelta(days=3661)
