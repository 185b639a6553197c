"""A ring is noticed from another window: a real Chromium against the real app and the AMI
simulator replaying a real inbound call. The page's AudioContext and Notification are wrapped by
an init script that records what the app asks of them (oscillators started, notifications shown
and closed), and document.hasFocus() is under the test's control, as if the operator worked in
another window."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CALL_TIMEOUT_MS = 15_000
CALLER = "+79031112233"  # the caller of the inbound_abandoned trace: rings 9 s at speed 1
CALLER_NAME = "Мария Иванова"
RING_TITLE = f"☎ Звонок: {CALLER_NAME}"

RECORDER = """
(() => {
  const record = window.__ring = { starts: 0, notices: [], titles: [], asked: 0 };
  const RealContext = window.AudioContext;
  if (RealContext) {
    window.AudioContext = class extends RealContext {
      createOscillator() {
        const oscillator = super.createOscillator();
        const start = oscillator.start.bind(oscillator);
        oscillator.start = (...args) => { record.starts += 1; return start(...args); };
        return oscillator;
      }
    };
  }
  const RealNotification = window.Notification;
  window.Notification = class {
    constructor(title, options = {}) {
      this.entry = { title, body: options.body, tag: options.tag, closed: false };
      record.notices.push(this.entry);
    }
    close() { this.entry.closed = true; }
    static get permission() { return RealNotification ? RealNotification.permission : "default"; }
    static requestPermission() { record.asked += 1; return Promise.resolve(this.permission); }
  };
  let focused = false;
  document.hasFocus = () => focused;
  window.__setFocus = (on) => { focused = on; window.dispatchEvent(new Event(on ? "focus" : "blur")); };
  setInterval(() => {
    if (record.titles[record.titles.length - 1] !== document.title) record.titles.push(document.title);
  }, 50);
})();
"""


def _ring(page):
    return page.evaluate("window.__ring")


def _wait(page, predicate, what, timeout_s=10.0):
    for _ in range(int(timeout_s * 10)):
        state = _ring(page)
        if predicate(state):
            return state
        page.wait_for_timeout(100)
    raise AssertionError(f"{what}: {_ring(page)}")


def test_a_ring_sounds_notifies_and_blinks_the_title_and_mute_is_remembered(
        page, live_pbx, pbx_sign_in, replay):
    live_pbx.wait_ami_connected()
    live_pbx.create_client(name=CALLER_NAME, city="Москва", timezone="Europe/Moscow",
                           phones=[{"number": CALLER, "label": "mobile"}])
    page.context.grant_permissions(["notifications"], origin=live_pbx.url)
    page.add_init_script(RECORDER)
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    title = page.title()
    assert _ring(page)["starts"] == 0
    expect(page.get_by_test_id("ring-mute")).to_have_attribute("aria-pressed", "false")

    # The operator works in another window when the phone rings.
    playing = replay("inbound_abandoned", speed=1)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-client-name")).to_have_text(CALLER_NAME)
    # A ring is two tones at once, repeated every 3 s while it rings.
    state = _wait(page, lambda s: s["starts"] >= 4, "the ring repeats")
    assert [(n["title"], n["body"], n["closed"]) for n in state["notices"]] == [
        ("☎ Входящий звонок", CALLER_NAME, False)]
    state = _wait(page, lambda s: s["titles"].count(RING_TITLE) >= 2 and s["titles"].count(title) >= 2,
                  "the title blinks")
    # The operator comes back to the page: the title is the page's own again and stays so,
    # the notification is closed.
    page.evaluate("window.__setFocus(true)")
    page.wait_for_timeout(300)
    assert page.title() == title
    seen = len(_ring(page)["titles"])
    page.wait_for_timeout(1500)
    state = _ring(page)
    assert state["titles"][seen - 1:] == [title]
    assert state["notices"][0]["closed"] is True
    playing.join()
    expect(page.get_by_test_id("call-card")).to_have_count(0, timeout=CALL_TIMEOUT_MS)
    starts = _ring(page)["starts"]
    page.wait_for_timeout(3500)
    assert _ring(page)["starts"] == starts, "the ring went on after the call"
    # no permission prompt: the context granted it
    assert _ring(page)["asked"] == 0

    # Muted: remembered after a reload.
    page.get_by_test_id("ring-mute").click()
    expect(page.get_by_test_id("ring-mute")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    expect(page.get_by_test_id("ring-mute")).to_have_attribute("aria-pressed", "true")
    title = page.title()

    playing = replay("inbound_abandoned", speed=1)
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    state = _wait(page, lambda s: s["titles"].count(RING_TITLE) >= 2, "the title blinks while muted")
    assert state["starts"] == 0, "a muted ring made a sound"
    assert [(n["body"], n["closed"]) for n in state["notices"]] == [(CALLER_NAME, False)]
    # The caller gives up: the title is restored by itself, the notification goes.
    playing.join()
    expect(page.get_by_test_id("call-card")).to_have_count(0, timeout=CALL_TIMEOUT_MS)
    page.wait_for_timeout(1200)
    state = _ring(page)
    assert page.title() == title
    assert state["titles"][-1] == title
    assert state["notices"][0]["closed"] is True
    assert state["starts"] == 0

    # Sound on again: the next ring is heard.
    page.get_by_test_id("ring-mute").click()
    expect(page.get_by_test_id("ring-mute")).to_have_attribute("aria-pressed", "false")
    playing = replay("inbound_abandoned", speed=2)
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    _wait(page, lambda s: s["starts"] >= 2, "the ring sounds after unmuting")
    playing.join()


def test_the_notification_permission_is_asked_once_on_a_gesture_and_never_again(
        page, live_server, sign_in):
    page.add_init_script("""
      window.__asked = 0;
      window.Notification = class {
        static get permission() { return "default"; }
        static requestPermission() { window.__asked += 1; return Promise.resolve("default"); }
      };
    """)
    sign_in("operator", extension="PJSIP/101")
    assert page.evaluate("window.__asked") == 0  # not on its own, only on a gesture
    page.get_by_test_id("search-input").click()
    page.wait_for_timeout(100)
    assert page.evaluate("window.__asked") == 1
    page.get_by_test_id("nav-calls").click()
    page.keyboard.press("Tab")
    page.reload()
    page.get_by_test_id("search-input").click()
    page.wait_for_timeout(100)
    # dismissed once: never nagged again, not even after a reload
    assert page.evaluate("window.__asked") == 0


def test_two_tabs_of_one_browser_ring_once_and_share_the_mute(page, live_pbx, pbx_sign_in, replay):
    live_pbx.wait_ami_connected()
    live_pbx.create_client(name=CALLER_NAME, city="Москва", timezone="Europe/Moscow",
                           phones=[{"number": CALLER, "label": "mobile"}])
    page.context.add_init_script(RECORDER)
    pbx_sign_in(page, extension="PJSIP/101")
    second = page.context.new_page()  # the same operator's second tab (same session)
    second.goto(live_pbx.url + "/")
    expect(second.locator("html")).to_have_attribute("data-live", "open")

    # at half speed the phones ring for 18 s: both tabs' cards, two rings and the mute fit
    # in it on a loaded machine too
    playing = replay("inbound_abandoned", speed=0.5)
    for tab in (page, second):
        expect(tab.get_by_test_id("call-card")).to_have_attribute("data-state", "ringing",
                                                                   timeout=CALL_TIMEOUT_MS)
    page.wait_for_timeout(1500)  # past the first ring, which both may have started at once
    before = (_ring(page)["starts"], _ring(second)["starts"])
    page.wait_for_timeout(4500)  # at least one more ring
    after = (_ring(page)["starts"], _ring(second)["starts"])
    grew = [b - a for a, b in zip(before, after)]
    assert sorted(grew)[0] == 0 and sorted(grew)[1] >= 2, (before, after)

    # Muting in one tab mutes the other.
    second.get_by_test_id("ring-mute").click()
    expect(page.get_by_test_id("ring-mute")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)
    quiet = (_ring(page)["starts"], _ring(second)["starts"])
    page.wait_for_timeout(3500)
    assert (_ring(page)["starts"], _ring(second)["starts"]) == quiet
    playing.join()
    second.close()
