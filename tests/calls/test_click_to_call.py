"""Click to call: the Originate sent to the PBX, its errors, and the card of the dialled client."""

from __future__ import annotations

from tests.calls.conftest import TRACES, start_pbx


async def csrf(client) -> dict:
    me = await (await client.get("/api/me")).json()
    return {"X-CSRF-Token": me["csrf_token"]}


async def test_originate_rings_my_phone_then_dials_the_number(db_url, aiohttp_client):
    pbx = await start_pbx(db_url, aiohttp_client,
                          originate_trace=TRACES / "outbound_click_to_call.jsonl")
    try:
        await pbx.telephony.ami.wait_connected(10)
        anna = await pbx.browser("101")
        resp = await anna.post("/api/calls/originate", headers=await csrf(anna), json={
            "number": "8 (916) 123-45-67", "client_id": pbx.ivan_id, "task_id": 42})
        assert resp.status == 202, await resp.text()
        body = await resp.json()
        assert body["number"] == "+79161234567"
        (action,) = [a for a in pbx.sim.actions if a.get("Action") == "Originate"]
        assert action["ActionID"] == body["action_id"]
        # E.164 with its '+', the one form the dialplan takes for every country; the
        # operator's phone shows whom the call is for while it rings
        assert (action["Channel"], action["Context"], action["Exten"]) == (
            "PJSIP/101", "operators", "+79161234567")
        assert action["CallerID"] == '"Иван Петров" <+79161234567>'
        variables = set(action["Variable"].split("\n"))
        assert {"CRM_TASK_ID=42", "CRM_NUMBER=+79161234567",
                f"CRM_CLIENT_ID={pbx.ivan_id}"} <= variables
        # no shop number configured: the dialplan's CALLCENTER_SHOP_CID decides
        assert not [v for v in variables if v.startswith("CRM_OUTBOUND_CID=")]
        # the simulated PBX plays the recorded call for that Originate
        (call,) = await pbx.settle(1)
        assert call["action_id"] == body["action_id"]
        assert (call["outcome"], call["client_id"]) == ("answered", pbx.ivan_id)
        assert pbx.sim.action_count("Originate") == 1
        await anna.session.close()
    finally:
        await pbx.sim.stop()


async def test_originate_errors_are_named(pbx):
    sup = await pbx.browser("sup")  # a supervisor without a softphone
    resp = await sup.post("/api/calls/originate", headers=await csrf(sup),
                          json={"number": "+79161234567"})
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "no_extension"
    anna = await pbx.browser("101")
    resp = await anna.post("/api/calls/originate", headers=await csrf(anna),
                           json={"number": "not a number"})
    assert resp.status == 422 and "number" in (await resp.json())["error"]["details"]["fields"]
    await pbx.sim.stop()  # the PBX goes away
    resp = await anna.post("/api/calls/originate", headers=await csrf(anna),
                           json={"number": "+79161234567"})
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "service_unavailable"
    for c in (sup, anna):
        await c.session.close()


async def test_outbound_pop_shows_the_client_being_called(pbx):
    found = await pbx.telephony.calls.lookup(None, pbx.ivan_id)
    assert found["client"]["name"] == "Иван Петров"
    found = await pbx.telephony.calls.lookup("+79161234567", 999_999)  # a stale client id
    assert found["client"]["id"] == pbx.ivan_id


async def test_originate_abroad_with_the_shops_number(db_url, aiohttp_client):
    pbx = await start_pbx(db_url, aiohttp_client,
                          settings_overrides={"shop_caller_id": "+7 (495) 123-45-67"})
    try:
        await pbx.telephony.ami.wait_connected(10)
        anna = await pbx.browser("101")
        resp = await anna.post("/api/calls/originate", headers=await csrf(anna),
                               json={"number": "+380 44 123 4567"})
        assert resp.status == 202, await resp.text()
        assert (await resp.json())["number"] == "+380441234567"
        # a number nobody has: the phone shows the number alone, Ivan's number shows his name
        resp = await anna.post("/api/calls/originate", headers=await csrf(anna),
                               json={"number": "8 916 123-45-67"})
        assert resp.status == 202, await resp.text()
        first, second = [a for a in pbx.sim.actions if a.get("Action") == "Originate"]
        assert (first["Exten"], first["CallerID"]) == ("+380441234567", "<+380441234567>")
        assert "CRM_OUTBOUND_CID=+74951234567" in first["Variable"].split("\n")
        assert (second["Exten"], second["CallerID"]) == ("+79161234567",
                                                         '"Иван Петров" <+79161234567>')
        await anna.session.close()
    finally:
        await pbx.sim.stop()
