"""Hearing recordings in a real Chromium: the player in the call log plays a real Opus file,
seeks by HTTP Range (the server answers 206), changes speed; download only for those allowed;
an operator's player on own calls only; the supervisors' missing list and its Retry."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from callcenter.storage.tables import calls, recordings, users
from tests.recordings.test_playback import TWO_WAY, convert

pytestmark = pytest.mark.browser

DURATION = 13.92  # the two-way sample, in seconds


@pytest.fixture(scope="module")
def opus(tmp_path_factory) -> Path:
    return convert(TWO_WAY, tmp_path_factory.mktemp("opus") / "two_way.ogg")


def seed(server, opus: Path, owner_login: str | None = None) -> dict[str, int]:
    """Calls of the last hour: one answered by ``owner_login`` (or nobody) with a ready
    recording, one of another operator with a ready recording, one whose recording is missing
    and one whose conversion failed."""
    root = Path(server.services.settings.recordings_dir)
    now = datetime.now(timezone.utc)

    async def run():
        ids = {}
        async with server.services.db.write() as conn:
            owner = None
            if owner_login:
                owner = (await conn.execute(select(users.c.id, users.c.extension).where(
                    users.c.login == owner_login))).one()
            for kind, minutes in (("own", 10), ("other", 20), ("missing", 30), ("failed", 40)):
                started = now - timedelta(minutes=minutes)
                mine = kind == "own" and owner is not None
                ids[kind] = (await conn.execute(insert(calls).values(
                    call_key=f"ui-{kind}-{now.timestamp()}", direction="inbound",
                    caller="+79161234567", caller_e164="+79161234567", operators_rung=[],
                    handled_by=[], answered_by=owner.extension if mine else "PJSIP/199",
                    answered_by_user_id=owner.id if mine else None, started_at=started,
                    answered_at=started + timedelta(seconds=3),
                    ended_at=started + timedelta(seconds=17), outcome="answered",
                    talk_seconds=14, variables={}).returning(calls.c.id))).scalar_one()
                ready = kind in ("own", "other")
                name = f"{started:%Y/%m/%d}/call-{ids[kind]}.ogg" if ready else None
                if ready:
                    (root / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(opus, root / name)
                await conn.execute(insert(recordings).values(
                    call_id=ids[kind], source=f"{started:%Y/%m/%d}/ui-{kind}.wav",
                    parts=[f"{started:%Y/%m/%d}/ui-{kind}.wav"],
                    status="ready" if ready else kind, file=name, format="opus" if ready else None,
                    duration_seconds=DURATION if ready else None,
                    health={"own": "ok", "other": "operator_silent"}.get(kind), details={},
                    attempts=0 if ready else 3,
                    error={"missing": "no file in the monitor directory after 10 minutes",
                           "failed": "ffmpeg: invalid data"}.get(kind),
                    call_started_at=started, created_at=now, updated_at=now))
        return ids

    return server.call(run())


def row(page, call_id):
    return page.locator(f'[data-testid="call-row"][data-id="{call_id}"]')


def detail(page, call_id):
    """The row the player opens in, under the call's row."""
    return page.locator(f'[data-testid="rec-detail"][data-id="{call_id}"]')


def test_a_supervisor_plays_seeks_and_changes_speed(page, live_server, sign_in, opus):
    from playwright.sync_api import expect

    sign_in("supervisor", "Светлана Иванова", extension="PJSIP/201")
    ids = seed(live_server, opus)
    ranges = []
    page.on("response", lambda r: ranges.append((r.status, r.request.headers.get("range")))
            if "/recording" in r.url else None)
    page.goto(live_server.url + "/#/calls")
    toggle = row(page, ids["other"]).get_by_test_id("rec-toggle")
    expect(toggle).to_have_attribute("aria-label", "Слушать — Оператора не слышно")
    expect(row(page, ids["missing"]).get_by_test_id("rec-status")).to_have_attribute(
        "data-status", "missing")
    expect(row(page, ids["missing"]).get_by_test_id("rec-status")).to_have_attribute(
        "title", "Запись не найдена")
    page.wait_for_timeout(300)
    assert ranges == []  # preload="none": nothing fetched before play

    toggle.click()  # opens the player under the row and plays
    own = detail(page, ids["other"])
    player = own.get_by_test_id("rec-player")
    expect(player).to_have_attribute("data-state", "playing", timeout=20_000)
    expect(own.get_by_test_id("rec-health")).to_have_attribute("data-health", "operator_silent")
    expect(own.get_by_test_id("rec-download")).to_have_attribute(
        "href", f"/api/calls/{ids['other']}/recording?download=1")
    audio = own.get_by_test_id("rec-audio")
    page.wait_for_function("a => a.readyState >= 1 && Number.isFinite(a.duration)",
                           arg=audio.element_handle(), timeout=20_000)
    assert abs(audio.evaluate("a => a.duration") - DURATION) < 0.3
    expect(own.get_by_test_id("rec-time")).to_have_text(re.compile(r"0:\d\d / 0:1[34]"))

    # seek near the end through the bar, as a keyboard or pointer would
    seek = own.get_by_test_id("rec-seek")
    seek.evaluate("(s) => { s.value = '11'; s.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function("a => a.currentTime >= 11", arg=audio.element_handle(),
                           timeout=20_000)
    page.wait_for_function("() => true")  # let the response events land
    # the media element asks by Range and the server answers with a part (a small file comes
    # whole in that one answer, so a seek within it needs no second request)
    assert (206, "bytes=0-") in ranges, ranges
    assert all(status == 206 for status, _ in ranges), ranges

    # and by keyboard: the bar is a native slider (Home to the start, arrows step)
    seek.focus()
    page.keyboard.press("Home")
    page.wait_for_function("a => a.currentTime < 3", arg=audio.element_handle(), timeout=20_000)

    own.get_by_test_id("rec-speed-1.5").click()
    assert audio.evaluate("a => a.playbackRate") == 1.5
    expect(own.get_by_test_id("rec-speed-1.5")).to_have_attribute("aria-pressed", "true")
    expect(own.get_by_test_id("rec-speed-1")).to_have_attribute("aria-pressed", "false")
    own.get_by_test_id("rec-speed-2").focus()
    page.keyboard.press("Enter")
    assert audio.evaluate("a => a.playbackRate") == 2
    own.get_by_test_id("rec-play").click()
    expect(player).to_have_attribute("data-state", "paused")
    toggle.click()  # closes it
    expect(own).to_have_count(0)


def test_an_operator_hears_own_calls_only_and_has_no_download(page, live_server, sign_in, opus):
    from playwright.sync_api import expect

    me = sign_in("operator", "Анна Соколова", extension="PJSIP/101")
    ids = seed(live_server, opus, owner_login=me["login"])
    page.goto(live_server.url + "/#/calls")
    row(page, ids["own"]).get_by_test_id("rec-toggle").click()
    own = detail(page, ids["own"])
    expect(own.get_by_test_id("rec-player")).to_have_attribute("data-state", "playing",
                                                               timeout=20_000)
    expect(own.get_by_test_id("rec-health")).to_have_attribute("data-health", "ok")
    expect(own.get_by_test_id("rec-download")).to_have_count(0)
    other = row(page, ids["other"])
    expect(other.get_by_test_id("rec-status")).to_have_attribute("data-status", "ready")
    expect(other.get_by_test_id("rec-toggle")).to_have_count(0)
    expect(page.get_by_test_id("calls-missing-recordings")).to_have_count(0)

    # the client card's calls carry the same player
    client = live_server.create_client(name="Иван Петров", phones=["+79161234567"])

    async def link():
        async with live_server.services.db.write() as conn:
            await conn.execute(calls.update().where(calls.c.id.in_(list(ids.values())))
                               .values(client_id=client["id"]))
    live_server.call(link())
    page.goto(live_server.url + f"/#/clients/{client['id']}")
    page.locator(f'[data-testid="client-call"][data-id="{ids["own"]}"]').get_by_test_id(
        "rec-toggle").click()
    card_own = detail(page, ids["own"])
    expect(card_own.get_by_test_id("rec-player")).to_have_attribute("data-state", "playing",
                                                                    timeout=20_000)
    expect(card_own.get_by_test_id("rec-download")).to_have_count(0)
    card_other = page.locator(f'[data-testid="client-call"][data-id="{ids["other"]}"]')
    expect(card_other.get_by_test_id("rec-status")).to_have_attribute("data-status", "ready")
    expect(page.locator(f'[data-testid="client-call"][data-id="{ids["missing"]}"]')
           .get_by_test_id("rec-status")).to_have_attribute("data-status", "missing")


def test_the_missing_list_flags_calls_and_retry_works(page, live_server, sign_in, opus,
                                                      page_api):
    from playwright.sync_api import expect

    sign_in("supervisor", "Светлана Иванова", extension="PJSIP/201")
    ids = seed(live_server, opus)
    page.goto(live_server.url + "/#/calls")
    page.get_by_test_id("calls-missing-recordings").click()
    expect(page).to_have_url(re.compile(r"#/recordings$"))
    rows = page.get_by_test_id("recording-row")
    expect(rows).to_have_count(2)
    missing = page.locator(f'[data-testid="recording-row"][data-id="{ids["missing"]}"]')
    expect(missing.get_by_test_id("recording-error")).to_have_text(
        "no file in the monitor directory after 10 minutes")
    expect(missing.get_by_test_id("recording-attempts")).to_have_text("3")
    expect(missing.get_by_test_id("rec-status")).to_have_text("Запись не найдена")
    failed = page.locator(f'[data-testid="recording-row"][data-id="{ids["failed"]}"]')
    failed.get_by_test_id("recording-retry").click()
    expect(page.get_by_test_id("toast").first).to_have_text("Запись снова в очереди на обработку")
    expect(failed).to_have_count(0)
    expect(rows).to_have_count(1)
    audit = page_api(page, "GET", "/audit?action=recording.retry")["body"]
    assert [i["entity_id"] for i in audit["items"]] == [str(ids["failed"])]


def test_an_operator_cannot_open_the_missing_list(page, live_server, sign_in):
    from playwright.sync_api import expect

    sign_in("operator", "Анна Соколова", extension="PJSIP/101")
    page.goto(live_server.url + "/#/recordings")
    expect(page.get_by_test_id("recordings-page")).to_be_visible()
    expect(page.get_by_test_id("recording-row")).to_have_count(0)
