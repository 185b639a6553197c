"""The screen pop in a real Chromium against the real app listening to an AMI simulator that
replays real Asterisk traces: the card opens by itself when the phone rings, follows the call and
takes the after-call outcome; unknown callers get a new-client form; shared numbers a choice."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# A whole call at speed 2 takes ~6 s; a card's state may trail its event by a browser round trip.
CALL_TIMEOUT_MS = 15_000
IVAN_PHONE = "+79161234567"  # the caller in the inbound_answered trace
UNKNOWN_PHONE = "+79031112233"  # the caller in the inbound_abandoned trace
RINGING_SHOT = "/tmp/pop-ringing.png"
ANSWERED_SHOT = "/tmp/pop-answered.png"
ENDED_SHOT = "/tmp/pop-ended.png"
UNKNOWN_SHOT = "/tmp/pop-unknown.png"
CALLS_SHOT = "/tmp/calls-page.png"
CARD_SHOT = "/tmp/client-card-calls.png"
HOME_SHOT = "/tmp/home-callbacks.png"
OFFLINE_SHOT = "/tmp/pop-offline.png"


def test_known_caller_card_pops_follows_the_call_and_the_outcome_reaches_the_log(
        page, live_pbx, pbx_sign_in, replay, ivan_petrov, page_api):
    live_pbx.wait_ami_connected()
    client = ivan_petrov()
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    # The operator is somewhere else in the app when the phone rings.
    page.get_by_test_id("nav-calls").click()
    expect(page.get_by_test_id("calls-page")).to_be_visible()

    playing = replay("inbound_answered", speed=2)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-client-name")).to_have_text("Иван Петров")
    expect(card.get_by_test_id("call-number")).to_have_text("+7 916 123-45-67")
    expect(card.get_by_test_id("call-state")).to_contain_text("Входящий звонок")
    expect(card.get_by_test_id("call-local-time")).to_contain_text("Asia/Novosibirsk")
    expect(card.get_by_test_id("call-orders")).to_contain_text("TEA-1001")
    expect(card.get_by_test_id("call-orders")).to_contain_text("Отправлен")
    expect(card.get_by_test_id("call-orders")).to_contain_text("Чайный дом")
    expect(card.get_by_test_id("call-history")).to_be_visible()
    expect(card.get_by_test_id("call-tasks")).to_be_visible()
    expect(card).to_contain_text("ООО «Ромашка»")
    expect(card).to_contain_text("vip")
    expect(card).to_contain_text("Предпочитает звонки после обеда")
    expect(card.get_by_test_id("call-open-card")).to_have_attribute("href", f"#/clients/{client['id']}")
    page.mouse.move(0, 0)
    page.screenshot(path=RINGING_SHOT, animations="disabled")

    expect(card).to_have_attribute("data-state", "answered", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-state")).to_contain_text("Идёт разговор")
    expect(card.get_by_test_id("call-timer")).to_have_text("0:01", timeout=3000)
    page.screenshot(path=ANSWERED_SHOT, animations="disabled")

    expect(card).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-state")).to_contain_text("Звонок завершён")
    playing.join()
    expect(card.get_by_test_id("call-disposition")).to_be_focused()
    page.screenshot(path=ENDED_SHOT, animations="disabled")

    # The outcome is required before saving.
    card.get_by_test_id("call-save-outcome").click()
    expect(card.get_by_test_id("call-outcome-error")).to_be_visible()
    card.get_by_test_id("call-disposition").select_option("order_confirmed")
    card.get_by_test_id("call-note").fill("Подтвердил доставку на пятницу")
    card.get_by_test_id("call-save-outcome").click()
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    expect(page.get_by_test_id("toast").filter(has_text="Итог звонка сохранён")).to_be_visible()

    # The log (already open) lists the call with its outcome and the client.
    page.get_by_test_id("calls-refresh").click()
    row = page.get_by_test_id("calls-table").get_by_test_id("call-row").first
    expect(row).to_contain_text("+7 916 123-45-67")
    expect(row).to_contain_text("Отвечен")
    expect(row).to_contain_text("Заказ подтверждён")
    expect(row).to_contain_text("Подтвердил доставку на пятницу")
    expect(row).to_contain_text("вы")
    expect(row.get_by_test_id("call-client-link")).to_have_attribute("href", f"#/clients/{client['id']}")
    page.screenshot(path=CALLS_SHOT, animations="disabled")

    # Filters: no missed calls; the answered one under "answered".
    page.get_by_test_id("calls-filter-outcome").select_option("missed")
    expect(page.get_by_test_id("calls-empty")).to_be_visible()
    page.get_by_test_id("calls-filter-outcome").select_option("answered")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    page.get_by_test_id("calls-filter-outcome").select_option("")

    # The client card has the call and the note from the outcome form.
    row.get_by_test_id("call-client-link").click()
    calls = page.get_by_test_id("client-calls")
    expect(calls.get_by_test_id("client-call")).to_have_count(1)
    expect(calls).to_contain_text("Заказ подтверждён")
    # The call leaves no callback behind; the shipped order's follow-up (opened when the order
    # entered "shipped") is the one open task, and says what to do.
    tasks = page.get_by_test_id("client-tasks")
    expect(tasks.get_by_test_id("task-item")).to_have_count(1)
    expect(tasks.get_by_test_id("task-title")).to_have_text("Check delivery of order TEA-1001")
    expect(page.get_by_test_id("client-notes")).to_contain_text("Подтвердил доставку на пятницу")
    page.screenshot(path=CARD_SHOT, animations="disabled", full_page=True)

    stored = page_api(page, "GET", f"/calls?client_id={client['id']}")["body"]["items"]
    assert [(c["disposition"], c["note"], c["outcome"]) for c in stored] == [
        ("order_confirmed", "Подтвердил доставку на пятницу", "answered")]


def test_second_operators_card_closes_when_the_first_answers(
        page, other_page, live_pbx, pbx_sign_in, replay, ivan_petrov):
    live_pbx.wait_ami_connected()
    ivan_petrov()
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    pbx_sign_in(other_page, name="Борис Иванов", extension="PJSIP/102")

    playing = replay("inbound_answered", speed=2)
    boris_card = other_page.get_by_test_id("call-card")
    expect(boris_card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    expect(boris_card.get_by_test_id("call-client-name")).to_have_text("Иван Петров")
    expect(page.get_by_test_id("call-card")).to_have_attribute("data-state", "ringing")

    # Anna answers: Boris's card goes away and he is told who took the call.
    expect(page.get_by_test_id("call-card")).to_have_attribute("data-state", "answered", timeout=CALL_TIMEOUT_MS)
    expect(other_page.get_by_test_id("call-card")).to_have_count(0)
    expect(other_page.get_by_test_id("toast").filter(has_text="Анна Смирнова")).to_be_visible()

    playing.join()
    expect(page.get_by_test_id("call-card")).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    # Boris never gets an after-call form for a call he did not take.
    other_page.wait_for_timeout(500)
    expect(other_page.get_by_test_id("call-card")).to_have_count(0)


def test_unknown_caller_gets_a_new_client_form_and_the_missed_call_a_callback(
        page, live_pbx, pbx_sign_in, replay, page_api):
    live_pbx.wait_ami_connected()
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")

    # Nobody answers this one: it rings ~9 s at speed 1, enough to type a name.
    playing = replay("inbound_abandoned", speed=1)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-client-name")).to_have_text("Новый номер")
    expect(card.get_by_test_id("call-number")).to_have_text("+7 903 111-22-33")
    form = card.get_by_test_id("call-new-client-form")
    expect(form).to_be_visible()
    expect(form.get_by_test_id("field-phones.0")).to_have_value(UNKNOWN_PHONE)
    # The card does not take the focus: the operator may be typing elsewhere.
    expect(form.get_by_test_id("field-name")).not_to_be_focused()
    page.mouse.move(0, 0)
    page.screenshot(path=UNKNOWN_SHOT, animations="disabled")

    form.get_by_test_id("field-name").fill("Пётр Новиков")
    form.get_by_test_id("field-city").fill("Казань")
    form.get_by_test_id("save-client").click()
    expect(card.get_by_test_id("call-client-name")).to_have_text("Пётр Новиков")
    expect(card.get_by_test_id("call-new-client-form")).to_have_count(0)

    # The caller gives up; the operator was working in the card, so it stays until closed.
    expect(card).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    playing.join()
    expect(card.get_by_test_id("call-state")).to_contain_text("Клиент положил трубку")
    expect(card.get_by_test_id("call-save-outcome")).to_have_count(0)
    card.get_by_test_id("call-close").click()
    expect(page.get_by_test_id("call-card")).to_have_count(0)

    found = page_api(page, "GET", "/clients?q=%2B79031112233")["body"]["items"]
    assert [c["name"] for c in found] == ["Пётр Новиков"]
    client_id = found[0]["id"]

    def linked():
        calls = page_api(page, "GET", f"/calls?client_id={client_id}")["body"]["items"]
        return [c["outcome"] for c in calls]

    # The card attaches the stored call to the new client as soon as the call id is known.
    for _ in range(30):
        if linked() == ["missed"]:
            break
        page.wait_for_timeout(200)
    assert linked() == ["missed"]

    # The missed call owes a callback: it is on the home page with a call button.
    page.get_by_test_id("nav-clients").click()
    tasks = page.get_by_test_id("tasks-list")
    item = tasks.get_by_test_id("task-item").filter(has_text="+7 903 111-22-33")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("task-client")).to_have_attribute("href", f"#/clients/{client_id}")
    expect(item.get_by_test_id("task-call")).to_be_visible()
    page.screenshot(path=HOME_SHOT, animations="disabled")


def test_unanswered_unknown_card_closes_by_itself_when_the_caller_gives_up(
        page, live_pbx, pbx_sign_in, replay):
    live_pbx.wait_ami_connected()
    pbx_sign_in(page, extension="PJSIP/101")
    playing = replay("inbound_abandoned", speed=3)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    playing.join()
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    # ... and the callback shows up on the home page without a reload.
    expect(page.get_by_test_id("tasks-list").get_by_test_id("task-item")).to_have_count(1)


def test_several_clients_share_the_number_and_the_operator_picks_one(
        page, live_pbx, pbx_sign_in, replay, page_api):
    live_pbx.wait_ami_connected()
    first = live_pbx.create_client(name="Иван Петров", city="Москва", timezone="Europe/Moscow",
                                   phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    live_pbx.create_client(name="Мария Петрова", city="Москва", timezone="Europe/Moscow",
                           phones=[{"number": IVAN_PHONE, "label": "home"}])
    pbx_sign_in(page, extension="PJSIP/101")

    playing = replay("inbound_answered", speed=1)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    candidates = card.get_by_test_id("call-candidates").get_by_test_id("call-candidate")
    expect(candidates).to_have_count(2)
    candidates.filter(has_text="Иван Петров").click()
    expect(card.get_by_test_id("call-client-name")).to_have_text("Иван Петров")
    expect(card.get_by_test_id("call-orders")).to_be_visible()

    expect(card).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    playing.join()
    card.get_by_test_id("call-disposition").select_option("resolved")
    card.get_by_test_id("call-save-outcome").click()
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    stored = page_api(page, "GET", f"/calls?client_id={first['id']}")["body"]["items"]
    assert [c["disposition"] for c in stored] == ["resolved"]


def test_two_calls_at_once_stack_newest_on_top(page, live_pbx, pbx_sign_in, replay, ivan_petrov):
    live_pbx.wait_ami_connected()
    ivan_petrov()
    pbx_sign_in(page, extension="PJSIP/101")

    first = replay("inbound_answered", speed=1)
    cards = page.get_by_test_id("call-card")
    expect(cards).to_have_count(1, timeout=CALL_TIMEOUT_MS)
    first_key = cards.first.get_attribute("data-call-key")
    second = replay("inbound_abandoned", speed=1)
    expect(cards).to_have_count(2, timeout=CALL_TIMEOUT_MS)
    # The newest call is on top and open; the older one is folded to its name.
    expect(cards.nth(0).get_by_test_id("call-client-name")).to_have_text("Новый номер")
    expect(cards.nth(1)).to_have_attribute("data-call-key", first_key)
    expect(cards.nth(1)).to_have_class(re.compile(r"\bcollapsed\b"))
    expect(cards.nth(1).get_by_test_id("call-client-name")).to_have_text("Иван Петров")
    expect(cards.nth(1).get_by_test_id("call-orders")).to_be_hidden()
    cards.nth(1).get_by_test_id("call-collapse").click()
    expect(cards.nth(1).get_by_test_id("call-orders")).to_be_visible()
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcollapsed\b"))

    first.join()
    second.join()
    # The answered call waits for its outcome; the missed one (untouched) went away.
    expect(cards).to_have_count(1, timeout=CALL_TIMEOUT_MS)
    expect(cards.first).to_have_attribute("data-call-key", first_key)
    expect(cards.first).to_have_attribute("data-state", "ended")


def test_live_link_reconnects_and_calls_still_pop(page, live_pbx, pbx_sign_in, replay, ivan_petrov):
    from callcenter.http.keys import CALLS

    live_pbx.wait_ami_connected()
    ivan_petrov()
    pbx_sign_in(page, extension="PJSIP/101")
    # The server drops every websocket (as on a restart, or a tab that fell behind).
    live_pbx.call(live_pbx.app[CALLS].hub.close_all())
    expect(page.locator("html")).not_to_have_attribute("data-live", "open")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=CALL_TIMEOUT_MS)

    playing = replay("inbound_answered", speed=2)
    card = page.get_by_test_id("call-card")
    expect(card.get_by_test_id("call-client-name")).to_have_text("Иван Петров", timeout=CALL_TIMEOUT_MS)
    playing.join()
    expect(card).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)


def test_a_call_that_ended_while_the_link_was_down_still_gets_its_outcome(
        page, live_pbx, pbx_sign_in, replay, ivan_petrov, page_api):
    from callcenter.http.keys import CALLS

    offline = {"on": False}

    def websocket(ws):
        if offline["on"]:
            ws.close()  # as if the network were down: every reconnect fails at once
        else:
            ws.connect_to_server()

    page.route_web_socket("**/ws", websocket)
    live_pbx.wait_ami_connected()
    client = ivan_petrov()
    pbx_sign_in(page, extension="PJSIP/101")

    playing = replay("inbound_answered", speed=2)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "answered", timeout=CALL_TIMEOUT_MS)
    offline["on"] = True
    live_pbx.call(live_pbx.app[CALLS].hub.close_all())
    expect(page.get_by_test_id("live-link")).to_be_visible()
    page.screenshot(path=OFFLINE_SHOT, animations="disabled")
    playing.join()  # the call ends while this page hears nothing
    expect(card).to_have_attribute("data-state", "answered")

    offline["on"] = False
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=CALL_TIMEOUT_MS)
    expect(card).to_have_attribute("data-state", "ended")
    card.get_by_test_id("call-disposition").select_option("callback")
    card.get_by_test_id("call-save-outcome").click()
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    stored = page_api(page, "GET", f"/calls?client_id={client['id']}")["body"]["items"]
    assert [c["disposition"] for c in stored] == ["callback"]
