"""Fixtures for browser tests: Debian's headless Chromium driven by Playwright.

We never run `playwright install`: the browser is the distribution's
/usr/bin/chromium. Without it the tests skip locally, but fail under CI=true,
where a missing browser means a broken image rather than a developer laptop.
"""

import contextlib
import itertools
import os
import shutil
import threading
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


@contextlib.contextmanager
def _person(browser, who: str = ""):
    """A fresh browser context (its own cookies); uncaught JS errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT, locale="ru-RU", timezone_id="Europe/Moscow")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    yield page
    context.close()
    assert not js_errors, f"uncaught JavaScript errors{who}: {js_errors}"


@pytest.fixture
def page(browser):
    with _person(browser) as page:
        yield page


_logins = itertools.count(1)


def _sign_in(server, page, role, name, extension):
    """A new user with a fresh login signs in through the login form; (login, password)."""
    login = f"{role}{next(_logins)}_{os.getpid()}"
    password = f"pw-{login}-secret"
    server.create_user(login, password, role, name, extension=extension)
    page.goto(server.url + "/")
    page.get_by_test_id("login-input").fill(login)
    page.get_by_test_id("password-input").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("search-input").wait_for()
    return login, password


@pytest.fixture
def sign_in(page, live_server):
    """sign_in(role="operator", name=...) creates a user with a fresh login,
    logs in through the login form and waits for the main layout."""

    def sign_in_as(role="operator", name="Ольга Смирнова", extension=None):
        login, password = _sign_in(live_server, page, role, name, extension)
        return {"login": login, "password": password, "role": role, "name": name}

    return sign_in_as


# ---- calls: the app listening to the AMI simulator (live_pbx) -------------------------------


class Replay:
    """A trace playing in a background thread: live_pbx.replay() blocks until every event was
    sent, and the browser has to be watched meanwhile."""

    def __init__(self, pbx, trace: str, speed: float):
        self.error = None

        def run():
            try:
                pbx.replay(trace, speed=speed)
            except Exception as exc:  # raised again by join()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True, name=f"replay-{trace}")
        self.thread.start()

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the replay did not finish"
        if self.error:
            raise self.error


@pytest.fixture
def replay(live_pbx):
    """replay("inbound_answered", speed=2) starts a trace and returns at once (a Replay)."""
    started = []

    def start(trace, speed=1.0):
        started.append(Replay(live_pbx, trace, speed))
        return started[-1]

    yield start
    for playing in started:  # never leave a replay running into the server's teardown
        playing.thread.join(60)


@pytest.fixture
def pbx_sign_in(live_pbx):
    """pbx_sign_in(page, role=..., name=..., extension="PJSIP/101"): a new user signs in on
    `page`; returns once the live link is open, so calls pop up from then on."""

    def sign_in_on(page, role="operator", name="Анна Смирнова", extension=None):
        login, _ = _sign_in(live_pbx, page, role, name, extension)
        from playwright.sync_api import expect

        expect(page.locator("html")).to_have_attribute("data-live", "open")
        return login

    return sign_in_on


@pytest.fixture
def other_page(browser):
    """A second person's browser."""
    with _person(browser, " on the second page") as page:
        yield page


@pytest.fixture
def page_api():
    """page_api(page, method, path, body=None) → {status, body}: the JSON API called from inside
    a signed-in page, with its session and CSRF token."""

    def call(page, method, path, body=None):
        return page.evaluate(
            """async ([method, path, body]) => {
                const me = await (await fetch('/api/me', {credentials: 'same-origin'})).json();
                const response = await fetch('/api' + path, {
                    method, credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
                    body: body === null ? undefined : JSON.stringify(body),
                });
                return {status: response.status, body: await response.json()};
            }""",
            [method, path, body],
        )

    return call


@pytest.fixture
def ivan_petrov(live_pbx):
    """ivan_petrov() creates the caller of the inbound_answered trace (+79161234567) as a
    client with a shipped order in a second shop; returns the client."""

    def create():
        from callcenter.services.context import Actor

        shop = live_pbx.create_shop("tea", "Чайный дом")
        client = live_pbx.create_client(
            name="Иван Петров", company="ООО «Ромашка»", city="Новосибирск",
            timezone="Asia/Novosibirsk", tags=["vip"], notes="Предпочитает звонки после обеда",
            phones=[{"number": "+79161234567", "label": "mobile"}])
        live_pbx.call(live_pbx.services.orders.create(Actor.system("test"), {
            "client_id": client["id"], "shop_id": shop["id"], "number": "TEA-1001",
            "status": "shipped", "total": "2490.00", "currency": "RUB",
            "items": [{"sku": "PU-1", "name": "Пуэр", "qty": 2, "price": "1245.00"}]}))
        return client

    return create
