"""Tasks: what an outcome does to a task, where a task stands in the next-task order, and the
checks on what users send.  Pure: the clock, the redial ladder and the calling window come in
as values and callables.

An outcome is one of the configured definitions (``outcome_definitions``); applying it to a task
gives a :class:`TaskChange`, which the service writes:

* the client is do-not-call: archived, reason ``do_not_call`` (whatever was pressed);
* ``failed_attempt``: one failure more; the ladder gives the next try (open, due then, placed in
  the client's calling window) or, one failure past its last step, the archive (reason
  ``ladder_exhausted``);
* ``archives``: archived, the outcome as the reason (``invalid_number``);
* ``requires_next_at``: the client asked to be called back at ``next_at``: the task becomes a
  personal ``callback`` of whoever recorded it, due then (placed in the window);
* ``final``: done, the outcome as the reason; with ``next_task_kind`` a new task follows it in
  the chain (``previous_task_id``);
* none of these (an outcome only noted): the task stays as it is, still open.

Every outcome but a failed attempt is a contact: the ladder starts again (failures 0).  Every
outcome counts one attempt and gives the lease back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Protocol, Sequence

OPEN, DONE, ARCHIVED = "open", "done", "archived"
STATUSES = (OPEN, DONE, ARCHIVED)
BUILTIN_KINDS = ("missed_call", "callback", "redial", "order_confirmation", "order_followup",
                 "reminder")
#: names of CALLCENTER_NEXT_TASK_ORDER that are not kinds
OWN_CALLBACK, REDIAL = "own_callback", "redial"
LADDER_EXHAUSTED, DO_NOT_CALL = "ladder_exhausted", "do_not_call"
CODE_RE = re.compile(r"[a-z0-9_]{1,32}")
MAX_TITLE, MAX_NOTE, MAX_LABEL, MAX_HOTKEY = 300, 20_000, 100, 8
MAX_PRIORITY = 1000
#: a next_at this much in the past still counts as now (clocks of browsers drift)
NEXT_AT_SLACK = timedelta(minutes=1)
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), \
    datetime(2200, 1, 1, tzinfo=timezone.utc)


class FieldErrors(ValueError):
    """What is wrong with the input, per field."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class OutcomeRule:
    code: str
    final: bool = False
    failed_attempt: bool = False
    archives: bool = False
    requires_next_at: bool = False
    next_task_kind: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> "OutcomeRule":
        return cls(code=row["code"], final=bool(row["final"]),
                   failed_attempt=bool(row["failed_attempt"]), archives=bool(row["archives"]),
                   requires_next_at=bool(row["requires_next_at"]),
                   next_task_kind=row.get("next_task_kind") or None)


@dataclass(frozen=True)
class TaskState:
    """What of a task an outcome depends on."""

    id: int
    kind: str
    status: str
    failures: int
    attempts: int
    assigned_to: int | None


class RetryLike(Protocol):
    archive: bool
    due_at: datetime | None
    window: Any  # opens_at / closes_at, UTC


class WindowLike(Protocol):
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class Placement:
    """Where a due time lands: the first moment it may be handed out and the window's end."""

    ready_at: datetime
    window_ends_at: datetime

    @classmethod
    def of(cls, due_at: datetime, window: WindowLike) -> "Placement":
        return cls(ready_at=max(due_at, window.opens_at), window_ends_at=window.closes_at)


@dataclass(frozen=True)
class NextTask:
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class TaskChange:
    """The task after an outcome: the values to write, and the task that follows, if any."""

    values: dict[str, Any]
    next_task: NextTask | None = None

    @property
    def status(self) -> str:
        return self.values["status"]


def apply_outcome(task: TaskState, rule: OutcomeRule, *, at: datetime,
                  next_at: datetime | None, do_not_call: bool, user_id: int | None,
                  retry: Callable[[int], RetryLike],
                  place: Callable[[datetime], Placement]) -> TaskChange:
    """The change ``rule`` recorded at ``at`` makes to ``task`` (see the module's docstring).

    ``retry(failures)`` is the ladder's answer for that many consecutive failures;
    ``place(due_at)`` puts a due time into the client's calling window.  ``next_at`` must have
    been checked (:func:`check_next_at`) when the rule requires it.
    """
    base: dict[str, Any] = {"attempts": task.attempts + 1, "result": rule.code,
                            "claimed_by": None, "claimed_at": None, "lease_until": None,
                            "updated_at": at}

    def closed(status: str, reason: str, failures: int) -> dict[str, Any]:
        return {**base, "status": status, "closed_at": at, "closed_reason": reason,
                "failures": failures}

    if do_not_call:
        return TaskChange(closed(ARCHIVED, DO_NOT_CALL, task.failures))
    if rule.failed_attempt:
        failures = task.failures + 1
        step = retry(failures)
        if step.archive or step.due_at is None:
            return TaskChange(closed(ARCHIVED, LADDER_EXHAUSTED, failures))
        window_end = step.window.closes_at if step.window is not None \
            else place(step.due_at).window_ends_at
        return TaskChange({**base, "status": OPEN, "failures": failures,
                           "due_at": step.due_at, "ready_at": step.due_at,
                           "window_ends_at": window_end, "closed_at": None,
                           "closed_reason": None})
    if rule.archives:
        return TaskChange(closed(ARCHIVED, rule.code, 0))
    if rule.requires_next_at:
        if next_at is None:
            raise FieldErrors({"next_at": "this outcome needs the time to call back"})
        placed = place(next_at)
        values = {**base, "status": OPEN, "failures": 0, "kind": "callback",
                  "due_at": next_at, "ready_at": placed.ready_at,
                  "window_ends_at": placed.window_ends_at, "closed_at": None,
                  "closed_reason": None, "handed_over_at": None}
        if user_id is not None:
            values["assigned_to"] = user_id
        return TaskChange(values)
    if rule.final:
        follow = NextTask(rule.next_task_kind, next_at or at) if rule.next_task_kind else None
        return TaskChange(closed(DONE, rule.code, 0), follow)
    return TaskChange({**base, "status": task.status, "failures": 0})


# the next-task order

def parse_order(text: str) -> tuple[str, ...]:
    """CALLCENTER_NEXT_TASK_ORDER as a tuple of names, first handed out first."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if not CODE_RE.fullmatch(name):
            raise ValueError(f"{name!r} is not a task kind")
    return names


def rank_for(kind: str, failures: int, assigned_to: int | None,
             order: Sequence[str]) -> int:
    """The task's place in the next-task order (lower first): the first of the names that
    apply to it — ``own_callback`` for a callback given to one operator (only they may take
    it, so it is their own), ``redial`` once an attempt failed, and its kind; names not in the
    order come after every named one."""
    names = []
    if kind == "callback" and assigned_to is not None:
        names.append(OWN_CALLBACK)
    if failures > 0:
        names.append(REDIAL)
    names.append(kind)
    places = [order.index(n) for n in names if n in order]
    return min(places) if places else len(order)


# input checks

def parse_instant(value: Any, field: str) -> datetime:
    """An ISO 8601 date-time with its UTC offset (``Z`` or ``+03:00``) as aware UTC."""
    if not isinstance(value, str) or len(value) > 64:
        raise FieldErrors({field: "an ISO 8601 date-time with offset, e.g. "
                                  "2026-12-01T10:00:00+03:00"})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldErrors({field: f"{value[:64]!r} is not an ISO 8601 date-time"}) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FieldErrors({field: "needs its UTC offset (Z or +03:00): whose time is it?"})
    try:
        utc = parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise FieldErrors({field: "out of range"}) from None
    if not EARLIEST <= utc < LATEST:
        raise FieldErrors({field: "out of range"})
    return utc


def check_next_at(next_at: datetime | None, now: datetime) -> None:
    if next_at is not None and next_at < now - NEXT_AT_SLACK:
        raise FieldErrors({"next_at": "is in the past"})


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, str], *,
          required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            errors[name] = "required"
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        errors[name] = f"text of 1 to {limit} characters"
        return None
    return value.strip()


def _id(data: Mapping[str, Any], name: str, errors: dict[str, str]) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2 ** 31:
        errors[name] = "an id or null"
        return None
    return value


def _kind(value: Any, name: str, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not CODE_RE.fullmatch(value):
        errors[name] = "a kind of 1 to 32 of a-z, 0-9, _"
        return None
    return value


TASK_FIELDS = ("kind", "client_id", "due_at", "title", "assigned_to", "priority", "note",
               "order_id", "phone")


def validate_new_task(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of POST /api/tasks, checked (``phone`` is an E.164 text given by the
    service once normalised).  Raises FieldErrors."""
    errors: dict[str, str] = {}
    for name in set(data) - set(TASK_FIELDS):
        errors[str(name)[:64]] = "unknown field"
    values: dict[str, Any] = {"kind": _kind(data.get("kind"), "kind", errors)}
    if "due_at" in data and data["due_at"] is not None:
        try:
            values["due_at"] = parse_instant(data["due_at"], "due_at")
        except FieldErrors as exc:
            errors.update(exc.fields)
    else:
        errors["due_at"] = "required: an ISO 8601 date-time with offset"
    values["title"] = _text(data, "title", MAX_TITLE, errors)
    values["note"] = _text(data, "note", MAX_NOTE, errors)
    for name in ("client_id", "assigned_to", "order_id"):
        values[name] = _id(data, name, errors)
    priority = data.get("priority", 0)
    if priority is None:
        priority = 0
    if not isinstance(priority, int) or isinstance(priority, bool) \
            or not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        errors["priority"] = f"a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}"
    values["priority"] = priority
    if values.get("client_id") is None and not errors.get("client_id"):
        errors["client_id"] = "required: the client to call"
    if errors:
        raise FieldErrors(errors)
    return values


OUTCOME_FLAGS = ("final", "failed_attempt", "archives", "requires_next_at")
OUTCOME_FIELDS = ("code", "label_ru", "label_en", *OUTCOME_FLAGS, "next_task_kind", "hotkey",
                  "position", "active")
#: what a built-in outcome keeps: its meaning (and it stays active)
BUILTIN_FIXED = ("code", *OUTCOME_FLAGS, "next_task_kind", "active")


def validate_outcome(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """An outcome definition (POST) or the fields changed (PATCH, ``partial``).  At most one of
    final / failed_attempt / archives / requires_next_at: each says what becomes of the task.
    Raises FieldErrors."""
    errors: dict[str, str] = {}
    allowed = OUTCOME_FIELDS if not partial else OUTCOME_FIELDS[1:]
    for name in set(data) - set(allowed):
        errors[str(name)[:64]] = "unknown field" if name != "code" else "cannot be changed"
    values: dict[str, Any] = {}
    if not partial:
        code = data.get("code")
        if not isinstance(code, str) or not CODE_RE.fullmatch(code):
            errors["code"] = "1 to 32 of a-z, 0-9, _"
        values["code"] = code
    for name in ("label_ru", "label_en"):
        if name in data or not partial:
            values[name] = _text(data, name, MAX_LABEL, errors, required=True)
    for name in (*OUTCOME_FLAGS, "active"):
        if name in data:
            if not isinstance(data[name], bool):
                errors[name] = "true or false"
            values[name] = data[name]
        elif not partial:
            values[name] = name == "active"
    if "next_task_kind" in data:
        kind = data["next_task_kind"]
        values["next_task_kind"] = None if kind in (None, "") else \
            _kind(kind, "next_task_kind", errors)
    elif not partial:
        values["next_task_kind"] = None
    if "hotkey" in data:
        key = data["hotkey"]
        if key in (None, ""):
            values["hotkey"] = None
        elif not isinstance(key, str) or len(key) > MAX_HOTKEY or not key.isprintable() \
                or key != key.strip():
            errors["hotkey"] = f"a key of up to {MAX_HOTKEY} characters, or null"
        else:
            values["hotkey"] = key
    if "position" in data:
        pos = data["position"]
        if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos <= 10_000:
            errors["position"] = "a whole number from 0 to 10000"
        values["position"] = pos
    if not errors:
        check_meaning({k: values[k] for k in OUTCOME_FLAGS if k in values}, errors)
    if errors:
        raise FieldErrors(errors)
    return values


def check_meaning(flags: Mapping[str, Any], errors: dict[str, str]) -> None:
    if sum(bool(flags.get(k)) for k in OUTCOME_FLAGS) > 1:
        errors["final"] = ("at most one of final, failed_attempt, archives, requires_next_at: "
                           "each says what becomes of the task")


def fold_search(text: str) -> str:
    """How names are compared in the archive search: casefolded, ё as е."""
    return text.casefold().replace("ё", "е")
