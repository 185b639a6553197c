"""Asterisk's own call detail records (CDR) -> the CRM's call records.

Pure: text and rows in, :class:`~callcenter.domain.call_records.CallRecord` out.  Used to
reconcile the call log after the CRM was down or disconnected from AMI: Asterisk wrote a CDR
for every call meanwhile, the CRM saw none of them.

Three sources carry the same fields:

* **cdr_custom** (``cdr-custom/crm.csv``, the mapping shipped in ``asterisk/cdr_custom.conf``),
  18 columns: linkedid, uniqueid, sequence, clid, src, dst, dcontext, channel, dstchannel,
  lastapp, lastdata, disposition, start, answer, end, duration, billsec, userfield.  Times are
  the PBX's local time.
* **cdr_csv** (``cdr-csv/Master.csv``) with ``loguniqueid``, ``loguserfield`` and
  ``newcdrcolumns``, 21 columns: accountcode, src, dst, dcontext, clid, channel, dstchannel,
  lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags, uniqueid,
  userfield, peeraccount, linkedid, sequence.  Times are UTC with ``usegmtime = yes``.  Without
  ``newcdrcolumns`` the file has 18 columns and no linkedid: such rows are refused, since
  calls cannot be told apart without it.
* a **cdr table** written by cdr_pgsql / cdr_adaptive_odbc (``calldate`` = start, no answer or
  end column: they are derived from duration and billsec), see :func:`row_from_table`.

How rows make calls (all of it seen in real Asterisk 22 CDRs, ``tests/samples/cdr/``):

* one call = one linkedid; a queue call has one row per operator leg that rang, all with the
  caller's channel in ``channel``; rows are written when the call ends, not in start order,
  and ``sequence`` restarts with the PBX, so it orders nothing across restarts;
* the call was answered iff one of its rows is ANSWERED **with a dstchannel** (that leg's
  endpoint answered).  Originate calls whose Dial failed get a phantom second row, ANSWERED,
  0 s, empty dstchannel, lastapp ``Hangup``: it answers nothing;
* rows whose lastapp is ``ChanSpy`` are a supervisor listening in (their own linkedid, src the
  spied operator): not a customer call, no record;
* direction: the first leg's channel is an operator's phone (a known endpoint, or its dcontext
  is one operators dial from) -> outbound, else inbound.  Calls between two operators are not
  reconciled (their consultation legs of attended transfers are merged into the customer's call
  by the live tracker and would come back as noise);
* on Originate (click-to-call) rows ``src`` is the CallerID given to the Originate, i.e. the
  customer's number, and ``answer`` is when the *operator* picked up, so ``billsec`` includes
  the customer's ring time: for those calls ``talk_seconds`` is an upper bound.  For inbound
  queue calls and calls dialled on the phone, ``billsec`` of the answered leg is the talk time.

Records made here carry ``variables["CRM_SOURCE"] == "cdr"``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any, Literal

from callcenter.domain.call_records import CallRecord, Outcome, endpoint_of

__all__ = [
    "CDR_SOURCE",
    "CdrFormat",
    "CdrRow",
    "CdrRules",
    "DISPOSITIONS",
    "MalformedCdrRow",
    "call_from_rows",
    "calls_from_rows",
    "group_by_linkedid",
    "parse_cdr_line",
    "parse_cdr_fields",
    "row_from_table",
]

CdrFormat = Literal["cdr_custom", "cdr_csv", "table"]
DISPOSITIONS = frozenset({"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION"})
#: ``variables`` entry marking a record reconciled from the CDR rather than followed over AMI.
CDR_SOURCE = MappingProxyType({"CRM_SOURCE": "cdr"})

_CUSTOM_COLUMNS = 18
_CSV_COLUMNS = 21
_CSV_COLUMNS_WITHOUT_NEW = 18
# a line longer than this is not a CDR (Asterisk caps each field at a few hundred bytes)
MAX_LINE_CHARS = 16_384
_CLID = re.compile(r'^\s*"?(?P<name>.*?)"?\s*<(?P<num>[^<>]*)>\s*$', re.DOTALL)
_UNANSWERED: Mapping[str, Outcome] = MappingProxyType({
    "NO ANSWER": "no_answer", "BUSY": "busy", "FAILED": "unavailable", "CONGESTION": "failed",
})


class MalformedCdrRow(ValueError):
    """A CDR line or row that cannot be read; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class CdrRow:
    """One CDR (one leg of one call) with aware datetimes; empty text fields are ``""``."""

    linkedid: str
    uniqueid: str
    sequence: int | None
    clid: str
    src: str
    dst: str
    dcontext: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    disposition: str
    start: datetime
    answer: datetime | None
    end: datetime
    duration: int
    billsec: int
    userfield: str = ""
    format: CdrFormat = "cdr_custom"


@dataclass(frozen=True)
class CdrRules:
    """How to tell an operator's phone from the outside world in CDR rows.

    ``is_operator`` is called with an endpoint (``PJSIP/101``): the phones of known users.
    A phone no user has is still recognised by the context its calls start in
    (``operator_contexts``, as the live tracker does).
    """

    is_operator: Callable[[str], bool] = field(default=lambda endpoint: False)
    operator_contexts: Collection[str] = frozenset({"operators", "callcenter-operators",
                                                    "from-internal"})


# -- reading ------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: str, name: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise MalformedCdrRow(f"{name} is not a whole number: {value[:40]!r}")
    number = int(text)
    if number < 0 or number > 10**9:
        raise MalformedCdrRow(f"{name} is out of range: {number}")
    return number


def _time(value: str, tz: tzinfo, name: str, *, optional: bool = False) -> datetime | None:
    text = value.strip()
    if not text:
        if optional:
            return None
        raise MalformedCdrRow(f"{name} is empty")
    try:
        if text.isascii() and text.replace(".", "", 1).isdigit():
            # ${CDR(start,f)}-style mappings write seconds since the epoch
            return datetime.fromtimestamp(float(text), timezone.utc)
        if not text.isascii() or len(text) > 32:
            raise ValueError(text)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise MalformedCdrRow(f"{name} is not a time: {value[:40]!r}") from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _disposition(value: str) -> str:
    text = value.strip().upper()
    if text not in DISPOSITIONS:
        raise MalformedCdrRow(f"unknown disposition {value[:40]!r}")
    return text


def _sequence(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _build(fmt: CdrFormat, tz: tzinfo, *, linkedid, uniqueid, sequence, clid, src, dst, dcontext,
           channel, dstchannel, lastapp, lastdata, disposition, start, answer, end, duration,
           billsec, userfield) -> CdrRow:
    linkedid = linkedid.strip()
    if not linkedid:
        raise MalformedCdrRow("linkedid is empty")
    if len(linkedid) > 64:
        raise MalformedCdrRow("linkedid is longer than 64 characters")
    started = _time(start, tz, "start")
    ended = _time(end, tz, "end")
    assert started is not None and ended is not None
    return CdrRow(
        linkedid=linkedid, uniqueid=uniqueid.strip(), sequence=_sequence(sequence), clid=clid,
        src=src.strip(), dst=dst.strip(), dcontext=dcontext.strip(), channel=channel.strip(),
        dstchannel=dstchannel.strip(), lastapp=lastapp.strip(), lastdata=lastdata,
        disposition=_disposition(disposition), start=started,
        answer=_time(answer, tz, "answer", optional=True), end=ended,
        duration=_int(duration, "duration"), billsec=_int(billsec, "billsec"),
        userfield=userfield, format=fmt)


def parse_cdr_fields(fields: Sequence[str], *, local_tz: tzinfo,
                     csv_tz: tzinfo = timezone.utc) -> CdrRow:
    """One CSV record of either file format (told apart by the number of columns).

    ``local_tz`` is the PBX's time zone, used for cdr_custom times; ``csv_tz`` for cdr_csv
    (``Master.csv``) times, UTC when it is written with ``usegmtime = yes``.
    """
    n = len(fields)
    if n == _CUSTOM_COLUMNS and fields[11].strip().upper() in DISPOSITIONS:
        f = fields
        return _build("cdr_custom", local_tz, linkedid=f[0], uniqueid=f[1], sequence=f[2],
                      clid=f[3], src=f[4], dst=f[5], dcontext=f[6], channel=f[7],
                      dstchannel=f[8], lastapp=f[9], lastdata=f[10], disposition=f[11],
                      start=f[12], answer=f[13], end=f[14], duration=f[15], billsec=f[16],
                      userfield=f[17])
    if n == _CSV_COLUMNS:
        f = fields
        return _build("cdr_csv", csv_tz, linkedid=f[19], uniqueid=f[16], sequence=f[20],
                      clid=f[4], src=f[1], dst=f[2], dcontext=f[3], channel=f[5],
                      dstchannel=f[6], lastapp=f[7], lastdata=f[8], disposition=f[14],
                      start=f[9], answer=f[10], end=f[11], duration=f[12], billsec=f[13],
                      userfield=f[17])
    if n == _CSV_COLUMNS_WITHOUT_NEW and fields[14].strip().upper() in DISPOSITIONS:
        raise MalformedCdrRow("a cdr_csv row without linkedid: set newcdrcolumns = yes "
                              "(and loguniqueid, loguserfield) in cdr.conf [csv]")
    raise MalformedCdrRow(f"{n} columns: expected {_CUSTOM_COLUMNS} (cdr_custom crm.csv) or "
                          f"{_CSV_COLUMNS} (cdr_csv Master.csv with newcdrcolumns)")


def parse_cdr_line(line: str, *, local_tz: tzinfo, csv_tz: tzinfo = timezone.utc) -> CdrRow:
    """One line of ``crm.csv`` or ``Master.csv`` (without its line end); see
    :func:`parse_cdr_fields`.  Raises :class:`MalformedCdrRow` for anything else."""
    if len(line) > MAX_LINE_CHARS:
        raise MalformedCdrRow(f"line of {len(line)} characters")
    if "\x00" in line:
        raise MalformedCdrRow("NUL in line")
    try:
        records = list(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise MalformedCdrRow(f"not CSV: {exc}") from None
    if len(records) != 1:
        raise MalformedCdrRow("not one CSV record")
    return parse_cdr_fields(records[0], local_tz=local_tz, csv_tz=csv_tz)


def row_from_table(row: Mapping[str, Any], *, tz: tzinfo) -> CdrRow:
    """One row of a cdr_pgsql / cdr_adaptive_odbc table (a mapping of column -> value).

    ``calldate`` (or ``start``) is the start; naive timestamps are in ``tz`` (UTC with
    ``timezone = UTC`` in cdr_pgsql.conf).  ``answer``/``end`` are used when the table has
    them, else derived: end = start + duration, answer = end - billsec for an answered leg.
    """
    def when(value: Any, name: str, optional: bool = False) -> datetime | None:
        if value is None or value == "":
            if optional:
                return None
            raise MalformedCdrRow(f"{name} is empty")
        if isinstance(value, datetime):
            return value.replace(tzinfo=tz) if value.tzinfo is None else value
        return _time(str(value), tz, name, optional=optional)

    start = when(row.get("calldate", row.get("start")), "calldate")
    duration = _int(_text(row.get("duration")), "duration")
    billsec = _int(_text(row.get("billsec")), "billsec")
    disposition = _disposition(_text(row.get("disposition")))
    assert start is not None
    end = when(row.get("end"), "end", optional=True) or start + timedelta(seconds=duration)
    answer = when(row.get("answer"), "answer", optional=True) if "answer" in row else (
        end - timedelta(seconds=billsec) if disposition == "ANSWERED" or billsec else None)
    linkedid = _text(row.get("linkedid")).strip()
    if not linkedid:
        raise MalformedCdrRow("linkedid is empty (add the linkedid column to the cdr table)")
    seq = row.get("sequence")
    return CdrRow(
        linkedid=linkedid, uniqueid=_text(row.get("uniqueid")).strip(),
        sequence=seq if isinstance(seq, int) else _sequence(_text(seq)),
        clid=_text(row.get("clid")), src=_text(row.get("src")).strip(),
        dst=_text(row.get("dst")).strip(), dcontext=_text(row.get("dcontext")).strip(),
        channel=_text(row.get("channel")).strip(),
        dstchannel=_text(row.get("dstchannel")).strip(),
        lastapp=_text(row.get("lastapp")).strip(), lastdata=_text(row.get("lastdata")),
        disposition=disposition, start=start, answer=answer, end=end, duration=duration,
        billsec=billsec, userfield=_text(row.get("userfield")), format="table")


# -- rows -> calls ------------------------------------------------------------------------------

def group_by_linkedid(rows: Iterable[CdrRow]) -> dict[str, list[CdrRow]]:
    """Rows by call, calls in the order their first row came, rows ordered by start."""
    groups: dict[str, list[CdrRow]] = {}
    for row in rows:
        groups.setdefault(row.linkedid, []).append(row)
    for legs in groups.values():
        legs.sort(key=lambda r: (r.start, r.sequence if r.sequence is not None else 0))
    return groups


def _none(value: str) -> str | None:
    value = value.strip()
    return None if not value or value == "<unknown>" else value


def _caller_name(clid: str) -> str | None:
    match = _CLID.match(clid)
    if not match:
        return None
    return _none(match.group("name").replace('""', '"').strip('"'))


def _is_spy(row: CdrRow) -> bool:
    return row.lastapp.lower() == "chanspy"


def call_from_rows(rows: Sequence[CdrRow], rules: CdrRules) -> CallRecord | None:
    """The call these rows (all of one linkedid) describe, or ``None`` when they are no
    customer call (a supervisor's spy leg, a call between operators)."""
    legs = sorted((r for r in rows if not _is_spy(r)),
                  key=lambda r: (r.start, r.sequence if r.sequence is not None else 0))
    if not legs:
        return None
    first = legs[0]
    linkedid = first.linkedid

    def is_operator(channel: str, context: str | None = None) -> bool:
        if not channel:
            return False
        endpoint = endpoint_of(channel)
        return rules.is_operator(endpoint) or (context is not None
                                               and context in rules.operator_contexts)

    dialled = [r for r in legs if r.dstchannel]
    answered = next((r for r in dialled if r.disposition == "ANSWERED"), None)
    started_at = min(r.start for r in legs)
    ended_at = max(r.end for r in legs)
    common: dict[str, Any] = dict(
        key=linkedid, linkedid=linkedid, started_at=started_at, ended_at=ended_at,
        caller=_none(first.src), caller_name=_caller_name(first.clid),
        variables=CDR_SOURCE)

    if is_operator(first.channel, first.dcontext):
        placed_by = endpoint_of(first.channel)
        if dialled and all(is_operator(r.dstchannel) for r in dialled):
            return None  # operator to operator
        decider = answered or (max(dialled, key=lambda r: r.end) if dialled else None)
        if answered is not None:
            outcome: Outcome = "answered"
        elif decider is not None:
            outcome = _UNANSWERED.get(decider.disposition, "failed")
        else:
            outcome = "failed"  # the far end was never dialled
        callee = _none((decider or first).dst)
        return CallRecord(
            direction="outbound", callee=callee if callee != "s" else None, placed_by=placed_by,
            answered_by=placed_by if answered else None,
            handled_by=(placed_by,) if answered else (),
            answered_at=answered.answer if answered else None, outcome=outcome,
            talk_seconds=float(answered.billsec) if answered else 0.0, **common)

    rung = tuple(dict.fromkeys(endpoint_of(r.dstchannel) for r in dialled))
    answered_by = endpoint_of(answered.dstchannel) if answered else None
    queue_legs = [r for r in legs if r.lastapp.lower() == "queue"]
    queue = queue_legs[0].lastdata.split(",")[0].strip() or None if queue_legs else None
    callee = _none(first.dst)
    return CallRecord(
        direction="inbound", callee=callee if callee != "s" else None, operators_rung=rung,
        answered_by=answered_by, handled_by=(answered_by,) if answered_by else (),
        answered_at=answered.answer if answered else None,
        outcome="answered" if answered else "missed",
        talk_seconds=float(answered.billsec) if answered else 0.0, queue=queue,
        abandoned=answered is None and bool(queue_legs), **common)


def calls_from_rows(rows: Iterable[CdrRow], rules: CdrRules) -> list[CallRecord]:
    """Every customer call in ``rows``, in the order their first row came."""
    out = []
    for legs in group_by_linkedid(rows).values():
        call = call_from_rows(legs, rules)
        if call is not None:
            out.append(call)
    return out
