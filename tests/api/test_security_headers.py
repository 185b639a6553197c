"""Security headers on every answer, HEAD /, JSON-only login, the password rule over the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.conftest import PASSWORD

WEB = Path(__file__).resolve().parents[2] / "web"


def _assert_security_headers(resp) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["frame-ancestors"] == "'none'", csp
    assert directives["script-src"] == "'self'", csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["object-src"] == "'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/", 200),
    ("HEAD", "/", 200),
    ("GET", "/static/app.js", 200),
    ("GET", "/static/app.css", 200),
    ("GET", "/static/no-such-file.js", 404),
    ("GET", "/no/such/page", 404),
    ("GET", "/api/me", 401),
    ("GET", "/api/nothing-here", 404),
    ("DELETE", "/api/me", 405),
    ("GET", "/api/health", 200),
    ("GET", "/api/openapi.json", 200),
    ("POST", "/api/login", 415),
])
async def test_every_answer_carries_the_security_headers(api, method, path, status):
    resp = await api.anon.request(method, path)
    assert resp.status == status
    _assert_security_headers(resp)


async def test_errors_after_login_and_websocket_handshakes_carry_them_too(api):
    anna = await api.login("anna")
    resp = await anna.get("/api/clients/999999")
    assert resp.status == 404
    _assert_security_headers(resp)
    resp = await anna.post("/api/clients", json={"name": ""})
    assert resp.status == 422
    _assert_security_headers(resp)
    ws = await anna.client.ws_connect("/ws")
    assert "frame-ancestors 'none'" in ws._response.headers["Content-Security-Policy"]
    await ws.close()


async def test_the_policy_lets_the_page_reach_its_own_websocket(api):
    resp = await api.anon.get("/")
    csp = resp.headers["Content-Security-Policy"]
    host = f"{api.anon.server.host}:{api.anon.server.port}"
    assert f"connect-src 'self' ws://{host}" in csp


async def test_head_of_the_app_is_200_with_no_body(api):
    resp = await api.anon.head("/")
    assert resp.status == 200
    assert "text/html" in resp.headers["Content-Type"]
    assert await resp.read() == b""


def test_the_web_app_has_no_inline_script_style_or_handler():
    """What a CSP without 'unsafe-inline' would block: inline <script>, style= attributes and
    <style> blocks, on*= attributes, javascript: URLs, and style strings set by the JS."""
    html = (WEB / "index.html").read_text(encoding="utf-8")
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S):
        assert script.strip() == ""
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)
    assert not re.search(r"\sstyle\s*=|<style\b|javascript:", html, re.I)
    for js in list(WEB.glob("*.js")) + list((WEB / "views").glob("*.js")):
        text = js.read_text(encoding="utf-8")
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=", text), js
        assert "eval(" not in text and "new Function" not in text, js
        assert not re.search(r"setAttribute\(\s*[\"'](style|on[a-z]+)[\"']", text), js
        assert not re.search(r"\bstyle:\s*[\"'`][^\"'`]*:", text), js  # h(..., {style: "a: b"})
        assert "cssText" not in text, js


@pytest.mark.parametrize("content_type,body", [
    ("application/x-www-form-urlencoded", "login=anna&password=" + PASSWORD),
    ("text/plain", '{"login": "anna", "password": "%s"}' % PASSWORD),
    ("multipart/form-data; boundary=x",
     f'--x\r\nContent-Disposition: form-data; name="login"\r\n\r\nanna\r\n--x--\r\n'),
    (None, '{"login": "anna", "password": "%s"}' % PASSWORD),
])
async def test_login_takes_only_json_so_a_cross_site_form_cannot_sign_in(api, content_type, body):
    await api.user("anna")
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await api.anon.post("/api/login", data=body.encode(), headers=headers,
                               skip_auto_headers=["Content-Type"])
    assert resp.status == 415
    error = (await resp.json())["error"]
    assert error["code"] == "unsupported_media_type" and set(error) == {"code", "message",
                                                                       "details"}
    assert "Set-Cookie" not in resp.headers
    ok = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    assert ok.status == 200  # and the refused ones did not count as failures


@pytest.mark.parametrize("login,password,reason", [
    ("boris", "short-pw", "at least 10 characters"),
    ("boris.kuznetsov", "boris.kuznetsov", "must not be the login"),
    ("boris.kuznetsov", "Boris.Kuznetsov", "must not be the login"),
])
async def test_weak_passwords_are_refused_by_the_api(api, login, password, reason):
    admin = await api.login("root", "admin")
    resp = await admin.post("/api/users", json={"login": login, "name": "Борис",
                                                "role": "operator", "password": password})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "weak_password"
    assert error["details"]["fields"] == {"password": reason}
    resp = await admin.post("/api/users", json={"login": login, "name": "Борис",
                                                "role": "operator", "password": "long-enough-pw"})
    assert resp.status == 201
    user_id = (await resp.json())["id"]
    resp = await admin.patch(f"/api/users/{user_id}", json={"password": login})
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "weak_password"


async def test_a_weak_password_among_other_bad_fields_is_one_validation_error(api):
    admin = await api.login("root", "admin")
    resp = await admin.post("/api/users", json={"login": "x y", "role": "operator",
                                                "password": "short"})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "validation_failed"
    assert set(error["details"]["fields"]) == {"login", "password"}


async def test_behind_a_tls_proxy_the_policy_names_the_public_websocket(api):
    resp = await api.anon.get("/", headers={"X-Forwarded-Proto": "https",
                                            "X-Forwarded-Host": "crm.shop.example"})
    assert "connect-src 'self' wss://crm.shop.example;" in resp.headers["Content-Security-Policy"]
