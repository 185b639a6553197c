"""Table tests of domain/tasks.py: what each kind of outcome does to a task, the next-task rank,
and the checks on what users send.  Pure: no event loop, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.tasks import (
    FieldErrors, OutcomeRule, Placement, TaskState, apply_outcome, check_next_at, fold_search,
    parse_instant, parse_order, rank_for, validate_new_task, validate_outcome,
)

UTC = timezone.utc
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ORDER = parse_order("own_callback,missed_call,redial,order_confirmation,reminder")
LADDER = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=3), timedelta(days=1))
WINDOW_END = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)

NO_ANSWER = OutcomeRule("no_answer", failed_attempt=True)
INVALID = OutcomeRule("invalid_number", archives=True)
CALLBACK = OutcomeRule("callback", requires_next_at=True)
PAID = OutcomeRule("paid", final=True)
CONFIRMED = OutcomeRule("confirmed", final=True, next_task_kind="reminder")
NOTED = OutcomeRule("talked")


@dataclass(frozen=True)
class FakeWindow:
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class FakeRetry:
    archive: bool
    due_at: datetime | None
    window: FakeWindow | None


def ladder_retry(failures: int) -> FakeRetry:
    if failures > len(LADDER):
        return FakeRetry(True, None, None)
    due = AT + LADDER[failures - 1]
    return FakeRetry(False, due, FakeWindow(due, due + timedelta(hours=2)))


def place(due: datetime) -> Placement:
    # a window from 10:00 to 18:00 UTC that day
    opens = due.replace(hour=10, minute=0, second=0, microsecond=0)
    return Placement.of(due, FakeWindow(opens, due.replace(hour=18, minute=0)))


def task(failures=0, kind="redial", status="open", assigned_to=None, attempts=0):
    return TaskState(id=7, kind=kind, status=status, failures=failures, attempts=attempts,
                     assigned_to=assigned_to)


def apply(t, rule, *, next_at=None, do_not_call=False, user_id=42):
    return apply_outcome(t, rule, at=AT, next_at=next_at, do_not_call=do_not_call,
                         user_id=user_id, retry=ladder_retry, place=place)


# (name, task, rule, next_at, do_not_call) -> expected values (subset) and next task kind
OUTCOME_TABLE = [
    ("1st no answer: again in 5 min", task(0), NO_ANSWER, None, False,
     {"status": "open", "failures": 1, "due_at": AT + timedelta(minutes=5),
      "ready_at": AT + timedelta(minutes=5), "attempts": 1, "result": "no_answer"}, None),
    ("2nd: 30 min", task(1), NO_ANSWER, None, False,
     {"status": "open", "failures": 2, "due_at": AT + timedelta(minutes=30)}, None),
    ("3rd: 3 h", task(2), NO_ANSWER, None, False,
     {"status": "open", "failures": 3, "due_at": AT + timedelta(hours=3)}, None),
    ("4th: 1 day", task(3), NO_ANSWER, None, False,
     {"status": "open", "failures": 4, "due_at": AT + timedelta(days=1),
      "window_ends_at": AT + timedelta(days=1, hours=2)}, None),
    ("5th failure: the archive", task(4), NO_ANSWER, None, False,
     {"status": "archived", "failures": 5, "closed_reason": "ladder_exhausted",
      "closed_at": AT}, None),
    ("invalid number archives at once", task(2), INVALID, None, False,
     {"status": "archived", "closed_reason": "invalid_number", "failures": 0}, None),
    ("callback: a personal callback due then, ladder reset", task(3, kind="missed_call"),
     CALLBACK, datetime(2026, 11, 24, 12, 0, tzinfo=UTC), False,
     {"status": "open", "kind": "callback", "assigned_to": 42, "failures": 0,
      "due_at": datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
      "ready_at": datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
      "window_ends_at": datetime(2026, 11, 24, 18, 0, tzinfo=UTC)}, None),
    ("callback at night: ready when the window opens", task(0), CALLBACK,
     datetime(2026, 11, 24, 6, 0, tzinfo=UTC), False,
     {"due_at": datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
      "ready_at": datetime(2026, 11, 24, 10, 0, tzinfo=UTC)}, None),
    ("paid: done", task(2), PAID, None, False,
     {"status": "done", "closed_reason": "paid", "failures": 0, "closed_at": AT}, None),
    ("confirmed: done, a reminder follows", task(0, kind="order_confirmation"), CONFIRMED,
     None, False, {"status": "done", "closed_reason": "confirmed"}, "reminder"),
    ("an outcome only noted: still open, ladder reset", task(2), NOTED, None, False,
     {"status": "open", "failures": 0, "attempts": 1, "result": "talked"}, None),
    ("do-not-call: archived whatever was pressed", task(1), PAID, None, True,
     {"status": "archived", "closed_reason": "do_not_call"}, None),
    ("do-not-call beats the ladder", task(1), NO_ANSWER, None, True,
     {"status": "archived", "closed_reason": "do_not_call", "failures": 1}, None),
]


@pytest.mark.parametrize("name,t,rule,next_at,dnc,expected,next_kind", OUTCOME_TABLE,
                         ids=[row[0] for row in OUTCOME_TABLE])
def test_outcome_table(name, t, rule, next_at, dnc, expected, next_kind):
    change = apply(t, rule, next_at=next_at, do_not_call=dnc)
    got = {k: change.values.get(k) for k in expected}
    assert got == expected
    assert (change.next_task.kind if change.next_task else None) == next_kind
    # every outcome gives the lease back and counts one attempt
    assert change.values["lease_until"] is None and change.values["claimed_by"] is None
    assert change.values["attempts"] == t.attempts + 1


def test_callback_without_time_is_refused():
    with pytest.raises(FieldErrors) as exc:
        apply(task(), CALLBACK)
    assert "next_at" in exc.value.fields


def test_callback_by_the_system_keeps_the_owner():
    change = apply(task(assigned_to=5), CALLBACK, next_at=AT + timedelta(hours=1), user_id=None)
    assert "assigned_to" not in change.values


def test_next_task_due_at_next_at_when_given():
    when = AT + timedelta(days=3)
    change = apply(task(), CONFIRMED, next_at=when)
    assert change.next_task.due_at == when


# (kind, failures, assigned_to, order) -> rank
RANK_TABLE = [
    ("callback", 0, 5, ORDER, 0),          # own callback first
    ("callback", 0, None, ORDER, 5),       # anyone's callback: not named -> last
    ("callback", 0, None, ("callback", "missed_call"), 0),
    ("missed_call", 0, None, ORDER, 1),
    ("missed_call", 2, None, ORDER, 1),    # the earliest name that applies
    ("order_confirmation", 1, None, ORDER, 2),  # a failed attempt makes it a redial
    ("order_confirmation", 0, None, ORDER, 3),
    ("reminder", 0, None, ORDER, 4),
    ("redial", 0, None, ORDER, 2),
    ("custom_kind", 0, None, ORDER, 5),
    ("callback", 3, 5, ORDER, 0),
]


@pytest.mark.parametrize("kind,failures,assigned,order,rank", RANK_TABLE)
def test_rank_table(kind, failures, assigned, order, rank):
    assert rank_for(kind, failures, assigned, order) == rank


@pytest.mark.parametrize("text,expected", [
    ("2026-12-01T10:00:00+03:00", datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
    ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
    ("2026-12-01 10:00+05:00", datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),
    (" 2026-12-01T10:00:00.5-01:00 ", datetime(2026, 12, 1, 11, 0, 0, 500000, tzinfo=UTC)),
])
def test_instants_read(text, expected):
    assert parse_instant(text, "due_at") == expected


@pytest.mark.parametrize("bad", [
    "2026-12-01T10:00:00",          # no offset: whose time?
    "2026-12-01",                   # a date is no instant
    "tomorrow", "", "2026-13-01T10:00:00Z", "9999-12-31T23:59:59-23:59",
    "1900-01-01T00:00:00Z", "x" * 5000, 12345, None, ["2026-12-01T10:00:00Z"],
])
def test_instants_refused(bad):
    with pytest.raises(FieldErrors) as exc:
        parse_instant(bad, "due_at")
    assert set(exc.value.fields) == {"due_at"}


def test_next_at_in_the_past():
    check_next_at(AT - timedelta(seconds=30), AT)  # a browser's clock a little behind
    with pytest.raises(FieldErrors):
        check_next_at(AT - timedelta(minutes=5), AT)


GOOD_TASK = {"kind": "callback", "client_id": 3, "due_at": "2026-12-01T10:00:00+03:00"}


@pytest.mark.parametrize("change,field", [
    ({"kind": "Callback"}, "kind"), ({"kind": "k" * 33}, "kind"), ({"kind": None}, "kind"),
    ({"client_id": 0}, "client_id"), ({"client_id": True}, "client_id"),
    ({"client_id": None}, "client_id"), ({"client_id": 2 ** 40}, "client_id"),
    ({"due_at": "2026-12-01T10:00"}, "due_at"), ({"due_at": None}, "due_at"),
    ({"title": "x" * 301}, "title"), ({"title": 5}, "title"),
    ({"priority": 10 ** 6}, "priority"), ({"priority": "high"}, "priority"),
    ({"note": "n" * 20_001}, "note"), ({"assigned_to": "me"}, "assigned_to"),
    ({"bogus": 1}, "bogus"),
])
def test_new_task_field_errors(change, field):
    with pytest.raises(FieldErrors) as exc:
        validate_new_task({**GOOD_TASK, **change})
    assert field in exc.value.fields


def test_new_task_values():
    values = validate_new_task({**GOOD_TASK, "title": "  Перезвонить  ", "priority": 5})
    assert values["title"] == "Перезвонить" and values["priority"] == 5
    assert values["due_at"] == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


GOOD_OUTCOME = {"code": "sms_sent", "label_ru": "SMS отправлено", "label_en": "SMS sent"}


@pytest.mark.parametrize("change,field", [
    ({"code": "SMS"}, "code"), ({"code": "a" * 33}, "code"), ({"code": ""}, "code"),
    ({"code": "a-b"}, "code"), ({"label_ru": ""}, "label_ru"), ({"label_en": None}, "label_en"),
    ({"label_en": "x" * 101}, "label_en"), ({"final": "yes"}, "final"),
    ({"final": True, "archives": True}, "final"), ({"hotkey": "x" * 9}, "hotkey"),
    ({"position": -1}, "position"), ({"next_task_kind": "Bad Kind"}, "next_task_kind"),
    ({"extra": 1}, "extra"),
])
def test_outcome_field_errors(change, field):
    data = {**GOOD_OUTCOME, **change}
    if change.get("label_en", 0) is None:
        data.pop("label_en")
    with pytest.raises(FieldErrors) as exc:
        validate_outcome(data, partial=False)
    assert field in exc.value.fields


def test_outcome_defaults_and_partial():
    values = validate_outcome(GOOD_OUTCOME, partial=False)
    assert values["active"] is True and values["final"] is False
    assert values["next_task_kind"] is None
    assert validate_outcome({"hotkey": "9"}, partial=True) == {"hotkey": "9"}
    with pytest.raises(FieldErrors):
        validate_outcome({"code": "other"}, partial=True)


def test_order_and_search_folding():
    assert parse_order(" own_callback , redial ,") == ("own_callback", "redial")
    with pytest.raises(ValueError):
        parse_order("own callback")
    assert fold_search("СОЛОВЬЁВА") == "соловьева"
