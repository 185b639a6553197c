"""Tasks the CRM opens or moves by itself, on SQLite and PostgreSQL: a missed call's task (never
for a do-not-call number), the PBX's outcome of a call placed for a task (CRM_TASK_ID) moving
its ladder once, a new order's confirmation task (once per order), and click-to-call refused
for a do-not-call client."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callcenter.domain.call_records import CallRecord
from callcenter.http.keys import CALLS
from callcenter.storage.tables import task_attempts, tasks
from tests.api.world import build_world
from tests.scheduler.conftest import SYSTEM, START, utc


def missed(key: str, caller: str, at) -> CallRecord:
    return CallRecord(key=key, linkedid=key, direction="inbound", started_at=at,
                      caller=caller, callee="600", operators_rung=("PJSIP/101",),
                      ended_at=at + timedelta(seconds=20), outcome="missed", talk_seconds=0.0)


def placed_for(key: str, task_id: int, callee: str, outcome: str, at) -> CallRecord:
    answered = outcome == "answered"
    return CallRecord(key=key, linkedid=key, direction="outbound", started_at=at,
                      caller="101", callee=callee, placed_by="PJSIP/101",
                      answered_by="PJSIP/101" if answered else None,
                      answered_at=at + timedelta(seconds=5) if answered else None,
                      ended_at=at + timedelta(seconds=30), outcome=outcome,
                      talk_seconds=25.0 if answered else 0.0,
                      variables={"CRM_TASK_ID": str(task_id)})


async def open_tasks(desk, kind: str) -> list[dict]:
    async with desk.services.db.read() as conn:
        rows = await conn.execute(select(tasks).where(tasks.c.kind == kind,
                                                      tasks.c.status == "open"))
        return [dict(r._mapping) for r in rows]


async def test_a_missed_call_opens_one_missed_call_task_placed_in_the_window(desk):
    log = desk.api.app[CALLS].calls.log
    await log.store(missed("m-1", "+74951110001", START))
    await log.store(missed("m-2", "84951110001", START + timedelta(minutes=3)))
    await log.store(missed("m-1", "+74951110001", START))  # the same call again: nothing
    (task,) = await open_tasks(desk, "missed_call")
    assert (task["phone_e164"], task["client_id"], task["attempts"]) == (
        "+74951110001", desk.clients["moscow"], 2)
    # claimable at once: placed in the client's window (12:00 in Moscow, open)
    assert (task["ready_at"], task["window_ends_at"], task["timezone"]) == (
        START, utc(2026, 11, 23, 18, 0), "Europe/Moscow")
    assert task["rank"] == desk.services.tasks.rank("missed_call", 0, None)
    assert await open_tasks(desk, "callback") == []


async def test_a_missed_call_from_a_do_not_call_number_opens_no_task(desk):
    log = desk.api.app[CALLS].calls.log
    await log.store(missed("m-3", "+74953330003", START))
    assert await open_tasks(desk, "missed_call") == []


async def test_the_pbx_outcome_of_a_call_for_a_task_moves_its_ladder_once(desk):
    log = desk.api.app[CALLS].calls.log
    task_id = await desk.task(kind="redial", client_id=desk.clients["moscow"], due_at=START,
                              ready_at=START, window_ends_at=utc(2026, 11, 23, 18, 0))
    call = placed_for("o-1", task_id, "+74951110001", "busy", START)
    await log.store(call)
    await log.store(call)  # stored again (a replayed log, the CDR): changes nothing
    await log.store_many([call])
    row = await desk.row(task_id)
    assert (row["status"], row["failures"], row["attempts"], row["result"]) == (
        "open", 1, 1, "busy")
    # the ladder's first step: 5 minutes after the failed attempt (inside the window)
    assert row["due_at"] == call.ended_at + timedelta(minutes=5)
    async with desk.services.db.read() as conn:
        attempts = [dict(r._mapping) for r in await conn.execute(
            select(task_attempts).where(task_attempts.c.task_id == task_id))]
    assert [(a["outcome"], a["source"], a["call_key"]) for a in attempts] == [
        ("busy", "pbx", "o-1")]
    # an answered call is a contact: the operator's button decides, the ladder stays
    await log.store(placed_for("o-2", task_id, "+74951110001", "answered",
                               START + timedelta(minutes=10)))
    row = await desk.row(task_id)
    assert (row["failures"], row["attempts"], row["status"]) == (1, 1, "open")


async def test_an_invalid_number_from_the_pbx_archives_the_task(desk):
    log = desk.api.app[CALLS].calls.log
    task_id = await desk.task(kind="redial", client_id=desk.clients["moscow"], due_at=START,
                              ready_at=START, window_ends_at=utc(2026, 11, 23, 18, 0))
    await log.store(placed_for("o-3", task_id, "+74951110001", "invalid_number", START))
    row = await desk.row(task_id)
    assert (row["status"], row["result"]) == ("archived", "invalid_number")


async def test_a_new_order_opens_one_confirmation_task(desk):
    shop = await desk.services.orders.create_shop(SYSTEM, {"slug": "tm", "name": "Техномир"})
    order = await desk.services.orders.create(SYSTEM, {
        "client_id": desk.clients["moscow"], "shop_id": shop["id"], "number": "TM-1001",
        "total": "10.00", "items": []})
    await desk.services.orders.update(SYSTEM, order["id"], {"total": "12.00"})
    (task,) = await open_tasks(desk, "order_confirmation")
    assert (task["order_id"], task["client_id"], task["due_at"], task["phone_e164"]) == (
        order["id"], desk.clients["moscow"], START, "+74951110001")
    assert "TM-1001" in task["title"]
    assert (task["ready_at"], task["timezone"]) == (START, "Europe/Moscow")
    # none for a do-not-call client, none for an order that arrives already paid
    await desk.services.orders.create(SYSTEM, {
        "client_id": desk.clients["nocall"], "shop_id": shop["id"], "number": "TM-1002",
        "total": "10.00", "items": []})
    await desk.services.orders.create(SYSTEM, {
        "client_id": desk.clients["moscow"], "shop_id": shop["id"], "number": "TM-1003",
        "status": "paid", "total": "10.00", "items": []})
    assert len(await open_tasks(desk, "order_confirmation")) == 1
    # confirmed another way (paid on the site): the confirmation call is no longer owed
    await desk.services.orders.update(SYSTEM, order["id"], {"status": "paid"})
    assert await open_tasks(desk, "order_confirmation") == []
    async with desk.services.db.read() as conn:
        row = (await conn.execute(select(tasks).where(tasks.c.id == task["id"]))).mappings().one()
    assert (row["status"], row["closed_reason"]) == ("done", "order_paid")


async def test_an_order_from_the_shops_site_opens_its_task_once(desk):
    shop = await desk.services.orders.create_shop(SYSTEM, {"slug": "tm", "name": "Техномир"})
    payload = {"external_id": "site-77", "number": "TM-77", "total": "99.00", "items": [],
               "customer": {"name": "Покупатель", "phone": "+74955550055", "city": "Москва"}}
    for _ in range(2):  # the site sends it again: the same order, no second task
        await desk.services.orders.intake(shop, payload, ip="127.0.0.1")
    (task,) = await open_tasks(desk, "order_confirmation")
    assert task["phone_e164"] == "+74955550055" and "TM-77" in task["title"]
    await desk.services.orders.intake(shop, dict(payload, status="paid"), ip="127.0.0.1")
    assert await open_tasks(desk, "order_confirmation") == []


async def test_click_to_call_is_refused_for_a_do_not_call_client(api_with):
    world = await build_world(api_with, pbx=True)
    try:
        services = world.api.services
        nocall = await services.clients.create(SYSTEM, {
            "name": "Не звонить", "phones": ["+74953330003"], "do_not_call": True,
            "force": True})
        anna = world.session("anna")
        originates = world.sim.action_count("Originate")
        for body, by in (({"number": "+7 495 333-00-03"}, "number"),
                         ({"number": "+74951234567", "client_id": nocall["id"]}, "client")):
            resp = await anna.post("/api/calls/originate", json=body)
            assert resp.status == 409, await resp.text()
            error = (await resp.json())["error"]
            assert error["code"] == "do_not_call" and "not to be called" in error["message"]
            assert (error["details"]["client_id"], error["details"]["by"]) == (nocall["id"], by)
        assert world.sim.action_count("Originate") == originates  # nothing sent
        async with services.db.read() as conn:
            from callcenter.storage.tables import audit_log

            refused = (await conn.execute(select(audit_log).where(
                audit_log.c.action == "call.refused"))).all()
        assert [(r.user_id, r.entity_id) for r in refused] == [
            (world.users["anna"]["id"], str(nocall["id"]))] * 2
        resp = await anna.post("/api/calls/originate", json={
            "number": "+79161110001", "client_id": world.clients["anna"]})
        assert resp.status == 202, await resp.text()
    finally:
        await world.sim.stop()
