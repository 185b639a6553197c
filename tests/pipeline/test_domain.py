"""The pipeline's pure rules: validating a stage list, who may move, the funnel figures."""

from __future__ import annotations

import pytest

from callcenter.domain.pipeline import (
    NOTIFY_EVENTS, StageErrors, default_stages, funnel, may_move, task_title, validate_stages,
)


def stage(**over):
    base = {"code": "new", "name_ru": "Новый", "name_en": "New", "kind": "open",
            "roles": ["operator"], "next_task": None, "notify_event": None}
    return dict(base, **over)


def test_defaults_are_valid_and_ordered():
    stages = validate_stages(default_stages(5))
    assert [s["code"] for s in stages] == ["new", "confirmed", "paid", "shipped", "delivered",
                                           "returned", "cancelled"]
    shipped = stages[3]
    assert shipped["next_task"] == {"title": "Check delivery of order {number}", "in_days": 5}
    assert shipped["notify_event"] == "order_shipped" and shipped["notify_event"] in NOTIFY_EVENTS
    assert [s["position"] for s in stages] == list(range(7))


@pytest.mark.parametrize("stages, field", [
    ([], "stages"),
    ("new", "stages"),
    ([stage(code="Новый")], "stages.0.code"),
    ([stage(code="1st")], "stages.0.code"),
    ([stage(), stage(name_en="Again")], "stages.1.code"),
    ([stage(kind="won")], "stages"),                      # no open stage
    ([stage(active=False), stage(code="won", kind="won")], "stages"),
    ([stage(kind="maybe")], "stages.0.kind"),
    ([stage(roles=["root"])], "stages.0.roles"),
    ([stage(roles=[])], "stages.0.roles"),
    ([stage(next_task={"title": "x", "in_days": -1})], "stages.0.next_task.in_days"),
    ([stage(next_task={"title": "", "in_days": 1})], "stages.0.next_task.title"),
    ([stage(next_task={"title": "x", "at": 1})], "stages.0.next_task"),
    ([stage(notify_event="order_lost")], "stages.0.notify_event"),
    ([stage(name_ru=" ")], "stages.0.name_ru"),
    ([stage(colour="red")], "stages.0.colour"),
    ([stage(active="yes")], "stages.0.active"),
])
def test_bad_stage_lists_name_the_field(stages, field):
    with pytest.raises(StageErrors) as caught:
        validate_stages(stages)
    assert field in caught.value.fields


@pytest.mark.parametrize("role, roles, allowed", [
    ("operator", ["operator", "admin"], True),
    ("operator", ["supervisor", "admin"], False),
    ("admin", ["admin"], True),
    (None, ["admin"], True),   # a shop's site or the system
])
def test_may_move(role, roles, allowed):
    assert may_move(role, {"roles": roles}) is allowed


def test_task_title_puts_the_number_in():
    assert task_title({"next_task": {"title": "Ship order {number}", "in_days": 0}},
                      "TM-7") == "Ship order TM-7"


def test_funnel_counts_conversion_and_time_in_stage():
    stages = default_stages()[:4]  # new, confirmed, paid, shipped
    created = [{"order_id": i, "status": "new"} for i in (1, 2, 3, 4)]
    changes = [
        # order 1: new 3600 s -> confirmed 7200 s -> paid 60 s -> shipped (by user 10, 10, 11)
        {"order_id": 1, "from_stage": "new", "to_stage": "confirmed", "user_id": 10,
         "seconds_in_previous": 3600},
        {"order_id": 1, "from_stage": "confirmed", "to_stage": "paid", "user_id": 10,
         "seconds_in_previous": 7200},
        {"order_id": 1, "from_stage": "paid", "to_stage": "shipped", "user_id": 11,
         "seconds_in_previous": 60},
        {"order_id": 2, "from_stage": "new", "to_stage": "confirmed", "user_id": 11,
         "seconds_in_previous": 600},
        {"order_id": 3, "from_stage": "new", "to_stage": "confirmed", "user_id": None,
         "seconds_in_previous": 200},
    ]
    result = funnel(stages, changes, created)
    rows = {r["code"]: r for r in result["stages"]}
    assert [r["code"] for r in result["stages"]] == ["new", "confirmed", "paid", "shipped"]
    assert rows["new"]["orders"] == 4 and rows["new"]["conversion"] is None
    assert rows["confirmed"]["orders"] == 3 and rows["confirmed"]["conversion"] == 0.75
    assert rows["paid"]["orders"] == 1 and rows["paid"]["conversion"] == 0.3333
    assert rows["shipped"]["orders"] == 1 and rows["shipped"]["conversion"] == 1.0
    assert rows["new"]["median_seconds"] == 600 and rows["new"]["avg_seconds"] == 1466.7
    assert rows["confirmed"]["median_seconds"] == 7200
    assert rows["shipped"]["median_seconds"] is None
    ops = {o["user_id"]: o for o in result["operators"]}
    assert ops[10] == {"user_id": 10, "moves": 2, "stages": {"confirmed": 1, "paid": 1}}
    assert ops[11] == {"user_id": 11, "moves": 2, "stages": {"shipped": 1, "confirmed": 1}}
    assert None not in ops


def test_funnel_of_nothing_has_zero_rows():
    result = funnel(default_stages()[:2], [], [])
    assert [(r["orders"], r["conversion"]) for r in result["stages"]] == [(0, None), (0, None)]
