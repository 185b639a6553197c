"""CDR rows -> calls, table-tested over all 26 real rows of Asterisk 22 in both file formats."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from callcenter.domain.cdr import (
    CdrRules, MalformedCdrRow, call_from_rows, calls_from_rows, group_by_linkedid,
    parse_cdr_line, row_from_table,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "cdr"
FORMATS = {"Master.csv": "cdr_csv", "crm.csv": "cdr_custom"}
OPERATORS = CdrRules(is_operator=lambda e: e in {"PJSIP/101", "PJSIP/102"})
# nobody registered as a user: the operators' context still tells their phones apart
NO_USERS = CdrRules()

# linkedid -> (direction, outcome, operator: answered_by (inbound) / placed_by (outbound),
#              customer number as Asterisk wrote it, talk seconds, operators rung)
EXPECTED = {
    "1796155220.0": ("inbound", "answered", "PJSIP/102", "79161234567", 3, ("PJSIP/102",)),
    "1796155234.2": ("inbound", "answered", "PJSIP/101", "79857778899", 4,
                     ("PJSIP/101", "PJSIP/102")),
    "1796155253.5": ("outbound", "answered", "PJSIP/101", "89161234567", 4, ()),
    "1796155271.7": ("inbound", "answered", "PJSIP/101", "79161234567", 12,
                     ("PJSIP/101", "PJSIP/102")),
    "1796155295.11": ("inbound", "answered", "PJSIP/101", "79161234567", 12,
                      ("PJSIP/101", "PJSIP/102")),
    "1796155319.15": ("inbound", "answered", "PJSIP/101", "79161234567", 13,
                      ("PJSIP/101", "PJSIP/102")),
    "1796155345.18": ("inbound", "answered", "PJSIP/101", "79161234567", 13,
                      ("PJSIP/101", "PJSIP/102")),
    "1796155371.21": ("inbound", "answered", "PJSIP/101", "79161234567", 14,
                      ("PJSIP/101", "PJSIP/102")),
    "1796155397.24": ("inbound", "missed", None, "+79031112233", 0, ("PJSIP/101", "PJSIP/102")),
    # Originate rows: billsec counts from the operator's answer (ring time included)
    "1796155415.27": ("outbound", "answered", "PJSIP/101", "79161234567", 10, ()),
    # BUSY / NO ANSWER with billsec > 0, then the phantom ANSWERED 0/0 Hangup row
    "1796155436.29": ("outbound", "busy", "PJSIP/101", "79161234567", 0, ()),
    "1796155453.31": ("outbound", "no_answer", "PJSIP/101", "79161234567", 0, ()),
    "1796155787.3": ("inbound", "missed", None, "8(916)123-45-67", 0, ("PJSIP/101", "PJSIP/102")),
    "1796155799.6": ("outbound", "answered", "PJSIP/101", "89161234567", 8, ()),
}
SPY_LEGS = {"1796155277.10", "1796155301.14"}


def read_rows(name: str, tz=timezone.utc):
    lines = (SAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [parse_cdr_line(line, local_tz=tz) for line in lines]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_real_row_is_read(name):
    rows = read_rows(name)
    assert len(rows) == 26
    assert {r.format for r in rows} == {FORMATS[name]}
    assert {r.linkedid for r in rows} == set(EXPECTED) | SPY_LEGS
    # empty answer: unquoted ,, in Master.csv, "" in crm.csv
    abandoned = [r for r in rows if r.linkedid == "1796155397.24"]
    assert [r.answer for r in abandoned] == [None, None]
    assert rows[0].start == datetime(2026, 12, 1, 20, 0, 20, tzinfo=timezone.utc)
    assert rows[0].clid == '"Иван Петров" <79161234567>'


@pytest.mark.parametrize("rules", [OPERATORS, NO_USERS], ids=["users", "no-users"])
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_linkedid_becomes_the_expected_call(name, rules):
    calls = {c.key: c for c in calls_from_rows(read_rows(name), rules)}
    assert set(calls) == set(EXPECTED), "spy legs are no calls, every other linkedid one"
    for key, (direction, outcome, operator, number, talk, rung) in EXPECTED.items():
        call = calls[key]
        seen = (call.direction, call.outcome,
                call.answered_by if direction == "inbound" else call.placed_by,
                call.customer_number, call.talk_seconds, call.operators_rung)
        assert seen == (direction, outcome, operator, number, talk, rung), key
        assert call.linkedid == key and call.variables["CRM_SOURCE"] == "cdr"
        assert call.ended_at >= call.started_at
        if outcome == "answered":
            assert call.answered_by and call.answered_at is not None
        else:
            assert call.answered_by is None and call.answered_at is None


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_row_order_does_not_matter(name):
    rows = read_rows(name)
    expected = {c.key: c for c in calls_from_rows(rows, OPERATORS)}
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert {c.key: c for c in calls_from_rows(shuffled, OPERATORS)} == expected


def test_details_of_real_calls():
    calls = {c.key: c for c in calls_from_rows(read_rows("crm.csv"), OPERATORS)}
    missed = calls["1796155397.24"]
    assert missed.caller_name is None and missed.abandoned and missed.queue == "shop"
    assert missed.callee == "74951234567"
    anna = calls["1796155253.5"]
    assert anna.caller == "101" and anna.caller_name == "Operator Anna"
    assert anna.answered_at == datetime(2026, 12, 1, 20, 0, 57, tzinfo=timezone.utc)
    maria = calls["1796155234.2"]
    assert maria.caller_name == "Мария Смирнова" and maria.handled_by == ("PJSIP/101",)
    assert maria.started_at == datetime(2026, 12, 1, 20, 0, 34, tzinfo=timezone.utc)
    assert maria.ended_at == datetime(2026, 12, 1, 20, 0, 43, tzinfo=timezone.utc)


def test_phantom_answered_row_alone_answers_nothing():
    rows = [r for r in read_rows("Master.csv") if r.linkedid == "1796155436.29"]
    phantom = [r for r in rows if r.lastapp == "Hangup"]
    assert phantom and phantom[0].disposition == "ANSWERED" and not phantom[0].dstchannel
    call = call_from_rows(phantom, OPERATORS)
    assert call.direction == "outbound" and call.outcome == "failed"


def test_cdr_custom_times_are_the_pbx_local_time_and_master_csv_is_utc():
    moscow = ZoneInfo("Europe/Moscow")
    custom = read_rows("crm.csv", tz=moscow)
    master = read_rows("Master.csv", tz=moscow)  # usegmtime: the local zone does not apply
    assert custom[0].start == datetime(2026, 12, 1, 17, 0, 20, tzinfo=timezone.utc)
    assert master[0].start == datetime(2026, 12, 1, 20, 0, 20, tzinfo=timezone.utc)


def test_master_csv_without_newcdrcolumns_is_refused_with_the_fix():
    line = (SAMPLES / "Master.csv").read_text(encoding="utf-8").splitlines()[0]
    without_new = line.rsplit(",", 3)[0]  # drop peeraccount, linkedid, sequence
    with pytest.raises(MalformedCdrRow, match="newcdrcolumns"):
        parse_cdr_line(without_new, local_tz=timezone.utc)


@pytest.mark.parametrize("line,reason", [
    ("", "columns"),
    ("garbage", "columns"),
    ('"1.0","1.0","0","","1","2","ctx","PJSIP/a-1","","Dial","","ANSWERED","not a time","",'
     '"2026-12-01 20:00:00","1","1",""', "start"),
    ('"1.0","1.0","0","","1","2","ctx","PJSIP/a-1","","Dial","","ANSWERED","2026-12-01 20:00:00",'
     '"","2026-12-01 20:00:00","-1","1",""', "duration"),
    ('"","1.0","0","","1","2","ctx","PJSIP/a-1","","Dial","","ANSWERED","2026-12-01 20:00:00",'
     '"","2026-12-01 20:00:00","1","1",""', "linkedid"),
    ('"1.0","1.0","0","","1","2","ctx","PJSIP/a-1","","Dial","","MAYBE","2026-12-01 20:00:00",'
     '"","2026-12-01 20:00:00","1","1",""', "columns"),
    ('"1.0,"1.0"', "not CSV"),
])
def test_malformed_lines_are_refused_by_name(line, reason):
    with pytest.raises(MalformedCdrRow, match=reason):
        parse_cdr_line(line, local_tz=timezone.utc)


def test_table_rows_as_cdr_pgsql_writes_them():
    # no answer/end columns: derived from calldate, duration and billsec
    row = row_from_table({
        "calldate": datetime(2026, 12, 1, 20, 0, 34), "clid": '"Мария Смирнова" <79857778899>',
        "src": "79857778899", "dst": "74951234567", "dcontext": "from-trunk",
        "channel": "PJSIP/trunk-00000002", "dstchannel": "PJSIP/101-00000003",
        "lastapp": "Queue", "lastdata": "shop,t,,,40", "duration": 9, "billsec": 4,
        "disposition": "ANSWERED", "uniqueid": "1796155234.2", "userfield": "",
        "linkedid": "1796155234.2", "sequence": 2}, tz=timezone.utc)
    assert row.end == datetime(2026, 12, 1, 20, 0, 43, tzinfo=timezone.utc)
    assert row.answer == datetime(2026, 12, 1, 20, 0, 39, tzinfo=timezone.utc)
    with pytest.raises(MalformedCdrRow, match="linkedid"):
        row_from_table({"calldate": datetime(2026, 12, 1), "duration": 1, "billsec": 0,
                        "disposition": "NO ANSWER", "linkedid": ""}, tz=timezone.utc)


REAL_LINES = (SAMPLES / "crm.csv").read_text(encoding="utf-8").splitlines() + \
    (SAMPLES / "Master.csv").read_text(encoding="utf-8").splitlines()


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.text(max_size=400),
    st.lists(st.text(max_size=30), min_size=15, max_size=24).map(
        lambda fields: ",".join('"' + f.replace('"', '""') + '"' for f in fields)),
    st.tuples(st.sampled_from(REAL_LINES), st.integers(0, 400), st.text(max_size=5)).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:]),
))
def test_hostile_text_is_a_row_or_a_named_error(line):
    try:
        row = parse_cdr_line(line, local_tz=ZoneInfo("Europe/Moscow"))
    except MalformedCdrRow:
        return
    assert row.linkedid and row.start.tzinfo is not None
    # whatever was read can be turned into calls without crashing
    for legs in group_by_linkedid([row]).values():
        call_from_rows(legs, OPERATORS)
