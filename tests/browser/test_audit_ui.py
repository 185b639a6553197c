"""The audit log page in a real Chromium against the real app: a supervisor filters by action,
by dates and by part of a login and sees the right rows, in words, with links to what they
are about; failed logins are there with the address; the list pages 50 at a time; an admin
picks the person from the users; an operator has no link and gets the forbidden banner."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ZONE = ZoneInfo("Europe/Moscow")  # the settings' CALLCENTER_TIMEZONE and the browser's zone
DAY = date(2025, 3, 12)  # long before the test's own logins


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(timezone.utc)


def seed(server, entries):
    from callcenter.storage import audit

    async def write():
        async with server.services.db.write() as conn:
            for entry in entries:
                await audit.record(conn, **entry)

    server.call(write())


def entry(at, action, login, ip, entity=None, entity_id=None, details=None, user_id=None):
    return {"at": at, "action": action, "user_id": user_id, "login": login, "ip": ip,
            "entity": entity, "entity_id": entity_id, "details": details or {}}


def failed_login(server, login, ip):
    from callcenter.errors import InvalidCredentials

    async def attempt():
        try:
            await server.services.accounts.login(login, "not-the-password", ip)
        except InvalidCredentials:
            return
        raise AssertionError("the wrong password was let in")

    server.call(attempt())


def test_a_supervisor_filters_by_action_and_dates_and_follows_a_link(page, live_server, sign_in):
    client = live_server.create_client(name="Мария Соловьёва", timezone="Europe/Moscow",
                                       phones=[{"number": "+79857778899", "label": "mobile"}])
    seed(live_server, [
        entry(local(DAY, 10, 15), "recording.listen", "svetlana", "10.7.0.5", "call", "9001"),
        entry(local(DAY, 11, 0), "client.update", "olga", "10.7.0.9", "client", client["id"],
              {"city": {"old": "Москва", "new": "Тула"}}),
        entry(local(DAY + timedelta(days=1), 9, 30), "recording.download", "svetlana",
              "10.7.0.5", "call", "9002"),
        entry(local(DAY + timedelta(days=2), 16, 45), "supervise.whisper", "svetlana",
              "10.7.0.6", "user", "7", {"operator": "olga", "call_key": "1741770000.7"}),
    ])
    failed_login(live_server, "intruder", "203.0.113.9")
    sign_in("supervisor", name="Светлана Руководитель")

    page.get_by_test_id("nav-audit").click()
    expect(page.get_by_test_id("audit-page")).to_be_visible()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    # newest first: the supervisor's own login, then the failed one with the login and address
    failed = rows.filter(has_text="Неудачный вход")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("intruder")
    expect(failed.get_by_test_id("audit-ip")).to_have_text("203.0.113.9")

    # one action, in words in the select
    page.get_by_test_id("audit-filter-action").select_option(label="Прослушана запись")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-action", "recording.listen")
    expect(rows.first.get_by_test_id("audit-at")).to_have_text("12.03.2025, 10:15:00")
    expect(rows.first.get_by_test_id("audit-who")).to_have_text("svetlana")
    # every action of a kind
    page.get_by_test_id("audit-filter-action").select_option(label="Записи разговоров: все")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("audit-range")).to_have_text("1–2 из 2")

    # any action, one local day
    page.get_by_test_id("audit-filter-action").select_option(value="")
    page.get_by_test_id("audit-filter-from").fill(DAY.isoformat())
    page.get_by_test_id("audit-filter-to").fill(DAY.isoformat())
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-action", "client.update")
    expect(rows.nth(1)).to_have_attribute("data-action", "recording.listen")
    # the two days after, and part of a login (a supervisor may not list the users)
    page.get_by_test_id("audit-filter-from").fill((DAY + timedelta(days=1)).isoformat())
    page.get_by_test_id("audit-filter-to").fill((DAY + timedelta(days=2)).isoformat())
    expect(rows).to_have_count(2)
    page.get_by_test_id("audit-filter-login").fill("SVET")
    expect(rows).to_have_count(2)
    page.get_by_test_id("audit-filter-login").fill("olga")
    expect(page.get_by_test_id("audit-empty")).to_be_visible()
    page.get_by_test_id("audit-filter-login").fill("")
    # free text finds the listen-in by its call, in the details
    page.get_by_test_id("audit-filter-q").fill("1741770000.7")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("audit-action")).to_have_text("Подсказка оператору")
    expect(rows.first.get_by_test_id("audit-details")).to_contain_text('"operator":"olga"')

    # the edit of a client links to the card
    page.get_by_test_id("audit-reset").click()
    page.get_by_test_id("audit-filter-ip").fill("10.7.0.9")
    expect(rows).to_have_count(1)
    link = rows.first.get_by_test_id("audit-entity-link")
    expect(link).to_have_text(f"Клиент #{client['id']}")
    link.click()
    expect(page.get_by_text("Мария Соловьёва").first).to_be_visible()


def test_the_log_pages_fifty_at_a_time(page, live_server, sign_in):
    seed(live_server, [entry(local(DAY, 9) + timedelta(minutes=i), "report.export", "svetlana",
                             "10.9.0.1", "report", "operators", {"n": i}) for i in range(60)])
    sign_in("supervisor")
    page.goto(live_server.url + "/#/audit")
    page.get_by_test_id("audit-filter-action").select_option(value="report.export")
    expect(page.get_by_test_id("audit-range")).to_have_text("1–50 из 60")
    expect(page.get_by_test_id("audit-prev")).to_be_disabled()
    expect(page.get_by_test_id("audit-row").first.get_by_test_id("audit-details")) \
        .to_have_text('{"n":59}')
    page.get_by_test_id("audit-next").click()
    expect(page.get_by_test_id("audit-range")).to_have_text("51–60 из 60")
    expect(page.get_by_test_id("audit-row")).to_have_count(10)
    expect(page.get_by_test_id("audit-next")).to_be_disabled()
    page.get_by_test_id("audit-prev").click()
    expect(page.get_by_test_id("audit-range")).to_have_text("1–50 из 60")


def test_an_admin_picks_the_person_from_the_users(page, live_server, sign_in):
    boris = live_server.create_user("boris_audit", "boris-secret-pw", "operator", "Борис Орлов")
    seed(live_server, [
        entry(local(DAY, 12), "client.update", "boris_audit", "10.8.0.2", "client", "5",
              user_id=boris["id"]),
        entry(local(DAY, 13), "client.update", "someone", "10.8.0.3", "client", "6"),
    ])
    sign_in("admin", name="Админ Главный")
    page.goto(live_server.url + "/#/audit")
    page.get_by_test_id("audit-filter-user_id").select_option(label="Борис Орлов (boris_audit)")
    rows = page.get_by_test_id("audit-row")
    # his user.create by the test, his client edit
    expect(rows.filter(has_text="Клиент изменён")).to_have_count(1)
    expect(rows.filter(has_text="10.8.0.3")).to_have_count(0)


def test_an_operator_has_no_link_and_gets_the_banner(page, live_server, sign_in):
    sign_in("operator")
    expect(page.get_by_test_id("nav-calls")).to_be_visible()
    expect(page.get_by_test_id("nav-audit")).to_have_count(0)
    page.goto(live_server.url + "/#/audit")
    expect(page.get_by_test_id("page-error")).to_be_visible()
    expect(page.get_by_test_id("page-error")).to_contain_text("Недостаточно прав")
    expect(page.get_by_test_id("audit-table")).to_have_count(0)
