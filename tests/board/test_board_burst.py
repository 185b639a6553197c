"""A burst of 100 calls in a few seconds (the simulator's synthetic calls over real TCP): the
supervisor's page gets a bounded number of board pushes, the queue ends empty, and every
operator's counters equal the call log."""

from __future__ import annotations

import asyncio

from callcenter.http.keys import CALLS, SERVICES
from tests.board.conftest import board_of, open_ws, row, until


async def test_a_burst_is_coalesced_and_counted_like_the_call_log(sqlite_desk):
    desk = sqlite_desk
    await desk.wait_state("101", "ready")
    sup = await desk.browser("sup")
    ws = await open_ws(sup)
    loop = asyncio.get_running_loop()
    began = loop.time()
    started = await desk.sim.synthetic(rate=40, count=100, speed=4)
    took = loop.time() - began
    assert started == 100

    async def all_stored():
        await desk.app[CALLS].calls.drain()
        items = (await (await sup.get("/api/calls?limit=200")).json())["items"]
        return items if len([c for c in items if c["status"] == "completed"]) == 100 else None

    items = await until(all_stored, timeout=30, what="100 calls stored")
    board_service = desk.app[SERVICES].board
    await board_service.drain()
    board = await board_of(sup)
    assert board["queues"][0]["waiting"] == []
    for login in ("101", "102"):
        user_id, endpoint = desk.id(login), f"PJSIP/{login}"
        answered = [c for c in items if c["answered_by_user_id"] == user_id]
        missed = [c for c in items if c["outcome"] == "missed" and
                  endpoint in c["operators_rung"]]
        today = row(board, login)["today"]
        assert (today["answered"], today["missed"], today["calls"], today["inbound"]) == (
            len(answered), len(missed), len(answered) + len(missed),
            len(answered) + len(missed)), login
        assert today["talk_seconds"] == sum(c["talk_seconds"] for c in answered)
    assert sum(row(board, x)["today"]["answered"] for x in ("101", "102")) == len(
        [c for c in items if c["outcome"] == "answered"])
    # at most one push per row per 200 ms tick (three operators and one queue), not one per
    # event (~10,000 events)
    await until(lambda: ws.messages and True)
    pushes = len(ws.of("board.operator")) + len(ws.of("board.queue"))
    ticks = (loop.time() - began) / 0.2 + 10
    assert pushes <= 4 * ticks, (pushes, ticks)
    print(f"\n100 calls in {took:.1f} s: {len(ws.of('board.operator'))} board.operator and "
          f"{len(ws.of('board.queue'))} board.queue pushes")
    await ws.close()
