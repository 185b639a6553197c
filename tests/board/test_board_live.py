"""The live board over real TCP: the AMI simulator replays real Asterisk 22 traces into the
running app; the board is read over HTTP and its pushes over real websockets."""

from __future__ import annotations

import asyncio
from datetime import datetime

from callcenter.http.keys import CALLS, SERVICES
from tests.board.conftest import board_of, open_ws, row, until


async def test_the_board_follows_a_call_and_pushes_only_to_staff(sqlite_desk):
    desk = sqlite_desk
    await desk.wait_state("101", "ready")
    sup, anna = await desk.browser("sup"), await desk.browser("101")
    sup_ws, anna_ws = await open_ws(sup), await open_ws(anna)
    assert (await anna.get("/api/board")).status == 403

    replay = asyncio.get_running_loop().create_task(desk.replay("inbound_answered", speed=1))
    # while it rings the caller waits in the queue, named as the CRM knows him
    waiting = await until(lambda: sup_ws.of("board.queue") and
                          sup_ws.of("board.queue")[-1]["queue"]["waiting"],
                          what="the caller waiting in the queue")
    assert waiting[0]["number"] == "+79161234567" and waiting[0]["position"] == 1
    board = await board_of(sup)
    (shop,) = board["queues"]
    assert shop["name"] == "shop" and len(shop["waiting"]) == 1
    assert shop["waiting"][0]["client_name"] == "Иван Петров"
    assert shop["longest_since"] == shop["waiting"][0]["since"]

    async def talking():
        b = await board_of(sup)
        return row(b, "101") if row(b, "101")["state"] == "talking" else None

    anna_row = await until(talking, what="101 talking on the board")
    call = anna_row["call"]
    assert (call["direction"], call["number"], call["client_id"], call["client_name"]) == (
        "inbound", "+79161234567", desk.ivan_id, "Иван Петров")
    assert call["supervised_by"] is None and call["since"]
    board = await board_of(sup)
    assert board["queues"][0]["waiting"] == []  # answered: left the queue
    assert board["stale"] is False and board["ami"]["status"] == "connected"
    assert {o["login"] for o in board["operators"]} == {"101", "102", "103"}
    assert board["pause_reasons"]

    await replay
    await until(lambda: any(r["today"]["calls"] == 1 and r["call"] is None
                            for r in sup_ws.operator_rows("101")),
                what="101's row with the ended call counted")
    pushed = sup_ws.operator_rows("101")
    assert "talking" in [r["state"] for r in pushed]
    talking_rows = [r for r in pushed if r["state"] == "talking" and r["call"]]
    assert talking_rows and talking_rows[-1]["call"]["client_name"] == "Иван Петров"
    # coalesced: far fewer rows than the ~100 events of the call
    assert len(pushed) < 20
    assert sup_ws.of("board.queue")[-1]["queue"]["waiting"] == []
    # the operator's page got its own agent.state messages, and nothing of the board
    await asyncio.sleep(0.5)
    assert anna_ws.of("agent.state")
    assert not [m for m in anna_ws.messages if m["type"].startswith("board.")]
    await sup_ws.close()
    await anna_ws.close()


async def test_stale_while_ami_is_down_then_every_row_again(sqlite_desk):
    desk = sqlite_desk
    await desk.wait_state("101", "ready")
    sup = await desk.browser("sup")
    assert (await board_of(sup))["stale"] is False
    ws = await open_ws(sup)
    desk.sim.set_fault("login", "close")
    desk.sim.disconnect_all()
    status = await until(lambda: ws.of("board.status"), what="board.status")
    assert status[0]["stale"] is True and status[0]["stale_since"]
    board = await board_of(sup)
    assert board["stale"] is True and board["stale_since"] == status[0]["stale_since"]
    assert board["ami"]["status"] != "connected"
    # meanwhile an operator still pauses in the CRM: that row is pushed, stale or not
    anna = await desk.browser("101")
    await anna.post("/api/agents/me/state", json={"state": "paused", "reason": "training"})
    await until(lambda: any(r["state"] == "paused" for r in ws.operator_rows("101")),
                what="101 paused on the board")
    before = len(ws.of("board.operator"))

    desk.sim.set_fault("login", None)
    await desk.ami.wait_connected(15)
    await until(lambda: len(ws.of("board.status")) >= 2, what="board.status after resync")
    assert ws.of("board.status")[-1] == {"type": "board.status", "stale": False,
                                         "stale_since": None}
    # every operator and the queue sent again after the resync
    await until(lambda: {m["operator"]["login"] for m in ws.of("board.operator")[before:]}
                == {"101", "102", "103"}, what="every row again")
    assert ws.of("board.queue")
    board = await board_of(sup)
    assert board["stale"] is False and board["stale_since"] is None
    await until(lambda: desk.agents.current(desk.id("101")).reason == "training")
    assert (row(board, "101")["state"], row(board, "101")["reason"]) == ("paused", "training")
    assert board["queues"][0]["members"] == 2
    await ws.close()


async def test_a_caller_waiting_through_a_reconnect_is_told_by_queue_status(sqlite_desk):
    desk = sqlite_desk
    await desk.wait_state("101", "ready")
    sup = await desk.browser("sup")
    # +7 903 111-22-33 rings ~9 s and gives up
    replay = asyncio.get_running_loop().create_task(desk.replay("inbound_abandoned", speed=1))

    async def waiting():
        return (await board_of(sup))["queues"] and \
            (await board_of(sup))["queues"][0]["waiting"]

    (caller,) = await until(waiting, what="the caller waiting")
    desk.sim.disconnect_all()
    await until(lambda: not desk.ami.connected, what="the drop")
    await desk.ami.wait_connected(15)

    async def resynced():
        b = await board_of(sup)
        return b if not b["stale"] else None

    board = await until(resynced, what="the board fresh again")
    (again,) = board["queues"][0]["waiting"]
    # from the QueueStatus answer's QueueEntry: the same caller, waiting since about as long
    assert again["number"] == caller["number"] == "+79031112233"
    drift = abs((datetime.fromisoformat(again["since"]) -
                 datetime.fromisoformat(caller["since"])).total_seconds())
    assert drift <= 1.5
    await replay

    async def cleared():
        return (await board_of(sup))["queues"][0]["waiting"] == []

    await until(cleared, what="the queue empty after the abandon")


async def test_who_listens_in_is_on_the_operators_row(sqlite_desk):
    desk = sqlite_desk
    await desk.wait_state("101", "ready")
    sup = await desk.browser("sup")
    ws = await open_ws(sup)
    # 102's phone spies on 101 in whisper mode (ChanSpy PJSIP/101,qw)
    await desk.replay("supervisor_whisper", speed=2)
    rows = ws.operator_rows("101")
    spied = [i for i, r in enumerate(rows) if r["call"] and r["call"]["supervised_by"]]
    assert spied, "no row of 101 named who listened in"
    assert rows[spied[0]]["call"]["supervised_by"] == {
        "user_id": desk.id("102"), "name": "Борис Кузнецов", "mode": "whisper"}
    assert rows[spied[0]]["state"] == "talking"
    # the spy hung up 2 s (1 s here) before the customer: a row says so, the call still on
    after = rows[spied[-1] + 1:]
    assert any(r["call"] and r["call"]["supervised_by"] is None for r in after)
    board = await board_of(sup)
    assert row(board, "101")["call"] is None
    # the spy leg is not a call of 102's: 101 took one call, 102 none
    await desk.app[CALLS].calls.drain()
    await desk.app[SERVICES].board.drain()
    board = await board_of(sup)
    assert row(board, "101")["today"]["calls"] == 1
    assert row(board, "102")["today"]["calls"] == 0
    await ws.close()
