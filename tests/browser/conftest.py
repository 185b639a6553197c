"""Fixtures for browser tests: Debian's headless Chromium driven by Playwright.

We never run `playwright install`: the browser is the distribution's
/usr/bin/chromium. Without it the tests skip locally, but fail under CI=true,
where a missing browser means a broken image rather than a developer laptop.
"""

import itertools
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
# Playwright's default is 30 s; a local server answers in milliseconds, so a
# stuck selector should fail fast and say which one.
TIMEOUT_MS = 10_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    message = f"headless Chromium not found at {CHROMIUM} (Debian package `chromium`)"
    if _in_ci():
        pytest.fail(message + "; CI must provide it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser(request):
    _require_chromium()
    # Playwright's sync API keeps its own asyncio loop marked as running in this
    # thread, so any session fixture that later calls loop.run_until_complete()
    # here (the migrated SQLite template) must be built before the browser starts.
    for name in ("sqlite_template",):
        try:
            request.getfixturevalue(name)
        except pytest.FixtureLookupError:
            pass
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context per test; uncaught JS errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT, locale="ru-RU", timezone_id="Europe/Moscow")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    yield page
    context.close()
    assert not js_errors, f"uncaught JavaScript errors: {js_errors}"


_logins = itertools.count(1)


@pytest.fixture
def sign_in(page, live_server):
    """sign_in(role="operator", name=...) creates a user with a fresh login,
    logs in through the login form and waits for the main layout."""

    def sign_in_as(role="operator", name="Ольга Смирнова", extension=None):
        login = f"{role}{next(_logins)}_{os.getpid()}"
        password = f"pw-{login}-secret"
        live_server.create_user(login, password, role, name, extension=extension)
        page.goto(live_server.url + "/")
        page.get_by_test_id("login-input").fill(login)
        page.get_by_test_id("password-input").fill(password)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("search-input").wait_for()
        return {"login": login, "password": password, "role": role, "name": name}

    return sign_in_as
