"""The quick time entry (web/views/when_input.js) and the operator's day planner
(web/views/planner.js), mounted on a page of the running app in a real Chromium (its zone:
Europe/Moscow), against the real server and its clock."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MSK = ZoneInfo("Europe/Moscow")
EKB = ZoneInfo("Asia/Yekaterinburg")

MOUNT = """async ([module, factory, options]) => {
    const m = await import(module);
    window.__events = window.__events || [];
    let box = document.getElementById('under-test');
    if (!box) {
        box = document.createElement('div');
        box.id = 'under-test';
        Object.assign(box.style, {position: 'fixed', top: '0', left: '0', width: '640px',
                                  zIndex: '10000', background: '#fff', padding: '8px'});
        document.body.append(box);
    }
    const el = m[factory]({...options, onChange: (v) => window.__events.push(['change', v]),
                           onPick: (v) => { window.__events.push(['pick', v]);
                                            if (window.__when) window.__when.setValue(v); }});
    if (factory === 'whenInput') window.__when = el;
    box.append(el);
}"""


def mount(page, module, factory, **options):
    page.evaluate(MOUNT, [f"/static/views/{module}.js", factory, options])


def events(page, kind):
    return [v for k, v in page.evaluate("window.__events") if k == kind]


def instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_quick_time_shows_the_clients_time_and_mine_and_warns_outside_the_window(
        page, live_server, sign_in):
    client = live_server.create_client(name="Ирина Белова", timezone="Asia/Yekaterinburg",
                                       phones=[{"number": "+73432123456", "label": "work"}])
    sign_in("operator")
    parses = []
    page.on("request", lambda r: "/api/planner/parse" in r.url and parses.append(r.url))
    mount(page, "when_input", "whenInput", clientId=client["id"])
    box = page.get_by_test_id("when-input")
    text = page.get_by_label("Когда")
    expect(text).to_have_attribute("data-testid", "when-text")
    expect(page.get_by_test_id("when-preview")).to_have_attribute("aria-live", "polite")

    # typed key by key, read once the typing stops
    text.click()
    page.keyboard.type("завтра 10:00", delay=20)
    expect(box).to_have_attribute("data-state", "ok")
    assert len(parses) <= 2, parses
    assert "tz=Europe%2FMoscow" in parses[-1]
    tomorrow = datetime.now(EKB).date() + timedelta(days=1)
    expected = datetime.combine(tomorrow, time(10), EKB).astimezone(timezone.utc)
    assert instant(box.get_attribute("data-at")) == expected
    assert instant(events(page, "change")[-1]) == expected
    preview = page.get_by_test_id("when-preview")
    expect(preview).to_contain_text("клиент: ")
    expect(preview).to_contain_text("10:00 (Екатеринбург, UTC+5) · у вас: ")
    expect(preview).to_contain_text(f"{tomorrow:%d.%m}")
    expect(preview).to_contain_text("08:00")
    expect(page.get_by_test_id("when-warning")).to_be_hidden()
    expect(box).to_have_attribute("data-in-window", "true")

    # 07:00 there is before the calling hours: the next opening, in both times
    text.fill("завтра 7:00")
    expect(page.get_by_test_id("when-warning")).to_be_visible()
    warning = page.get_by_test_id("when-warning")
    expect(warning).to_contain_text("звонить нельзя")
    expect(warning).to_contain_text("09:00 у клиента")
    expect(warning).to_contain_text("07:00 у вас")
    expect(box).to_have_attribute("data-in-window", "false")

    # what cannot be read says so, and the chosen time is gone
    text.fill("послепослезавтра")
    expect(page.get_by_test_id("when-error")).to_have_text(
        "Не понимаю время. Например: +30м, завтра 10:00, пн 15")
    expect(box).to_have_attribute("data-state", "error")
    expect(text).to_have_attribute("aria-invalid", "true")
    assert events(page, "change")[-1] is None
    text.fill("завтра")
    expect(page.get_by_test_id("when-error")).to_contain_text("Добавьте время суток")

    # the chips: +30м, +2ч, завтра 10:00
    chips = page.get_by_test_id("when-chip")
    expect(chips).to_have_text(["+30м", "+2ч", "завтра 10:00"])
    chips.nth(1).click()
    expect(text).to_have_value("+2ч")
    expect(box).to_have_attribute("data-state", "ok")
    ahead = instant(box.get_attribute("data-at")) - datetime.now(timezone.utc)
    assert timedelta(minutes=118) < ahead <= timedelta(hours=2), ahead
    text.fill("")
    expect(box).to_have_attribute("data-state", "empty")
    assert events(page, "change")[-1] is None


def test_quick_time_for_a_client_whose_zone_is_unknown_and_in_english(page, live_server,
                                                                         sign_in):
    client = live_server.create_client(name="Олег Мобильный",
                                       phones=[{"number": "+79161234567", "label": "mobile"}])
    sign_in("operator")
    page.evaluate("async () => (await import('/static/i18n.js')).setLang('en')")
    mount(page, "when_input", "whenInput", clientId=client["id"], value="tomorrow 11am")
    box = page.get_by_test_id("when-input")
    expect(box).to_have_attribute("data-state", "ok")
    expect(page.get_by_label("When")).to_have_value("tomorrow 11am")
    preview = page.get_by_test_id("when-preview")
    # read in the shop's zone (Moscow), said to be a guess
    expect(preview).to_contain_text("client: time zone unknown, Moscow time: ")
    expect(preview).to_contain_text("11:00 (UTC+3) · you: ")
    tomorrow = datetime.now(MSK).date() + timedelta(days=1)
    assert instant(box.get_attribute("data-at")) == datetime.combine(
        tomorrow, time(11), MSK).astimezone(timezone.utc)
    expect(page.get_by_test_id("when-chip")).to_have_text(["+30m", "+2h", "tomorrow 10:00"])


def test_planner_strip_counts_my_tasks_per_hour_and_picks_an_hour(page, live_server, sign_in,
                                                                   page_api):
    sign_in("operator")
    me = page_api(page, "GET", "/me", None)["body"]["user"]["id"]
    other = live_server.create_user("planner_other", "other-secret-pw", "operator")
    tomorrow = datetime.now(MSK).date() + timedelta(days=1)

    def at(hour, minute=0):
        return datetime.combine(tomorrow, time(hour, minute), MSK).astimezone(timezone.utc)

    async def seed():
        from sqlalchemy import insert

        from callcenter.storage.tables import tasks

        now = datetime.now(timezone.utc)
        rows = [(at(10, 15), me), (at(10, 40), me), (at(14), me), (at(23, 30), me),
                (at(10), other["id"]), (at(11), None)]
        async with live_server.services.db.write() as conn:
            await conn.execute(insert(tasks), [
                {"kind": "callback", "status": "open", "title": "Перезвонить", "due_at": due,
                 "assigned_to": owner, "created_at": now, "updated_at": now}
                for due, owner in rows])

    live_server.call(seed())
    mount(page, "when_input", "whenInput")
    mount(page, "planner", "plannerStrip", date=tomorrow.isoformat())
    strip = page.get_by_test_id("planner-strip")
    expect(strip).to_have_attribute("data-state", "ready")
    expect(strip).to_have_attribute("data-total", "4")
    expect(page.get_by_test_id("planner-status")).to_have_text("задач за день: 4")
    hours = page.get_by_test_id("planner-hour")
    expect(hours).to_have_count(14)  # 08 … 21
    cell = hours.and_(page.locator("[data-hour='10']"))
    expect(cell).to_have_attribute("data-count", "2")
    expect(cell).to_have_attribute("aria-label", "10:00, задач: 2")
    expect(hours.and_(page.locator("[data-hour='14']"))).to_have_attribute("data-count", "1")
    expect(hours.and_(page.locator("[data-hour='11']"))).to_have_attribute("data-count", "0")
    expect(page.locator("[data-testid=planner-hour][data-hour='23']")).to_have_count(0)

    page.get_by_test_id("planner-all-day").click()
    expect(hours).to_have_count(24)
    expect(hours.and_(page.locator("[data-hour='23']"))).to_have_attribute("data-count", "1")

    # an hour picked is its start, in my zone; the time field takes it
    cell.click()
    expect(cell).to_have_attribute("aria-pressed", "true")
    picked = events(page, "pick")[-1]
    assert instant(picked) == at(10)
    box = page.get_by_test_id("when-input")
    expect(box).to_have_attribute("data-state", "ok")
    assert instant(box.get_attribute("data-at")) == at(10)
    expect(page.get_by_test_id("when-preview")).to_contain_text("10:00 (Москва, UTC+3)")

    # today: the hours already gone cannot be picked
    page.get_by_test_id("planner-prev").click()
    expect(strip).to_have_attribute("data-date", datetime.now(MSK).date().isoformat())
    expect(strip).to_have_attribute("data-state", "ready")
    now_hour = datetime.now(MSK).hour
    expect(hours.and_(page.locator(f"[data-hour='{now_hour}']"))).to_be_disabled()
    if now_hour < 23:
        expect(hours.and_(page.locator(f"[data-hour='{now_hour + 1}']"))).to_be_enabled()
    page.get_by_test_id("planner-next").click()
    expect(strip).to_have_attribute("data-date", tomorrow.isoformat())
    expect(strip).to_have_attribute("data-total", "4")
