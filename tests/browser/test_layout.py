"""Layout on a 1024×768 screen, in a real Chromium against the real app and the AMI simulator:
the call log fits without scrolling sideways, and a ringing call's card stays on top of an open
dialog and of toasts — its buttons are what is under the pointer at their centre
(document.elementFromPoint), and they work."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CALL_TIMEOUT_MS = 15_000
SMALL = {"width": 1024, "height": 768}
SHOT = "/tmp/layout-1024-card-over-dialog.png"
CALLS_SHOT = "/tmp/layout-1024-calls.png"

# For every button and link-button of the card: is it the topmost element at its centre?
TOPMOST = """(card) => [...card.querySelectorAll("button, a.btn")]
  .filter((el) => el.offsetParent !== null)
  .map((el) => {
    const box = el.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    return {name: el.dataset.testid || el.textContent.trim(), x, y,
            inside: x >= 0 && y >= 0 && x < innerWidth && y < innerHeight,
            top: !!hit && (hit === el || el.contains(hit)),
            hit: hit ? (hit.dataset.testid || hit.className || hit.tagName) : null};
  })"""

TOASTS = """async () => {
  const { toast } = await import("/static/ui.js");
  for (let i = 0; i < 6; i += 1) toast("Сохранено: очень длинное сообщение, чтобы тост был широким № " + i, "success");
}"""


def test_calls_table_fits_1024_pixels(page, live_pbx, pbx_sign_in, replay, ivan_petrov, page_api):
    live_pbx.wait_ami_connected()
    client = ivan_petrov()
    page.set_viewport_size(SMALL)
    pbx_sign_in(page, name="Александра Константинопольская", extension="PJSIP/101")
    replay("inbound_answered", speed=8).join()
    replay("inbound_abandoned", speed=8).join()
    stored = []
    for _ in range(50):
        stored = page_api(page, "GET", "/calls")["body"]["items"]
        if len(stored) == 2 and all(c["status"] == "completed" for c in stored):
            break
        page.wait_for_timeout(200)
    answered = next(c for c in stored if c["outcome"] == "answered")
    note = "Подтвердил доставку на пятницу, просил позвонить за час до приезда курьера " * 2
    assert page_api(page, "PATCH", f"/calls/{answered['id']}",
                    {"disposition": "order_confirmed", "note": note,
                     "client_id": client["id"]})["status"] == 200

    page.get_by_test_id("nav-calls").click()
    table = page.get_by_test_id("calls-table")
    expect(table.get_by_test_id("call-row")).to_have_count(2)
    page.screenshot(path=CALLS_SHOT)
    sizes = page.evaluate("""() => {
      const table = document.querySelector("[data-testid=calls-table]");
      const out = [];
      for (let el = table; el && el !== document.body; el = el.parentElement) {
        out.push({name: el.dataset.testid || el.className || el.tagName,
                  scroll: el.scrollWidth, client: el.clientWidth});
      }
      out.push({name: "page", scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth});
      return out;
    }""")
    columns = page.evaluate("""() => [...document.querySelectorAll("[data-testid=calls-table] th")]
      .map((th) => Math.round(th.getBoundingClientRect().width))""")
    wide = [s for s in sizes if s["scroll"] > s["client"]]
    assert not wide, f"scrolls sideways at 1024 px: {wide}; column widths {columns}"


def test_ringing_card_stays_above_a_dialog_and_toasts_at_1024(
        page, live_pbx, pbx_sign_in, replay, ivan_petrov):
    live_pbx.wait_ami_connected()
    client = ivan_petrov()
    page.set_viewport_size(SMALL)
    pbx_sign_in(page, extension="PJSIP/101")
    page.goto(f"{live_pbx.url}/#/clients/{client['id']}")
    # The operator is typing an order in a dialog when the phone rings.
    page.get_by_test_id("new-order").click()
    dialog = page.get_by_test_id("order-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("field-number").fill("UI-77")

    playing = replay("inbound_answered", speed=1)
    card = page.get_by_test_id("call-card")
    expect(card).to_have_attribute("data-state", "ringing", timeout=CALL_TIMEOUT_MS)
    expect(card.get_by_test_id("call-open-card")).to_be_visible()
    page.evaluate(TOASTS)
    expect(page.get_by_test_id("toast")).to_have_count(6)
    page.mouse.move(0, 0)
    page.screenshot(path=SHOT, animations="disabled")

    buttons = page.evaluate(TOPMOST, card.element_handle())
    assert len(buttons) >= 3, buttons  # collapse, close, open the client's card
    assert all(b["inside"] and b["top"] for b in buttons), buttons
    toasts = page.evaluate("""() => [...document.querySelectorAll("[data-testid=toast]")]
      .map((el) => el.getBoundingClientRect()).map((r) => [r.left, r.top, r.right, r.bottom])""")
    box = card.bounding_box()
    for left, top, right, bottom in toasts:
        assert right <= box["x"] or left >= box["x"] + box["width"] \
            or bottom <= box["y"] or top >= box["y"] + box["height"], (toasts, box)

    # The card works while the dialog is open, and the dialog keeps what was typed.
    card.get_by_test_id("call-collapse").click()
    expect(card).to_have_class("pop-card collapsed")
    card.get_by_test_id("call-collapse").click()
    expect(dialog.get_by_test_id("field-number")).to_have_value("UI-77")
    # The page under the dialog is out of reach until it closes; Esc closes it.
    assert page.evaluate("document.getElementById('app').inert") is True
    dialog.get_by_test_id("field-number").press("Escape")
    expect(dialog).to_have_count(0)
    assert page.evaluate("document.getElementById('app').inert") is False

    expect(card).to_have_attribute("data-state", "answered", timeout=CALL_TIMEOUT_MS)
    expect(card).to_have_attribute("data-state", "ended", timeout=CALL_TIMEOUT_MS)
    playing.join()
    # The after-call buttons too are on top of a new dialog and toasts (the card folded away
    # for a moment: on a 1024 px screen it covers the orders' button).
    card.get_by_test_id("call-collapse").click()
    page.get_by_test_id("new-order").click()
    expect(page.get_by_test_id("order-dialog")).to_be_visible()
    card.get_by_test_id("call-collapse").click()
    expect(card).not_to_have_class("pop-card collapsed")
    page.evaluate(TOASTS)
    buttons = page.evaluate(TOPMOST, card.element_handle())
    assert len(buttons) >= 4, buttons  # the outcome buttons or form among them
    assert all(b["inside"] and b["top"] for b in buttons), buttons
