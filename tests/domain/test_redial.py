"""domain/redial.py: the redial ladder and calling windows in the client's time zone.

Table-driven: (zone, failed at in the client's local time, failures, hours, ladder) -> the next
attempt in the client's local time.  2026-12-02 is a Wednesday; Europe/Vilnius and Europe/Kyiv
switch to summer time on 2027-03-28 (03:00 -> 04:00) and back on 2026-10-25 (04:00 -> 03:00).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings, strategies as st

from callcenter.domain.calling_hours import parse_calling_hours
from callcenter.domain.client_zone import RUSSIAN_ZONES, ClientZone, resolve_client_zone
from callcenter.domain.redial import (
    DEFAULT_LADDER, SEARCH_DAYS, Ladder, NoCallingWindow, Retry, Step, Window, is_open,
    local_to_utc, local_view, next_retry, parse_ladder, window_for,
)

UTC = timezone.utc
DEFAULT_HOURS = "mon-sun 09:00-21:00"
HOLIDAYS = "01-01,01-02,01-07,05-09"
ROUND_THE_CLOCK = "mon-sun 00:00-24:00"
WEEKDAYS_ONLY = "mon-fri 09:00-18:00"
MOBILE = resolve_client_zone(None, None, None, "+79161234567", fallback=("Europe/Moscow",))


def zone_of(name: str) -> ClientZone:
    return ClientZone((name,), "client")


def local(text: str, zone: str) -> datetime:
    """A local wall-clock time, resolved as the domain does (fold=0)."""
    return local_to_utc(datetime.fromisoformat(text), zone)


def as_local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


# short names for the table
STD, ALL_DAY, WEEKDAYS, LAD = DEFAULT_HOURS, ROUND_THE_CLOCK, WEEKDAYS_ONLY, DEFAULT_LADDER

LADDER_ROWS = [
    # (zone, failed at local, failures, hours, ladder, next attempt local with offset)
    # Moscow, default hours and ladder
    ("Europe/Moscow", "2026-12-02 12:00", 1, STD, LAD, "2026-12-02T12:05+03:00"),
    ("Europe/Moscow", "2026-12-02 12:00", 2, STD, LAD, "2026-12-02T12:30+03:00"),
    ("Europe/Moscow", "2026-12-02 12:00", 3, STD, LAD, "2026-12-02T15:00+03:00"),
    ("Europe/Moscow", "2026-12-02 12:00", 4, STD, LAD, "2026-12-03T12:00+03:00"),
    # closed hours do not count: 10 min today, 20 min after the next opening
    ("Europe/Moscow", "2026-12-02 20:50", 2, STD, LAD, "2026-12-03T09:20+03:00"),
    ("Europe/Moscow", "2026-12-02 20:00", 3, STD, LAD, "2026-12-03T11:00+03:00"),
    # used up exactly at closing time: the next opening
    ("Europe/Moscow", "2026-12-02 20:55", 1, STD, LAD, "2026-12-03T09:00+03:00"),
    ("Europe/Moscow", "2026-12-02 20:54", 1, STD, LAD, "2026-12-02T20:59+03:00"),
    # a night call (failed at 23:40): the delay counts from the next opening
    ("Europe/Moscow", "2026-12-02 23:40", 1, STD, LAD, "2026-12-03T09:05+03:00"),
    ("Europe/Moscow", "2026-12-02 23:40", 3, STD, LAD, "2026-12-03T12:00+03:00"),
    ("Europe/Moscow", "2026-12-03 06:10", 2, STD, LAD, "2026-12-03T09:30+03:00"),
    # a midnight crossing
    ("Europe/Moscow", "2026-12-02 23:50", 2, STD, LAD, "2026-12-03T09:30+03:00"),
    ("Europe/Moscow", "2026-12-02 23:50", 2, ALL_DAY, LAD, "2026-12-03T00:20+03:00"),
    ("Europe/Moscow", "2026-12-02 22:30", 3, ALL_DAY, LAD, "2026-12-03T01:30+03:00"),
    ("Europe/Moscow", "2026-12-02 23:30", 2, "mon-sun 20:00-24:00; mon-sun 00:00-01:00",
     DEFAULT_LADDER, "2026-12-03T00:00+03:00"),
    ("Europe/Moscow", "2026-12-02 23:50", 2, "mon-sun 20:00-24:00; mon-sun 00:00-01:00",
     DEFAULT_LADDER, "2026-12-03T00:20+03:00"),
    # d: the same wall-clock time, moved into the window when outside
    ("Europe/Moscow", "2026-12-02 20:30", 4, STD, LAD, "2026-12-03T20:30+03:00"),
    ("Europe/Moscow", "2026-12-02 07:00", 4, STD, LAD, "2026-12-03T09:00+03:00"),
    ("Europe/Moscow", "2026-12-02 21:30", 4, STD, LAD, "2026-12-04T09:00+03:00"),
    ("Europe/Moscow", "2026-12-02 23:40", 4, STD, LAD, "2026-12-04T09:00+03:00"),
    # Yekaterinburg (+5)
    ("Asia/Yekaterinburg", "2026-12-02 14:00", 3, STD, LAD, "2026-12-02T17:00+05:00"),
    ("Asia/Yekaterinburg", "2026-12-02 20:50", 2, STD, LAD, "2026-12-03T09:20+05:00"),
    ("Asia/Yekaterinburg", "2026-12-02 08:00", 1, STD, LAD, "2026-12-02T09:05+05:00"),
    # Vladivostok (+10)
    ("Asia/Vladivostok", "2026-12-02 20:00", 3, STD, LAD, "2026-12-03T11:00+10:00"),
    ("Asia/Vladivostok", "2026-12-02 08:30", 1, STD, LAD, "2026-12-02T09:05+10:00"),
    ("Asia/Vladivostok", "2026-12-02 23:40", 2, STD, LAD, "2026-12-03T09:30+10:00"),
    # Kaliningrad (+2)
    ("Europe/Kaliningrad", "2026-12-02 20:50", 2, STD, LAD, "2026-12-03T09:20+02:00"),
    ("Europe/Kaliningrad", "2026-12-02 18:30", 3, STD, LAD, "2026-12-03T09:30+02:00"),
    # Kyiv: the night of the spring switch; 30 min Saturday, 2 h 30 min Sunday in summer time
    ("Europe/Kyiv", "2027-03-27 20:30", 3, STD, LAD, "2027-03-28T11:30+03:00"),
    ("Europe/Kyiv", "2027-03-27 20:50", 2, STD, LAD, "2027-03-28T09:20+03:00"),
    # 1 day over the switch keeps the wall clock (23 h spring, 25 h autumn)
    ("Europe/Kyiv", "2027-03-27 12:00", 4, STD, LAD, "2027-03-28T12:00+03:00"),
    ("Europe/Kyiv", "2026-10-24 12:00", 4, STD, LAD, "2026-10-25T12:00+02:00"),
    ("Europe/Kyiv", "2026-12-02 12:00", 2, STD, LAD, "2026-12-02T12:30+02:00"),
    # Vilnius, the DST switch days
    ("Europe/Vilnius", "2027-03-27 20:50", 2, STD, LAD, "2027-03-28T09:20+03:00"),
    ("Europe/Vilnius", "2026-10-24 20:50", 2, STD, LAD, "2026-10-25T09:20+02:00"),
    ("Europe/Vilnius", "2026-10-24 20:00", 3, STD, LAD, "2026-10-25T11:00+02:00"),
    # a 1-day step landing in the spring gap: 03:30 does not exist, 04:30 summer time
    ("Europe/Vilnius", "2027-03-27 03:30", 4, ALL_DAY, LAD, "2027-03-28T04:30+03:00"),
    # ... landing in the doubled hour: the first 03:30 (summer time)
    ("Europe/Vilnius", "2026-10-24 03:30", 4, ALL_DAY, LAD, "2026-10-25T03:30+03:00"),
    # ... with default hours both are moved to the opening
    ("Europe/Vilnius", "2027-03-27 03:30", 4, STD, LAD, "2027-03-28T09:00+03:00"),
    ("Europe/Vilnius", "2026-10-24 03:30", 4, STD, LAD, "2026-10-25T09:00+02:00"),
    # minutes and hours are absolute, also over the switch
    ("Europe/Vilnius", "2027-03-28 02:58", 1, ALL_DAY, LAD, "2027-03-28T04:03+03:00"),
    ("Europe/Vilnius", "2027-03-28 01:00", 3, ALL_DAY, LAD, "2027-03-28T05:00+03:00"),
    ("Europe/Vilnius", "2026-10-25 03:58", 1, ALL_DAY, LAD, "2026-10-25T03:03+02:00"),
    ("Europe/Vilnius", "2026-10-25 01:00", 3, ALL_DAY, LAD, "2026-10-25T03:00+02:00"),
    # a Friday evening before a weekend (2026-12-04 is a Friday)
    ("Europe/Moscow", "2026-12-04 17:50", 2, WEEKDAYS, LAD, "2026-12-07T09:20+03:00"),
    ("Europe/Moscow", "2026-12-04 17:00", 3, WEEKDAYS, LAD, "2026-12-07T11:00+03:00"),
    ("Europe/Moscow", "2026-12-04 17:00", 4, WEEKDAYS, LAD, "2026-12-07T09:00+03:00"),
    ("Europe/Moscow", "2026-12-04 17:54", 1, WEEKDAYS, LAD, "2026-12-04T17:59+03:00"),
    ("Europe/Moscow", "2026-12-05 12:00", 1, WEEKDAYS, LAD, "2026-12-07T09:05+03:00"),
    ("Asia/Vladivostok", "2026-12-04 17:50", 2, WEEKDAYS, LAD, "2026-12-07T09:20+10:00"),
    # a lunch gap does not count either
    ("Europe/Moscow", "2026-12-02 12:50", 2, "mon-fri 09:00-13:00,14:00-18:00", DEFAULT_LADDER,
     "2026-12-02T14:20+03:00"),
    # holidays: 1 and 2 January are closed
    ("Europe/Moscow", "2026-12-31 20:50", 2, STD, LAD, "2027-01-03T09:20+03:00"),
    ("Europe/Moscow", "2026-12-31 12:00", 4, STD, LAD, "2027-01-03T09:00+03:00"),
    ("Europe/Moscow", "2027-05-08 20:30", 3, STD, LAD, "2027-05-10T11:30+03:00"),
    # a custom ladder
    ("Europe/Moscow", "2026-12-02 12:00", 1, STD, "10m,2h,2d", "2026-12-02T12:10+03:00"),
    ("Europe/Moscow", "2026-12-02 20:00", 2, STD, "10m,2h,2d", "2026-12-03T10:00+03:00"),
    ("Europe/Moscow", "2026-12-02 12:00", 3, STD, "10m,2h,2d", "2026-12-04T12:00+03:00"),
    ("Europe/Moscow", "2026-12-02 12:00", 1, STD, "90m", "2026-12-02T13:30+03:00"),
    # 24 h of open time is 9 h today, 12 h tomorrow and 3 h the day after, not one calendar day
    ("Europe/Moscow", "2026-12-02 12:00", 2, STD, "1h,24h", "2026-12-04T12:00+03:00"),
    ("Europe/Moscow", "2026-12-02 09:00", 2, STD, "1h,24h", "2026-12-04T09:00+03:00"),
]


@pytest.mark.parametrize("zone, failed, failures, hours, ladder, expected", LADDER_ROWS)
def test_the_next_attempt_in_the_clients_time(zone: str, failed: str, failures: int, hours: str,
                                              ladder: str, expected: str) -> None:
    retry = next_retry(local(failed, zone), failures, zone_of(zone),
                       parse_calling_hours(hours, HOLIDAYS), parse_ladder(ladder))
    assert not retry.archive
    assert as_local(retry.due_at, zone) == expected
    assert retry.due_at in retry.window and retry.due_at.tzinfo is not None


UNKNOWN_ROWS = [
    # a +7 9xx mobile: calling window 07:00-09:00 UTC (09:00 Kamchatka .. 21:00 Kaliningrad)
    ("2026-12-02T06:00Z", 1, DEFAULT_HOURS, "2026-12-02T07:05+00:00"),
    ("2026-12-02T07:30Z", 1, DEFAULT_HOURS, "2026-12-02T07:35+00:00"),
    ("2026-12-02T08:50Z", 2, DEFAULT_HOURS, "2026-12-03T07:20+00:00"),
    # 1 h today, the next day's 2 h are all used up at its closing: the opening after
    ("2026-12-02T08:00Z", 3, DEFAULT_HOURS, "2026-12-04T07:00+00:00"),
    ("2026-12-02T12:00Z", 1, DEFAULT_HOURS, "2026-12-03T07:05+00:00"),
    ("2026-12-02T07:30Z", 4, DEFAULT_HOURS, "2026-12-03T07:30+00:00"),
    ("2026-12-02T12:00Z", 4, DEFAULT_HOURS, "2026-12-04T07:00+00:00"),
    # wider hours, wider intersection: 08:00-22:00 is 20:00-10:00 UTC in Kamchatka and
    # 06:00-20:00 UTC in Kaliningrad, so 06:00-10:00 UTC
    ("2026-12-02T05:00Z", 1, "mon-sun 08:00-22:00", "2026-12-02T06:05+00:00"),
    ("2026-12-02T09:58Z", 1, "mon-sun 08:00-22:00", "2026-12-03T06:03+00:00"),
    ("2026-12-02T19:00Z", 1, "mon-sun 08:00-22:00", "2026-12-03T06:05+00:00"),
]


@pytest.mark.parametrize("failed, failures, hours, expected", UNKNOWN_ROWS)
def test_an_unknown_zone_uses_the_intersection_of_the_candidates(
        failed: str, failures: int, hours: str, expected: str) -> None:
    retry = next_retry(datetime.fromisoformat(failed), failures, MOBILE,
                       parse_calling_hours(hours, HOLIDAYS), parse_ladder(DEFAULT_LADDER))
    assert retry.due_at.isoformat(timespec="minutes") == expected


def test_the_mobile_window_is_seven_to_nine_utc() -> None:
    hours = parse_calling_hours(DEFAULT_HOURS, HOLIDAYS)
    assert len(MOBILE.zones) == 11 and not MOBILE.known
    window = window_for(datetime(2026, 12, 2, 12, tzinfo=UTC), MOBILE, hours)
    assert window == Window(datetime(2026, 12, 3, 7, tzinfo=UTC), datetime(2026, 12, 3, 9, tzinfo=UTC))
    window = window_for(datetime(2026, 12, 2, 8, tzinfo=UTC), MOBILE, hours)
    assert window == Window(datetime(2026, 12, 2, 7, tzinfo=UTC), datetime(2026, 12, 2, 9, tzinfo=UTC))


@pytest.mark.parametrize("phone, zone", [("+73431234567", "Asia/Yekaterinburg"),
                                         ("+74232123456", "Asia/Vladivostok")])
def test_a_fixed_line_number_has_one_zone(phone: str, zone: str) -> None:
    client = resolve_client_zone(None, None, None, phone, fallback=("Europe/Moscow",))
    assert client.known and client.zones == (zone,)
    retry = next_retry(local("2026-12-02 20:50", zone), 2, client,
                       parse_calling_hours(DEFAULT_HOURS), parse_ladder(DEFAULT_LADDER))
    assert as_local(retry.due_at, zone)[:16] == "2026-12-03T09:20"


WINDOWS = [
    # (zone, at local, hours, opens local, closes local)
    ("Europe/Moscow", "2026-12-02 12:00", DEFAULT_HOURS, "2026-12-02T09:00+03:00", "2026-12-02T21:00+03:00"),
    ("Europe/Moscow", "2026-12-02 09:00", DEFAULT_HOURS, "2026-12-02T09:00+03:00", "2026-12-02T21:00+03:00"),
    ("Europe/Moscow", "2026-12-02 21:00", DEFAULT_HOURS, "2026-12-03T09:00+03:00", "2026-12-03T21:00+03:00"),
    ("Europe/Moscow", "2026-12-02 03:00", DEFAULT_HOURS, "2026-12-02T09:00+03:00", "2026-12-02T21:00+03:00"),
    ("Europe/Moscow", "2026-12-04 19:00", WEEKDAYS_ONLY, "2026-12-07T09:00+03:00", "2026-12-07T18:00+03:00"),
    ("Europe/Moscow", "2026-12-31 22:00", DEFAULT_HOURS, "2027-01-03T09:00+03:00", "2027-01-03T21:00+03:00"),
    ("Asia/Kamchatka", "2026-12-02 12:00", DEFAULT_HOURS, "2026-12-02T09:00+12:00", "2026-12-02T21:00+12:00"),
    # touching ranges over midnight are one window
    ("Europe/Moscow", "2026-12-02 23:00", "mon-sun 20:00-24:00; mon-sun 00:00-01:00",
     "2026-12-02T20:00+03:00", "2026-12-03T01:00+03:00"),
    ("Europe/Moscow", "2026-12-03 00:30", "mon-sun 20:00-24:00; mon-sun 00:00-01:00",
     "2026-12-02T20:00+03:00", "2026-12-03T01:00+03:00"),
    # a window opening in the spring gap opens right after it, 03:30 -> 04:30 summer time
    ("Europe/Vilnius", "2027-03-28 00:00", "mon-sun 03:30-05:00", "2027-03-28T04:30+03:00", "2027-03-28T05:00+03:00"),
    # ... in the doubled hour, at its first occurrence (2 h 30 min long that night)
    ("Europe/Vilnius", "2026-10-25 00:00", "mon-sun 03:30-05:00", "2026-10-25T03:30+03:00", "2026-10-25T05:00+02:00"),
    ("Europe/Vilnius", "2027-03-28 08:00", DEFAULT_HOURS, "2027-03-28T09:00+03:00", "2027-03-28T21:00+03:00"),
    ("Europe/Vilnius", "2026-10-25 08:00", DEFAULT_HOURS, "2026-10-25T09:00+02:00", "2026-10-25T21:00+02:00"),
]


@pytest.mark.parametrize("zone, at, hours, opens, closes", WINDOWS)
def test_calling_windows(zone: str, at: str, hours: str, opens: str, closes: str) -> None:
    window = window_for(local(at, zone), zone_of(zone), parse_calling_hours(hours, HOLIDAYS))
    assert (as_local(window.opens_at, zone), as_local(window.closes_at, zone)) == (opens, closes)


def test_candidates_without_a_common_hour_on_a_day_take_the_next_day_with_one() -> None:
    # in UTC: Moscow is open Mon 06-07, Tue 06-07 and 12-15; Vladivostok Sun 23-24, Mon 23-24
    # and Tue 05-08.  Nothing in common on Monday; Tuesday 06-07 UTC (09-10 Moscow)
    hours = parse_calling_hours("mon-tue 09:00-10:00; tue 15:00-18:00")
    both = ClientZone(("Europe/Moscow", "Asia/Vladivostok"), "phone")
    window = window_for(local("2026-12-07 00:00", "Europe/Moscow"), both, hours)
    assert as_local(window.opens_at, "Europe/Moscow") == "2026-12-08T09:00+03:00"
    assert as_local(window.closes_at, "Europe/Moscow") == "2026-12-08T10:00+03:00"


def test_candidates_that_never_share_an_hour_are_a_clear_error() -> None:
    hours = parse_calling_hours(WEEKDAYS_ONLY)
    far = ClientZone(("Europe/Kaliningrad", "Asia/Kamchatka"), "phone")
    with pytest.raises(NoCallingWindow, match="no calling window within 14 days"):
        window_for(datetime(2026, 12, 2, tzinfo=UTC), far, hours)
    with pytest.raises(NoCallingWindow):
        next_retry(datetime(2026, 12, 2, tzinfo=UTC), 1, far, hours, parse_ladder("5m"))
    assert not is_open(datetime(2026, 12, 2, 8, tzinfo=UTC), far, hours)


def test_a_holiday_closes_the_day_for_every_candidate() -> None:
    hours = parse_calling_hours(DEFAULT_HOURS, "2026-12-03")
    both = ClientZone(("Europe/Moscow", "Asia/Yekaterinburg"), "phone")
    # Moscow 09-19 = Yekaterinburg 11-21 is the common part; the 3rd is a holiday in both
    window = window_for(local("2026-12-02 20:00", "Europe/Moscow"), both, hours)
    assert as_local(window.opens_at, "Europe/Moscow") == "2026-12-04T09:00+03:00"
    assert as_local(window.closes_at, "Europe/Moscow") == "2026-12-04T19:00+03:00"


@pytest.mark.parametrize("failures, archive", [(1, False), (4, False), (5, True), (6, True)])
def test_the_fifth_failure_archives(failures: int, archive: bool) -> None:
    retry = next_retry(datetime(2026, 12, 2, 9, tzinfo=UTC), failures, zone_of("Europe/Moscow"),
                       parse_calling_hours(DEFAULT_HOURS), parse_ladder(DEFAULT_LADDER))
    assert retry.archive is archive
    if archive:
        assert retry == Retry(True, None, None)


def test_a_custom_ladder_archives_after_its_last_step() -> None:
    hours, zone = parse_calling_hours(DEFAULT_HOURS), zone_of("Europe/Moscow")
    at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert not next_retry(at, 3, zone, hours, parse_ladder("10m,2h,2d")).archive
    assert next_retry(at, 4, zone, hours, parse_ladder("10m,2h,2d")).archive
    assert next_retry(at, 2, zone, hours, parse_ladder("1m")).archive


def test_failures_start_at_one_and_times_are_aware() -> None:
    hours, zone, ladder = parse_calling_hours(DEFAULT_HOURS), zone_of("Europe/Moscow"), \
        parse_ladder(DEFAULT_LADDER)
    with pytest.raises(ValueError, match="1 or more"):
        next_retry(datetime(2026, 12, 2, 9, tzinfo=UTC), 0, zone, hours, ladder)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_retry(datetime(2026, 12, 2, 9), 1, zone, hours, ladder)
    with pytest.raises(ValueError, match="timezone-aware"):
        window_for(datetime(2026, 12, 2, 9), zone, hours)


LADDERS = [
    ("5m,30m,3h,1d", (Step(5, "m"), Step(30, "m"), Step(3, "h"), Step(1, "d"))),
    (" 5m , 30m ,3h, 1d ", (Step(5, "m"), Step(30, "m"), Step(3, "h"), Step(1, "d"))),
    ("10min,2H,2d", (Step(10, "m"), Step(2, "h"), Step(2, "d"))),
    ("1d", (Step(1, "d"),)),
]


@pytest.mark.parametrize("text, steps", LADDERS)
def test_ladders_are_read(text: str, steps: tuple) -> None:
    ladder = parse_ladder(text)
    assert ladder == Ladder(steps)
    assert parse_ladder(str(ladder)) == ladder


@pytest.mark.parametrize("text, message", [
    ("", "no steps"), (" , ", "no steps"), ("5", "'5'"), ("5s", "'5s'"), ("0m", "'0m'"),
    ("-5m", "'-5m'"), ("1.5h", "'1.5h'"), ("soon", "'soon'"), ("5m,,1x", "'1x'"),
])
def test_bad_ladders_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ladder(text)


LOCAL_TO_UTC = [
    ("2026-12-02 12:00", "Europe/Moscow", "2026-12-02T09:00+00:00"),
    # the spring gap in Vilnius (03:00-04:00 does not exist): moved forward by the gap
    ("2027-03-28 02:59", "Europe/Vilnius", "2027-03-28T00:59+00:00"),
    ("2027-03-28 03:00", "Europe/Vilnius", "2027-03-28T01:00+00:00"),
    ("2027-03-28 03:30", "Europe/Vilnius", "2027-03-28T01:30+00:00"),   # = 04:30 summer time
    ("2027-03-28 04:00", "Europe/Vilnius", "2027-03-28T01:00+00:00"),
    # the doubled hour in Vilnius (03:00-04:00 twice): the first occurrence, summer time
    ("2026-10-25 03:00", "Europe/Vilnius", "2026-10-25T00:00+00:00"),
    ("2026-10-25 03:30", "Europe/Vilnius", "2026-10-25T00:30+00:00"),
    ("2026-10-25 04:00", "Europe/Vilnius", "2026-10-25T02:00+00:00"),
    ("2027-03-28 03:30", "Europe/Kyiv", "2027-03-28T01:30+00:00"),
    ("2026-10-25 03:30", "Europe/Kyiv", "2026-10-25T00:30+00:00"),
]


@pytest.mark.parametrize("text, zone, expected", LOCAL_TO_UTC)
def test_local_times_at_dst_switches_resolve_explicitly(text: str, zone: str, expected: str) -> None:
    assert local_to_utc(datetime.fromisoformat(text), zone).isoformat(timespec="minutes") == expected


def test_local_view_shows_the_clients_time() -> None:
    at = datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert local_view(at, "Asia/Yekaterinburg") == {
        "zone": "Asia/Yekaterinburg", "local": "2026-12-02T14:00:00+05:00", "known": True,
        "candidates": ["Asia/Yekaterinburg"]}
    view = local_view(at, MOBILE)
    assert view["zone"] == "Europe/Moscow" and view["local"] == "2026-12-02T12:00:00+03:00"
    assert view["known"] is False and len(view["candidates"]) == 11
    assert local_view(datetime(2026, 7, 1, 9, tzinfo=UTC), "Europe/Vilnius")["local"] == \
        "2026-07-01T12:00:00+03:00"


# -- property: a retry is always callable for every candidate, never before the failure ----

ZONES = [
    zone_of("Europe/Moscow"), zone_of("Asia/Yekaterinburg"), zone_of("Asia/Vladivostok"),
    zone_of("Europe/Kaliningrad"), zone_of("Europe/Kyiv"), zone_of("Europe/Vilnius"),
    zone_of("America/New_York"), MOBILE,
    ClientZone(("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk"), "region"),
    ClientZone(("Europe/Vilnius", "Europe/Moscow"), "phone"),
    ClientZone(("Europe/Kyiv", "Europe/Kaliningrad", "Europe/Samara"), "phone"),
]
HOURS = [
    DEFAULT_HOURS, WEEKDAYS_ONLY, ROUND_THE_CLOCK, "mon-sun 08:00-22:00",
    "mon-fri 09:00-13:00,14:00-18:00; sat 10:00-16:00",
    "mon-sun 20:00-24:00; mon-sun 00:00-01:00",      # open over midnight
    "sat-sun 10:00-16:00",
]
LADDER_TEXTS = [DEFAULT_LADDER, "10m,2h,2d", "1m,7h,1d,3d,45m"]


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES), hours_text=st.sampled_from(HOURS),
       holidays=st.sampled_from(["", HOLIDAYS, "12-31,2027-03-28,2026-10-25"]),
       ladder_text=st.sampled_from(LADDER_TEXTS), failures=st.integers(1, 6),
       failed_at=st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31),
                              timezones=st.just(UTC)))
def test_a_retry_is_inside_every_candidates_window_and_never_before_the_failure(
        zone, hours_text, holidays, ladder_text, failures, failed_at) -> None:
    hours = parse_calling_hours(hours_text, holidays)
    ladder = parse_ladder(ladder_text)
    try:
        retry = next_retry(failed_at, failures, zone, hours, ladder)
    except NoCallingWindow:
        assume(False)
    if failures > len(ladder.steps):
        assert retry.archive and retry.due_at is None
        return
    assert not retry.archive
    assert retry.due_at >= failed_at
    assert retry.due_at in retry.window
    for name in zone.zones:
        assert hours.is_open_at(retry.due_at.astimezone(ZoneInfo(name))), (name, retry)
    step = ladder.steps[failures - 1]
    if step.unit != "d":
        minimum = timedelta(minutes=step.amount) if step.unit == "m" else timedelta(hours=step.amount)
        assert retry.due_at - failed_at >= minimum
    else:
        assert retry.due_at - failed_at >= timedelta(days=step.amount) - timedelta(hours=1)


def _open_for_all(at: datetime, zone: ClientZone, hours) -> bool:
    return all(hours.is_open_at(at.astimezone(ZoneInfo(name))) for name in zone.zones)


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), hours_text=st.sampled_from(HOURS),
       at=st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)))
def test_the_window_is_the_first_time_open_for_every_candidate(zone, hours_text, at) -> None:
    """Checked minute by minute: open for all candidates from opens_at until closes_at, and
    not once between ``at`` and opens_at."""
    hours = parse_calling_hours(hours_text, HOLIDAYS)
    try:
        window = window_for(at, zone, hours)
    except NoCallingWindow:
        assume(False)
    assert window.closes_at > at and window.opens_at < window.closes_at
    assert is_open(max(at, window.opens_at), zone, hours)
    minute = timedelta(minutes=1)
    probe = at.replace(second=0, microsecond=0) + minute
    while probe < window.opens_at:
        assert not _open_for_all(probe, zone, hours), probe
        probe += minute
    probe = max(window.opens_at, probe)
    end = min(window.closes_at, window.opens_at + timedelta(days=2))
    while probe < end:
        assert _open_for_all(probe, zone, hours), probe
        probe += 7 * minute
    if window.closes_at < at + timedelta(days=SEARCH_DAYS):
        assert not _open_for_all(window.closes_at, zone, hours)
