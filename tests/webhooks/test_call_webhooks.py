"""Calls replayed from real AMI traces over a real TCP socket tell webhooks once each:
started, ended (answered) and missed (an inbound call nobody answered), signed; a trace
replayed again with the same ids (a resync, a restart) tells nothing more."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from callcenter.domain.webhooks import verify_signature
from callcenter.services.context import Actor
from callcenter.storage.tables import events
from tests.calls.conftest import start_pbx

SECRET = "whsec_calls_secret_000000"


@pytest.fixture
async def pbx_hooked(db_url, aiohttp_client, receiver):
    pbx = await start_pbx(db_url, aiohttp_client,
                          settings_overrides={"webhook_allow_private": True})
    await pbx.telephony.ami.wait_connected(10)
    await pbx.services.webhooks.create(Actor.system("test"), {
        "url": receiver.url, "events": ["call.started", "call.ended", "call.missed"],
        "secret": SECRET})
    yield pbx
    await pbx.sim.stop()


def calls_told(receiver) -> list[tuple[str, str | None]]:
    return [(r.json["type"], r.json["data"]["call"]["outcome"]) for r in receiver.got]


async def test_an_answered_and_a_missed_call_are_told_once_each(pbx_hooked, receiver):
    pbx = pbx_hooked
    await pbx.replay("inbound_answered", speed=4)
    (answered,) = await pbx.settle(1)
    await receiver.wait_for(lambda: len(receiver.got) >= 2)
    await pbx.replay("inbound_abandoned")
    await pbx.settle(2)
    await receiver.wait_for(lambda: len(receiver.got) >= 4)
    await asyncio.sleep(0.5)
    assert sorted(calls_told(receiver)) == sorted([
        ("call.started", None), ("call.ended", "answered"),
        ("call.started", None), ("call.missed", "missed")])
    ended = receiver.of_type("call.ended")[0]
    assert verify_signature(ended.headers["X-Callcenter-Signature"], ended.body, SECRET,
                            int(pbx.services.outbox.clock().timestamp()))
    call = ended.json["data"]["call"]
    assert call["id"] == answered["id"] and call["direction"] == "inbound"
    assert call["from"] == "+79161234567" and call["to"] == "+74951234567"
    assert call["client_id"] == pbx.ivan_id
    assert call["user_id"] == pbx.users["101"]["id"] and call["status"] == "completed"
    assert call["talk_seconds"] >= 1 and call["answered_at"] and call["ended_at"]
    assert call["recording_url"] == f"/api/calls/{answered['id']}/recording"
    missed = receiver.of_type("call.missed")[0].json["data"]["call"]
    assert missed["from"] == "+79031112233" and missed["user_id"] is None

    # the same trace again, with the same ids
    await pbx.replay("inbound_answered", speed=4)
    await pbx.settle(2)
    rows = {r["call_key"]: r for r in await pbx.stored_calls()}
    assert len(rows) == 2
    events_before = len(receiver.got)
    async with pbx.services.db.read() as conn:
        stored_events = (await conn.execute(select(func.count()).select_from(events)
                                            .where(events.c.entity == "call"))).scalar_one()
    assert stored_events == 4
    await pbx.services.outbox.dispatch_once()
    await asyncio.sleep(0.5)
    assert len(receiver.got) == events_before == 4
