"""The live link and the PBX said plainly: a real Chromium against the real app and the AMI
simulator. The websocket is cut by the server (every page dropped) and kept down by refusing
reconnects, as if the network were gone; the PBX goes away by stopping the simulator and comes
back on the same port. Reconnect times are measured from the page's own connection attempts."""

import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CALL_TIMEOUT_MS = 15_000
CALLER = "+79031112233"  # the caller of the inbound_abandoned trace: rings 18 s at speed 0.5
CALLER_NAME = "Мария Иванова"
OFFLINE_TEXT = "Нет связи с сервером — звонки не всплывают"
PBX_DOWN_TEXT = "АТС недоступна — звонить нельзя"
BACKOFF_CAP_S = 5.0
# a connection attempt is a browser round trip on top of the wait: this much is allowed for it
ATTEMPT_SLACK_S = 1.0
PBX_DOWN_SHOT = "/tmp/topbar-pbx-down-1024.png"


def _client(live_pbx):
    return live_pbx.create_client(name=CALLER_NAME, city="Москва", timezone="Europe/Moscow",
                                  phones=[{"number": CALLER, "label": "mobile"}])


def _ringing_at(live_pbx, endpoint):
    from callcenter.http.keys import CALLS

    async def ask():
        return [c.key for c in live_pbx.app[CALLS].tracker.ringing_at(endpoint)]

    return live_pbx.call(ask())


def test_link_down_is_said_in_words_reconnects_within_5s_and_the_call_that_rang_meanwhile_pops(
        page, live_pbx, pbx_sign_in, replay):
    from callcenter.http.keys import CALLS

    attempts = []
    offline = {"on": False}

    def websocket(ws):
        attempts.append(time.monotonic())
        if offline["on"]:
            ws.close()  # the network is down: every reconnect fails at once
        else:
            ws.connect_to_server()

    page.route_web_socket("**/ws", websocket)
    live_pbx.wait_ami_connected()
    client = _client(live_pbx)
    pbx_sign_in(page, extension="PJSIP/101")
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    call_button = page.get_by_test_id("client-phones").locator("[data-action=call]")
    expect(call_button).to_be_enabled()
    label = page.get_by_test_id("live-link")
    expect(label).to_be_hidden()

    offline["on"] = True
    before_cut = len(attempts)
    cut = time.monotonic()
    live_pbx.call(live_pbx.app[CALLS].hub.close_all())
    expect(label).to_be_visible(timeout=2000)
    said_after = time.monotonic() - cut
    expect(label).to_contain_text(OFFLINE_TEXT)
    # no calls while the page cannot follow them: the button says why
    expect(call_button).to_be_disabled()
    expect(call_button).to_have_attribute("title", "Нет связи с сервером — позвонить можно, когда она вернётся")

    # The phone rings while the page hears nothing; it keeps ringing after the link is back.
    playing = replay("inbound_abandoned", speed=0.5)
    for _ in range(100):
        if _ringing_at(live_pbx, "PJSIP/101"):
            break
        time.sleep(0.1)
    assert _ringing_at(live_pbx, "PJSIP/101"), "the trace did not ring PJSIP/101"
    expect(page.get_by_test_id("call-card")).to_have_count(0)
    # long enough an outage for the backoff to reach its cap
    while time.monotonic() - cut < 9:
        page.wait_for_timeout(200)

    offline["on"] = False
    back = time.monotonic()
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=8000)
    reconnected_after = time.monotonic() - back
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=3000)
    expect(card.get_by_test_id("call-client-name")).to_have_text(CALLER_NAME)
    expect(label).to_be_hidden()
    expect(call_button).to_be_enabled()

    tries = [cut] + attempts[before_cut:]
    gaps = [round(b - a, 2) for a, b in zip(tries, tries[1:])]
    print(f"\nlive link: offline said after {said_after:.2f} s; reconnected {reconnected_after:.2f} s "
          f"after the server was back (cap {BACKOFF_CAP_S} s); waits between attempts: {gaps}")
    assert said_after <= 2.0
    assert reconnected_after <= BACKOFF_CAP_S + ATTEMPT_SLACK_S
    # first retry after about a second, then growing, never more than the cap apart
    assert 0.7 <= gaps[0] <= 1.0 + ATTEMPT_SLACK_S, gaps
    assert all(gap <= BACKOFF_CAP_S + ATTEMPT_SLACK_S for gap in gaps), gaps
    assert max(gaps) >= 3.0, gaps

    playing.join()
    expect(page.get_by_test_id("call-card")).to_have_count(0, timeout=CALL_TIMEOUT_MS)


def test_pbx_down_is_said_in_words_and_call_buttons_wait_for_it(page, live_pbx, pbx_sign_in):
    live_pbx.wait_ami_connected()
    page.set_viewport_size({"width": 1024, "height": 768})
    client = _client(live_pbx)
    pbx_sign_in(page, extension="PJSIP/101")
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    call_button = page.get_by_test_id("client-phones").locator("[data-action=call]")
    status = page.get_by_test_id("ami-status")
    expect(call_button).to_be_enabled()
    expect(status).not_to_contain_text(PBX_DOWN_TEXT)
    own_title = call_button.get_attribute("title")

    port = live_pbx.sim.port
    live_pbx.call(live_pbx.sim.stop())
    expect(status).to_contain_text(PBX_DOWN_TEXT, timeout=5000)
    expect(call_button).to_be_disabled()
    expect(call_button).to_have_attribute("title", PBX_DOWN_TEXT)
    # the top bar keeps to one line on a 1024 px screen with the words in it
    assert page.evaluate("document.querySelector('.topbar').scrollWidth <= innerWidth")
    page.screenshot(path=PBX_DOWN_SHOT)
    # a button drawn while the PBX is down is born disabled
    page.get_by_test_id("nav-calls").click()
    page.go_back()
    call_button = page.get_by_test_id("client-phones").locator("[data-action=call]")
    expect(call_button).to_be_disabled()

    live_pbx.call(live_pbx.sim.start(port=port))
    live_pbx.wait_ami_connected(timeout=20)
    expect(status).to_have_attribute("data-status", "connected", timeout=5000)
    expect(status).not_to_contain_text(PBX_DOWN_TEXT)
    expect(call_button).to_be_enabled()
    expect(call_button).to_have_attribute("title", own_title)
