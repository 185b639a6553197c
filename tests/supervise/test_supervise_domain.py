"""domain/supervise.py, table by table: no event loop, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.call_records import CallRecord
from callcenter.domain.supervise import (
    CHANSPY_OPTIONS, MODES, operator_call, parse_request, spy_originate,
)

T0 = datetime(2026, 12, 1, 20, 1, tzinfo=timezone.utc)


def test_the_modes_and_their_options():
    assert MODES == ("listen", "whisper", "barge")
    assert CHANSPY_OPTIONS == {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


@pytest.mark.parametrize("body, request_, errors", [
    ({"operator_id": 7, "mode": "listen"}, (7, "listen"), {}),
    ({"operator_id": 2**31 - 1, "mode": "barge"}, (2**31 - 1, "barge"), {}),
    ({"operator_id": 7, "mode": "whisper"}, (7, "whisper"), {}),
    ({"operator_id": "7", "mode": "listen"}, None, {"operator_id": "must be a positive integer id"}),
    ({"operator_id": "1; DROP", "mode": "listen"}, None, {"operator_id": "must be a positive integer id"}),
    ({"operator_id": 2**31, "mode": "listen"}, None, {"operator_id": "must be a positive integer id"}),
    ({"operator_id": 0, "mode": "listen"}, None, {"operator_id": "must be a positive integer id"}),
    ({"operator_id": True, "mode": "listen"}, None, {"operator_id": "must be a positive integer id"}),
    ({"operator_id": 7.0, "mode": "listen"}, None, {"operator_id": "must be a positive integer id"}),
    ({"operator_id": 7, "mode": "listen,qB"}, None, {"mode": "one of: listen, whisper, barge"}),
    ({"operator_id": 7, "mode": "LISTEN"}, None, {"mode": "one of: listen, whisper, barge"}),
    ({"operator_id": 7, "mode": None}, None, {"mode": "one of: listen, whisper, barge"}),
    ({"operator_id": 7}, None, {"mode": "one of: listen, whisper, barge"}),
    ({}, None, {"operator_id": "must be a positive integer id",
                "mode": "one of: listen, whisper, barge"}),
    ({"operator_id": 7, "mode": "listen", "options": "B"}, None, {"options": "unknown field"}),
])  # fmt: skip
def test_parse_request(body, request_, errors):
    parsed, found = parse_request(body)
    assert found == errors
    assert (None if parsed is None else (parsed.operator_id, parsed.mode)) == request_


def test_a_long_unknown_field_name_is_cut_in_the_answer():
    _, errors = parse_request({"operator_id": 7, "mode": "listen", "x" * 500: 1})
    assert list(errors) == ["x" * 64]


@pytest.mark.parametrize("mode, name, caller_id", [
    ("listen", "Анна Соколова", '"Listen: Анна Соколова" <101>'),
    ("whisper", "Анна Соколова", '"Whisper: Анна Соколова" <101>'),
    ("barge", None, '"Barge: 101" <101>'),
    ("listen", 'Анна "<evil>"\r\nAction: Command', '"Listen: Анна evil Action: Command" <101>'),
])  # fmt: skip
def test_the_originate(mode, name, caller_id):
    spy = spy_originate(supervisor_extension="PJSIP/201", supervisor_id=4,
                        operator_extension="PJSIP/101", operator_name=name, mode=mode,
                        context="callcenter-supervise")
    assert (spy.channel, spy.context, spy.exten, spy.priority) == (
        "PJSIP/201", "callcenter-supervise", mode, 1)
    assert spy.caller_id == caller_id
    assert spy.variables == {"CRM_SPY": "PJSIP/101", "CRM_SPY_MODE": mode, "CRM_SUPERVISOR": "4"}
    assert not any(c in v for v in (spy.caller_id, *spy.variables.values()) for c in "\r\n")


@pytest.mark.parametrize("extension, mode", [
    ("SIP/101", "listen"), ("PJSIP/101,qB", "listen"), ("PJSIP/", "listen"),
    ("PJSIP/101", "listen,qB"), ("PJSIP/101", "spy"), ("PJSIP/" + "1" * 65, "barge"),
    ("PJSIP/101\n", "listen"),  # Python's $ would match before it; the check must not
])  # fmt: skip
def test_what_the_dialplan_would_refuse_is_never_built(extension, mode):
    with pytest.raises(ValueError):
        spy_originate(supervisor_extension="PJSIP/201", supervisor_id=4,
                      operator_extension=extension, operator_name="x", mode=mode,
                      context="callcenter-supervise")


def _call(key, answered_by, answered_at, ended_at=None):
    return CallRecord(key=key, linkedid=key, direction="inbound", started_at=T0,
                      answered_by=answered_by, answered_at=answered_at, ended_at=ended_at)


@pytest.mark.parametrize("calls, expected", [
    ([], None),
    ([_call("a", "PJSIP/101", T0)], "a"),
    ([_call("a", "PJSIP/102", T0)], None),                                   # someone else's
    ([_call("a", None, None)], None),                                        # ringing
    ([_call("a", "PJSIP/101", T0, T0 + timedelta(seconds=5))], None),        # over
    ([_call("a", "PJSIP/1010", T0)], None),                                  # another phone
    ([_call("a", "PJSIP/101", T0), _call("b", "PJSIP/101", T0 + timedelta(seconds=9))], "b"),
])  # fmt: skip
def test_the_call_an_operator_is_on(calls, expected):
    found = operator_call(calls, "PJSIP/101")
    assert (found.key if found else None) == expected

