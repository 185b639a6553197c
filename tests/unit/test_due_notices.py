"""Callbacks fallen due, as the cluster bus carries them to the other processes: cut into
notices that fit PostgreSQL's limit, the task without its note (pure: nothing is sent)."""

from __future__ import annotations

import pytest

from callcenter.services.cluster import LIMIT, ClusterBus, NoticeTooLarge, encoded_size
from callcenter.services.scheduler import DUE, due_notice_item
from callcenter.storage.database import Database


@pytest.fixture
def bus(tmp_path) -> ClusterBus:
    return ClusterBus(Database(f"sqlite+aiosqlite:///{tmp_path / 'bus.sqlite3'}"), node="n1")


def due(task_id: int, note: str | None = None, **task) -> dict:
    return {"user_id": 7, "task": {"id": task_id, "kind": "callback", "status": "open",
                                   "title": "Перезвонить", "client_id": 3,
                                   "due_at": "2026-11-23T09:05:00Z",
                                   "ready_at": "2026-11-23T09:05:00Z", "assigned_to": 7,
                                   "note": note, **task}}


@pytest.mark.parametrize("count, note", [(1, None), (30, None), (2000, None),
                                         (40, "я" * 150), (25, "x" * 3000)])
def test_due_items_go_in_order_in_few_notices_that_each_fit(bus, count, note):
    items = [due(i, note) for i in range(count)]
    payloads = list(bus.batches(DUE, "items", items))
    assert [item for p in payloads for item in p["items"]] == items
    for payload in payloads:
        assert len(bus.encode(DUE, payload).encode()) <= LIMIT
    for payload, following in zip(payloads, payloads[1:]):  # full: the next item did not fit
        with pytest.raises(NoticeTooLarge):
            bus.encode(DUE, {"items": payload["items"] + following["items"][:1]})


def test_an_item_too_large_for_a_notice_of_its_own_is_refused(bus):
    with pytest.raises(NoticeTooLarge):
        list(bus.batches(DUE, "items", [due(1), due(2, "x" * LIMIT)]))


@pytest.mark.parametrize("note", [None, "short", "x" * 20_000, "📞" * 20_000])
def test_a_due_notice_carries_the_task_without_its_note_and_fits(bus, note):
    # the longest title and names the columns allow, and a note of any length
    item = due(1, note, title="Я" * 300, client_name="Ж" * 200, assigned_to_name="Щ" * 200,
               phone="+" + "9" * 31, client_timezone="America/Argentina/ComodRivadavia")
    carried = due_notice_item(item)
    assert carried == {**item, "task": {**item["task"], "note": None}}
    assert encoded_size(carried) <= bus.room(DUE, "items")
    assert item["task"]["note"] == note  # the scheduling process's own pages get it whole
