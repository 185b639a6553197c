"""Names, not channels, in a real Chromium against the app and the AMI simulator: the live
board and the calls log name the CRM's client (not the PBX's caller-ID text) and the operator
(not PJSIP/101); the raw values are only tooltips."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CALL_TIMEOUT_MS = 15_000


def test_the_live_board_and_the_log_name_the_client_and_the_operator(
        page, other_page, live_pbx, pbx_sign_in, replay):
    live_pbx.wait_ami_connected()
    # the trace's caller-ID text says "Иван Петров"; the CRM knows him by his full name
    client = live_pbx.create_client(name="Иван Петрович Сидоров", timezone="Europe/Moscow",
                                    phones=[{"number": "+79161234567", "label": "mobile"}])
    live_pbx.create_user("boris_names", "pw-boris-names-secret", "operator", "Борис Кузнецов",
                         extension="PJSIP/102")  # rung too, never signed in
    pbx_sign_in(other_page, name="Анна Смирнова", extension="PJSIP/101")
    pbx_sign_in(page, role="supervisor", name="Светлана Руководитель")
    page.get_by_test_id("nav-live").click()
    expect(page.get_by_test_id("live-empty")).to_be_visible()

    playing = replay("inbound_answered", speed=2)
    row = page.get_by_test_id("live-calls").get_by_test_id("live-call")
    expect(row).to_have_count(1, timeout=CALL_TIMEOUT_MS)
    expect(row.get_by_test_id("live-client")).to_have_text("Иван Петрович Сидоров")
    expect(row.get_by_test_id("live-client")).to_have_attribute("title", "Иван Петров")
    expect(row).to_have_attribute("data-state", "talking", timeout=CALL_TIMEOUT_MS)
    expect(row.get_by_test_id("live-operator")).to_have_text("Анна Смирнова")
    expect(row.get_by_test_id("live-operator")).to_have_attribute("title", "PJSIP/101")
    expect(row).to_contain_text("Борис Кузнецов")
    expect(row).not_to_contain_text("PJSIP/")
    expect(row).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    playing.join()

    page.get_by_test_id("nav-calls").click()
    logged = page.get_by_test_id("calls-table").get_by_test_id("call-row").first
    expect(logged.get_by_test_id("call-client-link")).to_have_text("Иван Петрович Сидоров")
    expect(logged.get_by_test_id("call-client-link")).to_have_attribute(
        "href", f"#/clients/{client['id']}")
    expect(logged.get_by_test_id("call-client-link")).to_have_attribute("title", "Иван Петров")
    expect(logged.get_by_test_id("call-operator")).to_have_text("Анна Смирнова")
    expect(logged.get_by_test_id("call-operator")).to_have_attribute("title", "PJSIP/101")
    expect(logged).not_to_contain_text("PJSIP/")
