"""The webhooks settings in a real Chromium against the real app: an admin registers a webhook
with its events, sees the secret once, pings it, and sees the delivery in the log with the
receiver's answer code and text; the receiver is a real HTTP server on 127.0.0.1 that checks
the signature."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from callcenter.domain.webhooks import verify_signature
from tests.conftest import _serve_in_thread, listening_socket, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(sqlite_url):
    """The real app, allowed to call a receiver on this machine."""
    sock = listening_socket()
    server, stop = _serve_in_thread(make_settings(
        sqlite_url, http_port=sock.getsockname()[1], webhook_allow_private=True), sock=sock)
    yield server
    stop()


@pytest.fixture
def receiver():
    got: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            answer = "принято <b>ok</b>".encode()
            self.send_response(202)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/crm-hook", got
    httpd.shutdown()
    httpd.server_close()


def test_an_admin_registers_pings_and_reads_the_log(page, live_server, sign_in, receiver):
    url, got = receiver
    sign_in("admin", "Алексей Админов")
    page.goto(live_server.url + "/#/settings/webhooks")
    expect(page.get_by_test_id("webhooks-empty")).to_be_visible()

    # a refused address is said next to the field
    page.get_by_test_id("webhook-new-url").fill("ftp://shop.example.com/")
    page.get_by_test_id("webhook-new-event-client.created").check()
    page.get_by_test_id("webhook-add-submit").click()
    expect(page.locator("[data-field=url] .field-error, [data-field=url] [role=alert]")
           .first).to_be_visible()

    page.get_by_test_id("webhook-new-url").fill(url)
    page.get_by_test_id("webhook-new-description").fill("Склад <script>alert(1)</script>")
    page.get_by_test_id("webhook-add-submit").click()
    secret = page.get_by_test_id("webhook-secret-value").inner_text()
    assert secret.startswith("whsec_")
    row = page.get_by_test_id("webhook-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Склад <script>alert(1)</script>")  # as text, not HTML
    expect(row).to_contain_text("…" + secret[-4:])
    expect(row).to_contain_text("client.created")

    row.get_by_test_id("webhook-ping").click()
    log = page.get_by_test_id("webhook-log")
    expect(log).to_be_visible()
    deadline = time.monotonic() + 15
    while not got and time.monotonic() < deadline:
        time.sleep(0.1)
    assert got, "the ping never arrived"
    headers, body = got[0]
    assert headers["X-Callcenter-Event"] == "ping"
    assert json.loads(body)["type"] == "ping"
    assert verify_signature(headers["X-Callcenter-Signature"], body, secret, int(time.time()))

    delivery = log.get_by_test_id("delivery-row").first
    for _ in range(50):
        log.get_by_test_id("webhook-log-refresh").click()
        if delivery.get_attribute("data-status") == "delivered":
            break
        time.sleep(0.2)
    expect(delivery).to_have_attribute("data-status", "delivered")
    expect(delivery.get_by_test_id("delivery-code")).to_have_text("202")
    expect(delivery.get_by_test_id("delivery-response")).to_have_text("принято <b>ok</b>")

    # disable, then delete
    row.get_by_test_id("webhook-disable").click()
    expect(page.get_by_test_id("webhook-row")).to_have_attribute("data-active", "0")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("webhook-row").get_by_test_id("webhook-delete").click()
    expect(page.get_by_test_id("webhooks-empty")).to_be_visible()
