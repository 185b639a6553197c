"""The order pipeline: a shop's stages, who may move an order into one, and the funnel. Pure.

A stage is a dict {code, name_ru, name_en, position, kind, roles, next_task, notify_event,
active}; ``code`` is the value stored in ``orders.status``. The funnel is computed from the
history of moves (:func:`funnel`), so a report for any period needs no snapshot tables.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Iterable, Mapping, Sequence

#: NOTIFY's customer notification events a stage may send on entry
NOTIFY_EVENTS = ("order_received", "order_confirmed", "payment_received", "order_shipped",
                 "order_at_pickup", "parcel_reminder", "abandoned_cart")
KINDS = ("open", "won", "lost")
ROLES = ("operator", "supervisor", "admin")
CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_STAGES, MAX_NAME, MAX_TASK_DAYS = 30, 100, 365
#: the stage whose moves ask for a tracking number
SHIPPED = "shipped"


class StageErrors(ValueError):
    """What is wrong with a stage list, per field (``stages.2.code``)."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def default_stages(parcel_check_days: int = 7) -> list[dict[str, Any]]:
    """Every new shop's stages (the migration inserts the same for the shops it finds)."""
    everyone = list(ROLES)
    rows = [
        ("new", "Новый", "New", "open", None, None),
        ("confirmed", "Подтверждён", "Confirmed", "open",
         {"title": "Ship order {number}", "in_days": 0}, "order_confirmed"),
        ("paid", "Оплачен", "Paid", "open", None, "payment_received"),
        ("shipped", "Отправлен", "Shipped", "open",
         {"title": "Check delivery of order {number}", "in_days": parcel_check_days},
         "order_shipped"),
        ("delivered", "Доставлен", "Delivered", "won", None, None),
        ("returned", "Возврат", "Returned", "lost", None, None),
        ("cancelled", "Отменён", "Cancelled", "lost", None, None),
    ]
    return [{"code": code, "name_ru": ru, "name_en": en, "position": i, "kind": kind,
             "roles": list(everyone), "next_task": task, "notify_event": event, "active": True}
            for i, (code, ru, en, kind, task, event) in enumerate(rows)]


def validate_stages(data: Any) -> list[dict[str, Any]]:
    """Check the stage list an admin saves (in board order); raise StageErrors naming each
    bad field. Positions are the list order."""
    if not isinstance(data, list) or not data:
        raise StageErrors({"stages": "must be a non-empty list"})
    if len(data) > MAX_STAGES:
        raise StageErrors({"stages": f"at most {MAX_STAGES} stages"})
    errors: dict[str, str] = {}
    stages, seen = [], set()
    for i, item in enumerate(data):
        where = f"stages.{i}"
        if not isinstance(item, Mapping):
            errors[where] = "must be a JSON object"
            continue
        stage = _stage(item, where, errors)
        if stage["code"] in seen:
            errors[f"{where}.code"] = f"{stage['code']!r} is used twice"
        seen.add(stage["code"])
        stage["position"] = i
        stages.append(stage)
    if not errors and not any(s["kind"] == "open" and s["active"] for s in stages):
        errors["stages"] = "at least one active open stage is needed"
    if errors:
        raise StageErrors(errors)
    return stages


def _stage(item: Mapping[str, Any], where: str, errors: dict[str, str]) -> dict[str, Any]:
    for name in sorted(set(item) - {"code", "name_ru", "name_en", "position", "kind", "roles",
                                     "next_task", "notify_event", "active", "id"}):
        errors[f"{where}.{name}"] = "unknown field"
    code = item.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        errors[f"{where}.code"] = "a slug: a-z first, then a-z, 0-9, _ or - (up to 32)"
    names = {}
    for lang in ("ru", "en"):
        value = item.get(f"name_{lang}")
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME:
            errors[f"{where}.name_{lang}"] = f"is required (up to {MAX_NAME} characters)"
        else:
            names[lang] = value.strip()
    kind = item.get("kind", "open")
    if kind not in KINDS:
        errors[f"{where}.kind"] = f"must be one of {', '.join(KINDS)}"
    roles = item.get("roles", list(ROLES))
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
        errors[f"{where}.roles"] = f"a non-empty list of {', '.join(ROLES)}"
        roles = []
    event = item.get("notify_event")
    if event not in (None, "", *NOTIFY_EVENTS):
        errors[f"{where}.notify_event"] = f"must be null or one of {', '.join(NOTIFY_EVENTS)}"
    active = item.get("active", True)
    if not isinstance(active, bool):
        errors[f"{where}.active"] = "must be true or false"
    task = _next_task(item.get("next_task"), f"{where}.next_task", errors)
    return {"code": code if isinstance(code, str) else "", "name_ru": names.get("ru", ""),
            "name_en": names.get("en", ""), "kind": kind,
            "roles": [r for r in ROLES if r in roles], "next_task": task,
            "notify_event": event or None, "active": active}


def _next_task(value: Any, where: str, errors: dict[str, str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"title", "in_days"}:
        errors[where] = 'must be null or {"title", "in_days"}'
        return None
    title, days = value.get("title"), value.get("in_days", 0)
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 200:
        errors[f"{where}.title"] = "is required (up to 200 characters)"
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_TASK_DAYS:
        errors[f"{where}.in_days"] = f"a whole number of days, 0 to {MAX_TASK_DAYS}"
    return {"title": title.strip() if isinstance(title, str) else "", "in_days": days}


def may_move(role: str | None, stage: Mapping[str, Any]) -> bool:
    """May someone of ``role`` move an order INTO ``stage``? None is a shop's site or the
    system (always may)."""
    if role is None:
        return True
    return getattr(role, "value", role) in (stage.get("roles") or ())


def task_title(stage: Mapping[str, Any], number: str) -> str:
    """The follow-up task's title with the order's number in place of ``{number}``."""
    return (stage["next_task"]["title"]).replace("{number}", number)[:300]


def seconds_between(start: datetime | None, end: datetime) -> float | None:
    return None if start is None else max(0.0, (end - start).total_seconds())


def funnel(stages: Sequence[Mapping[str, Any]], changes: Iterable[Mapping[str, Any]],
           created: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The funnel of a period: per stage the orders that reached it, the conversion from the
    previous stage (reached here / reached previous), and the time spent in the stage
    (median / average seconds, from the moves OUT of it, ``seconds_in_previous``).

    ``changes``: {order_id, from_stage, to_stage, user_id, seconds_in_previous}; ``created``:
    {order_id, status} of orders created in the period (they reached their first stage without a
    move). Also per operator (the user who made the moves): moves made and orders they moved to
    each stage.
    """
    order = [s["code"] for s in sorted(stages, key=lambda s: s["position"])]
    reached: dict[str, set] = {code: set() for code in order}
    spent: dict[str, list[float]] = {code: [] for code in order}
    operators: dict[Any, dict[str, Any]] = {}
    for row in created:
        reached.setdefault(row["status"], set()).add(row["order_id"])
    for ch in changes:
        reached.setdefault(ch["to_stage"], set()).add(ch["order_id"])
        if ch.get("from_stage") and ch.get("seconds_in_previous") is not None:
            spent.setdefault(ch["from_stage"], []).append(float(ch["seconds_in_previous"]))
        if ch.get("user_id") is not None:
            op = operators.setdefault(ch["user_id"], {"user_id": ch["user_id"], "moves": 0,
                                                      "stages": {}})
            op["moves"] += 1
            op["stages"].setdefault(ch["to_stage"], set()).add(ch["order_id"])
    rows, previous = [], None
    for code in order:
        count, times = len(reached.get(code, ())), spent.get(code, [])
        rows.append({
            "code": code, "orders": count,
            "conversion": (round(count / previous, 4) if previous else None)
            if previous is not None else None,
            "median_seconds": median(times) if times else None,
            "avg_seconds": round(sum(times) / len(times), 1) if times else None})
        previous = count
    return {"stages": rows, "operators": [
        {"user_id": op["user_id"], "moves": op["moves"],
         "stages": {code: len(ids) for code, ids in op["stages"].items()}}
        for op in sorted(operators.values(), key=lambda o: -o["moves"])]}


#: the stages an order of the default pipeline passed through to reach each one (the demo)
DEFAULT_PATHS = {
    "new": ("new",), "confirmed": ("new", "confirmed"), "paid": ("new", "confirmed", "paid"),
    "shipped": ("new", "confirmed", "paid", "shipped"),
    "delivered": ("new", "confirmed", "paid", "shipped", "delivered"),
    "returned": ("new", "confirmed", "paid", "shipped", "returned"),
    "cancelled": ("new", "confirmed", "cancelled"),
}


def demo_moves(status: str, created_at: datetime, now: datetime) -> list[dict[str, Any]]:
    """A plausible history for a demo order now in ``status``: the moves along its default
    path, spread evenly over its life (at most a day per stage), the last one before ``now``."""
    path = DEFAULT_PATHS.get(status, (status,))
    span = max(0.0, (now - created_at).total_seconds()) * 0.9
    step = min(span / max(1, len(path) - 1), 86400.0) if len(path) > 1 else 0.0
    moves, at = [], created_at
    for i, code in enumerate(path):
        previous = at
        at = created_at + timedelta(seconds=step * i)
        moves.append({"from_stage": path[i - 1] if i else None, "to_stage": code, "at": at,
                      "seconds_in_previous": (at - previous).total_seconds() if i else None})
    return moves
