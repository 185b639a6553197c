"""Callbacks fallen due, as the cluster bus carries them to the other processes: cut into
notices that fit PostgreSQL's limit, a long note shortened (pure: nothing is sent)."""

from __future__ import annotations

import pytest

from callcenter.services.cluster import LIMIT, ClusterBus, NoticeTooLarge, encoded_size
from callcenter.services.scheduler import DUE, fit_due_item
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


@pytest.mark.parametrize("note", [
    "short",
    "x" * 20_000,
    "Перезвонить после обеда, " * 800,
    "📞" * 20_000,
    'строка "в кавычках"\n' * 1000,
])
def test_a_long_note_is_cut_to_what_fits(bus, note):
    room = bus.room(DUE, "items")
    item = due(1, note)
    fitted = fit_due_item(item, room)
    assert encoded_size(fitted) <= room
    if encoded_size(item) <= room:
        assert fitted is item
        return
    cut = fitted["task"]["note"]
    assert cut.endswith("…") and note.startswith(cut[:-1])
    longer = {**item, "task": {**item["task"], "note": note[:len(cut)] + "…"}}
    assert encoded_size(longer) > room  # as much kept as fits
    assert {**fitted["task"], "note": None} == {**item["task"], "note": None}
    assert fitted["user_id"] == item["user_id"]


def test_a_task_too_large_even_without_its_note_keeps_what_names_it(bus):
    room = bus.room(DUE, "items")
    item = due(1, "x" * 20_000, result="y" * LIMIT)
    fitted = fit_due_item(item, room)
    assert encoded_size(fitted) <= room
    assert fitted == {"user_id": 7, "task": {k: item["task"][k] for k in (
        "id", "kind", "status", "title", "client_id", "due_at", "ready_at", "assigned_to")}}
