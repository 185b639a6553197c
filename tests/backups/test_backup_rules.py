"""The pure backup rules: names, retention, the daily time, the stale alarm."""

from datetime import datetime, time, timedelta, timezone

import pytest

from callcenter.domain import backups as rules
from callcenter.domain.backups import BackupInfo

UTC = timezone.utc


def at(day: int, hour: int = 3) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def test_name_round_trip():
    name = rules.backup_name("sqlite", datetime(2026, 11, 5, 3, 0, 7, tzinfo=UTC))
    assert name == "callcenter-20261105-030007.sqlite3.gz"
    assert rules.parse_backup_name(name) == datetime(2026, 11, 5, 3, 0, 7, tzinfo=UTC)
    assert rules.backup_name("postgresql", at(5)).endswith(".pgdump")


@pytest.mark.parametrize("name", ["callcenter-2026.sqlite3.gz", "../callcenter-20261105-030007"
                                  ".sqlite3.gz", "callcenter-20261105-030007.sqlite3.gz.json",
                                  "other-20261105-030007.pgdump", ""])
def test_other_names_are_not_backups(name):
    assert rules.parse_backup_name(name) is None


def _b(day, verified=True):
    return BackupInfo(rules.backup_name("sqlite", at(day)), at(day), verified)


@pytest.mark.parametrize("backups, keep_days, expected_days", [
    # (days of the backups, verified?), keep N days → the days deleted
    ([(1, True), (10, True), (20, True)], 14, [1, 10]),
    ([(1, True), (2, True), (20, True)], 14, [1, 2]),
    # the newest verified is old: kept anyway, the unverified old ones go
    ([(1, True), (2, False), (3, False)], 14, [2, 3]),
    ([(1, True), (2, True), (20, False), (21, False)], 14, [1]),
    ([(1, True)], 14, []),
    ([(1, True), (2, True)], 0, []),  # 0 keeps everything
    ([(15, True), (16, True)], 14, []),  # exactly at the cutoff and newer: kept
])
def test_retention(backups, keep_days, expected_days):
    items = [_b(d, v) for d, v in backups]
    now = at(29)  # cutoff: 15 Nov 03:00
    assert rules.to_delete(items, now=now, keep_days=keep_days) == \
        [rules.backup_name("sqlite", at(d)) for d in expected_days]


@pytest.mark.parametrize("value, expected", [("03:00", time(3, 0)), ("3:05", time(3, 5)),
                                             (" 23:59 ", time(23, 59)), ("", None)])
def test_parse_time(value, expected):
    assert rules.parse_backup_time(value) == expected


@pytest.mark.parametrize("value", ["24:00", "3", "03:60", "noon", "03:00:00"])
def test_parse_time_refuses(value):
    with pytest.raises(ValueError):
        rules.parse_backup_time(value)


@pytest.mark.parametrize("now, zone, expected", [
    # Moscow is UTC+3: 03:00 local = 00:00 UTC
    (datetime(2026, 11, 5, 23, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 6, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 6, 0, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 7, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 5, 23, 59, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 6, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 5, 1, 0, tzinfo=UTC), "UTC", datetime(2026, 11, 5, 3, 0, tzinfo=UTC)),
    # Berlin springs forward 29 Mar 2026 at 02:00 → 03:00 (CEST, UTC+2): 03:00 exists, 01:00 UTC
    (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "Europe/Berlin", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    # Berlin falls back 25 Oct 2026: 03:00 CET = 02:00 UTC
    (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), "Europe/Berlin", datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
])
def test_next_run(now, zone, expected):
    assert rules.next_run(time(3, 0), zone, now) == expected


def test_next_run_in_a_gap_runs_after_it():
    # 02:30 does not exist in Berlin on 29 Mar 2026; the job runs at 01:30 UTC (03:30 CEST)
    due = rules.next_run(time(2, 30), "Europe/Berlin", datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("age_hours, daily_job, stale", [
    (None, True, True), (None, False, False), (1, True, False), (25.9, True, False),
    (26.1, True, True), (30, False, True)])
def test_stale(age_hours, daily_job, stale):
    now = at(20)
    newest = None if age_hours is None else now - timedelta(hours=age_hours)
    assert rules.is_stale(newest, now=now, daily_job=daily_job) is stale
