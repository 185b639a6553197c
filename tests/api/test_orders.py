"""Orders: manual entry with history, and the shops' intake endpoint."""

import asyncio

import pytest


@pytest.fixture
async def shop(api):
    admin = await api.login("root", "admin")
    resp = await admin.post("/api/shops", json={"slug": "tehnomir", "name": "ТехноМир"})
    assert resp.status == 201
    return await resp.json()


def order_payload(**over):
    payload = {"external_id": "A-1", "number": "TM-1001", "status": "new", "total": "2490.00",
               "currency": "RUB",
               "items": [{"sku": "K-1", "name": "Чайник электрический", "qty": 1, "price": "2490"}],
               "customer": {"name": "Иван Петров", "phone": "8 916 123-45-67",
                            "email": "ivan@example.ru", "city": "Москва"}}
    payload.update(over)
    return payload


async def post_intake(api, shop, payload, token=None):
    return await api.anon.post(f"/api/shops/{shop['slug']}/orders", json=payload,
                               headers={"Authorization": f"Bearer {token or shop['token']}"})


async def test_intake_creates_client_and_order_then_updates_idempotently(api, shop):
    resp = await post_intake(api, shop, order_payload())
    assert resp.status == 201, await resp.text()
    order = await resp.json()
    assert order["shop"]["slug"] == "tehnomir" and order["total"] == "2490.00"
    resp = await post_intake(api, shop, order_payload(status="paid"))
    assert resp.status == 200
    again = await resp.json()
    assert again["id"] == order["id"] and again["status"] == "paid"
    s = await api.login("anna")
    found = await (await s.get("/api/clients", params={"q": "+79161234567"})).json()
    assert found["total"] == 1
    card = await (await s.get(f"/api/clients/{found['items'][0]['id']}")).json()
    assert [o["status"] for o in card["orders"]] == ["paid"]
    assert any(h["entity"] == "order" and h["field"] == "status" and h["old"] == "new"
               and h["new"] == "paid" for h in card["history"])


async def test_a_resend_at_the_same_moment_is_answered_as_a_resend(api, shop):
    # the same order twice at once, and another order of the same new customer with it: one
    # order, one client, "created" then "the same order again" (several server processes on
    # PostgreSQL: tests/cluster/test_intake_processes.py)
    for n in range(5):
        payload = order_payload(external_id=f"R-{n}", customer={
            "name": "Иван", "phone": f"+7916555{n:04d}"})
        other = dict(payload, external_id=f"S-{n}")
        resps = await asyncio.gather(*(post_intake(api, shop, p)
                                       for p in (payload, payload, other)))
        bodies = [await r.json() for r in resps]
        assert sorted(r.status for r in resps[:2]) == [200, 201], bodies
        assert resps[2].status == 201, bodies[2]
        assert bodies[0] == bodies[1]
        assert bodies[0]["client_id"] == bodies[2]["client_id"]
    s = await api.login("anna")
    assert (await (await s.get("/api/clients")).json())["total"] == 5
    assert (await (await s.get("/api/orders")).json())["total"] == 10


async def test_intake_finds_existing_client_by_phone(api, shop):
    s = await api.login("anna")
    resp = await s.post("/api/clients", json={"name": "Иван Петров", "phones": ["+79161234567"]})
    client_id = (await resp.json())["id"]
    order = await (await post_intake(api, shop, order_payload(customer={
        "name": "Ваня", "phone": "+7 916 123-45-67"}))).json()
    assert order["client_id"] == client_id


async def test_intake_refuses_wrong_token_and_unknown_shop(api, shop):
    resp = await post_intake(api, shop, order_payload(), token="wrong")
    assert resp.status == 401
    resp = await api.anon.post("/api/shops/nope/orders", json=order_payload(),
                               headers={"Authorization": f"Bearer {shop['token']}"})
    assert resp.status == 404


async def test_bad_intake_payload_gets_field_errors_and_writes_nothing(api, shop):
    resp = await post_intake(api, shop, order_payload(total="много", status="lost", customer={
        "name": "Иван", "phone": "garbage"}))
    assert resp.status == 422
    fields = (await resp.json())["error"]["details"]["fields"]
    assert {"total", "status", "customer.phone"} <= set(fields)
    s = await api.login("anna")
    assert (await (await s.get("/api/clients")).json())["total"] == 0
    assert (await (await s.get("/api/orders")).json())["total"] == 0


async def test_manual_order_edit_is_in_history(api, shop):
    s = await api.login("anna", name="Анна")
    client = await (await s.post("/api/clients", json={"name": "Ольга"})).json()
    resp = await s.post("/api/orders", json={"client_id": client["id"], "shop_id": shop["id"],
                                             "number": "TM-5", "total": 100})
    assert resp.status == 201
    order = await resp.json()
    resp = await s.patch(f"/api/orders/{order['id']}", json={"status": "confirmed",
                                                             "total": "150.5"})
    assert (await resp.json())["total"] == "150.50"
    card = await (await s.get(f"/api/clients/{client['id']}")).json()
    changed = {h["field"]: (h["old"], h["new"]) for h in card["history"] if h["entity"] == "order"}
    assert changed["status"] == ("new", "confirmed")
    assert changed["total"] == ("100.00", "150.50")
    resp = await s.post("/api/orders", json={"client_id": 999, "shop_id": shop["id"],
                                             "number": "X", "total": 1})
    assert resp.status == 404
