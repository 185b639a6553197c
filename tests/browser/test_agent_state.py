"""The agent state in the top bar, in a real browser against the app and the AMI simulator:
pause with a reason from the menu (QueuePause reaches the PBX), the label follows a pause made
on the phone, F9 and Alt+digit."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def queue_pauses(sim) -> list[tuple[str, str, str | None]]:
    return [(a["Interface"], a["Paused"], a.get("Reason")) for a in list(sim.actions)
            if a.get("Action") == "QueuePause"]


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_pause_from_the_menu_and_follow_the_phone(page, other_page, live_pbx, pbx_sign_in):
    live_pbx.wait_ami_connected()
    pbx_sign_in(page, name="Анна Смирнова", extension="PJSIP/101")
    widget = page.get_by_test_id("agent-state")
    label = page.get_by_test_id("agent-state-label")
    expect(widget).to_have_attribute("data-state", "offline")
    expect(label).to_have_text(re.compile(r"^Не в сети"))

    # one click: ready
    page.get_by_test_id("agent-state-toggle").click()
    expect(widget).to_have_attribute("data-state", "ready")
    expect(label).to_have_text(re.compile(r"^Готов · 0:0\d$"))
    wait_for(lambda: queue_pauses(live_pbx.sim) == [("PJSIP/101", "false", None)])

    # the menu: pause for lunch
    page.get_by_test_id("agent-state-menu").click()
    expect(page.get_by_test_id("agent-reasons")).to_be_visible()
    page.get_by_test_id("agent-reason-lunch").click()
    expect(widget).to_have_attribute("data-state", "paused")
    expect(label).to_have_text(re.compile(r"^Пауза: обед · 0:0\d$"))
    expect(page.get_by_test_id("agent-reasons")).to_be_hidden()
    wait_for(lambda: queue_pauses(live_pbx.sim)[-1:] == [("PJSIP/101", "true", "lunch")])
    assert live_pbx.sim.pbx.paused == {"PJSIP/101": "lunch"}

    # unpaused on the phone: the PBX says so and the label follows
    sim = live_pbx.sim
    live_pbx.call(sim.broadcast([sim.pbx.queue_member_pause("PJSIP/101", False, "",
                                                            sim.clock())]))
    expect(widget).to_have_attribute("data-state", "ready")
    # paused on the phone with no reason
    live_pbx.call(sim.broadcast([sim.pbx.queue_member_pause("PJSIP/101", True, "",
                                                            sim.clock())]))
    expect(widget).to_have_attribute("data-state", "paused")
    expect(label).to_have_text(re.compile(r"^Пауза: с телефона"))

    # keys: F9 toggles back to ready, Alt+3 pauses for the third reason (training)
    page.keyboard.press("F9")
    expect(widget).to_have_attribute("data-state", "ready")
    page.keyboard.press("Alt+3")
    expect(label).to_have_text(re.compile(r"^Пауза: обучение"))
    wait_for(lambda: queue_pauses(live_pbx.sim)[-1:] == [("PJSIP/101", "true", "training")])
    expect(page.get_by_test_id("agent-state-toggle")).to_have_attribute(
        "title", re.compile(r"F9.*\n.*Alt\+1 — обед", re.S))

    # a call rings the phone: ringing, talking, then wrap-up with its countdown
    live_pbx.call(sim.broadcast([{"Event": "DeviceStateChange", "Device": "PJSIP/101",
                                  "State": "RINGING"}]))
    expect(label).to_have_text("Звонок")
    live_pbx.call(sim.broadcast([{"Event": "DeviceStateChange", "Device": "PJSIP/101",
                                  "State": "INUSE"}]))
    expect(label).to_have_text("Разговор")
    live_pbx.call(sim.broadcast([{"Event": "DeviceStateChange", "Device": "PJSIP/101",
                                  "State": "NOT_INUSE"}]))
    expect(widget).to_have_attribute("data-state", "wrap_up")
    expect(label).to_have_text(re.compile(r"^Постобработка [01]:\d\d$"))

    # a supervisor with no phone has no state to show
    pbx_sign_in(other_page, role="supervisor", name="Светлана Орлова")
    expect(other_page.get_by_test_id("next-task")).to_be_visible()
    expect(other_page.get_by_test_id("agent-state")).to_have_count(0)
