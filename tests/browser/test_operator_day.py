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
    page.locator("body").click()
    with page.expect_response("**/api/tasks/next") as answer:
        page.keyboard.press("F2")
    assert answer.value.status == 204
    expect(page.get_by_test_id("toast").filter(has_text="Нет задач сейчас").last).to_be_visible()
