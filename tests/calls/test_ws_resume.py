"""A page whose live link comes back (or that opens) mid-call gets the calls at its phone again,
over a real websocket, with the real app on SQLite and PostgreSQL following the AMI simulator
replaying a real inbound call: call.ringing (the same card) while the phone rings, call.answered
while the operator is in the call, nothing for phones the call is not at, nothing once it ended."""

from __future__ import annotations

import asyncio

RUNG, OTHER_RUNG, NOT_RUNG = "PJSIP/101", "PJSIP/102", "PJSIP/103"


async def connect(pbx, client):
    ws = await client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["ami"]["status"] == "connected"
    return ws


async def following(ws, quiet: float = 0.4) -> list[dict]:
    """The call messages the server sends after "hello" until it is quiet for ``quiet``
    seconds (the agent's state and other pushes are not this test's business)."""
    got = []
    while True:
        try:
            message = await ws.receive_json(timeout=quiet)
        except asyncio.TimeoutError:
            return got
        if message["type"].startswith("call."):
            got.append(message)


async def until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_page_connecting_mid_call_gets_the_calls_at_its_phone(pbx):
    tracker = pbx.telephony.tracker
    anna = await pbx.browser("101")
    boris = await pbx.browser("102")
    vera = await pbx.browser("103")
    playing = asyncio.ensure_future(pbx.replay("inbound_answered", speed=1, fresh_ids=True))
    try:
        await _mid_call(pbx, tracker, anna, boris, vera, playing)
    finally:
        for client in (anna, boris, vera):
            await client.close()


async def _mid_call(pbx, tracker, anna, boris, vera, playing):
    try:
        # Both phones ring: Anna's page (re)connects and gets the card as it popped.
        await until(lambda: tracker.ringing_at(RUNG) and tracker.ringing_at(OTHER_RUNG))
        key = tracker.ringing_at(RUNG)[0].key
        assert tracker.ringing_at(NOT_RUNG) == []
        ws = await connect(pbx, anna)
        got = await following(ws, quiet=0.5)
        ringing = [m for m in got if m["type"] == "call.ringing"]
        # the card as it popped; the pop itself may also arrive when the page registered
        # before it went out (the page shows one card per call key)
        assert {m["call_key"] for m in ringing} == {key} and 1 <= len(ringing) <= 2, got
        assert ringing[0]["client"]["id"] == pbx.ivan_id
        assert ringing[0]["client"]["name"] == "Иван Петров"
        assert ringing[0]["number_e164"] == "+79161234567"
        assert ringing[0]["call"]["direction"] == "inbound"
        # Vera's phone is not in the queue: her page hears nothing of the call.
        ws_vera = await connect(pbx, vera)
        assert await following(ws_vera, quiet=0.5) == []

        # Anna answered: her page that comes back now gets the conversation, Boris's nothing.
        def answered():
            return [c for c in tracker.live_calls() if c.answered_by == RUNG]

        await until(answered)
        ws2 = await connect(pbx, anna)
        got = await following(ws2, quiet=0.5)
        first = got[0] if got else None
        assert first and first["type"] == "call.answered" and first["call_key"] == key, got
        assert first["answered_by"]["user_id"] == pbx.users["101"]["id"]
        assert not [m for m in got if m["type"] == "call.ringing"]
        ws_boris = await connect(pbx, boris)
        assert [m["type"] for m in await following(ws_boris, quiet=0.5)] == []
    finally:
        await playing

    # Over: a page that opens now is greeted and nothing more.
    await until(lambda: not tracker.live_calls())
    ws3 = await connect(pbx, anna)
    assert await following(ws3, quiet=0.3) == []
