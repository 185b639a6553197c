"""Mailings over HTTP on SQLite and PostgreSQL: starting queues the right messages, the
unsubscribe link end to end, cancelling, the report, bad input; carts and their reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from callcenter.services import mailings as mailings_module
from callcenter.services.context import Actor
from callcenter.storage.tables import audit_log, carts, clients, messages
from tests.api.conftest import api, api_with  # noqa: F401

FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # as RFC 8058 clients post

SYSTEM = Actor.system("test")


async def _clients(api, people):
    ids = {}
    for name, city, email, dnc in people:
        card = await api.services.clients.create(SYSTEM, {
            "name": name, "city": city, "emails": [email] if email else [],
            "phones": [] if email else ["+7916" + str(1000000 + len(ids))],
            "do_not_call": dnc})
        ids[name] = card["id"]
    return ids


PEOPLE = [("Иван Петров", "Москва", "ivan@example.com", False),
          ("Ольга Smith", "Москва", "olga@example.com", False),
          ("Пётр", "Москва", "petr@example.com", False),
          ("Без почты", "Москва", None, False),
          ("Не звонить", "Москва", "dnc@example.com", True),
          ("Тульский", "Тула", "tula@example.com", False)]


async def _rows(api, mailing_id):
    async with api.services.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(
            select(messages).where(messages.c.mailing_id == mailing_id)
            .order_by(messages.c.next_attempt_at, messages.c.id))]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(mailings_module, "BATCH", 2)


async def test_start_queues_one_message_per_recipient(api, small_batches):
    ids = await _clients(api, PEOPLE)
    sup = await api.login("sup", "supervisor")
    resp = await sup.post("/api/segments", json={"name": "Москва", "filter": {
        "cities": ["москва"]}})
    assert resp.status == 201, await resp.text()
    segment = await resp.json()
    resp = await sup.post("/api/segments/count", json={"filter": segment["filter"]})
    assert (await resp.json()) == {"count": 4}  # without the do-not-call client
    resp = await sup.post("/api/mailings", json={
        "name": "Зимняя распродажа", "segment_id": segment["id"], "rate_per_minute": 30,
        "subject": "{first_name}, скидки", "body": "Здравствуйте, {client_name}! "
        "Отписаться: {unsubscribe_url}"})
    assert resp.status == 201, await resp.text()
    mailing = await resp.json()
    assert mailing["status"] == "draft"
    resp = await sup.get(f"/api/mailings/{mailing['id']}")
    preview = (await resp.json())["preview"]
    assert preview["count"] == 3 and preview["subject"] == "Иван, скидки"
    resp = await sup.post(f"/api/mailings/{mailing['id']}/start")
    assert resp.status == 202, await resp.text()
    started = await resp.json()
    assert started["status"] == "sending" and started["recipients"] == 3
    assert started["queued"] == 3
    rows = sorted(await _rows(api, mailing["id"]), key=lambda r: r["client_id"])
    assert [r["to_address"] for r in rows] == ["ivan@example.com", "olga@example.com",
                                               "petr@example.com"]
    assert {r["kind"] for r in rows} == {"mailing"} and {r["status"] for r in rows} == {"queued"}
    # 30 a minute: 2 s apart (the first, due at once, may have been tried by the sender
    # already, which has no SMTP server here and puts it back for later)
    started_at = api.clock()
    assert [r["next_attempt_at"] - started_at for r in rows[1:]] == \
        [timedelta(seconds=2), timedelta(seconds=4)]
    assert rows[0]["next_attempt_at"] == started_at or rows[0]["last_error"]
    first = rows[0]
    assert first["dedupe_key"] == f"mailing:{mailing['id']}:{ids['Иван Петров']}"
    assert first["body"].startswith("Здравствуйте, Иван Петров! Отписаться: http://")
    url = api.services.unsubscribe.url(ids["Иван Петров"], mailing["id"])
    assert url in first["body"]
    assert first["headers"] == {"List-Unsubscribe": f"<{url}>",
                                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    # a start again (say, after a cut-short one) queues nothing twice
    resp = await sup.post(f"/api/mailings/{mailing['id']}/start")
    assert (await resp.json())["queued"] == 0
    assert len(await _rows(api, mailing["id"])) == 3
    # a started mailing cannot be edited
    resp = await sup.patch(f"/api/mailings/{mailing['id']}", json={"body": "другое"})
    assert resp.status == 409
    # cancelled: what is still queued is skipped
    resp = await sup.post(f"/api/mailings/{mailing['id']}/cancel")
    assert (await resp.json())["status"] == "cancelled"
    assert {r["status"] for r in await _rows(api, mailing["id"])} == {"skipped"}
    resp = await sup.get(f"/api/mailings/{mailing['id']}/report")
    report = await resp.json()
    assert report["figures"]["skipped"] == 3 and report["figures"]["total"] == 3
    resp = await sup.post(f"/api/mailings/{mailing['id']}/start")
    assert resp.status == 409
    async with api.services.db.read() as conn:
        actions = [r.action for r in await conn.execute(
            select(audit_log.c.action).where(audit_log.c.entity == "mailing"))]
    assert actions == ["mailing.create", "mailing.start", "mailing.cancel"]


async def test_unsubscribe_link_end_to_end(api):
    # what an unsubscribe does to the messages still queued: without the sender, which would
    # try the first message (due at once; no SMTP server here) and hold it "sending" meanwhile
    await api.services.messages.stop()
    ids = await _clients(api, PEOPLE[:3])
    admin = await api.login("admin", "admin")
    resp = await admin.post("/api/mailings", json={
        "name": "Первая", "filter": {"cities": ["Москва"]}, "subject": "Новости",
        "body": "{client_name}: {unsubscribe_url}"})
    first = await resp.json()
    await admin.post(f"/api/mailings/{first['id']}/start")
    ivan = ids["Иван Петров"]
    token = api.services.unsubscribe.token(ivan, first["id"])
    # the page changes nothing (mail scanners open links)
    resp = await api.anon.get(f"/u/{token}", headers={"Accept-Language": "en-GB"})
    page = await resp.text()
    assert resp.status == 200 and 'method="post"' in page and "Unsubscribe" in page
    assert resp.headers["Content-Type"].startswith("text/html")
    async with api.services.db.read() as conn:
        assert (await conn.execute(select(clients.c.unsubscribed_at)
                                   .where(clients.c.id == ivan))).scalar_one() is None
    # a forged token, an altered one, garbage: the same answer, nothing changes
    forged = f"{ids['Пётр']}.{first['id']}.{token.rsplit('.', 1)[1]}"
    answers = set()
    for bad in (forged, token[:-1] + ("0" if token[-1] != "0" else "1"), "x" * 90,
                "1.1.<script>"):
        resp = await api.anon.post(f"/u/{bad}", data="List-Unsubscribe=One-Click", headers=FORM)
        assert resp.status == 200
        answers.add(await resp.text())
    resp = await api.anon.post(f"/u/{token}", data="List-Unsubscribe=One-Click", headers=FORM)
    answers.add(await resp.text())
    assert len(answers) == 1 and "<script>" not in answers.pop()
    async with api.services.db.read() as conn:
        flagged = dict((await conn.execute(select(clients.c.id, clients.c.unsubscribed_at)))
                       .all())
    assert flagged[ivan] == api.clock() and flagged[ids["Пётр"]] is None
    # ivan's mailing message still queued is skipped; again: idempotent
    rows = {r["client_id"]: r for r in await _rows(api, first["id"])}
    assert rows[ivan]["status"] == "skipped" and rows[ids["Пётр"]]["status"] == "queued"
    resp = await api.anon.post(f"/u/{token}", data="List-Unsubscribe=One-Click", headers=FORM)
    assert resp.status == 200
    # a second mailing leaves him out; the first one's report counts him
    resp = await admin.post("/api/mailings", json={
        "name": "Вторая", "filter": {"cities": ["Москва"]}, "body": "{unsubscribe_url}"})
    second = await resp.json()
    await admin.post(f"/api/mailings/{second['id']}/start")
    assert ivan not in {r["client_id"] for r in await _rows(api, second["id"])}
    report = await (await admin.get(f"/api/mailings/{first['id']}/report")).json()
    assert report["figures"]["unsubscribed"] == 1
    async with api.services.db.read() as conn:
        assert (await conn.execute(select(audit_log.c.entity_id).where(
            audit_log.c.action == "client.unsubscribe"))).scalars().all() == [str(ivan)]


async def test_test_send_and_bad_input(api):
    sup = await api.login("sup", "supervisor")
    resp = await sup.post("/api/segments/count", json={"filter": {"age_min": "many"}})
    assert resp.status == 422
    assert "filter.age_min" in (await resp.json())["error"]["details"]["fields"]
    resp = await sup.post("/api/mailings", json={"name": "", "channel": "fax",
                                                 "body": "{nope}"})
    fields = (await resp.json())["error"]["details"]["fields"]
    assert resp.status == 422 and {"name", "channel", "body"} <= set(fields)
    resp = await sup.post("/api/mailings", json={"name": "Т", "body": "{client_name}",
                                                 "segment_id": 999})
    assert resp.status == 422
    resp = await sup.post("/api/mailings", json={"name": "Т", "subject": "Тест",
                                                 "body": "Привет, {client_name}"})
    mailing = await resp.json()
    resp = await sup.post(f"/api/mailings/{mailing['id']}/test", json={})
    assert resp.status == 422
    resp = await sup.post(f"/api/mailings/{mailing['id']}/test", json={"to": "me@example.com"})
    assert resp.status == 202
    async with api.services.db.read() as conn:
        row = (await conn.execute(select(messages).where(messages.c.kind == "test"))).one()
    assert row.to_address == "me@example.com" and row.subject == "[TEST] Тест"
    assert row.body == "Привет, Иван Петров"  # a sample name when nobody is in the segment
    resp = await sup.get("/api/mailings/999999")
    assert resp.status == 404


async def _cart(api, shop, external_id, **extra):
    body = {"external_id": external_id, "total": "1990.00",
            "items": [{"sku": "K-1", "name": "Чайник", "qty": 1, "price": "1990"}],
            "customer": {"name": "Мария Иванова", "email": "maria@example.com"}, **extra}
    return await api.anon.post(f"/api/shops/{shop['slug']}/carts", json=body,
                               headers={"Authorization": f"Bearer {shop['token']}"})


async def _reminders(api):
    async with api.services.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(
            select(messages).where(messages.c.event == "abandoned_cart"))]


async def test_cart_intake_and_one_reminder(api):
    shop = await api.services.orders.create_shop(SYSTEM, {"slug": "tm", "name": "Техномир"})
    resp = await api.anon.post(f"/api/shops/{shop['slug']}/carts", json={
        "external_id": "c1", "total": "1", "customer": {"email": "x@example.com"}},
        headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    resp = await _cart(api, shop, "c1", total="lots")
    assert resp.status == 422
    resp = await _cart(api, shop, "c1")
    assert resp.status == 201, await resp.text()
    cart = await resp.json()
    resp = await _cart(api, shop, "c1", total="2490.00")
    assert resp.status == 200 and (await resp.json())["id"] == cart["id"]
    assert (await resp.json())["total"] == "2490.00"
    carts_service = api.services.carts
    api.clock.advance(hours=2)
    assert await carts_service.remind_due() == 0  # not 3 hours yet
    api.clock.advance(hours=1, minutes=1)
    assert await carts_service.remind_due() == 1
    assert await carts_service.remind_due() == 0  # once
    api.clock.advance(hours=10)
    assert await carts_service.remind_due() == 0
    reminders = await _reminders(api)
    assert len(reminders) == 1 and reminders[0]["client_id"] == cart["client_id"]
    if reminders[0]["status"] == "queued":
        assert reminders[0]["to_address"] == "maria@example.com"
    # reported as ordered: no reminder
    await _cart(api, shop, "c2", ordered=True)
    # an order by the same client after the cart: no reminder
    await _cart(api, shop, "c3")
    api.clock.advance(minutes=5)
    resp = await api.anon.post(f"/api/shops/{shop['slug']}/orders", json={
        "external_id": "o1", "number": "TM-1", "total": "2490.00",
        "customer": {"name": "Мария Иванова", "email": "maria@example.com"}},
        headers={"Authorization": f"Bearer {shop['token']}"})
    assert resp.status == 201, await resp.text()
    api.clock.advance(hours=4)
    assert await carts_service.remind_due() == 0
    async with api.services.db.read() as conn:
        state = {r.external_id: (r.ordered_at is not None, r.reminded_at is not None)
                 for r in await conn.execute(select(carts))}
    assert state == {"c1": (False, True), "c2": (True, False), "c3": (False, False)}


async def test_cart_reminder_respects_do_not_contact(api):
    shop = await api.services.orders.create_shop(SYSTEM, {"slug": "tm", "name": "Техномир"})
    cart = await (await _cart(api, shop, "c1")).json()
    async with api.services.db.write() as conn:
        await conn.execute(update(clients).where(clients.c.id == cart["client_id"])
                           .values(do_not_call=True))
    api.clock.advance(hours=4)
    assert await api.services.carts.remind_due() == 1
    reminders = await _reminders(api)
    assert all(r["status"] == "skipped" for r in reminders)
