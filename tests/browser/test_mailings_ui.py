"""Mailings in a real Chromium against the real app: a supervisor builds a segment and sees
its count follow the filter, saves it, makes a mailing of it, previews it, starts it after
confirming the recipient count and sees the report; the unsubscribe page's button works
without a session."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_segment_count_mailing_start_and_report(page, live_server, sign_in):
    for name, city, email in (("Иван Петров", "Москва", "ivan@example.com"),
                              ("Ольга Сидорова", "Москва", "olga@example.com"),
                              ("Пётр Тульский", "Тула", "petr@example.com")):
        live_server.create_client(name=name, city=city, emails=[email])
    sign_in("supervisor", name="Светлана Руководитель")
    page.get_by_test_id("nav-mailings").click()
    expect(page.get_by_test_id("mailings-page")).to_be_visible()
    count = page.get_by_test_id("segment-count")
    expect(count).to_have_text("3")
    page.get_by_test_id("filter-cities").fill("москва")
    expect(count).to_have_text("2")
    page.get_by_test_id("filter-age_min").fill("-3")
    expect(page.get_by_test_id("error-filter.age_min")).to_be_visible()
    expect(count).to_have_text("—")
    page.get_by_test_id("filter-age_min").fill("")
    expect(count).to_have_text("2")
    page.get_by_test_id("field-name").fill("Москвичи")
    page.get_by_test_id("segment-save").click()
    segments = page.get_by_test_id("segments-table")
    expect(segments).to_contain_text("Москвичи")

    segments.get_by_test_id("segment-to-mailing").click()
    expect(page.get_by_test_id("mailing-page")).to_be_visible()
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    form = page.get_by_test_id("mailing-form")
    form.get_by_test_id("field-subject").fill("{first_name}, зимние скидки")
    form.get_by_test_id("field-body").fill("Здравствуйте, {client_name}! <b>-20%</b>\n"
                                           "Отписаться: {unsubscribe_url}")
    page.get_by_test_id("mailing-save").click()
    expect(page.get_by_test_id("preview-subject")).to_have_text("Иван, зимние скидки")
    # the text is shown as text, never as markup
    expect(page.get_by_test_id("preview-body")).to_contain_text("<b>-20%</b>")
    expect(page.get_by_test_id("preview-body")).to_contain_text("/u/")

    page.get_by_test_id("test-to").fill("me@example.com")
    page.get_by_test_id("test-send").click()
    expect(page.locator(".toast").last).to_be_visible()

    page.get_by_test_id("mailing-start").click()
    expect(page.get_by_test_id("start-confirm")).to_contain_text("2")
    page.get_by_test_id("start-yes").click()
    report = page.get_by_test_id("mailing-report")
    expect(report).to_be_visible()
    expect(report.get_by_test_id("figure-total")).to_have_text("2")
    expect(page.get_by_test_id("mailing-page")).to_contain_text("отправляется")

    page.get_by_test_id("mailing-cancel").click()
    expect(report.get_by_test_id("figure-skipped")).to_have_text("2", timeout=10000)
    page.goto(live_server.url + "/#/mailings")
    rows = page.get_by_test_id("mailing-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("отменена")


def test_unsubscribe_page_without_a_session(page, live_server):
    client = live_server.create_client(name="Иван Петров", emails=["ivan@example.com"])
    token = live_server.services.unsubscribe.token(client["id"], 1)
    page.goto(live_server.url + f"/u/{token}")
    expect(page.locator("h1")).to_have_text("Отписка от рассылок")
    page.locator("#unsubscribe").click()
    expect(page.locator("#done")).to_contain_text("рассылки вам больше не придут")

    async def flag():
        from sqlalchemy import select

        from callcenter.storage.tables import clients

        async with live_server.services.db.read() as conn:
            return (await conn.execute(select(clients.c.unsubscribed_at)
                                       .where(clients.c.id == client["id"]))).scalar_one()

    assert live_server.call(flag()) is not None
