"""Where the database matters (SQLite and PostgreSQL): today's counters equal the call log,
also after a restart; a supervisor pauses an operator from the board (QueuePause reaches the
simulated PBX over real TCP, the row says so, the audit log has it)."""

from __future__ import annotations

import asyncio

from callcenter.http.keys import CALLS, SERVICES
from tests.board.conftest import board_of, open_ws, row, until


async def settled(desk, calls: int) -> list[dict]:
    """The call log (GET /api/calls as a supervisor) once ``calls`` calls are stored."""
    sup = await desk.browser("sup")

    async def stored():
        await desk.app[CALLS].calls.drain()
        items = (await (await sup.get("/api/calls?limit=100")).json())["items"]
        return items if len([c for c in items if c["status"] == "completed"]) >= calls \
            else None

    items = await until(stored, what=f"{calls} calls stored")
    await desk.app[SERVICES].board.drain()
    return items


async def test_todays_counters_equal_the_call_log(board_desk):
    desk = board_desk
    await desk.wait_state("101", "ready")
    # a supervisor watches: the calls are added as they end (nobody watching, the board
    # reads the day whole when it is next opened)
    sup = await desk.browser("sup")
    ws = await open_ws(sup)
    await desk.replay("inbound_answered", speed=4)  # 101 answers, talks ~1.5 s
    await desk.replay("inbound_abandoned")  # rings 101 and 102, nobody answers
    await desk.wait_state("101", "ready", timeout=10)  # after the 1-s wrap-up
    items = await settled(desk, 2)
    answered = next(c for c in items if c["outcome"] == "answered")
    pushed = await until(lambda: [r for r in ws.operator_rows("102") if r["today"]["calls"]],
                         what="102's counters pushed")
    assert pushed[-1]["today"]["missed"] == 1
    resp = await sup.patch(f"/api/calls/{answered['id']}",
                           json={"disposition": "order_confirmed"})
    assert resp.status == 200, await resp.text()
    talk = sum(c["talk_seconds"] for c in items if c["answered_by_user_id"] == desk.id("101"))
    assert talk > 0
    expected_101 = {"calls": 2, "inbound": 2, "outbound": 0, "answered": 1, "missed": 1,
                    "talk_seconds": talk, "outcomes": {"order_confirmed": 1}}
    expected_102 = {"calls": 1, "inbound": 1, "outbound": 0, "answered": 0, "missed": 1,
                    "talk_seconds": 0, "outcomes": {}}
    board = await board_of(sup)
    assert row(board, "102")["today"] == expected_102
    assert row(board, "103")["today"]["calls"] == 0
    assert row(board, "101")["today"] == dict(expected_101, outcomes={})
    # an outcome set on a stored call ends no call and changes no state: the periodic read
    # of the counters brings it (every minute; faster here), pushed as a changed row
    desk.app[SERVICES].board.today.recount_seconds = 0.3
    pushed = await until(lambda: [r for r in ws.operator_rows("101")
                                  if r["today"]["outcomes"]], what="the outcome counted")
    assert pushed[-1]["today"] == expected_101
    assert row(await board_of(sup), "101")["today"] == expected_101
    # 102's counters did not change: no row of theirs pushed again
    assert len([r for r in ws.operator_rows("102") if r["today"]["calls"]]) == len(pushed)
    await ws.close()

    # a restart reads the same from the calls table
    await desk.stop()
    await desk.start()
    sup = await desk.browser("sup")
    board = await board_of(sup)
    assert row(board, "101")["today"] == expected_101
    assert row(board, "102")["today"] == expected_102


async def test_a_supervisor_pauses_and_unpauses_an_operator(board_desk):
    desk = board_desk
    await desk.wait_state("101", "ready")
    sup = await desk.browser("sup")
    ws = await open_ws(sup)
    anna_id = desk.id("101")
    resp = await sup.post(f"/api/agents/{anna_id}/state",
                          json={"state": "paused", "reason": "lunch"})
    assert resp.status == 200, await resp.text()
    agent = await resp.json()
    assert (agent["user_id"], agent["state"], agent["reason"], agent["pbx"]) == (
        anna_id, "paused", "lunch", "sent")
    pauses = [(a["Interface"], a["Paused"], a.get("Reason")) for a in desk.sim.actions
              if a["Action"] == "QueuePause"]
    assert pauses == [("PJSIP/101", "true", "lunch")]
    await until(lambda: any((r["state"], r["reason"]) == ("paused", "lunch")
                            for r in ws.operator_rows("101")), what="the paused row pushed")
    board = await board_of(sup)
    assert (row(board, "101")["state"], row(board, "101")["reason"]) == ("paused", "lunch")
    # the PBX's own QueueMemberPause echo does not undo it, the queue counts 101 as paused
    await asyncio.sleep(0.5)
    board = await board_of(sup)
    assert row(board, "101")["state"] == "paused"
    assert board["queues"][0]["members_ready"] == 1
    assert await desk.history("101") == [("ready", None, "pbx"), ("paused", "lunch", "crm")]

    resp = await sup.post(f"/api/agents/{anna_id}/state", json={"state": "ready"})
    assert (await resp.json())["state"] == "ready"
    await desk.wait_state("101", "ready")
    assert [(a["Interface"], a["Paused"]) for a in desk.sim.actions
            if a["Action"] == "QueuePause"][-1] == ("PJSIP/101", "false")

    admin_audit = await (await sup.get("/api/audit?action=agent.state_set")).json()
    entries = admin_audit["items"]
    assert [(e["details"]["state"], e["details"]["target"], e["details"]["by"])
            for e in entries] == [("ready", "101", "sup"), ("paused", "101", "sup")]
    assert all(e["entity_id"] == str(anna_id) and e["login"] == "sup" for e in entries)

    # refused: bad state or reason (422), a supervisor or an unknown id (404)
    for body, status in (({"state": "lunch"}, 422), ({"state": "paused", "reason": "nap"}, 422)):
        resp = await sup.post(f"/api/agents/{anna_id}/state", json=body)
        assert resp.status == status, await resp.text()
    for target in (desk.id("sup"), 999999, "abc"):
        resp = await sup.post(f"/api/agents/{target}/state", json={"state": "ready"})
        assert resp.status == 404, await resp.text()
    # an operator may not set another's state
    boris = await desk.browser("102")
    resp = await boris.post(f"/api/agents/{anna_id}/state", json={"state": "ready"})
    assert resp.status == 403
    await ws.close()
