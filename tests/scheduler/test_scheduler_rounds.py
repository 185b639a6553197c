"""Each step of a scheduler round on SQLite and PostgreSQL, with the clock in the test's hand:
what it changes, what it leaves, and that a second round changes nothing more."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert

from callcenter.storage.tables import task_attempts
from tests.scheduler.conftest import START, minutes, utc


async def test_a_personal_callback_goes_to_anyone_after_the_handover_time(desk):
    anna = desk.users["anna"]["id"]
    due = START + minutes(10)
    task_id = await desk.task(client_id=desk.clients["moscow"], assigned_to=anna, due_at=due,
                              ready_at=due, window_ends_at=utc(2026, 11, 23, 18, 0))
    other = await desk.task(client_id=desk.clients["moscow"], assigned_to=anna,
                            due_at=due + minutes(30), ready_at=due + minutes(30),
                            window_ends_at=utc(2026, 11, 23, 18, 0))
    desk.clock.now = due + minutes(14)
    report = await desk.scheduler.run_round()
    assert report.handed_over == 0
    assert (await desk.row(task_id))["assigned_to"] == anna
    desk.clock.now = due + minutes(15)  # CALLCENTER_CALLBACK_HANDOVER_MINUTES = 15
    report = await desk.scheduler.run_round()
    assert report.handed_over == 1
    row = await desk.row(task_id)
    assert (row["assigned_to"], row["handed_over_at"], row["status"]) == (None, desk.clock.now,
                                                                          "open")
    # anyone's callback now comes where the next-task order puts anyone's callbacks
    assert row["rank"] == desk.services.tasks.rank("callback", 0, None)
    assert (await desk.row(other))["assigned_to"] == anna  # not due that long yet
    (audit,) = await desk.audits("task.hand_over")
    assert (audit["entity"], audit["entity_id"], audit["login"]) == ("task", str(task_id),
                                                                     "scheduler")
    assert audit["details"]["from_user_id"] == anna
    desk.clock.now += minutes(1)
    assert (await desk.scheduler.run_round()).handed_over == 0
    assert len(await desk.audits("task.hand_over")) == 1  # once


async def test_a_callback_given_to_someone_again_is_handed_over_again_when_overdue(desk):
    boris = desk.users["boris"]["id"]
    due = START + minutes(60)
    task_id = await desk.task(client_id=desk.clients["moscow"], assigned_to=boris, due_at=due,
                              ready_at=due, window_ends_at=utc(2026, 11, 23, 18, 0),
                              handed_over_at=START - minutes(30))  # handed over before
    desk.clock.now = due + minutes(15)
    assert (await desk.scheduler.run_round()).handed_over == 1
    row = await desk.row(task_id)
    assert (row["assigned_to"], row["handed_over_at"]) == (None, desk.clock.now)


async def test_a_callback_its_owner_is_working_on_is_not_handed_over(desk):
    anna = desk.users["anna"]["id"]
    task_id = await desk.task(client_id=desk.clients["moscow"], assigned_to=anna,
                              due_at=START - minutes(30), ready_at=START - minutes(30),
                              window_ends_at=utc(2026, 11, 23, 18, 0), claimed_by=anna,
                              claimed_at=START - minutes(2), lease_until=START + minutes(8))
    assert (await desk.scheduler.run_round()).handed_over == 0
    assert (await desk.row(task_id))["assigned_to"] == anna
    desk.clock.now = START + minutes(9)  # the lease ran out with nothing recorded
    report = await desk.scheduler.run_round()
    assert (report.released, report.handed_over) == (1, 1)
    row = await desk.row(task_id)
    assert (row["assigned_to"], row["claimed_by"], row["lease_until"]) == (None, None, None)


async def test_expired_leases_go_back_to_the_pool_unless_an_attempt_was_made(desk):
    boris = desk.users["boris"]["id"]
    common = dict(kind="redial", client_id=desk.clients["moscow"], due_at=START,
                  ready_at=START, window_ends_at=utc(2026, 11, 23, 18, 0), claimed_by=boris,
                  claimed_at=START, lease_until=START + minutes(10))
    idle = await desk.task(**common)
    worked = await desk.task(**common)
    live = await desk.task(**dict(common, lease_until=START + minutes(30)))
    async with desk.services.db.write() as conn:
        await conn.execute(insert(task_attempts).values(
            task_id=worked, at=START + minutes(3), outcome="callback", source="operator",
            user_id=boris))
    desk.clock.now = START + minutes(11)
    assert (await desk.scheduler.run_round()).released == 1
    assert ((await desk.row(idle))["claimed_by"], (await desk.row(idle))["lease_until"]) == (
        None, None)
    assert (await desk.row(worked))["claimed_by"] == boris
    assert (await desk.row(live))["claimed_by"] == boris
    assert (await desk.scheduler.run_round()).released == 0


async def test_tasks_are_placed_in_the_next_calling_window_of_the_clients_zone(desk):
    # 18:30 UTC: 21:30 in Moscow (closed), 04:30 next day in Vladivostok (closed)
    desk.clock.now = utc(2026, 11, 23, 18, 30)
    passed = await desk.task(kind="redial", client_id=desk.clients["moscow"],
                             due_at=utc(2026, 11, 23, 17, 0), ready_at=utc(2026, 11, 23, 17, 0),
                             window_ends_at=utc(2026, 11, 23, 18, 0))
    never = await desk.task(kind="reminder", client_id=desk.clients["vladivostok"],
                            due_at=utc(2026, 11, 23, 18, 0))
    later = await desk.task(kind="reminder", client_id=desk.clients["moscow"],
                            due_at=utc(2026, 11, 25, 7, 0))
    placed = await desk.task(kind="reminder", client_id=desk.clients["moscow"],
                             due_at=utc(2026, 11, 24, 7, 0), ready_at=utc(2026, 11, 24, 7, 0),
                             window_ends_at=utc(2026, 11, 24, 18, 0), updated_at=START)
    report = await desk.scheduler.run_round()
    assert report.placed == 3
    row = await desk.row(passed)  # Moscow opens at 09:00 = 06:00 UTC
    assert (row["ready_at"], row["window_ends_at"], row["timezone"]) == (
        utc(2026, 11, 24, 6, 0), utc(2026, 11, 24, 18, 0), "Europe/Moscow")
    row = await desk.row(never)  # Vladivostok (UTC+10) opens at 09:00 = 23:00 UTC
    assert (row["ready_at"], row["window_ends_at"], row["timezone"]) == (
        utc(2026, 11, 23, 23, 0), utc(2026, 11, 24, 11, 0), "Asia/Vladivostok")
    row = await desk.row(later)  # its own due time, inside that day's window
    assert (row["ready_at"], row["window_ends_at"]) == (utc(2026, 11, 25, 7, 0),
                                                        utc(2026, 11, 25, 18, 0))
    assert (await desk.row(placed))["updated_at"] == START  # its window is still ahead
    assert (await desk.scheduler.run_round()).placed == 0


async def test_do_not_call_clients_tasks_are_archived(desk):
    nocall = desk.clients["nocall"]
    by_client = await desk.task(kind="reminder", client_id=nocall)
    by_number = await desk.task(kind="missed_call", client_id=None, phone_e164="+74953330003")
    fine = await desk.task(kind="reminder", client_id=desk.clients["moscow"])
    report = await desk.scheduler.run_round()
    assert report.archived == 2
    for task_id in (by_client, by_number):
        row = await desk.row(task_id)
        assert (row["status"], row["closed_reason"], row["closed_at"]) == (
            "archived", "do_not_call", START)
    assert (await desk.row(fine))["status"] == "open"
    assert sorted(int(a["entity_id"]) for a in await desk.audits("task.archive")) == sorted(
        [by_client, by_number])
    assert (await desk.scheduler.run_round()).archived == 0


async def test_the_owner_is_told_once_when_a_personal_callback_falls_due(desk):
    anna = desk.users["anna"]["id"]
    sessions = {name: await desk.api.login(name, create=False) for name in ("anna", "boris")}
    sockets = {}
    for name, session in sessions.items():
        sockets[name] = await session.client.ws_connect("/ws")
        assert (await sockets[name].receive_json(timeout=5))["type"] == "hello"
    due = START + minutes(5)
    task_id = await desk.task(client_id=desk.clients["moscow"], assigned_to=anna, due_at=due,
                              ready_at=due, window_ends_at=utc(2026, 11, 23, 18, 0),
                              title="Перезвонить насчёт доставки")
    await desk.task(kind="reminder", client_id=desk.clients["moscow"], assigned_to=anna,
                    due_at=due, ready_at=due, window_ends_at=utc(2026, 11, 23, 18, 0))
    desk.clock.now = START + minutes(4)
    assert (await desk.scheduler.run_round()).due_pushed == 0
    desk.clock.now = START + minutes(6)
    assert (await desk.scheduler.run_round()).due_pushed == 1
    msg = await _next_of_type(sockets["anna"], "tasks.due")
    assert (msg["task"]["id"], msg["task"]["title"], msg["task"]["assigned_to"]) == (
        task_id, "Перезвонить насчёт доставки", anna)
    assert msg["task"]["ready_at"] in ("2026-11-23T09:05:00Z", "2026-11-23T09:05:00+00:00")
    desk.clock.now = START + minutes(7)
    assert (await desk.scheduler.run_round()).due_pushed == 0
    assert await _next_of_type(sockets["anna"], "tasks.due", timeout=0.5) is None
    # boris's page is told nothing about anna's callback
    assert await _next_of_type(sockets["boris"], "tasks.due", timeout=0.3) is None
    for ws in sockets.values():
        await ws.close()


async def test_a_callback_created_already_due_is_pushed_at_the_next_round(desk):
    """A callback set for a moment already gone by (an operator writes down a callback the
    client asked for an hour ago) falls due when it is created: its owner is told once."""
    anna = desk.users["anna"]["id"]
    session = await desk.api.login("anna", create=False)
    ws = await session.client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    desk.clock.now = START + minutes(1)
    assert (await desk.scheduler.run_round()).due_pushed == 0
    desk.clock.now = START + minutes(2)
    past = START - minutes(60)
    task_id = await desk.task(client_id=desk.clients["moscow"], assigned_to=anna, due_at=past,
                              ready_at=past, window_ends_at=utc(2026, 11, 23, 18, 0),
                              title="Перезвонить: просила час назад")
    desk.clock.now = START + minutes(3)
    assert (await desk.scheduler.run_round()).due_pushed == 1
    msg = await _next_of_type(ws, "tasks.due")
    assert msg["task"]["id"] == task_id
    desk.clock.now = START + minutes(4)
    assert (await desk.scheduler.run_round()).due_pushed == 0
    await ws.close()


async def _next_of_type(ws, kind: str, timeout: float = 5.0):
    try:
        while True:
            msg = await ws.receive_json(timeout=timeout)
            if msg["type"] == kind:
                return msg
    except asyncio.TimeoutError:
        return None


async def test_a_round_on_a_failing_database_is_logged_and_the_loop_goes_on(api_with, caplog):
    """The database goes away (the tasks table is renamed from outside) while the app's own
    loop runs every 0.05 s: rounds fail and are logged, and resume when it is back."""
    from sqlalchemy import text

    from tests.scheduler.conftest import make_desk

    desk = await make_desk(api_with, scheduler_interval_seconds=0.05)
    scheduler = desk.scheduler
    db = desk.services.db
    await scheduler.wait_for_round(scheduler.rounds + 1)
    async with db.write() as conn:
        await conn.execute(text("ALTER TABLE tasks RENAME TO tasks_away"))
    caplog.clear()
    failed_at = scheduler.rounds
    await asyncio.sleep(0.4)
    assert scheduler.rounds == failed_at  # no round got through
    assert any("scheduler round failed" in r.getMessage() for r in caplog.records)
    assert scheduler._task is not None and not scheduler._task.done()
    async with db.write() as conn:
        await conn.execute(text("ALTER TABLE tasks_away RENAME TO tasks"))
    await scheduler.wait_for_round(failed_at + 1, timeout=10)
    task_id = await desk.task(kind="reminder", client_id=desk.clients["nocall"])
    await scheduler.wait_for_round(scheduler.rounds + 2, timeout=10)
    assert (await desk.row(task_id))["status"] == "archived"


async def test_stop_cancels_and_awaits_the_loop(api_with):
    from tests.scheduler.conftest import make_desk

    desk = await make_desk(api_with, scheduler_interval_seconds=0.05)
    scheduler = desk.scheduler
    loop_task = scheduler._task
    await scheduler.stop()
    assert loop_task.done() and scheduler._task is None
    rounds = scheduler.rounds
    await asyncio.sleep(0.2)
    assert scheduler.rounds == rounds
