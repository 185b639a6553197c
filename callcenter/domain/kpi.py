"""Report arithmetic: rates, averages and KPI against a plan.  Pure.

Every ratio is ``None`` when its denominator is zero (no calls, no plan): a report says "no
data" rather than 0 % or 100 %.  Rates are fractions 0..1 rounded to 4 places, averages seconds
rounded to 1 place.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["average", "kpi", "plan_target", "rate"]


def rate(part: int | float, whole: int | float) -> float | None:
    """``part / whole`` as a fraction, ``None`` when ``whole`` is 0."""
    if not whole:
        return None
    return round(part / whole, 4)


def average(total: int | float, count: int) -> float | None:
    """``total / count`` (seconds, minutes), ``None`` when ``count`` is 0."""
    if not count:
        return None
    return round(total / count, 1)


def plan_target(per_day: int | Decimal | None, days: int) -> Decimal | None:
    """What the plan asks for over ``days`` working days; ``None`` without a plan."""
    if per_day is None:
        return None
    return Decimal(per_day) * days


def _ratio(actual: int | Decimal, target: Decimal | None) -> float | None:
    if target is None or target == 0:
        return None
    return round(float(Decimal(actual) / target), 4)


def kpi(plan: dict[str, Any] | None, days: int, *, calls: int, orders: int,
        sales: Decimal) -> dict[str, float | None] | None:
    """Actual / (plan per day x working days) for calls, confirmed orders and sales; ``None``
    without a plan, each figure ``None`` where its plan is unset or zero or there is no working
    day.  1.0 is the plan met exactly."""
    if plan is None:
        return None
    return {
        "calls": _ratio(calls, plan_target(plan.get("calls_per_day"), days)),
        "orders": _ratio(orders, plan_target(plan.get("confirmed_orders_per_day"), days)),
        "sales": _ratio(sales, plan_target(plan.get("sales_per_day"), days)),
    }
