"""The operator's day in a real Chromium against the real app and the AMI simulator: ready, Next
task, Call (click-to-call → Originate), the PBX's outcome preselected among the outcome buttons,
the next attempt shown in the client's time and the operator's, the tasks list; a callback for
"завтра 10:00" in the client's time; an admin's own outcome as a button; the archive searched and
a task brought back; a do-not-call client's Call button disabled with the reason; Next task with
nothing due."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CALL_TIMEOUT_MS = 15_000
IVAN_PHONE = "+79161234567"  # the customer dialled in the outbound traces
TRACES = Path(__file__).resolve().parents[1] / "traces"
OPERATOR_ZONE = "Europe/Moscow"  # the browser context's zone (conftest)
# Zones far enough apart that, at any moment, one of them is in the middle of its calling day.
ZONES = ["Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk",
         "Asia/Irkutsk", "Asia/Vladivostok", "Asia/Kamchatka", "America/Sao_Paulo",
         "America/New_York", "America/Los_Angeles", "Pacific/Honolulu"]
CITY = {"Europe/Kaliningrad": "Калининград", "Europe/Moscow": "Москва",
        "Asia/Yekaterinburg": "Екатеринбург", "Asia/Novosibirsk": "Новосибирск",
        "Asia/Irkutsk": "Иркутск", "Asia/Vladivostok": "Владивосток",
        "Asia/Kamchatka": "Петропавловск-Камчатский"}
DAY_SHOT = "/tmp/operator-day-next-attempt.png"
TASKS_SHOT = "/tmp/operator-day-tasks.png"
CALLBACK_SHOT = "/tmp/operator-day-callback.png"


def zone_inside_hours(now: datetime | None = None) -> str:
    """A zone where it is now between 10:00 and 18:00 (the default window is 09:00–21:00), so
    the next attempt 5 minutes later is inside the window; a zone of the list without a city
    name in the catalogue is still fine (the page shows the zone's last part)."""
    now = now or datetime.now(timezone.utc)
    for zone in ZONES:
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 18:
            return zone
    raise AssertionError("no zone in its calling day")


def hhmm(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def shown(at: datetime, zone: str) -> str:
    """A time as the page says it in `zone`: "14:35" today, "завтра 10:00", else "05.12, 10:00"."""
    local, today = at.astimezone(ZoneInfo(zone)), datetime.now(timezone.utc).astimezone(ZoneInfo(zone)).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() == today + timedelta(days=1):
        return "завтра " + local.strftime("%H:%M")
    return local.strftime("%d.%m, %H:%M")


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def trace_for_task(tmp_path: Path, trace: str, task_id: int) -> str:
    """The recorded outbound trace as the PBX plays it for this Originate: Asterisk echoes the
    Originate's CRM_TASK_ID, which in the recording was another task's id."""
    text = (TRACES / f"{trace}.jsonl").read_text(encoding="utf-8")
    recorded = re.search(r"CRM_TASK_ID\\r\\nValue: (\d+)", text)
    assert recorded, "the trace sets CRM_TASK_ID"
    text = text.replace(f"CRM_TASK_ID\\r\\nValue: {recorded.group(1)}\\r\\n",
                        f"CRM_TASK_ID\\r\\nValue: {task_id}\\r\\n")
    text = text.replace(f"CRM_TASK_ID={recorded.group(1)}", f"CRM_TASK_ID={task_id}")
    path = tmp_path / f"{trace}-{task_id}.jsonl"
    path.write_text(text, encoding="utf-8")
    return str(path)


def seed_task(page, page_api, client_id: int, *, kind="redial", due: datetime | None = None,
              title="Перезвонить по заказу") -> dict:
    due = due or datetime.now(timezone.utc) - timedelta(minutes=1)
    answer = page_api(page, "POST", "/tasks", {"kind": kind, "client_id": client_id,
                                                "due_at": due.isoformat(), "title": title})
    assert answer["status"] == 201, answer
    return answer["body"]


def test_next_task_with_nothing_due_says_so(page, live_server, sign_in):
    sign_in("operator", extension="PJSIP/101")
    expect(page.get_by_test_id("next-task")).to_be_visible()
    page.get_by_test_id("next-task").click()
    expect(page.get_by_test_id("toast").filter(has_text="Нет задач сейчас")).to_be_visible()
    # The key does the same outside text fields; in the search box it is just a letter.
    page.get_by_test_id("search-input").press("N")
    expect(page.get_by_test_id("search-input")).to_have_value("N")
    page.get_by_test_id("search-input").fill("")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    # every toast shown from now on is noted as it appears (it leaves after 3 s by itself: a
    # slow machine could look for it too late)
    page.evaluate("""() => {
        window.__toasts = [];
        new MutationObserver(changes => changes.forEach(change => change.addedNodes.forEach(
            node => node.dataset && node.dataset.testid === "toast"
                && window.__toasts.push(node.textContent))))
            .observe(document.body, {childList: true, subtree: true});
    }""")
    with page.expect_response("**/api/tasks/next") as answer:
        page.keyboard.press("F2")
    assert answer.value.status == 204
    page.wait_for_function("() => window.__toasts.includes('Нет задач сейчас')", timeout=10000)


@pytest.fixture
def day_pbx(db_url):
    """live_pbx on each database: the real app (SQLite file, then PostgreSQL) listening to an
    AMI simulator on a real port."""
    from callcenter.ami.sim import AmiSimulator
    from tests.conftest import _serve_in_thread, listening_socket, make_settings

    sock = listening_socket()

    async def before():
        sim = AmiSimulator("callcenter", "test-ami-secret", seed=3)
        port = await sim.start()
        return {"sim": sim, "settings": make_settings(
            db_url, http_port=sock.getsockname()[1], ami_host="127.0.0.1", ami_port=port,
            ami_username="callcenter", ami_secret="test-ami-secret")}

    server, stop = _serve_in_thread(None, before, sock=sock)
    yield server
    stop()


def go_ready(page, page_api):
    """Ready through the agents' top-bar widget when it is there, else through its API."""
    widget = page.get_by_test_id("agent-state")
    if widget.count():
        expect(widget).not_to_have_attribute("data-state", "ready")
        widget.get_by_test_id("agent-state-toggle").click()
        expect(widget).to_have_attribute("data-state", "ready")
    else:
        answer = page_api(page, "POST", "/agents/me/state", {"state": "ready"})
        assert answer["status"] == 200, answer


def test_ready_next_task_call_no_answer_next_attempt_in_the_clients_time(
        page, day_pbx, page_api, tmp_path):
    from tests.browser.conftest import _sign_in

    live_pbx = day_pbx
    live_pbx.wait_ami_connected()
    zone = zone_inside_hours()
    client = live_pbx.create_client(name="Иван Петров", timezone=zone,
                                    phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    _sign_in(live_pbx, page, "operator", "Анна Смирнова", "PJSIP/101")
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    task = seed_task(page, page_api, client["id"])
    live_pbx.sim.originate_trace = trace_for_task(tmp_path, "outbound_no_answer", task["id"])
    live_pbx.sim.originate_speed = 0
    go_ready(page, page_api)

    page.get_by_test_id("next-task").click()
    card = page.get_by_test_id("task-card")
    expect(card).to_be_visible()
    expect(page).to_have_url(re.compile(rf"#/clients/{client['id']}\?task={task['id']}$"))
    expect(page.get_by_test_id("client-name")).to_have_text("Иван Петров")
    expect(card.get_by_test_id("task-title")).to_have_text("Перезвонить по заказу")
    expect(card.get_by_test_id("task-attempts")).to_have_text("0")
    call = card.get_by_test_id("task-call")
    expect(call).to_be_enabled()
    expect(call).to_be_focused()  # ready to press

    started = datetime.now(timezone.utc)
    page.keyboard.press("Enter")
    pop = page.get_by_test_id("call-card")
    expect(pop).to_have_attribute("data-direction", "outbound", timeout=CALL_TIMEOUT_MS)
    originate = [a for a in live_pbx.sim.actions if a.get("Action", "").lower() == "originate"]
    assert len(originate) == 1 and originate[0]["Channel"] == "PJSIP/101"
    assert f"CRM_TASK_ID={task['id']}" in json.dumps(originate[0])
    expect(pop).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    # The PBX said nobody answered: that button is preselected, the key 1 presses it.
    no_answer = pop.get_by_test_id("outcome-no_answer")
    expect(no_answer).to_have_attribute("data-preselected", "1")
    expect(no_answer).to_contain_text("Не отвечает")
    page.keyboard.press("1")

    next_line = pop.get_by_test_id("outcome-result")
    expect(next_line).to_contain_text("Следующая попытка")
    page.mouse.move(0, 0)
    page.screenshot(path=DAY_SHOT, animations="disabled")
    saved = page_api(page, "GET", f"/tasks/{task['id']}")["body"]
    # the card's own list of open tasks follows
    expect(page.get_by_test_id("client-tasks")).to_contain_text(
        hhmm(utc(saved["ready_at"] or saved["due_at"]), OPERATOR_ZONE))
    # one step up the ladder: the PBX's no_answer and the operator's press of it are one failure
    assert (saved["status"], saved["failures"]) == ("open", 1), saved
    next_at = utc(saved["ready_at"] or saved["due_at"])
    # the first failed attempt: again in 5 minutes (inside the window in this zone)
    assert timedelta(minutes=4) < next_at - started < timedelta(minutes=7), (started, saved)
    city = CITY.get(zone, zone.split("/")[-1].replace("_", " "))
    expected = (f"{shown(next_at, zone)} у клиента ({city}) · {shown(next_at, OPERATOR_ZONE)} у вас"
                if zone != OPERATOR_ZONE else f"{shown(next_at, zone)} у клиента и у вас")
    expect(next_line).to_contain_text(expected)
    # The task card on the page says the same and keeps saying it after the call card goes.
    expect(card.get_by_test_id("task-next-attempt")).to_contain_text(expected)
    expect(card.get_by_test_id("task-attempts")).to_have_text(str(saved["attempts"]))
    # the outcome ends the after-call work: the operator is ready again
    widget = page.get_by_test_id("agent-state")
    if widget.count():
        expect(widget).to_have_attribute("data-state", "ready", timeout=CALL_TIMEOUT_MS)

    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("tasks-filter-status").select_option("open")
    row = page.get_by_test_id("task-row").filter(has=page.locator(f"[href*='task={task['id']}']"))
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("task-attempts")).to_have_text(str(saved["attempts"]))
    expect(row.get_by_test_id("task-due-mine")).to_contain_text(hhmm(next_at, OPERATOR_ZONE))
    expect(row.get_by_test_id("task-due-client")).to_contain_text(hhmm(next_at, zone))
    page.screenshot(path=TASKS_SHOT, animations="disabled")
    # ... and one attempt: the operator's press confirms the PBX's outcome of the same call
    assert saved["attempts"] == 1, saved


def test_callback_tomorrow_at_ten_is_tomorrow_ten_in_the_clients_time(
        page, live_server, sign_in, page_api):
    zone = "Asia/Yekaterinburg"
    client = live_server.create_client(name="Ольга Соколова", timezone=zone,
                                       phones=[{"number": "+79221234567", "label": "mobile"}])
    sign_in("operator", extension="PJSIP/101")
    task = seed_task(page, page_api, client["id"], kind="callback", title="Уточнить адрес")
    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("task-row").filter(has_text="Ольга Соколова").get_by_test_id("task-open").click()
    card = page.get_by_test_id("task-card")
    expect(card.get_by_test_id("task-title")).to_have_text("Уточнить адрес")
    expect(card.get_by_test_id("outcome-callback")).to_be_visible()
    # the key 5 is "Перезвонить…": a dialog asks when
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("5")
    dialog = page.get_by_test_id("callback-dialog")
    expect(dialog).to_be_visible()
    text = dialog.get_by_test_id("when-text")
    expect(text).to_be_focused()
    text.fill("завтра 10:00")
    # the quick entry reads the text on the server: the client's time with the operator's beside it
    expect(dialog.get_by_test_id("when-input")).to_have_attribute("data-at", re.compile("."))
    expect(dialog.get_by_test_id("when-preview")).to_contain_text("10:00")
    expect(dialog.get_by_test_id("planner-strip")).to_be_visible()
    # the planner turns to the operator's day of that time
    tomorrow_mine = (datetime.now(timezone.utc).astimezone(ZoneInfo(zone)).date() + timedelta(days=1))
    tomorrow_mine = datetime.combine(tomorrow_mine, datetime.min.time(), ZoneInfo(zone)).replace(hour=10)
    expect(dialog.get_by_test_id("planner-date")).to_contain_text(
        tomorrow_mine.astimezone(ZoneInfo(OPERATOR_ZONE)).strftime("%d.%m"))
    dialog.get_by_test_id("callback-save").click()
    expect(dialog).to_have_count(0)

    now = datetime.now(timezone.utc).astimezone(ZoneInfo(zone))
    tomorrow_ten = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(),
                                    ZoneInfo(zone)).replace(hour=10)
    line = card.get_by_test_id("task-next-attempt")
    expect(line).to_contain_text(
        f"Следующая попытка: завтра 10:00 у клиента (Екатеринбург) · {shown(tomorrow_ten, OPERATOR_ZONE)} у вас")
    saved = page_api(page, "GET", f"/tasks/{task['id']}")["body"]
    assert saved["status"] == "open" and saved["kind"] == "callback", saved
    assert utc(saved["due_at"]) == tomorrow_ten, saved
    assert saved["attempts"] == 1 and saved["assigned_to"] is not None, saved  # a personal callback


def test_admin_adds_an_outcome_and_it_is_a_button(page, live_server, sign_in, page_api):
    client = live_server.create_client(name="Пётр Смирнов", timezone="Europe/Moscow",
                                       phones=[{"number": "+79031234567", "label": "mobile"}])
    sign_in("admin", name="Админ Админов", extension="PJSIP/102")
    task = seed_task(page, page_api, client["id"], kind="order_confirmation", title="Заказ 77")
    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("nav-outcomes").click()
    expect(page.get_by_test_id("outcome-row")).to_have_count(8)
    form = page.get_by_test_id("outcome-add")
    form.get_by_test_id("outcome-new-code").fill("moved_abroad")
    form.get_by_test_id("outcome-new-label_ru").fill("Уехал за границу")
    form.get_by_test_id("outcome-new-label_en").fill("Moved abroad")
    form.get_by_test_id("outcome-new-final").check()
    form.get_by_test_id("outcome-new-hotkey").fill("9")
    form.get_by_test_id("outcome-new-position").fill("90")
    form.get_by_test_id("outcome-add-submit").click()
    row = page.get_by_test_id("outcome-row").filter(has_text="moved_abroad")
    expect(row).to_have_count(1)
    expect(page.get_by_test_id("outcome-row")).to_have_count(9)
    # A built-in outcome cannot be removed, only relabelled.
    builtin = page.get_by_test_id("outcome-row").filter(has_text="no_answer")
    expect(builtin.get_by_test_id("outcome-deactivate")).to_have_count(0)
    expect(builtin).to_contain_text("встроенный")
    assert page_api(page, "DELETE", "/outcomes/no_answer")["status"] == 409
    # ... but relabelled
    builtin.get_by_test_id("outcome-field-label_ru").fill("Не берёт трубку")
    builtin.get_by_test_id("outcome-save").click()
    expect(page.get_by_test_id("toast").filter(has_text="Итог сохранён")).to_be_visible()
    expect(page.get_by_test_id("outcome-row").filter(has_text="no_answer")).to_contain_text("Не берёт трубку")

    page.goto(f"{live_server.url}/#/clients/{client['id']}?task={task['id']}")
    button = page.get_by_test_id("task-card").get_by_test_id("outcome-moved_abroad")
    expect(button).to_have_text(re.compile("9\\s*Уехал за границу"))
    expect(page.get_by_test_id("task-card").get_by_test_id("outcome-no_answer")).to_contain_text("Не берёт трубку")
    expect(page.get_by_test_id("task-outcomes")).to_contain_text("клавиши 1–9")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("9")
    expect(page.get_by_test_id("task-next-attempt")).to_contain_text("Задача закрыта: Уехал за границу")
    saved = page_api(page, "GET", f"/tasks/{task['id']}")["body"]
    assert (saved["status"], saved["result"]) == ("done", "moved_abroad"), saved

    # Deactivated, it is no longer offered.
    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("nav-outcomes").click()
    page.get_by_test_id("outcome-row").filter(has_text="moved_abroad").get_by_test_id("outcome-deactivate").click()
    expect(page.get_by_test_id("outcome-row").filter(has_text="moved_abroad")).to_have_attribute("data-active", "0")
    other = seed_task(page, page_api, client["id"], kind="reminder", title="Ещё одна")
    page.goto(f"{live_server.url}/#/clients/{client['id']}?task={other['id']}")
    expect(page.get_by_test_id("task-card").get_by_test_id("outcome-no_answer")).to_be_visible()
    expect(page.get_by_test_id("task-card").get_by_test_id("outcome-moved_abroad")).to_have_count(0)


def test_archived_task_is_found_by_search_and_brought_back(page, live_server, sign_in, page_api):
    client = live_server.create_client(name="Мария Соловьёва", timezone="Europe/Moscow",
                                       phones=[{"number": "+79857778899", "label": "mobile"}])
    sign_in("operator", extension="PJSIP/101")
    task = seed_task(page, page_api, client["id"], kind="redial", title="Доставка")
    answer = page_api(page, "POST", f"/tasks/{task['id']}/outcome", {"outcome": "invalid_number"})
    assert answer["status"] == 200 and answer["body"]["status"] == "archived", answer

    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("tasks-archive-link").click()
    expect(page.get_by_test_id("archive-page")).to_be_visible()
    page.get_by_test_id("archive-search").fill("соловьева")  # е finds ё
    row = page.get_by_test_id("archive-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Мария Соловьёва")
    expect(row.get_by_test_id("archive-reason")).to_contain_text("неверный номер")
    page.get_by_test_id("archive-search").fill("7778899")  # the number's last digits
    expect(row).to_have_count(1)
    page.get_by_test_id("archive-search").fill("нет такого")
    expect(page.get_by_test_id("archive-empty")).to_be_visible()
    page.get_by_test_id("archive-search").fill("Соловьёва")
    expect(row).to_have_count(1)
    row.get_by_test_id("archive-restore").click()
    expect(page.get_by_test_id("toast").filter(has_text="Задача возвращена")).to_be_visible()
    expect(page.get_by_test_id("archive-row")).to_have_count(0)
    saved = page_api(page, "GET", f"/tasks/{task['id']}")["body"]
    assert (saved["status"], saved["failures"]) == ("open", 0), saved
    page.get_by_test_id("tasks-archive-link").count()  # still on the archive page
    page.goto(f"{live_server.url}/#/tasks")
    expect(page.get_by_test_id("task-row").filter(has_text="Мария Соловьёва")).to_have_count(1)


def test_do_not_call_clients_call_button_is_disabled_with_the_reason(
        page, live_pbx, pbx_sign_in, page_api):
    live_pbx.wait_ami_connected()
    client = live_pbx.create_client(name="Семён Тихий", timezone="Europe/Moscow", do_not_call=True,
                                    phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    pbx_sign_in(page, extension="PJSIP/101")
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    button = page.get_by_test_id("client-phones").locator(".btn-call")
    expect(button).to_be_disabled()
    expect(button).to_contain_text("Не звонить")
    expect(button).to_have_attribute("title", "Клиент просил не звонить ему")
    button.click(force=True)
    page.wait_for_timeout(300)
    assert not [a for a in live_pbx.sim.actions if a.get("Action", "").lower() == "originate"]
    # No task can be made for them either: the server refuses with the reason.
    answer = page_api(page, "POST", "/tasks", {
        "kind": "callback", "client_id": client["id"],
        "due_at": datetime.now(timezone.utc).isoformat(), "title": "x"})
    assert answer["status"] == 409 and answer["body"]["error"]["code"] == "do_not_call", answer
    # In English too.
    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.get_by_test_id("client-phones").locator(".btn-call")).to_have_attribute(
        "title", "The client asked not to be called")


def set_autodial(server, login: str, on: bool = True) -> None:
    """Power dialling for one operator (users.autodial)."""
    from sqlalchemy import update

    from callcenter.storage.tables import users

    async def write():
        async with server.services.db.write() as conn:
            await conn.execute(update(users).where(users.c.login == login).values(autodial=on))

    server.call(write())


def originates(pbx) -> list[dict]:
    return [a for a in pbx.sim.actions if a.get("Action", "").lower() == "originate"]


def test_autodial_previews_the_next_task_with_a_countdown_then_dials(
        page, live_pbx, pbx_sign_in, page_api, tmp_path):
    live_pbx.wait_ami_connected()
    client = live_pbx.create_client(name="Иван Петров", timezone=zone_inside_hours(),
                                    phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    login = pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    task = seed_task(page, page_api, client["id"], title="Автонабор")
    live_pbx.sim.originate_trace = trace_for_task(tmp_path, "outbound_no_answer", task["id"])
    set_autodial(live_pbx, login)
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    expect(page.get_by_test_id("next-task-box")).to_have_attribute("data-autodial", "on")

    # Ready: the next task opens by itself with a visible countdown; Esc cancels the dial.
    assert page_api(page, "POST", "/agents/me/state", {"state": "ready"})["status"] == 200
    card = page.get_by_test_id("task-card")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("autodial-countdown")).to_contain_text("Автонабор через")
    page.keyboard.press("Escape")
    expect(card.get_by_test_id("autodial")).to_have_count(0)
    expect(page.get_by_test_id("toast").filter(has_text="Автонабор отменён")).to_be_visible()
    page.wait_for_timeout(5500)
    assert originates(live_pbx) == []

    # Paused and ready again: this time the countdown runs out and the task is dialled.
    assert page_api(page, "POST", "/agents/me/state", {"state": "paused", "reason": "lunch"})["status"] == 200
    assert page_api(page, "POST", "/agents/me/state", {"state": "ready"})["status"] == 200
    expect(card.get_by_test_id("autodial-countdown")).to_be_visible()
    expect(page.get_by_test_id("call-card")).to_have_attribute("data-direction", "outbound",
                                                             timeout=CALL_TIMEOUT_MS)
    sent = originates(live_pbx)
    assert len(sent) == 1 and f"CRM_TASK_ID={task['id']}" in json.dumps(sent[0])

    # Nobody answered; the outcome is saved and the next task comes by itself, previewed again.
    second = seed_task(page, page_api, client["id"], title="Второй звонок")
    pop = page.get_by_test_id("call-card")
    expect(pop).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    pop.get_by_test_id("outcome-no_answer").click()
    expect(page).to_have_url(re.compile(rf"\?task={second['id']}$"), timeout=CALL_TIMEOUT_MS)
    card = page.get_by_test_id("task-card")
    expect(card.get_by_test_id("task-title")).to_have_text("Второй звонок")
    expect(card.get_by_test_id("autodial-countdown")).to_be_visible()
    card.get_by_test_id("autodial-cancel").click()
    expect(card.get_by_test_id("autodial")).to_have_count(0)


def fits(page, testid: str) -> None:
    """Nothing of the page is cut off or scrolls sideways at this width."""
    sizes = page.evaluate("""(testid) => {
        const content = document.getElementById('content');
        const el = document.querySelector(`[data-testid="${testid}"]`);
        return {content: [content.scrollWidth, content.clientWidth],
                page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
                el: el ? el.getBoundingClientRect().right : null};
    }""", testid)
    assert sizes["content"][0] <= sizes["content"][1], sizes
    assert sizes["page"][0] <= sizes["page"][1], sizes
    assert sizes["el"] is not None and sizes["el"] <= 1024, sizes


def test_the_days_pages_fit_1024_and_speak_english(page, live_server, sign_in, page_api):
    page.set_viewport_size({"width": 1024, "height": 768})
    client = live_server.create_client(name="Анна Длиннофамильная-Петропавловская", timezone="Asia/Vladivostok",
                                       phones=[{"number": "+79241234567", "label": "mobile"}])
    sign_in("admin", name="Админ", extension="PJSIP/101")
    task = seed_task(page, page_api, client["id"], kind="order_confirmation",
                     title="Подтвердить заказ №123456 на доставку в пятницу до обеда")
    page.goto(f"{live_server.url}/#/clients/{client['id']}?task={task['id']}")
    expect(page.get_by_test_id("task-card").get_by_test_id("outcome-paid")).to_be_visible()
    fits(page, "task-card")
    page.get_by_test_id("nav-tasks").click()
    expect(page.get_by_test_id("task-row")).to_have_count(1)
    fits(page, "tasks-table")
    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("nav-outcomes").click()
    expect(page.get_by_test_id("outcome-row")).to_have_count(8)
    fits(page, "outcomes-table")

    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.get_by_test_id("next-task")).to_have_attribute("aria-label", "Next task")
    expect(page.get_by_test_id("next-task").locator(".next-task-short")).to_be_visible()
    expect(page.get_by_test_id("nav-tasks")).to_have_text("Tasks")
    expect(page.get_by_test_id("outcomes-page")).to_contain_text("Call outcomes")
    page.get_by_test_id("nav-tasks").click()
    row = page.get_by_test_id("task-row")
    expect(row).to_contain_text("Confirm the order")
    expect(row.get_by_test_id("task-due-client")).to_contain_text("client's time (Vladivostok)")
    expect(row.get_by_test_id("task-due-mine")).to_contain_text("your time")
    row.get_by_test_id("task-open").click()
    expect(page.get_by_test_id("task-card").get_by_test_id("outcome-no_answer")).to_contain_text("No answer")
    fits(page, "task-card")


def test_tasks_page_filters_by_status_kind_owner_and_due_range_and_pages(
        page, live_server, sign_in, page_api):
    client = live_server.create_client(name="Фёдор Задачин", timezone="Europe/Moscow",
                                       phones=[{"number": "+79161112233", "label": "mobile"}])
    me = sign_in("supervisor", name="Светлана Старшая", extension="PJSIP/102")
    my_id = page_api(page, "GET", "/me")["body"]["user"]["id"]
    now = datetime.now(timezone.utc)
    mine = page_api(page, "POST", "/tasks", {"kind": "callback", "client_id": client["id"], "assigned_to": my_id,
                                              "due_at": (now + timedelta(days=2)).isoformat(), "title": "Мой перезвон"})
    assert mine["status"] == 201, mine
    seed_task(page, page_api, client["id"], kind="reminder", title="Общее напоминание")
    done = seed_task(page, page_api, client["id"], kind="order_confirmation", title="Уже подтверждён")
    assert page_api(page, "POST", f"/tasks/{done['id']}/outcome", {"outcome": "confirmed"})["status"] == 200
    assert me["role"] == "supervisor"

    page.get_by_test_id("nav-tasks").click()
    rows = page.get_by_test_id("task-row")
    page.get_by_test_id("tasks-filter-status").select_option("open")
    page.get_by_test_id("tasks-filter-owner").select_option("all")
    expect(rows.filter(has_text="Фёдор Задачин")).to_have_count(2)
    page.get_by_test_id("tasks-filter-owner").select_option("mine")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Мой перезвон")
    expect(rows.first.get_by_test_id("task-owner")).to_have_text("вы")
    page.get_by_test_id("tasks-filter-owner").select_option("anyone")
    expect(rows.filter(has_text="Общее напоминание")).to_have_count(1)
    expect(rows.filter(has_text="Мой перезвон")).to_have_count(0)
    page.get_by_test_id("tasks-filter-owner").select_option("all")
    page.get_by_test_id("tasks-filter-kind").select_option("reminder")
    expect(rows).to_have_count(1)
    page.get_by_test_id("tasks-filter-kind").select_option("")
    page.get_by_test_id("tasks-filter-status").select_option("done")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Уже подтверждён")
    expect(rows.first.get_by_test_id("task-row-result")).to_have_text("Заказ подтверждён")
    page.get_by_test_id("tasks-filter-status").select_option("open")
    # due range: only the day after tomorrow (the operator's calendar)
    day = (now + timedelta(days=2)).astimezone(ZoneInfo(OPERATOR_ZONE)).date().isoformat()
    page.get_by_test_id("tasks-filter-from").fill(day)
    page.get_by_test_id("tasks-filter-to").fill(day)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Мой перезвон")
    page.get_by_test_id("tasks-filter-from").fill("")
    page.get_by_test_id("tasks-filter-to").fill("")
    expect(rows).to_have_count(2)

    # 50 a page; the rest on the next one
    for i in range(50):
        seed_task(page, page_api, client["id"], kind="reminder", title=f"Пачка {i}")
    page.get_by_test_id("tasks-refresh").click()
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("tasks-range")).to_have_text("1–50 из 52")
    page.get_by_test_id("tasks-next").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("tasks-range")).to_have_text("51–52 из 52")
    expect(page.get_by_test_id("tasks-next")).to_be_disabled()
    page.get_by_test_id("tasks-prev").click()
    expect(rows).to_have_count(50)


def test_a_missed_call_from_an_unknown_number_is_a_task_of_its_own_with_a_call_button(
        page, live_pbx, pbx_sign_in, replay, page_api):
    live_pbx.wait_ami_connected()
    pbx_sign_in(page, extension="PJSIP/101")
    replay("inbound_abandoned", speed=3).join()
    found = []
    for _ in range(50):
        found = page_api(page, "GET", "/tasks?kind=missed_call&status=open")["body"]["items"]
        if found:
            break
        page.wait_for_timeout(200)
    assert [t["phone"] for t in found] == ["+79031112233"] and found[0]["client_id"] is None, found
    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("tasks-filter-status").select_option("open")
    page.get_by_test_id("task-row").filter(has_text="+7 903 111-22-33").get_by_test_id("task-open").click()
    expect(page).to_have_url(re.compile(rf"#/tasks\?task={found[0]['id']}$"))
    card = page.get_by_test_id("task-card")
    expect(card).to_contain_text("Пропущенный звонок")
    expect(card.get_by_test_id("task-call")).to_have_attribute("data-phone", "+79031112233")
    expect(card.get_by_test_id("task-call")).to_have_attribute("data-task-id", str(found[0]["id"]))
    expect(card.get_by_test_id("outcome-callback")).to_be_visible()


def test_after_an_inbound_call_the_callback_button_schedules_a_callback_in_two_hours(
        page, live_pbx, pbx_sign_in, replay, page_api):
    page.set_viewport_size({"width": 1024, "height": 768})
    live_pbx.wait_ami_connected()
    zone = zone_inside_hours()
    client = live_pbx.create_client(name="Иван Петров", timezone=zone,
                                    phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    playing = replay("inbound_answered", speed=2)
    pop = page.get_by_test_id("call-card")
    expect(pop).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    playing.join()
    buttons = pop.get_by_test_id("call-outcome-buttons")
    expect(buttons.get_by_test_id("outcome-callback")).to_be_visible()
    # answered: nothing is preselected
    expect(buttons.locator("[data-preselected='1']")).to_have_count(0)
    pop.get_by_test_id("call-note").fill("Просил перезвонить позже")
    page.keyboard.press("Tab")  # out of the note: digits are outcomes again
    page.keyboard.press("5")
    dialog = page.get_by_test_id("callback-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("when-chip").filter(has_text="+2ч").click()
    expect(dialog.get_by_test_id("when-input")).to_have_attribute("data-at", re.compile("."))
    page.screenshot(path=CALLBACK_SHOT, animations="disabled")
    # the dialog sits beside the call card: neither covers the other
    box, card_box = dialog.bounding_box(), pop.bounding_box()
    assert box["x"] + box["width"] <= card_box["x"], (box, card_box)
    at = utc(dialog.get_by_test_id("when-input").get_attribute("data-at"))
    dialog.get_by_test_id("callback-save").click()
    expect(pop.get_by_test_id("outcome-result")).to_contain_text("Следующая попытка")
    tasks = page_api(page, "GET", f"/tasks?client_id={client['id']}&status=open")["body"]["items"]
    callbacks = [t for t in tasks if t["kind"] == "callback"]
    assert len(callbacks) == 1, tasks
    assert abs(utc(callbacks[0]["due_at"]) - at) < timedelta(seconds=1), (callbacks, at)
    assert abs(at - datetime.now(timezone.utc) - timedelta(hours=2)) < timedelta(minutes=2)
    calls = page_api(page, "GET", f"/calls?client_id={client['id']}")["body"]["items"]
    assert [(c["disposition"], c["note"]) for c in calls] == [("callback", "Просил перезвонить позже")]
