"""Orders: payload validation. Pure.

An order's ``status`` is the code of one of its shop's stages (domain/pipeline.py); any slug
passes here and the service checks it against the shop's stages.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from callcenter.domain.clients import MAX_ID, FieldErrors

#: the default stages' codes (a shop may have others)
STATUSES = ("new", "confirmed", "paid", "shipped", "delivered", "cancelled", "returned")
STAGE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ORDER_FIELDS = ("client_id", "shop_id", "external_id", "number", "status", "total", "currency",
                "items", "created_at", "tracking_number")
MAX_ITEMS = 500
MAX_QTY = 1_000_000


def validate_order(data: Mapping[str, Any], *, partial: bool,
                   allowed: tuple[str, ...] = ORDER_FIELDS) -> dict[str, Any]:
    """Check an order payload; raise FieldErrors naming every bad field."""
    if not isinstance(data, Mapping):
        raise FieldErrors({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in sorted(set(data) - set(allowed)):
        errors[name] = "unknown field"
    required = {"number", "total"} | ({"client_id", "shop_id"} & set(allowed))
    for name in allowed:
        if name not in data:
            if not partial and name in required:
                errors[name] = "is required"
            continue
        try:
            values[name] = _CHECKS[name](data[name])
        except (ValueError, TypeError, InvalidOperation) as exc:
            errors[name] = str(exc) or "is invalid"
    if not partial:
        values.setdefault("status", "new")
        values.setdefault("currency", "RUB")
        values.setdefault("items", [])
    if errors:
        raise FieldErrors(errors)
    return values


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValueError("must be a positive integer id")
    return value


def _text(limit: int):
    def check(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be non-empty text")
        if len(value.strip()) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return value.strip()
    return check


def _status(value: Any) -> str:
    if not isinstance(value, str) or not STAGE_RE.match(value):
        raise ValueError("must be a stage code such as " + ", ".join(STATUSES))
    return value


def _tracking(value: Any) -> str | None:
    """A parcel's tracking number; empty or null clears it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > 64 \
            or any(not (ch.isalnum() or ch in " -_/.") for ch in value.strip()):
        raise ValueError("letters, digits, spaces and - _ / . (up to 64)")
    return value.strip()


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number such as 1234.50")
    try:
        amount = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise ValueError(f"{value!r} is out of range")
    return amount.quantize(Decimal("0.01"))


def _currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise ValueError("must be an ISO currency code such as RUB")
    return value.upper()


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValueError(f"must be a list of at most {MAX_ITEMS} items")
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ValueError(f"item {i} needs at least a name")
        qty = item.get("qty", 1)
        # NaN passes `qty <= 0`; non-finite numbers must never reach the stored JSON
        if isinstance(qty, bool) or not isinstance(qty, (int, float)) \
                or not math.isfinite(qty) or not 0 < qty <= MAX_QTY:
            raise ValueError(f"item {i}: qty must be a positive number up to {MAX_QTY}")
        sku = item.get("sku")
        if isinstance(sku, bool) or not isinstance(sku, (str, int, type(None))) \
                or len(str(sku)) > 100:
            raise ValueError(f"item {i}: sku must be text of up to 100 characters")
        if len(item["name"]) > 300:
            raise ValueError(f"item {i}: the name is longer than 300 characters")
        price = _money(item.get("price", 0))
        items.append({"sku": str(sku if sku is not None else "").strip() or None,
                      "name": item["name"], "qty": qty, "price": f"{price:.2f}"})
    return items


def _created(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


_CHECKS = {
    "client_id": _id, "shop_id": _id, "external_id": _text(128), "number": _text(64),
    "status": _status, "total": _money, "currency": _currency, "items": _items,
    "created_at": _created, "tracking_number": _tracking,
}
