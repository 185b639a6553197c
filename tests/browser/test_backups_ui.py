"""Settings › Backups and the admins' stale-backup banner in a real Chromium against the real app
on a real SQLite file: with no backup yet an admin sees the red banner (an operator does not);
"Back up now" shows the new, verified backup in the list and the banner goes away on the next
check."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_stale_banner_only_for_admins(page, live_server, sign_in):
    sign_in("operator", name="Ольга Операторова")
    expect(page.locator(".workspace")).to_be_visible()
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("backup-alarm")).to_have_count(0)


def test_back_up_now_shows_a_new_backup(page, live_server, sign_in):
    sign_in("admin", name="Анна Админова")
    alarm = page.get_by_test_id("backup-alarm")
    expect(alarm).to_be_visible()  # no backup while the daily job is on
    expect(alarm).to_contain_text("Проверенных копий нет")
    page.get_by_test_id("backup-alarm-link").click()
    section = page.get_by_test_id("settings-backups-section")
    expect(section).to_be_visible()
    expect(page.get_by_test_id("backup-list-empty")).to_be_visible()
    expect(page.get_by_test_id("backup-stale")).to_be_visible()

    page.get_by_test_id("backup-now").click()
    rows = page.get_by_test_id("backup-row")
    expect(rows).to_have_count(1, timeout=20000)
    expect(rows.first.get_by_test_id("backup-verified")).to_be_visible()
    expect(page.get_by_test_id("backup-last-size")).to_contain_text("KB")
    expect(page.get_by_test_id("backup-stale")).to_have_count(0)
    expect(page.get_by_test_id("backup-restore-command")).to_contain_text(
        "callcenter restore ")
    expect(page.get_by_test_id("backup-restore-command")).to_contain_text(".sqlite3.gz")

    page.reload()  # a new shell: the banner checks again and stays hidden
    expect(page.get_by_test_id("backup-list")).to_be_visible()
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("backup-alarm")).to_be_hidden()
