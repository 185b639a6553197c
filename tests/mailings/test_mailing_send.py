"""A mailing really sent: the app's message sender delivers it to a real SMTP server
(aiosmtpd on 127.0.0.1) with the RFC 8058 headers, and the one-click POST a mail program makes
to the List-Unsubscribe address opts the recipient out."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from callcenter.services.context import Actor
from callcenter.storage.tables import clients
from tests.api.conftest import api, api_with  # noqa: F401
from tests.notifications.helpers import start_smtp

SYSTEM = Actor.system("test")


@pytest.fixture
def smtp():
    controller, inbox = start_smtp()
    yield controller, inbox
    controller.stop()


async def test_a_mailing_goes_out_over_smtp_and_one_click_unsubscribes(api_with, smtp):
    controller, inbox = smtp
    api = await api_with(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="none",
                         smtp_from="Техномир <shop@example.ru>")
    ids = {}
    for name, email in (("Иван Петров", "ivan@example.com"), ("Ольга", "olga@example.com")):
        ids[email] = (await api.services.clients.create(SYSTEM, {
            "name": name, "city": "Москва", "emails": [email]}))["id"]
    sup = await api.login("sup", "supervisor")
    resp = await sup.post("/api/mailings", json={
        "name": "Скидки", "filter": {"cities": ["Москва"]}, "rate_per_minute": 600,
        "subject": "{first_name}, скидки до 20%", "body": "Здравствуйте, {client_name}!\n"
        "Отписаться: {unsubscribe_url}"})
    mailing = await resp.json()
    resp = await sup.post(f"/api/mailings/{mailing['id']}/start")
    assert resp.status == 202
    api.clock.advance(seconds=1)  # both are due (0.1 s apart)
    for _ in range(100):
        api.services.messages.wake()
        if len(inbox.messages) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(inbox.envelopes) == [["ivan@example.com"], ["olga@example.com"]]
    letter = next(m for m in inbox.messages if m["To"].endswith("ivan@example.com>")
                  or m["To"] == "ivan@example.com")
    assert letter["Subject"] == "Иван, скидки до 20%"
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(letter["List-Unsubscribe"]).strip().strip("<>")
    assert url in letter.get_content()
    # the mail program's one-click POST (RFC 8058)
    resp = await api.anon.post(urlsplit(url).path, data="List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200, await resp.text()
    async with api.services.db.read() as conn:
        flagged = dict((await conn.execute(select(clients.c.id, clients.c.unsubscribed_at)))
                       .all())
    assert flagged[ids["ivan@example.com"]] is not None
    assert flagged[ids["olga@example.com"]] is None
    for _ in range(50):
        report = await (await sup.get(f"/api/mailings/{mailing['id']}/report")).json()
        if report["status"] == "sent":
            break
        await asyncio.sleep(0.1)
    assert report["status"] == "sent"
    assert report["figures"]["sent"] == 2 and report["figures"]["unsubscribed"] == 1
