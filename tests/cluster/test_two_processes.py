"""Two server processes on one PostgreSQL database and one PBX (the AMI simulator, over TCP):
each app here has its own database pools, its own notice bus and its own AMI link, as two
``callcenter serve`` processes have. What the PBX says both see; what happens in one is told to
the other; every side effect happens once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from aiohttp import WSMsgType
from sqlalchemy import func, select

from callcenter.ami.sim import AmiSimulator
from callcenter.http.keys import CALLS, SERVICES
from callcenter.services.context import Actor
from callcenter.storage.tables import agent_state_changes, calls, events, recordings, tasks
from tests.agents.conftest import Desk
from tests.calls.conftest import AMI_SECRET, AMI_USER, TRACES

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pair(pg_url):
    sim = AmiSimulator(AMI_USER, AMI_SECRET, seed=1)
    await sim.start()
    overrides = {"wrap_up_seconds": 1, "session_check_seconds": 3600.0}
    one = Desk(pg_url, sim, overrides)
    await one.start(seed=True)
    two = Desk(pg_url, sim, overrides, users=one.users)
    await two.start()
    for desk in (one, two):
        await desk.app[SERVICES].bus.wait_connected()
    yield one, two
    for desk in (one, two):
        await desk.stop()
    await sim.stop()


async def next_of(ws, kind: str, timeout: float = 5.0) -> dict:
    while True:
        msg = await ws.receive_json(timeout=timeout)
        if msg["type"] == kind:
            return msg


async def count(desk: Desk, query) -> int:
    async with desk.app[SERVICES].db.read() as conn:
        return (await conn.execute(query)).scalar_one()


async def test_a_choice_on_one_process_reaches_the_board_on_the_other(pair):
    one, two = pair
    await one.wait_state("101", "ready")
    await two.wait_state("101", "ready")
    supervisor = await two.browser("sup")
    ws = await supervisor.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    anna = await one.browser("101")
    resp = await anna.post("/api/agents/me/state", json={"state": "paused", "reason": "lunch"})
    assert resp.status == 200, await resp.text()
    msg = await next_of(ws, "agent.state")
    assert (msg["agent"]["login"], msg["agent"]["state"], msg["agent"]["reason"]) == (
        "101", "paused", "lunch")
    assert two.agents.current(one.id("101")).chosen == "paused"
    # the PBX's echo of the QueuePause reaches both: nothing more is stored for it
    await two.wait_state("101", "paused", "lunch")
    await asyncio.sleep(0.5)
    for desk in (one, two):
        await desk.agents.drain()
    assert [h for h in await one.history("101") if h[0] == "paused"] == [
        ("paused", "lunch", "crm")]
    # the board of the second process shows it too
    board = await (await supervisor.get("/api/board")).json()
    row = next(o for o in board["operators"] if o["login"] == "101")
    assert (row["state"], row["reason"]) == ("paused", "lunch")
    await ws.close()


async def test_a_missed_call_both_processes_see_is_logged_once_with_one_callback(pair):
    one, two = pair
    await one.wait_state("101", "ready")
    await two.wait_state("101", "ready")
    for _ in range(3):
        await one.replay("inbound_abandoned", speed=0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await count(one, select(func.count()).select_from(calls).where(
            calls.c.status == "completed")) < 3:
        assert loop.time() < deadline, "the calls were not completed"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the slower process's writes too
    assert await count(one, select(func.count()).select_from(calls)) == 3
    # three missed calls from one number: one callback task, three attempts on it
    assert await count(one, select(func.count()).select_from(tasks).where(
        tasks.c.kind == "missed_call")) == 1
    assert await count(one, select(tasks.c.attempts).where(tasks.c.kind == "missed_call")) == 3
    for kind, expected in (("call.started", 3), ("call.missed", 3), ("call.ended", 0)):
        assert await count(one, select(func.count()).select_from(events).where(
            events.c.type == kind)) == expected, kind
    assert await count(one, select(func.count()).select_from(recordings)) == 0
    # the phones rang and stopped on both processes: one history row per change
    rows = await count(one, select(func.count()).select_from(agent_state_changes).where(
        agent_state_changes.c.user_id == one.id("101"),
        agent_state_changes.c.state == "ringing"))
    assert rows == 3


async def test_an_answered_call_queues_one_recording(pair):
    one, two = pair
    await one.wait_state("101", "ready")
    await two.wait_state("101", "ready")
    await one.replay("inbound_answered", speed=0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await count(one, select(func.count()).select_from(calls).where(
            calls.c.status == "completed")) < 1:
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    assert await count(one, select(func.count()).select_from(calls)) == 1
    assert await count(one, select(func.count()).select_from(recordings)) == 1
    assert await count(one, select(func.count()).select_from(events).where(
        events.c.type == "call.ended")) == 1


async def test_a_logout_everywhere_on_one_process_closes_the_pages_on_the_other(pair):
    one, two = pair
    anna_two = await two.browser("101")
    ws = await anna_two.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    anna_one = await one.browser("101")
    started = asyncio.get_running_loop().time()
    resp = await anna_one.post("/api/logout/everywhere")
    assert resp.status in (200, 204), await resp.text()
    while True:
        msg = await ws.receive(timeout=5)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            break
    # at once, not at the next periodic session check (an hour here)
    assert asyncio.get_running_loop().time() - started < 5.0
    assert ws.close_code == 4001
    assert (await anna_two.get("/api/me")).status == 401


async def test_an_admin_change_on_one_process_is_known_on_the_other_at_once(pair):
    one, two = pair
    anna = one.id("101")
    await one.app[SERVICES].accounts.update_user(Actor.system("test"), anna,
                                                 {"extension": "PJSIP/109"})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.0
    # the softphone directory of the other process follows at once, not at its next check
    while (two.app[CALLS].directory.user("PJSIP/109") or {}).get("id") != anna:
        assert loop.time() < deadline, "the other process still has the old extension"
        await asyncio.sleep(0.02)
    assert two.app[CALLS].directory.user("PJSIP/101") is None


async def test_a_failed_click_to_call_reaches_the_operators_page_on_the_other_process(pair):
    one, two = pair
    vera_two = await two.browser("103")  # her page is on the second process
    ws = await vera_two.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    one.sim.originate_trace = TRACES / "outbound_operator_unreachable.jsonl"
    vera_one = await one.browser("103")  # she clicked in a tab served by the first
    resp = await vera_one.post("/api/calls/originate", json={"number": "+79161234567"})
    assert resp.status == 202, await resp.text()
    action_id = (await resp.json())["action_id"]
    message = await next_of(ws, "call.originate_failed")
    assert (message["action_id"], message["endpoint"], message["reason"]) == (
        action_id, "PJSIP/103", "unavailable")
    # once: the second process does not learn it from the PBX as well
    with pytest.raises(asyncio.TimeoutError):
        await next_of(ws, "call.originate_failed", timeout=1.0)
    await ws.close()


async def test_a_task_given_on_one_process_refreshes_lists_on_the_other(pair):
    one, two = pair
    card = await one.app[SERVICES].clients.create(Actor.system("test"), {
        "name": "Ольга", "phones": ["+79161230000"], "timezone": "Europe/Moscow",
        "force": True})
    boris_two = await two.browser("102")
    ws = await boris_two.ws_connect("/ws")
    sup_two = await two.browser("sup")
    board = await sup_two.ws_connect("/ws")
    for socket in (ws, board):
        assert (await socket.receive_json(timeout=5))["type"] == "hello"
    supervisor = await one.browser("sup")
    resp = await supervisor.post("/api/tasks", json={
        "kind": "callback", "client_id": card["id"], "assigned_to": one.id("102"),
        "due_at": "2030-01-01T10:00:00+03:00", "title": "Перезвонить про заказ"})
    assert resp.status == 201, await resp.text()
    task = await resp.json()
    for socket in (ws, board):
        msg = await next_of(socket, "tasks.changed")
        assert msg["task"]["id"] == task["id"] and msg["task"]["assigned_to"] == one.id("102")
    # an operator who is neither its owner nor staff is not told
    anna_two = await two.browser("101")
    other = await anna_two.ws_connect("/ws")
    assert (await other.receive_json(timeout=5))["type"] == "hello"
    resp = await supervisor.post(f"/api/tasks/{task['id']}/outcome",
                                 json={"outcome": "callback",
                                       "next_at": "2030-01-02T10:00:00+03:00"})
    assert resp.status == 200, await resp.text()
    msg = await next_of(ws, "tasks.changed")
    assert msg["task"]["id"] == task["id"]
    with pytest.raises(asyncio.TimeoutError):
        await next_of(other, "tasks.changed", timeout=1.0)
    for socket in (ws, board, other):
        await socket.close()


def zone_at_midday() -> str:
    """A zone where it is now between 11:00 and 17:00 (inside every calling window)."""
    from zoneinfo import ZoneInfo

    zones = ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok",
             "Pacific/Auckland", "Pacific/Honolulu", "America/Los_Angeles", "America/Chicago",
             "America/New_York", "Atlantic/Azores", "Europe/London", "Asia/Kolkata",
             "Asia/Tokyo", "America/Sao_Paulo", "Asia/Dubai", "Australia/Brisbane")
    now = datetime.now(timezone.utc)
    return next(z for z in zones if 11 <= now.astimezone(ZoneInfo(z)).hour < 17)


async def test_next_task_claims_on_two_processes_never_hand_out_one_task_twice(pair):
    one, two = pair
    zone = zone_at_midday()
    services = one.app[SERVICES]
    system = Actor.system("test")
    for i in range(6):
        card = await services.clients.create(system, {
            "name": f"Клиент {i}", "phones": [f"+7916555{i:04d}"], "timezone": zone,
            "force": True})
        await services.tasks.create(system, {
            "kind": "redial", "client_id": card["id"], "title": f"Перезвонить {i}",
            "due_at": datetime.now(timezone.utc).isoformat()})
    sessions = [await one.browser("101"), await two.browser("102"), await one.browser("103"),
                await two.browser("101"), await one.browser("102"), await two.browser("103")]

    async def claim(session):
        resp = await session.post("/api/tasks/next")
        assert resp.status in (200, 204), await resp.text()
        return (await resp.json())["task"]["id"] if resp.status == 200 else None

    got = []
    for _ in range(2):  # every page asks twice, all at once, on both processes
        got += await asyncio.gather(*(claim(s) for s in sessions))
    async with services.db.read() as conn:
        held = (await conn.execute(select(tasks.c.id, tasks.c.claimed_by).where(
            tasks.c.kind == "redial", tasks.c.claimed_by.is_not(None)))).all()
    # one task per operator (an operator asking again gets the task they hold), never one
    # task for two of them
    assert sorted(row.claimed_by for row in held) == sorted(
        one.id(login) for login in ("101", "102", "103")), (held, await debug(services))
    assert None not in got  # nobody was told "no task" while tasks were there
    assert set(got) == {row.id for row in held}


async def debug(services):
    async with services.db.read() as conn:
        return [tuple(r) for r in await conn.execute(select(
            tasks.c.ready_at, tasks.c.window_ends_at, tasks.c.timezone, tasks.c.status))]
