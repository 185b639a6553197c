"""Segments: who a mailing goes to, as a filter over clients and their orders. Pure.

A filter is a JSON object; every key is optional and all given keys must hold (AND):

    cities, regions        any of these (compared as written, lower-case or capitalised)
    timezones              any of these IANA zones (the client's own zone)
    age_min, age_max       whole years from the birthday, on the date passed in
    tags_all, tags_any     the client has all / at least one of these tags
    orders_min, orders_max number of orders (in ``shop_id`` when given)
    spent_min, spent_max   sum of the orders' totals
    last_order_after, last_order_before   date of the last order (YYYY-MM-DD, inclusive)
    last_order_within_days the last order is at most N days old
    shop_id                orders counted (and products looked for) in this shop only
    product                a bought item's sku or name contains this text
    has_email, has_phone   true: the client has one; false: has none

Clients with do_not_call or unsubscribed are never in a segment; that is not a key.
``validate_filter`` returns the filter normalised (keys sorted, texts stripped) or raises
``FieldErrors``; ``compile_bounds`` turns the relative parts into dates for a given day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.domain.clients import FieldErrors

LIST_KEYS = ("cities", "regions", "timezones", "tags_all", "tags_any")
INT_KEYS = {"age_min": (0, 150), "age_max": (0, 150), "orders_min": (0, 1_000_000),
            "orders_max": (0, 1_000_000), "last_order_within_days": (1, 36_500),
            "shop_id": (1, 2**31 - 1)}
MONEY_KEYS = ("spent_min", "spent_max")
DATE_KEYS = ("last_order_after", "last_order_before")
BOOL_KEYS = ("has_email", "has_phone")
TEXT_KEYS = ("product",)
KEYS = frozenset(LIST_KEYS) | frozenset(INT_KEYS) | frozenset(MONEY_KEYS) | \
    frozenset(DATE_KEYS) | frozenset(BOOL_KEYS) | frozenset(TEXT_KEYS)
MAX_LIST = 50
MAX_TEXT = 100


def validate_filter(raw: Any) -> dict[str, Any]:
    """The filter normalised: unknown keys, wrong types and empty ranges are field errors."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FieldErrors({"filter": "must be a JSON object"})
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in sorted(raw):
        value = raw[key]
        if key not in KEYS:
            errors[str(key)[:40]] = "unknown field"
        elif value is None or value == "" or value == []:
            continue  # an empty field in the builder means "any"
        elif key in LIST_KEYS:
            if not isinstance(value, list) or len(value) > MAX_LIST or not all(
                    isinstance(v, str) and 0 < len(v.strip()) <= 200 for v in value):
                errors[key] = f"must be a list of at most {MAX_LIST} items"
                continue
            items = sorted({v.strip() for v in value})
            if key == "timezones":
                bad = [z for z in items if not _is_zone(z)]
                if bad:
                    errors[key] = f"{bad[0]!r} is not an IANA time zone such as Europe/Moscow"
                    continue
            out[key] = items
        elif key in INT_KEYS:
            low, high = INT_KEYS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[key] = f"a whole number from {low} to {high}"
                continue
            out[key] = value
        elif key in MONEY_KEYS:
            try:
                amount = Decimal(str(value)) if isinstance(value, (int, float, str)) \
                    and not isinstance(value, bool) else None
            except InvalidOperation:
                amount = None
            if amount is None or not amount.is_finite() or amount < 0 or amount > 10**12:
                errors[key] = "must be a number such as 1234.50"
                continue
            out[key] = str(amount.quantize(Decimal("0.01")))
        elif key in DATE_KEYS:
            try:
                out[key] = date.fromisoformat(value).isoformat() if isinstance(value, str) \
                    else None
            except ValueError:
                out[key] = None
            if out[key] is None:
                del out[key]
                errors[key] = f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)"
        elif key in BOOL_KEYS:
            if not isinstance(value, bool):
                errors[key] = "must be true or false"
                continue
            out[key] = value
        else:  # product
            if not isinstance(value, str) or len(value.strip()) > MAX_TEXT:
                errors[key] = f"is longer than {MAX_TEXT} characters"
                continue
            if value.strip():
                out[key] = value.strip()
    for low, high in (("age_min", "age_max"), ("orders_min", "orders_max")):
        if low in out and high in out and out[low] > out[high]:
            errors[high] = "out of range"
    if "spent_min" in out and "spent_max" in out and \
            Decimal(out["spent_min"]) > Decimal(out["spent_max"]):
        errors["spent_max"] = "out of range"
    if "last_order_after" in out and "last_order_before" in out and \
            out["last_order_after"] > out["last_order_before"]:
        errors["last_order_before"] = "out of range"
    if errors:
        raise FieldErrors(errors)
    return out


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Bounds:
    """The filter's relative parts as absolute values, for one day."""

    born_on_or_before: date | None    # age_min
    born_after: date | None           # age_max
    last_order_from: datetime | None  # last_order_after / within_days (inclusive)
    last_order_until: datetime | None  # last_order_before (exclusive: the next midnight)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def compile_bounds(flt: Mapping[str, Any], today: date, now: datetime) -> Bounds:
    """Age in whole years on ``today``: at least N means born on or before today N years
    ago; at most N means born after today N+1 years ago. Dates of orders are UTC days."""
    born_before = _years_before(today, flt["age_min"]) if "age_min" in flt else None
    born_after = _years_before(today, flt["age_max"] + 1) if "age_max" in flt else None
    starts = []
    if "last_order_after" in flt:
        starts.append(datetime.combine(date.fromisoformat(flt["last_order_after"]), time(),
                                       timezone.utc))
    if "last_order_within_days" in flt:
        starts.append(now - timedelta(days=flt["last_order_within_days"]))
    until = None
    if "last_order_before" in flt:
        until = datetime.combine(date.fromisoformat(flt["last_order_before"]) +
                                 timedelta(days=1), time(), timezone.utc)
    return Bounds(born_before, born_after, max(starts) if starts else None, until)


def text_forms(text: str) -> list[str]:
    """The forms a text is compared in where the database cannot fold Cyrillic case."""
    return sorted({text, text.lower(), text.capitalize(), text.title(), text.upper()})


def needs_orders(flt: Mapping[str, Any]) -> bool:
    return any(k in flt for k in ("orders_min", "orders_max", "spent_min", "spent_max",
                                  "last_order_after", "last_order_before",
                                  "last_order_within_days"))
