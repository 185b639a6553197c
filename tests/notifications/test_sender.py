"""Order events → queued messages → a real SMTP server and a real HTTP SMS gateway, on a real
SQLite file and a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update

from callcenter.services.message_sender import MessageSender
from callcenter.services.notifications import NotificationService
from callcenter.services.outbox import EventOutbox
from callcenter.services.sms import build_gateway
from callcenter.storage.database import Database
from callcenter.storage.events import record_event
from callcenter.storage.tables import message_templates, messages
from tests.conftest import FrozenClock, make_settings
from tests.notifications.helpers import SmsGateway, seed_customer, start_smtp

# 12:00 in Moscow
NOON = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


class NoAccessCheck:
    async def check_access(self, actor, client_id):
        return None


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def smtp():
    controller, inbox = start_smtp()
    yield controller, inbox
    controller.stop()


@pytest.fixture
async def gateway():
    gw = await SmsGateway().start()
    yield gw
    await gw.stop()


def wire(db, clock, settings):
    outbox = EventOutbox(db, clock)
    notifications = NotificationService(db, clock, settings, NoAccessCheck(), "k")
    outbox.add_consumer("notifications", notifications.consume)
    return outbox, notifications


def settings_for(db_url, smtp=None, gateway=None, **more):
    values = dict(timezone="Europe/Moscow", smtp_from="Домашний уют <shop@example.ru>",
                  smtp_tls="none")
    if smtp is not None:
        values.update(smtp_host="127.0.0.1", smtp_port=smtp[0].port)
    if gateway is not None:
        values.update(sms_provider="http", sms_api_url=gateway.url, sms_api_key="sekret",
                      sms_sender="DomUyut")
    values.update(more)
    return make_settings(db_url, **values)


async def shipped(db, clock, ids, tracking="RA123456789RU"):
    async with db.write() as conn:
        await record_event(conn, type="order.stage_changed", at=clock(), payload={
            "order_id": ids["order"], "shop_id": ids["shop"], "client_id": ids["client"],
            "number": "10025", "from_stage": "confirmed", "to_stage": "shipped",
            "notify_event": "order_shipped", "tracking_number": tracking, "user_id": None,
            "at": clock().isoformat()}, entity="order", entity_id=ids["order"])


async def rows(db):
    async with db.read() as conn:
        return [dict(r._mapping) for r in
                (await conn.execute(select(messages).order_by(messages.c.id))).all()]


async def test_shipped_order_mails_the_tracking_number_with_cyrillic_subject(db, db_url, smtp,
                                                                            tmp_path):
    clock = FrozenClock(NOON)
    docs = tmp_path / "docs"
    (docs / "2026").mkdir(parents=True)
    (docs / "2026" / "invoice-10025.pdf").write_bytes(b"%PDF-1.4 test")
    settings = settings_for(db_url, smtp)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock())
    await shipped(db, clock, ids)
    await shipped(db, clock, ids)        # the same move reported twice: one message
    assert await outbox.dispatch_once() == 2
    [row] = await rows(db)
    assert (row["status"], row["event"], row["to_address"]) == \
        ("queued", "order_shipped", "anna@example.ru")
    assert row["dedupe_key"] == f"order:{ids['order']}:order_shipped:email"
    # a document attached the way DOCS queues them
    async with db.write() as conn:
        await conn.execute(update(messages).values(attachments=[
            {"path": "2026/invoice-10025.pdf", "name": "Счёт-10025.pdf",
             "type": "application/pdf"}]))
    sender = MessageSender(db, clock, settings)
    sender.documents_dir = docs
    assert await sender.send_due() == 1
    controller, inbox = smtp
    [mail] = inbox.messages
    assert mail["To"] == "anna@example.ru"
    assert mail["Subject"] == "Заказ 10025 отправлен"
    text = mail.get_body(("plain",)).get_content()
    assert "RA123456789RU" in text and "Анна Петрова" in text
    assert "https://www.pochta.ru/tracking#RA123456789RU" in text
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "Счёт-10025.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"
    [row] = await rows(db)
    assert row["status"] == "sent" and row["provider_id"] == mail["Message-ID"]
    # nothing more to send, and the sent row is never sent again
    clock.advance(days=2)
    assert await sender.send_due() == 0
    assert len(inbox.messages) == 1


async def test_an_attachment_outside_the_documents_folder_is_refused(db, db_url, smtp,
                                                                     tmp_path):
    clock = FrozenClock(NOON)
    settings = settings_for(db_url, smtp)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock())
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    (tmp_path / "secret.txt").write_text("password")
    async with db.write() as conn:
        await conn.execute(update(messages).values(attachments=[
            {"path": "../secret.txt", "name": "x.txt", "type": "text/plain"}]))
    sender = MessageSender(db, clock, settings)
    sender.documents_dir = tmp_path / "docs"
    (tmp_path / "docs").mkdir()
    await sender.send_due()
    [row] = await rows(db)
    assert row["status"] == "failed" and "not in the documents folder" in row["last_error"]
    assert smtp[1].messages == []


async def test_do_not_contact_client_gets_a_skipped_row_and_nothing_is_sent(db, db_url, smtp):
    clock = FrozenClock(NOON)
    settings = settings_for(db_url, smtp)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock(), do_not_call=True)
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    [row] = await rows(db)
    assert (row["status"], row["last_error"]) == ("skipped", "do not contact")
    assert await MessageSender(db, clock, settings).send_due() == 0
    assert smtp[1].messages == []


async def test_a_client_marked_do_not_contact_after_queueing_is_skipped_at_send_time(
        db, db_url, smtp):
    from callcenter.storage.tables import clients
    clock = FrozenClock(NOON)
    settings = settings_for(db_url, smtp)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock())
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    async with db.write() as conn:
        await conn.execute(update(clients).values(do_not_call=True))
    await MessageSender(db, clock, settings).send_due()
    [row] = await rows(db)
    assert row["status"] == "skipped" and smtp[1].messages == []


async def test_no_email_address_is_a_skipped_row_saying_why(db, db_url, smtp):
    clock = FrozenClock(NOON)
    outbox, _ = wire(db, clock, settings_for(db_url, smtp))
    ids = await seed_customer(db, clock(), email_address=None)
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    [row] = await rows(db)
    assert (row["status"], row["last_error"]) == ("skipped", "no e-mail address")


async def enable_sms(db, clock):
    async with db.write() as conn:
        await conn.execute(message_templates.insert().values(
            shop_id=None, shop_key=0, event="order_shipped", channel="sms", lang="ru",
            body="Заказ {order_number} отправлен, трек {tracking_number}", enabled=True,
            updated_at=clock()))


async def test_sms_fails_twice_then_goes_with_backoff(db, db_url, gateway):
    clock = FrozenClock(NOON)
    gateway.fail = 2
    settings = settings_for(db_url, gateway=gateway)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock())
    await enable_sms(db, clock)
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    # the gateway the sender would build, without its background loop racing the test
    session = aiohttp.ClientSession()
    sender = MessageSender(db, clock, settings, gateway=build_gateway(settings, session))
    try:
        sms = lambda rs: [r for r in rs if r["channel"] == "sms"][0]  # noqa: E731
        await sender.send_due()
        row = sms(await rows(db))
        assert (row["status"], row["attempts"]) == ("queued", 1)
        assert row["next_attempt_at"] == clock() + timedelta(minutes=1)
        assert "503" in row["last_error"]
        assert await sender.send_due() == 0          # not due yet
        clock.advance(minutes=1)
        await sender.send_due()
        row = sms(await rows(db))
        assert (row["status"], row["attempts"]) == ("queued", 2)
        assert row["next_attempt_at"] == clock() + timedelta(minutes=5)
        clock.advance(minutes=5)
        await sender.send_due()
        row = sms(await rows(db))
        assert (row["status"], row["provider_id"], row["attempts"]) == ("sent", "gw-3", 3)
    finally:
        await session.close()
    assert len(gateway.requests) == 3
    body = gateway.requests[-1]
    assert body == {"to": "+79261234567", "text": "Заказ 10025 отправлен, трек RA123456789RU",
                    "sender": "DomUyut", "id": f"order:{ids['order']}:order_shipped:sms"}
    assert gateway.headers[-1]["Authorization"] == "Bearer sekret"


async def test_sms_outside_hours_waits_for_the_clients_morning(db, db_url, gateway):
    # 23:30 in Moscow; the client is in Vladivostok (city) where it is 06:30 next day
    clock = FrozenClock(datetime(2026, 11, 23, 20, 30, tzinfo=timezone.utc))
    settings = settings_for(db_url, gateway=gateway)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock(), city="Владивосток", email_address=None)
    await enable_sms(db, clock)
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    # the gateway the sender would build, without its background loop racing the test
    session = aiohttp.ClientSession()
    sender = MessageSender(db, clock, settings, gateway=build_gateway(settings, session))
    try:
        await sender.send_due()
        row = [r for r in await rows(db) if r["channel"] == "sms"][0]
        # 09:00 in Vladivostok (+10) = 23:00 UTC
        assert row["status"] == "queued" and row["attempts"] == 0
        assert row["next_attempt_at"] == datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
        assert "Asia/Vladivostok" in row["last_error"]
        assert gateway.requests == []
        clock.now = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
        await sender.send_due()
        row = [r for r in await rows(db) if r["channel"] == "sms"][0]
        assert row["status"] == "sent" and len(gateway.requests) == 1
    finally:
        await session.close()


async def test_restart_sends_nothing_twice(db, db_url, smtp):
    clock = FrozenClock(NOON)
    settings = settings_for(db_url, smtp)
    outbox, _ = wire(db, clock, settings)
    for n in range(3):
        ids = await seed_customer(db, clock(), email_address=f"c{n}@example.ru", name=f"К{n}")
        await shipped(db, clock, ids)
    await outbox.dispatch_once()
    first = MessageSender(db, clock, settings)
    await first.start()
    first.wake()
    for _ in range(100):
        if len(smtp[1].messages) == 3 and first.sent == 3:
            break
        await __import__("asyncio").sleep(0.05)
    await first.stop()
    assert first.sent == 3
    second = MessageSender(db, clock, settings)
    await second.start()
    clock.advance(hours=1)
    assert await second.send_due() == 0
    await second.stop()
    assert sorted(m["To"] for m in smtp[1].messages) == \
        ["c0@example.ru", "c1@example.ru", "c2@example.ru"]
    assert {r["status"] for r in await rows(db)} == {"sent"}


async def test_an_interrupted_sms_through_a_non_idempotent_gateway_is_not_resent(db, db_url):
    class Once:
        idempotent = False
        sent = 0

        async def send(self, to, text, message_id):
            self.sent += 1
            return "x"

    clock = FrozenClock(NOON)
    settings = settings_for(db_url)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock(), email_address=None)
    await enable_sms(db, clock)
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    async with db.write() as conn:   # a process claimed it and died mid-send
        await conn.execute(update(messages).where(messages.c.channel == "sms").values(
            status="sending", lease_until=clock() - timedelta(seconds=1), attempts=1))
    gateway = Once()
    await MessageSender(db, clock, settings, gateway=gateway).send_due()
    row = [r for r in await rows(db) if r["channel"] == "sms"][0]
    assert row["status"] == "failed" and "interrupted" in row["last_error"]
    assert gateway.sent == 0


async def test_a_dead_smtp_server_is_retried_later(db, db_url):
    clock = FrozenClock(NOON)
    settings = settings_for(db_url, smtp_host="127.0.0.1", smtp_port=1)
    outbox, _ = wire(db, clock, settings)
    ids = await seed_customer(db, clock())
    await shipped(db, clock, ids)
    await outbox.dispatch_once()
    await MessageSender(db, clock, settings).send_due()
    [row] = await rows(db)
    assert row["status"] == "queued" and row["attempts"] == 1 and row["last_error"]


async def test_parcel_reminder_once_per_shipment(db, db_url):
    from callcenter.storage.tables import orders
    if "stage_changed_at" not in orders.c:
        pytest.skip("orders.stage_changed_at arrives with the pipeline")
    clock = FrozenClock(NOON)
    settings = settings_for(db_url)
    _, notifications = wire(db, clock, settings)
    ids = await seed_customer(db, clock())
    async with db.write() as conn:
        await conn.execute(update(orders).values(status="shipped",
                                                 stage_changed_at=clock() - timedelta(days=8)))
    assert await notifications.queue_parcel_reminders() == 1
    assert await notifications.queue_parcel_reminders() == 0
    [row] = await rows(db)
    assert row["event"] == "parcel_reminder" and row["order_id"] == ids["order"]


async def test_two_senders_on_one_database_send_each_message_once(db, db_url, smtp):
    import asyncio
    clock = FrozenClock(NOON)
    settings = settings_for(db_url, smtp)
    outbox, _ = wire(db, clock, settings)
    for n in range(6):
        ids = await seed_customer(db, clock(), email_address=f"t{n}@example.ru", name=f"Т{n}")
        await shipped(db, clock, ids)
    await outbox.dispatch_once()
    other = Database(db_url)
    try:
        one, two = MessageSender(db, clock, settings), MessageSender(other, clock, settings)
        while sum(await asyncio.gather(one.send_due(), two.send_due())):
            pass
    finally:
        await other.dispose()
    assert one.sent + two.sent == 6
    assert sorted(m["To"] for m in smtp[1].messages) == [f"t{n}@example.ru" for n in range(6)]


async def test_smsru_request_shape_and_a_refused_number_fails_at_once(db, db_url):
    from aiohttp import web
    seen = []

    async def handle(request):
        form = dict(await request.post())
        seen.append(form)
        if form["to"] == "79261234567":
            return web.json_response({"status": "OK", "sms": {form["to"]: {
                "status": "OK", "sms_id": "000000-10000001"}}})
        return web.json_response({"status": "OK", "sms": {form["to"]: {
            "status": "ERROR", "status_code": 207, "status_text": "На этот номер нельзя"}}})

    app = web.Application()
    app.router.add_post("/sms/send", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/sms/send"
    try:
        clock = FrozenClock(NOON)
        settings = settings_for(db_url, sms_provider="smsru", sms_api_url=url,
                                sms_api_key="API-ID", sms_sender="Uyut")
        outbox, _ = wire(db, clock, settings)
        await enable_sms(db, clock)
        good = await seed_customer(db, clock(), email_address=None)
        bad = await seed_customer(db, clock(), email_address=None, phone="+79990000000",
                                  name="Другой")
        await shipped(db, clock, good)
        await shipped(db, clock, bad)
        await outbox.dispatch_once()
        session = aiohttp.ClientSession()
        sender = MessageSender(db, clock, settings, gateway=build_gateway(settings, session))
        try:
            await sender.send_due()
        finally:
            await session.close()
        by_to = {r["to_address"]: r for r in await rows(db) if r["channel"] == "sms"}
        assert by_to["+79261234567"]["status"] == "sent"
        assert by_to["+79261234567"]["provider_id"] == "000000-10000001"
        assert by_to["+79990000000"]["status"] == "failed"
        assert "нельзя" in by_to["+79990000000"]["last_error"]
        first = [f for f in seen if f["to"] == "79261234567"][0]
        assert first == {"api_id": "API-ID", "to": "79261234567", "from": "Uyut", "json": "1",
                         "msg": "Заказ 10025 отправлен, трек RA123456789RU"}
    finally:
        await runner.cleanup()
