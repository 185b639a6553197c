"""The audit viewer's query read into a filter (domain/audit_filters.py): table-driven, no
database, no event loop."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from callcenter.domain.audit_filters import AuditFilter, parse_audit_query
from callcenter.domain.field_codes import field_code

MOSCOW = ZoneInfo("Europe/Moscow")
UTC = timezone.utc


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize("query, expected", [
    ({}, AuditFilter()),
    ({"action": "login.failed"}, AuditFilter(action="login.failed")),
    ({"action": " recording. "}, AuditFilter(action="recording.", action_prefix=True)),
    ({"user_id": "7"}, AuditFilter(user_id=7)),
    ({"login": " Svet "}, AuditFilter(login="Svet")),
    ({"q": "Иван Петров"}, AuditFilter(q="Иван Петров")),
    ({"q": "   "}, AuditFilter()),
    ({"ip": "10.0."}, AuditFilter(ip="10.0.")),
    ({"ip": "2001:db8::"}, AuditFilter(ip="2001:db8::")),
    # local dates: midnight in Moscow is 21:00 UTC the day before; "to" takes its whole day
    ({"from": "2026-11-22", "to": "2026-11-22"},
     AuditFilter(since=utc(2026, 11, 21, 21), until=utc(2026, 11, 22, 21))),
    # a date-time with an offset as given; without one, in the shop's zone; "to" inclusive
    ({"from": "2026-11-22T10:00:00Z"}, AuditFilter(since=utc(2026, 11, 22, 10))),
    ({"to": "2026-11-22T13:00:00"}, AuditFilter(until=utc(2026, 11, 22, 10, 0, 0, 1))),
    ({"from": "2026-11-22T10:00:00+05:00"}, AuditFilter(since=utc(2026, 11, 22, 5))),
    ({"limit": "1000", "offset": "0"}, AuditFilter(limit=1000)),
    ({"limit": "", "offset": ""}, AuditFilter()),
    ({"unknown": "is ignored"}, AuditFilter()),
])
def test_good_queries(query, expected):
    assert parse_audit_query(query, MOSCOW) == (expected, {}, None)


@pytest.mark.parametrize("query, field, code", [
    ({"action": "login%"}, "action", "invalid"),
    ({"action": ".login"}, "action", "invalid"),
    ({"action": "login.."}, "action", "invalid"),
    ({"action": "a" * 65}, "action", "invalid"),
    ({"user_id": "-3"}, "user_id", "not_an_id"),
    ({"user_id": "١٢"}, "user_id", "not_an_id"),  # digits, but not ASCII ones
    ({"user_id": "2147483648"}, "user_id", "not_an_id"),
    ({"login": "x" * 65}, "login", "too_long"),
    ({"q": "y" * 101}, "q", "too_long"),
    ({"q": "tab\tinside"}, "q", "invalid"),
    ({"ip": "10.0.0.1/8"}, "ip", "invalid"),
    ({"from": "2026-02-30"}, "from", "bad_date"),
    ({"from": "9999-12-31T23:59:59+00:00", "to": "9999-12-31"}, "to", "bad_date"),
    ({"to": "tomorrow"}, "to", "bad_datetime"),
    ({"to": "2" * 41}, "to", "bad_datetime"),
    ({"from": "2026-11-23", "to": "2026-11-22"}, "to", "out_of_range"),
    ({"from": "2026-11-22T12:00Z", "to": "2026-11-22T11:59:59Z"}, "to", "out_of_range"),
    ({"limit": "0"}, "limit", "number_range"),
    ({"limit": "1e3"}, "limit", "number_range"),
    ({"offset": "10000001"}, "offset", "number_range"),
])
def test_bad_queries_name_the_parameter_with_a_coded_message(query, field, code):
    flt, errors, _ = parse_audit_query(query, MOSCOW)
    assert flt == AuditFilter()
    assert set(errors) == {field}
    found = field_code(errors[field])
    assert found and found[0] == code, errors[field]


def test_a_period_ending_before_it_begins_says_so_as_a_whole():
    _, errors, message = parse_audit_query({"from": "2026-11-23", "to": "2026-11-22"}, MOSCOW)
    assert set(errors) == {"to"} and "before" in message
