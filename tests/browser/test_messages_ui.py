"""Messages to customers in a real Chromium against the real app: the client card lists a sent
e-mail with its status and a failed one with its error and a "send again" button for a
supervisor; the template editor previews as one types and warns of an unknown placeholder."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def seed_messages(server, client_id):
    from sqlalchemy import update

    from callcenter.storage.messages import queue_message
    from callcenter.storage.tables import messages

    async def write():
        now = server.services.clock() if hasattr(server.services, "clock") else None
        from datetime import datetime, timezone
        now = now or datetime.now(timezone.utc)
        async with server.services.db.write() as conn:
            sent = await queue_message(
                conn, kind="notification", channel="email", event="order_shipped",
                to_address="anna@example.ru", subject="Заказ 10025 отправлен",
                body="Трек-номер: RA123456789RU", dedupe_key=f"ui:{client_id}:sent", now=now,
                client_id=client_id)
            await conn.execute(update(messages).where(messages.c.id == sent)
                               .values(status="sent", sent_at=now))
            await queue_message(
                conn, kind="notification", channel="sms", event="order_confirmed",
                to_address="+79261234567", body="<b>Заказ</b> подтверждён",
                dedupe_key=f"ui:{client_id}:failed", now=now, client_id=client_id,
                status="failed", last_error="gateway refused (400): bad number")

    server.call(write())


def test_the_card_shows_messages_with_status_and_a_supervisor_sends_again(page, live_server,
                                                                          sign_in):
    client = live_server.create_client(name="Анна Петрова",
                                       phones=[{"number": "+79261234567", "label": "mobile"}])
    seed_messages(live_server, client["id"])
    sign_in("supervisor", name="Светлана Руководитель")
    page.goto(f"{live_server.url}/#/clients/{client['id']}")
    section = page.get_by_test_id("client-messages")
    expect(section).to_be_visible()
    rows = section.get_by_test_id("message-row")
    expect(rows).to_have_count(2)
    sent = rows.filter(has_text="Заказ 10025 отправлен")
    expect(sent.get_by_test_id("message-status")).to_have_text("отправлено")
    expect(sent).to_have_attribute("data-status", "sent")
    expect(sent.get_by_test_id("message-retry")).to_have_count(0)
    failed = section.locator("[data-testid=message-row][data-status=failed]")
    expect(failed.get_by_test_id("message-error")).to_contain_text("bad number")
    # the text from the server is text, not markup
    expect(failed.locator("pre")).to_have_text("<b>Заказ</b> подтверждён", use_inner_text=False)
    failed.get_by_test_id("message-retry").click()
    # queued again (or already being taken by the sender): no longer failed
    expect(section.locator("[data-testid=message-row][data-status=failed]")).to_have_count(0)
    expect(section.get_by_test_id("message-retry")).to_have_count(0)


def test_an_operator_has_no_send_again_button(page, live_server, sign_in):
    client = live_server.create_client(name="Пётр Иванов",
                                       phones=[{"number": "+79267654321", "label": "mobile"}])
    seed_messages(live_server, client["id"])
    sign_in("operator")
    page.goto(f"{live_server.url}/#/clients/{client['id']}")
    section = page.get_by_test_id("client-messages")
    expect(section.get_by_test_id("message-row")).to_have_count(2)
    expect(section.get_by_test_id("message-retry")).to_have_count(0)


def test_the_template_editor_previews_and_saves(page, live_server, sign_in):
    live_server.create_shop("uyut", "Домашний уют")
    sign_in("admin", name="Администратор")
    page.goto(f"{live_server.url}/#/settings/templates")
    section = page.get_by_test_id("settings-templates-section")
    expect(section.get_by_test_id("tpl-overview")).to_be_visible()
    body = section.get_by_test_id("tpl-body")
    expect(body).to_have_value("Здравствуйте, {client_name}!\n\nЗаказ {order_number} отправлен. "
                               "Трек-номер: {tracking_number}\nОтследить посылку: {tracking_url}"
                               "\n\n{shop_name}, {shop_phone}")
    expect(section.get_by_test_id("tpl-preview-subject")).to_have_text("Заказ 10025 отправлен")
    body.fill("Посылка {order_number} едет, трек {tracking_number}. {promo_code}")
    preview = section.get_by_test_id("tpl-preview-body")
    expect(preview).to_have_text("Посылка 10025 едет, трек RA123456789RU. {promo_code}")
    expect(section.get_by_test_id("tpl-unknown")).to_contain_text("{promo_code}")
    # clicking a placeholder inserts it
    section.get_by_test_id("tpl-placeholder").filter(has_text="{client_name}").click()
    expect(body).to_have_value("Посылка {order_number} едет, трек {tracking_number}. "
                               "{promo_code}{client_name}")
    # SMS: off by default, switched on and saved for the chosen shop
    section.get_by_test_id("tpl-shop").select_option(label="Домашний уют")
    section.get_by_test_id("tpl-channel").select_option("sms")
    expect(section.get_by_test_id("tpl-enabled")).not_to_be_checked()
    expect(section.get_by_test_id("tpl-segments")).to_be_visible()
    section.get_by_test_id("tpl-enabled").check()
    section.get_by_test_id("tpl-save").click()
    expect(section.get_by_test_id("tpl-source")).to_have_text("свой у магазина")
    expect(section.get_by_test_id("tpl-cell-order_shipped-sms")).to_have_text("вкл.")
