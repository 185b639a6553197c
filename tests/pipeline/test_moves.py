"""Moving orders through a shop's stages over HTTP, on SQLite and PostgreSQL: roles, history,
follow-up tasks, the events written, the intake, the board and the funnel."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.storage.tables import events, tasks

ORDER = {"number": "TM-1", "total": "1000.00",
         "items": [{"name": "Чайник", "qty": 1, "price": "1000"}]}


async def setup(api):
    admin = await api.login("root", "admin")
    shop = await (await admin.post("/api/shops", json={"slug": "tm", "name": "ТехноМир"})).json()
    anna = await api.login("anna")
    client = await (await anna.post("/api/clients", json={
        "name": "Иван Петров", "phones": ["+79161234567"], "city": "Москва"})).json()
    return admin, anna, shop, client


async def new_order(session, shop, client, **over):
    resp = await session.post("/api/orders", json=dict(ORDER, client_id=client["id"],
                                                       shop_id=shop["id"], **over))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def put(session, path, body):
    return await session.client.put(path, json=body, headers=session._h(None))


async def rows(api, query):
    async with api.services.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def test_move_writes_history_task_and_event(api):
    admin, anna, shop, client = await setup(api)
    order = await new_order(anna, shop, client)
    assert order["stage"] == {"code": "new", "name_ru": "Новый", "name_en": "New", "kind": "open"}
    api.clock.advance(hours=2)
    resp = await anna.post(f"/api/orders/{order['id']}/stage",
                           json={"stage": "shipped", "tracking_number": "RA123456789RU"})
    assert resp.status == 200, await resp.text()
    moved = await resp.json()
    assert moved["status"] == "shipped" and moved["tracking_number"] == "RA123456789RU"
    assert moved["stage"]["name_ru"] == "Отправлен"
    history = moved["stage_history"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [(None, "new"),
                                                                     ("new", "shipped")]
    assert history[1]["seconds_in_previous"] == 7200 and history[1]["user_name"] == "Anna"
    found = await rows(api, select(tasks).where(tasks.c.order_id == order["id"],
                                                tasks.c.kind == "order_followup"))
    assert len(found) == 1 and found[0]["status"] == "open"
    assert found[0]["title"] == "Check delivery of order TM-1"
    assert (found[0]["due_at"] - api.clock()).days == 7
    assert found[0]["ready_at"] is not None  # placed in the client's calling window
    # the confirmation call is no longer owed
    confirm = await rows(api, select(tasks).where(tasks.c.order_id == order["id"],
                                                  tasks.c.kind == "order_confirmation"))
    assert [t["status"] for t in confirm] == ["done"]
    evs = await rows(api, select(events).where(events.c.entity == "order")
                     .order_by(events.c.id))
    assert [e["type"] for e in evs] == ["order.created", "order.stage_changed"]
    assert evs[0]["payload"]["order"]["number"] == "TM-1"
    payload = evs[1]["payload"]
    assert payload == {"order_id": order["id"], "shop_id": shop["id"],
                       "client_id": client["id"], "number": "TM-1", "from_stage": "new",
                       "to_stage": "shipped", "notify_event": "order_shipped",
                       "tracking_number": "RA123456789RU", "user_id": anna.user["id"],
                       "at": api.clock().isoformat()}
    # moving on closes the old stage's follow-up; the same stage again changes nothing
    resp = await anna.patch(f"/api/orders/{order['id']}", json={"status": "delivered"})
    assert resp.status == 200
    found = await rows(api, select(tasks).where(tasks.c.order_id == order["id"],
                                                tasks.c.kind == "order_followup"))
    assert [(t["status"], t["closed_reason"]) for t in found] == [("done", "order_delivered")]
    await anna.patch(f"/api/orders/{order['id']}", json={"status": "delivered"})
    evs = await rows(api, select(events.c.type).where(events.c.entity == "order"))
    assert len(evs) == 3


async def test_roles_and_unknown_stages(api):
    admin, anna, shop, client = await setup(api)
    order = await new_order(anna, shop, client)
    stages = (await (await anna.get(f"/api/shops/{shop['id']}/stages")).json())["items"]
    for s in stages:
        if s["code"] == "cancelled":
            s["roles"] = ["supervisor", "admin"]
        s.pop("orders")
    stages.append({"code": "at_pickup", "name_ru": "В пункте выдачи", "name_en": "At pickup",
                   "kind": "open", "roles": ["operator"], "notify_event": "order_at_pickup",
                   "next_task": None})
    resp = await put(admin, f"/api/shops/{shop['id']}/stages", {"stages": stages})
    assert resp.status == 200, await resp.text()
    resp = await anna.post(f"/api/orders/{order['id']}/stage", json={"stage": "cancelled"})
    assert resp.status == 403
    assert "cancelled" in (await resp.json())["error"]["message"]
    resp = await anna.post(f"/api/orders/{order['id']}/stage", json={"stage": "lost"})
    assert resp.status == 422
    assert "at_pickup" in (await resp.json())["error"]["details"]["fields"]["status"]
    resp = await anna.post(f"/api/orders/{order['id']}/stage", json={"stage": "at_pickup"})
    assert resp.status == 200 and (await resp.json())["stage"]["name_en"] == "At pickup"
    # an operator may not edit stages; a stage holding orders cannot be dropped
    assert (await put(anna, f"/api/shops/{shop['id']}/stages", {"stages": stages})).status == 403
    resp = await put(admin, f"/api/shops/{shop['id']}/stages", {"stages": stages[:-1]})
    assert resp.status == 409
    resp = await put(admin, f"/api/shops/{shop['id']}/stages", {"stages": [{"code": "X"}]})
    assert resp.status == 422
    listed = await (await anna.get("/api/orders", params={"stage": "at_pickup",
                                                          "shop_id": shop["id"]})).json()
    assert [o["number"] for o in listed["items"]] == ["TM-1"]


async def test_intake_moves_stage_with_tracking_once(api):
    admin, anna, shop, client = await setup(api)
    body = {"external_id": "A-1", "number": "W-1", "total": "10", "customer": {
        "name": "Пётр", "phone": "+79160000001"}}

    async def send(**over):
        resp = await api.anon.post(f"/api/shops/{shop['slug']}/orders", json=dict(body, **over),
                                   headers={"Authorization": f"Bearer {shop['token']}"})
        assert resp.status in (200, 201), await resp.text()
        return await resp.json()

    first = await send()
    assert first["status"] == "new"
    for _ in range(2):
        shipped = await send(status="shipped", tracking_number="RA1RU")
    assert shipped["status"] == "shipped" and shipped["tracking_number"] == "RA1RU"
    again = await send()  # a re-send without a status keeps the stage
    assert again["status"] == "shipped"
    evs = await rows(api, select(events.c.type, events.c.payload)
                     .where(events.c.entity == "order").order_by(events.c.id))
    assert [e["type"] for e in evs] == ["order.created", "order.stage_changed"]
    assert evs[1]["payload"]["tracking_number"] == "RA1RU"
    assert evs[1]["payload"]["user_id"] is None
    resp = await api.anon.post(f"/api/shops/{shop['slug']}/orders",
                               json=dict(body, status="lost"),
                               headers={"Authorization": f"Bearer {shop['token']}"})
    assert resp.status == 422


async def test_board_and_funnel(api):
    admin, anna, shop, client = await setup(api)
    boris = await api.login("boris")
    sup = await api.login("sup", "supervisor")
    ids = [(await new_order(anna, shop, client, number=f"TM-{i}"))["id"] for i in range(4)]
    api.clock.advance(hours=1)
    for i in ids[:3]:
        await anna.post(f"/api/orders/{i}/stage", json={"stage": "confirmed"})
    api.clock.advance(hours=2)
    await boris.post(f"/api/orders/{ids[0]}/stage", json={"stage": "paid"})
    board = await (await anna.get("/api/pipeline", params={"shop_id": shop["id"]})).json()
    cols = {c["code"]: c for c in board["stages"]}
    assert cols["new"]["count"] == 1 and cols["confirmed"]["count"] == 2
    assert cols["paid"]["orders"][0]["client_name"] == "Иван Петров"
    assert cols["paid"]["orders"][0]["in_stage_seconds"] == 0
    assert cols["confirmed"]["orders"][0]["in_stage_seconds"] == 7200
    board = await (await anna.get("/api/pipeline", params={"shop_id": shop["id"],
                                                           "q": "tm-3"})).json()
    assert sum(c["count"] for c in board["stages"]) == 1
    day = api.clock().date().isoformat()
    resp = await anna.get("/api/reports/funnel", params={"shop_id": shop["id"], "from": day,
                                                          "to": day})
    assert resp.status == 403
    resp = await sup.get("/api/reports/funnel", params={"shop_id": shop["id"], "from": day,
                                                         "to": day})
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    rows_ = {r["code"]: r for r in report["stages"]}
    assert (rows_["new"]["orders"], rows_["confirmed"]["orders"], rows_["paid"]["orders"]) \
        == (4, 3, 1)
    assert rows_["confirmed"]["conversion"] == 0.75 and rows_["paid"]["conversion"] == 0.3333
    assert rows_["new"]["median_seconds"] == 3600 and rows_["confirmed"]["median_seconds"] == 7200
    ops = {o["name"]: o for o in report["operators"]}
    assert ops["Anna"]["moves"] == 3 and ops["Boris"]["stages"] == {"paid": 1}
    only = await (await sup.get("/api/reports/funnel", params={
        "shop_id": shop["id"], "from": day, "to": day,
        "operator_id": boris.user["id"]})).json()
    assert [o["name"] for o in only["operators"]] == ["Boris"]
    resp = await sup.get("/api/reports/funnel", params={"shop_id": shop["id"], "from": "x"})
    assert resp.status == 422
    resp = await sup.get("/api/reports/funnel", params={"preset": "today"})
    assert resp.status == 400
