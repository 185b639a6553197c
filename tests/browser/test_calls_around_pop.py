"""Around the screen pop, in a real Chromium against the app and the AMI simulator:
click-to-call (and its failures), the supervisors' live board, the PBX status dot."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CALL_TIMEOUT_MS = 15_000
IVAN_PHONE = "+79161234567"
TRACES = Path(__file__).resolve().parents[1] / "traces"
LIVE_SHOT = "/tmp/live-calls.png"


def test_supervisor_live_board_shows_the_call(
        page, other_page, live_pbx, pbx_sign_in, replay, ivan_petrov):
    live_pbx.wait_ami_connected()
    ivan_petrov()
    pbx_sign_in(other_page, name="Анна Смирнова", extension="PJSIP/101")
    pbx_sign_in(page, role="supervisor", name="Светлана Руководитель")
    page.get_by_test_id("nav-live").click()
    expect(page.get_by_test_id("live-empty")).to_be_visible()

    playing = replay("inbound_answered", speed=2)
    row = page.get_by_test_id("live-calls").get_by_test_id("live-call")
    expect(row).to_have_count(1, timeout=CALL_TIMEOUT_MS)
    expect(row).to_contain_text("Иван Петров")
    expect(row).to_contain_text("+7 916 123-45-67")
    expect(row).to_have_attribute("data-state", "talking", timeout=CALL_TIMEOUT_MS)
    expect(row).to_contain_text("Анна Смирнова")
    page.screenshot(path=LIVE_SHOT, animations="disabled")
    # The supervisor's own phone did not ring: no card for them.
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    expect(row).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    playing.join()
    expect(page.get_by_test_id("call-card")).to_have_count(0)


def test_operators_do_not_see_the_live_board(page, live_pbx, pbx_sign_in):
    pbx_sign_in(page)
    expect(page.get_by_test_id("nav-calls")).to_be_visible()
    expect(page.get_by_test_id("nav-live")).to_have_count(0)
    page.goto(live_pbx.url + "/#/live")
    expect(page.get_by_test_id("page-error")).to_be_visible()


def test_click_to_call_says_calling_and_a_failed_originate_is_shown_at_once(
        page, live_pbx, pbx_sign_in):
    live_pbx.wait_ami_connected()
    client = live_pbx.create_client(name="Иван Петров", timezone="Europe/Moscow",
                                    phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    # The PBX answers the Originate with the real "phone not registered" trace.
    live_pbx.sim.originate_trace = str(TRACES / "outbound_operator_unreachable.jsonl")
    pbx_sign_in(page, name="Вера Новенькая", extension="PJSIP/103")
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    page.get_by_test_id("client-phones").locator("[data-action=call]").click()
    expect(page.get_by_test_id("toast").filter(has_text="Звоним на +7 916 123-45-67")).to_be_visible()
    failed = page.get_by_test_id("toast").filter(has_text="Звонок не состоялся")
    expect(failed).to_be_visible(timeout=CALL_TIMEOUT_MS)
    expect(failed).to_contain_text("телефон недоступен")
    originate = [a for a in live_pbx.sim.actions if a.get("Action", "").lower() == "originate"]
    assert len(originate) == 1 and originate[0]["Channel"] == "PJSIP/103"


def test_click_to_call_without_an_extension_shows_why(page, live_pbx, pbx_sign_in):
    live_pbx.wait_ami_connected()
    client = live_pbx.create_client(name="Иван Петров", timezone="Europe/Moscow",
                                    phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    pbx_sign_in(page, extension=None)
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    page.get_by_test_id("client-phones").locator("[data-action=call]").click()
    expect(page.get_by_test_id("toast").filter(has_text="внутренний номер")).to_be_visible()


def test_outbound_click_to_call_pops_the_dialled_client(
        page, live_pbx, pbx_sign_in, ivan_petrov, page_api):
    live_pbx.wait_ami_connected()
    client = ivan_petrov()
    live_pbx.sim.originate_trace = str(TRACES / "outbound_click_to_call.jsonl")
    live_pbx.sim.originate_speed = 2
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    page.get_by_test_id("client-phones").locator("[data-action=call]").click()
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-direction", "outbound", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-client-name")).to_have_text("Иван Петров")
    expect(card).to_have_attribute("data-state", "answered", timeout=CALL_TIMEOUT_MS)
    expect(card).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    card.get_by_test_id("call-disposition").select_option("order_placed")
    card.get_by_test_id("call-save-outcome").click()
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    stored = page_api(page, "GET", f"/calls?client_id={client['id']}")["body"]["items"]
    assert [(c["direction"], c["disposition"]) for c in stored] == [("outbound", "order_placed")]


def test_pbx_status_dot_follows_the_push_not_only_the_poll(page, live_pbx, pbx_sign_in):
    live_pbx.wait_ami_connected()
    pbx_sign_in(page)
    dot = page.get_by_test_id("ami-status")
    expect(dot).to_have_attribute("data-status", "connected")
    # The PBX goes away; the health poll runs every 15 s, the push arrives at once.
    live_pbx.call(live_pbx.sim.stop())
    expect(dot).to_have_attribute("data-status", re.compile("^(down|connecting)$"), timeout=5000)


def test_click_to_call_without_a_pbx_says_so(page, live_server, sign_in):
    client = live_server.create_client(name="Иван Петров", timezone="Europe/Moscow",
                                       phones=[{"number": IVAN_PHONE, "label": "mobile"}])
    sign_in("operator", extension="PJSIP/101")
    page.goto(f"{live_server.url}/#/clients/{client['id']}")
    page.get_by_test_id("client-phones").locator("[data-action=call]").click()
    expect(page.get_by_test_id("toast").filter(has_text="АТС сейчас недоступна")).to_be_visible()
