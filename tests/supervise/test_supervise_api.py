"""POST /api/supervise over a live server, the AMI simulator on a real TCP port, real calls from
a real trace; what the simulator received, what the audit log and the call log hold (SQLite
and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from callcenter.ami.message_text import split_repeated
from callcenter.storage.tables import audit_log
from tests.supervise.conftest import hang_up_everything, wait_for


async def _signed_in(desk, login: str):
    person = await desk.browser(login)
    me = await (await person.get("/api/me")).json()
    person.headers_csrf = {"X-CSRF-Token": me["csrf_token"]}
    return person


async def _post(person, body) -> tuple[int, dict]:
    resp = await person.post("/api/supervise", json=body, headers=person.headers_csrf)
    return resp.status, await resp.json()


def _originates(sim) -> list[dict]:
    return [a for a in sim.actions if a.get("Action") == "Originate"]


async def _audit(desk, action: str) -> list[dict]:
    async with desk.services.db.read() as conn:
        rows = await conn.execute(select(audit_log).where(audit_log.c.action == action))
        return [dict(r._mapping) for r in rows]


@pytest.mark.parametrize("mode, options", [("listen", "qE"), ("whisper", "qEw"), ("barge", "qEB")])
async def test_each_mode_originates_into_the_supervise_context(desk, mode, options):
    boss = await _signed_in(desk, "boss")
    ws = await boss.ws_connect("/ws")
    try:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        anna = desk.users["101"]
        (call,) = [c for c in desk.telephony.tracker.live_calls() if c.answered_by == "PJSIP/101"]
        status, body = await _post(boss, {"operator_id": anna["id"], "mode": mode})
        assert status == 202, body
        assert body == {"action_id": body["action_id"], "operator_id": anna["id"], "mode": mode}
        (sent,) = _originates(desk.sim)
        assert sent["ActionID"] == body["action_id"]
        assert (sent["Channel"], sent["Context"], sent["Exten"], sent["Priority"]) == (
            "PJSIP/201", "callcenter-supervise", mode, "1")
        assert split_repeated(sent["Variable"]) == [
            "CRM_SPY=PJSIP/101", f"CRM_SPY_MODE={mode}",
            f"CRM_SUPERVISOR={desk.users['boss']['id']}"]
        assert sent["CallerID"] == f'"{mode.capitalize()}: Анна Соколова" <101>'
        assert "Application" not in sent and "Data" not in sent
        # the simulated PBX answers and spies on 101's channel with the dialplan's options
        leg = await wait_for(lambda: next((s for s in desk.sim.spies.values() if s.spying), None),
                             what="ChanSpyStart")
        assert leg.spyee["Channel"].startswith("PJSIP/101-") and leg.spyee["Linkedid"] == call.key
        # the live board shows who listens, and how
        boss_json = {"user_id": desk.users["boss"]["id"], "name": "Светлана Главная", "mode": mode}
        assert await _supervised_by(boss, anna["id"], boss_json) == boss_json
        (row,) = await _audit(desk, f"supervise.{mode}")
        assert (row["user_id"], row["login"], row["entity"], row["entity_id"]) == (
            desk.users["boss"]["id"], "boss", "user", str(anna["id"]))
        assert row["details"]["call_key"] == call.key
        assert row["details"]["extension"] == "PJSIP/101"
        assert row["ip"] == "127.0.0.1"
        # the customer hangs up: the spy leg follows (E); one call, never the supervisor's
        await hang_up_everything(desk.sim)
        await wait_for(lambda: not desk.sim.spies, what="the spy leg's end")
        rows = await desk.settle(1)
        assert len(rows) == 1, rows
        (stored,) = rows
        assert (stored["direction"], stored["outcome"], stored["answered_by"]) == (
            "inbound", "answered", "PJSIP/101")
        assert stored["linkedid"] == call.key
        listed = await (await boss.get("/api/calls")).json()
        assert [c["id"] for c in listed["items"]] == [stored["id"]]
        assert desk.telephony.tracker.errors == 0
        assert desk.telephony.tracker.live_calls() == []
        # the supervisor's ringing phone popped no card: every call message is the customer's
        pushed = await _drain(ws)
        assert not [m for m in pushed if m["type"] == "call.ringing"], pushed
        assert await _supervised_by(boss, anna["id"], None) is None
        assert {m["call_key"] for m in pushed if m["type"].startswith("call.")} <= {call.key}
    finally:
        await ws.close()
        await boss.session.close()


async def _supervised_by(person, operator_id: int, wanted, timeout: float = 10.0):
    """The board's ``call.supervised_by`` of that operator, once it is ``wanted``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        board = await (await person.get("/api/board")).json()
        (row,) = [o for o in board["operators"] if o["user_id"] == operator_id]
        found = row["call"]["supervised_by"] if row["call"] else None
        if found == wanted or loop.time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def _drain(ws, quiet: float = 0.5) -> list[dict]:
    got = []
    while True:
        try:
            got.append(await ws.receive_json(timeout=quiet))
        except (TimeoutError, asyncio.TimeoutError):
            return got


async def test_refusals_name_what_is_wrong(desk):
    boss = await _signed_in(desk, "boss")
    sup = await _signed_in(desk, "sup")
    op = await _signed_in(desk, "101")
    try:
        users = desk.users
        # Boris (102) is on no call
        status, body = await _post(boss, {"operator_id": users["102"]["id"], "mode": "listen"})
        assert (status, body["error"]["code"]) == (409, "not_on_call")
        # a supervisor, an unknown id: no such operator (404)
        for target in (users["sup"]["id"], users["boss"]["id"] + 1000, 2**31 - 1):
            status, body = await _post(sup if target == users["boss"]["id"] else boss,
                                       {"operator_id": target, "mode": "listen"})
            assert (status, body["error"]["code"]) == (404, "not_found"), target
        # oneself
        status, body = await _post(boss, {"operator_id": users["boss"]["id"], "mode": "barge"})
        assert (status, body["error"]["code"]) == (422, "validation_failed")
        assert body["error"]["details"]["fields"] == {"operator_id": "is invalid"}
        # "sup" has no phone to ring
        status, body = await _post(sup, {"operator_id": users["101"]["id"], "mode": "listen"})
        assert (status, body["error"]["code"]) == (422, "no_extension")
        # an operator may not listen in
        status, body = await _post(op, {"operator_id": users["102"]["id"], "mode": "listen"})
        assert (status, body["error"]["code"]) == (403, "forbidden")
        assert _originates(desk.sim) == []
        assert await _audit(desk, "supervise.listen") == []
    finally:
        for person in (boss, sup, op):
            await person.session.close()


HOSTILE = [
    {"operator_id": "1; DROP TABLE users", "mode": "listen"},
    {"operator_id": "7", "mode": "listen"},
    {"operator_id": 2**31, "mode": "listen"},
    {"operator_id": -1, "mode": "listen"},
    {"operator_id": 0, "mode": "listen"},
    {"operator_id": 1.5, "mode": "listen"},
    {"operator_id": True, "mode": "listen"},
    {"operator_id": None, "mode": "listen"},
    {"mode": "listen"},
    {"operator_id": "ANNA", "mode": "listen,qB"},
    {"operator_id": "ANNA", "mode": "Listen"},
    {"operator_id": "ANNA", "mode": "listen\r\nAction: Command"},
    {"operator_id": "ANNA", "mode": ["listen"]},
    {"operator_id": "ANNA"},
    {"operator_id": "ANNA", "mode": "listen", "options": "qB"},
    {"operator_id": "ANNA", "mode": "listen", "CRM_SPY": "PJSIP/102"},
]


async def test_hostile_bodies_are_refused_before_anything_is_sent(desk):
    boss = await _signed_in(desk, "boss")
    try:
        for body in HOSTILE:
            if body.get("operator_id") == "ANNA":
                body = {**body, "operator_id": desk.users["101"]["id"]}
            status, answer = await _post(boss, body)
            assert (status, answer["error"]["code"]) == (422, "validation_failed"), body
            assert answer["error"]["details"]["fields"], body
        # JSON the product refuses everywhere (beyond 2**53, not an object): 400 or 422
        for raw in (b'{"operator_id": 18446744073709551616, "mode": "listen"}', b"[1, 2]",
                    b'"listen"', b"{not json", b"null"):
            resp = await boss.post("/api/supervise", data=raw, headers={
                **boss.headers_csrf, "Content-Type": "application/json"})
            assert resp.status in (400, 422), raw
        assert _originates(desk.sim) == []
    finally:
        await boss.session.close()


async def test_asterisk_down_is_a_503_and_nothing_is_audited(desk):
    boss = await _signed_in(desk, "boss")
    try:
        await desk.sim.stop()
        await wait_for(lambda: not desk.telephony.ami.connected, what="the AMI link to drop")
        status, body = await _post(boss, {"operator_id": desk.users["101"]["id"], "mode": "listen"})
        assert (status, body["error"]["code"]) == (503, "service_unavailable")
        assert await _audit(desk, "supervise.listen") == []
    finally:
        await boss.session.close()


async def test_asterisk_refusing_the_originate_is_a_503(desk):
    boss = await _signed_in(desk, "boss")
    try:
        desk.sim.set_fault("originate", "error")
        status, body = await _post(boss, {"operator_id": desk.users["101"]["id"], "mode": "whisper"})
        assert (status, body["error"]["code"]) == (503, "service_unavailable")
        assert await _audit(desk, "supervise.whisper") == []
    finally:
        await boss.session.close()


async def test_the_supervisor_hanging_up_leaves_the_call_as_it_was(desk):
    boss = await _signed_in(desk, "boss")
    try:
        anna = desk.users["101"]
        (call,) = desk.telephony.tracker.live_calls()
        status, _ = await _post(boss, {"operator_id": anna["id"], "mode": "listen"})
        assert status == 202
        await wait_for(lambda: any(s.spying for s in desk.sim.spies.values()), what="ChanSpyStart")
        listening = {"user_id": desk.users["boss"]["id"], "name": "Светлана Главная",
                     "mode": "listen"}
        assert await _supervised_by(boss, anna["id"], listening) == listening
        assert desk.sim.hangup_spies() == 1
        await wait_for(lambda: not desk.sim.spies, what="the spy leg's end")
        assert await _supervised_by(boss, anna["id"], None) is None
        # Anna still talks to the customer, on the same call
        assert [c.key for c in desk.telephony.tracker.live_calls()] == [call.key]
        board = await (await boss.get("/api/board")).json()
        (row,) = [o for o in board["operators"] if o["user_id"] == anna["id"]]
        assert row["state"] == "talking" and row["call"]["call_key"] == call.key
        await hang_up_everything(desk.sim)
        (stored,) = await desk.settle(1)
        assert (stored["linkedid"], stored["outcome"], stored["answered_by"]) == (
            call.key, "answered", "PJSIP/101")
    finally:
        await boss.session.close()


async def test_a_reconnect_while_listening_in_adds_no_call(desk):
    boss = await _signed_in(desk, "boss")
    try:
        anna = desk.users["101"]
        (call,) = desk.telephony.tracker.live_calls()
        status, _ = await _post(boss, {"operator_id": anna["id"], "mode": "barge"})
        assert status == 202
        await wait_for(lambda: any(s.spying for s in desk.sim.spies.values()), what="ChanSpyStart")
        ami = desk.telephony.ami
        before = ami.status.reconnects
        listed = desk.sim.action_count("CoreShowChannels")
        desk.sim.disconnect_all()
        await wait_for(lambda: ami.connected and ami.status.reconnects > before
                       and desk.sim.action_count("CoreShowChannels") > listed,
                       what="the reconnect and its resync")
        # the listing names the supervisor's channel running ChanSpy: still no call of its own
        (spy_channel,) = [c for uid, c in desk.sim.pbx.channels.items() if uid in desk.sim.spies]
        assert (spy_channel["Context"], spy_channel["Application"]) == (
            "callcenter-supervise", "ChanSpy")
        for _ in range(200):  # the board is stale until the resync ended
            if not (await (await boss.get("/api/board")).json())["stale"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the board stayed stale after the reconnect")
        assert [c.key for c in desk.telephony.tracker.live_calls()] == [call.key]
        # and the board still knows who barges in (from the listing: ChanSpy's options)
        barging = {"user_id": desk.users["boss"]["id"], "name": "Светлана Главная", "mode": "barge"}
        assert await _supervised_by(boss, anna["id"], barging) == barging
        await hang_up_everything(desk.sim)
        await wait_for(lambda: not desk.sim.spies, what="the spy leg's end")
        rows = await desk.settle(1)
        assert [(r["linkedid"], r["outcome"]) for r in rows] == [(call.key, "answered")]
        assert desk.telephony.tracker.errors == 0
    finally:
        await boss.session.close()
