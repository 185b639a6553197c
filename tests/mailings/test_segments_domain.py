"""The segment filter: what is accepted (normalised) and what is refused, and its bounds."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from callcenter.domain.clients import FieldErrors
from callcenter.domain.segments import compile_bounds, validate_filter

GOOD = [
    (None, {}),
    ({}, {}),
    ({"cities": [" Москва ", "Тула", "Москва"]}, {"cities": ["Москва", "Тула"]}),
    ({"cities": [], "product": "", "age_min": None}, {}),
    ({"timezones": ["Asia/Yekaterinburg"]}, {"timezones": ["Asia/Yekaterinburg"]}),
    ({"age_min": 18, "age_max": 18}, {"age_min": 18, "age_max": 18}),
    ({"spent_min": "1000", "spent_max": 5000.5}, {"spent_min": "1000.00", "spent_max": "5000.50"}),
    ({"last_order_after": "2026-01-01", "last_order_within_days": 30},
     {"last_order_after": "2026-01-01", "last_order_within_days": 30}),
    ({"product": "  Чайник "}, {"product": "Чайник"}),
    ({"has_email": True, "has_phone": False}, {"has_email": True, "has_phone": False}),
    ({"tags_all": ["vip"], "tags_any": ["опт", "розница"], "shop_id": 2},
     {"tags_all": ["vip"], "tags_any": ["опт", "розница"], "shop_id": 2}),
]

BAD = [
    ([], "filter"),
    ({"city": ["Москва"]}, "city"),
    ({"cities": "Москва"}, "cities"),
    ({"cities": [1]}, "cities"),
    ({"cities": ["x"] * 51}, "cities"),
    ({"timezones": ["Mars/Olympus"]}, "timezones"),
    ({"age_min": -1}, "age_min"),
    ({"age_min": True}, "age_min"),
    ({"age_min": "18"}, "age_min"),
    ({"age_min": 40, "age_max": 30}, "age_max"),
    ({"orders_min": 3, "orders_max": 1}, "orders_max"),
    ({"spent_min": "много"}, "spent_min"),
    ({"spent_min": "-5"}, "spent_min"),
    ({"spent_min": "NaN"}, "spent_min"),
    ({"spent_min": 10, "spent_max": 5}, "spent_max"),
    ({"last_order_after": "01.02.2026"}, "last_order_after"),
    ({"last_order_after": "2026-03-01", "last_order_before": "2026-02-01"}, "last_order_before"),
    ({"last_order_within_days": 0}, "last_order_within_days"),
    ({"has_email": "yes"}, "has_email"),
    ({"product": "x" * 101}, "product"),
    ({"shop_id": 0}, "shop_id"),
]


@pytest.mark.parametrize("raw, expected", GOOD)
def test_good_filters_are_normalised(raw, expected):
    assert validate_filter(raw) == expected


@pytest.mark.parametrize("raw, field", BAD)
def test_bad_filters_name_the_field(raw, field):
    with pytest.raises(FieldErrors) as exc:
        validate_filter(raw)
    assert field in exc.value.fields


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)

BOUNDS = [
    # age 30..40 on 2 Dec 2026: born on or before 2 Dec 1996 and after 2 Dec 1985
    ({"age_min": 30, "age_max": 40}, date(1996, 12, 2), date(1985, 12, 2), None, None),
    ({"age_min": 1}, date(2025, 12, 2), None, None, None),
    ({"last_order_within_days": 10}, None, None, datetime(2026, 11, 22, 12, tzinfo=timezone.utc),
     None),
    # the later of "after" and "within" wins; "before" is inclusive of its day
    ({"last_order_after": "2026-11-30", "last_order_within_days": 10,
      "last_order_before": "2026-12-01"}, None, None,
     datetime(2026, 11, 30, tzinfo=timezone.utc), datetime(2026, 12, 2, tzinfo=timezone.utc)),
]


@pytest.mark.parametrize("flt, born_before, born_after, since, until", BOUNDS)
def test_bounds(flt, born_before, born_after, since, until):
    b = compile_bounds(flt, NOW.date(), NOW)
    assert (b.born_on_or_before, b.born_after, b.last_order_from, b.last_order_until) == \
        (born_before, born_after, since, until)


def test_age_on_29_february():
    b = compile_bounds({"age_min": 1}, date(2028, 2, 29), NOW)
    assert b.born_on_or_before == date(2027, 2, 28)
