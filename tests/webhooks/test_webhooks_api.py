"""Webhooks through the real app on SQLite and PostgreSQL, delivering to a real HTTP server on
127.0.0.1: events arrive signed, failures are retried, a hanging receiver does not slow the
API, private addresses are refused by default."""

from __future__ import annotations

import asyncio
import time

from callcenter.domain.webhooks import verify_signature

SECRET = "whsec_test_secret_0123456789"


async def ok(resp, status: int = 200) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    return body


async def register(admin, url, events, **extra) -> dict:
    return await ok(await admin.post("/api/webhooks", json={
        "url": url, "events": events, "secret": SECRET, **extra}), 201)


async def deliveries(admin, hook_id, **query) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return (await ok(await admin.get(f"/api/webhooks/{hook_id}/deliveries?{qs}")))["items"]


async def until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


async def test_client_events_arrive_signed_and_the_secret_is_shown_once(api_with, receiver):
    api = await api_with(webhook_allow_private=True)
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    hook = await register(admin, receiver.url, ["client.created", "client.updated"],
                          description="Склад")
    assert hook["secret"] == SECRET
    listed = (await ok(await admin.get("/api/webhooks")))["items"]
    assert [h["secret"] for h in listed] == ["…6789"]
    assert (await ok(await admin.get(f"/api/webhooks/{hook['id']}")))["secret"] == "…6789"

    card = await ok(await anna.post("/api/clients", json={
        "name": "Ольга Смирнова", "phones": [{"number": "8 916 555-01-02"}],
        "emails": [{"email": "olga@example.com"}], "city": "Тверь", "tags": ["vip"]}), 201)
    await receiver.wait_for(lambda: receiver.of_type("client.created"))
    (got,) = receiver.of_type("client.created")
    now = int(api.clock().timestamp())
    assert verify_signature(got.headers["X-Callcenter-Signature"], got.body, SECRET, now)
    assert not verify_signature(got.headers["X-Callcenter-Signature"], got.body,
                                "whsec_wrong_secret_000000", now)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "callcenter"
    body = got.json
    assert body["type"] == "client.created" and isinstance(body["id"], int)
    assert body["data"]["client"] == {
        "id": card["id"], "name": "Ольга Смирнова", "phones": ["+79165550102"],
        "emails": ["olga@example.com"], "city": "Тверь", "tags": ["vip"]}
    assert "Ольга".encode() in got.body  # UTF-8 as is, not \u escapes

    await ok(await anna.patch(f"/api/clients/{card['id']}", json={"city": "Клин"}))
    await receiver.wait_for(lambda: receiver.of_type("client.updated"))
    updated = receiver.of_type("client.updated")[0].json["data"]
    assert updated["changed"] == ["city"] and updated["client"]["city"] == "Клин"

    log = await until(lambda: _all_delivered(admin, hook["id"], 2))
    assert [d["event_type"] for d in log] == ["client.updated", "client.created"]
    assert all(d["last_status"] == 200 and d["last_response"] == "ок" for d in log)
    assert receiver.got[0].headers["X-Callcenter-Delivery"] == str(log[1]["id"])
    audit = await ok(await admin.get("/api/audit?action=webhook."))
    assert "webhook.create" in {e["action"] for e in audit["items"]}


async def _all_delivered(admin, hook_id, count):
    log = await deliveries(admin, hook_id)
    return log if len(log) == count and all(d["status"] == "delivered" for d in log) else None


async def test_a_task_closed_done_is_told(api_with, receiver):
    api = await api_with(webhook_allow_private=True)
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    await register(admin, receiver.url, ["task.done"])
    card = await ok(await anna.post("/api/clients", json={"name": "Пётр Ильин"}), 201)
    task = await ok(await anna.post("/api/tasks", json={
        "kind": "callback", "client_id": card["id"], "due_at": "2026-11-23T12:00:00+03:00"}),
        201)
    await ok(await anna.post(f"/api/tasks/{task['id']}/outcome", json={"outcome": "paid"}))
    await receiver.wait_for(lambda: receiver.of_type("task.done"))
    (got,) = receiver.got  # only what was subscribed to
    assert got.json["data"]["task"] == {
        "id": task["id"], "kind": "callback", "client_id": card["id"], "order_id": None,
        "result": "paid", "closed_by": anna.user["id"]}


async def test_an_error_answer_is_retried_then_delivered(api_with, receiver):
    api = await api_with(webhook_allow_private=True)
    admin = await api.login("root", "admin")
    receiver.answers = [500]
    hook = await register(admin, receiver.url, ["*"])
    await ok(await admin.post(f"/api/webhooks/{hook['id']}/ping"), 202)
    await receiver.wait_for(lambda: len(receiver.got) == 1)
    (first,) = await until(lambda: _settled(admin, hook["id"]))
    assert (first["status"], first["attempts"], first["last_status"]) == ("pending", 1, 500)
    assert first["last_error"] == "answered 500" and len(first["last_response"]) <= 2000
    assert first["next_attempt_at"] == "2026-11-23T09:01:00Z"
    assert (await ok(await admin.get(f"/api/webhooks/{hook['id']}")))["failing_since"]

    api.clock.advance(minutes=1)
    api.services.webhooks.sender.wake()
    await receiver.wait_for(lambda: len(receiver.got) == 2)
    (second,) = await until(lambda: _all_delivered(admin, hook["id"], 1))
    assert (second["attempts"], second["last_status"]) == (2, 200)
    assert receiver.got[0].body == receiver.got[1].body  # the same bytes, signed again
    assert (await ok(await admin.get(f"/api/webhooks/{hook['id']}")))["failing_since"] is None

    # by hand: sent again at once
    await ok(await admin.post(f"/api/webhook-deliveries/{second['id']}/retry"), 202)
    await receiver.wait_for(lambda: len(receiver.got) == 3)


async def _settled(admin, hook_id):
    log = await deliveries(admin, hook_id)
    return log if log and all(d["status"] != "delivering" and d["attempts"] for d in log) \
        else None


async def test_a_hanging_receiver_does_not_slow_the_api(api_with, receiver):
    api = await api_with(webhook_allow_private=True, webhook_timeout_seconds=1.5,
                         webhook_workers=1)
    admin = await api.login("root", "admin")
    receiver.delay = 3.0
    hook = await register(admin, receiver.url, ["client.created"])
    took = []
    for n in range(5):
        started = time.monotonic()
        await ok(await admin.post("/api/clients", json={"name": f"Клиент {n}"}), 201)
        took.append(time.monotonic() - started)
        if n == 0:
            await receiver.wait_for(lambda: receiver.got)  # now one delivery hangs
    assert max(took[1:]) < 1.0, took  # loose: the API never waits for a delivery
    log = await until(lambda: _timed_out(admin, hook["id"]), timeout=15)
    assert log["last_error"] == "no answer within 1.5 s" and log["last_status"] is None


async def _timed_out(admin, hook_id):
    log = await deliveries(admin, hook_id, status="pending")
    return next((d for d in log if d["attempts"] == 1), None)


async def test_private_addresses_are_refused_by_default(api_with):
    api = await api_with()
    admin = await api.login("root", "admin")
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data",
                "http://localhost/", "http://[::1]/"):
        resp = await admin.post("/api/webhooks", json={"url": url, "events": ["*"]})
        body = await ok(resp, 422)
        assert body["error"]["code"] == "webhook_address_refused", url
    body = await ok(await admin.post("/api/webhooks", json={
        "url": "ftp://x.example.com/", "events": ["order.eaten"], "secret": "short"}), 422)
    assert set(body["error"]["details"]["fields"]) == {"url", "events", "secret"}
    hook = await ok(await admin.post("/api/webhooks", json={
        "url": "https://hooks.example.com/crm", "events": ["call.missed"]}), 201)
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) == 54
    edited = await ok(await admin.patch(f"/api/webhooks/{hook['id']}",
                                        json={"active": False, "events": ["*"]}))
    assert edited["active"] is False and edited["secret"].startswith("…")
    await ok(await admin.post(f"/api/webhooks/{hook['id']}/ping"), 409)
    await ok(await admin.get(f"/api/webhooks/{hook['id']}/deliveries?status=odd"), 422)
    await ok(await admin.get(f"/api/webhooks/{hook['id']}/deliveries?limit=0"), 422)
    await ok(await admin.client.delete(f"/api/webhooks/{hook['id']}",
                                       headers={"X-CSRF-Token": admin.csrf}))
    await ok(await admin.get(f"/api/webhooks/{hook['id']}"), 404)
    await ok(await admin.post("/api/webhook-deliveries/999999/retry"), 404)


async def test_an_import_tells_each_client_it_creates(api_with, receiver):
    from aiohttp import FormData

    api = await api_with(webhook_allow_private=True)
    admin = await api.login("root", "admin")
    await register(admin, receiver.url, ["client.created"])
    form = FormData()
    form.add_field("file", ("ФИО;Телефон;Город\nАнна Белова;+79265550101;Тула\n"
                            "Борис Орлов;+79265550102;Псков\n").encode(),
                   filename="clients.csv", content_type="text/csv")
    resp = await admin.client.post("/api/import/clients?dry_run=0", data=form,
                                   headers={"X-CSRF-Token": admin.csrf})
    assert (await ok(resp))["created"] == 2
    await receiver.wait_for(lambda: len(receiver.got) == 2)
    names = sorted(r.json["data"]["client"]["name"] for r in receiver.got)
    assert names == ["Анна Белова", "Борис Орлов"]
