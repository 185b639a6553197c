"""Websockets live no longer than their session: real websockets through aiohttp's test client,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from sqlalchemy import delete, update

from callcenter.http.keys import CALLS
from callcenter.http.ws_hub import SESSION_ENDED, TOO_MANY_PAGES
from callcenter.storage.database import Database
from callcenter.storage.tables import sessions, users

DEADLINE = 10.0


async def _open(session):
    ws = await session.client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=DEADLINE)
    assert hello["type"] == "hello"
    return ws


async def _closed_with(ws, code: int) -> None:
    """The server closes ``ws`` with ``code``; anything it sends first fails the test (a call
    pushed to a page whose session ended is the leak being guarded against)."""
    msg = await ws.receive(timeout=DEADLINE)
    assert msg.type == WSMsgType.CLOSE, msg
    assert msg.data == code, msg


async def _still_open(ws) -> None:
    await ws.send_json({"type": "subscribe", "topic": "calls"})
    reply = await ws.receive_json(timeout=DEADLINE)
    assert reply["type"] in ("subscribed", "error")


def _push_to(api, user_id: int) -> int:
    return api.app[CALLS].hub.publish([user_id], {"type": "call.ringing", "client": {"name": "X"}},
                                      watchers=True)


async def test_logout_closes_that_sessions_websockets_only(api):
    sup = await api.login("sup", "supervisor")
    other_browser = await api.login("sup", "supervisor", create=False)
    ws = await _open(sup)
    other_ws = await _open(other_browser)
    assert (await sup.post("/api/logout")).status == 200
    await _closed_with(ws, SESSION_ENDED)
    await _still_open(other_ws)
    assert _push_to(api, sup.user["id"]) == 1  # only the other browser's page gets the call
    await other_ws.close()


async def test_log_out_everywhere_ends_every_session_and_socket(api):
    sup = await api.login("sup", "supervisor")
    other_browser = await api.login("sup", "supervisor", create=False)
    ws, other_ws = await _open(sup), await _open(other_browser)
    assert (await sup.post("/api/logout/everywhere")).status == 200
    await _closed_with(ws, SESSION_ENDED)
    await _closed_with(other_ws, SESSION_ENDED)
    assert (await other_browser.get("/api/me")).status == 401
    assert (await sup.get("/api/me")).status == 401
    assert _push_to(api, sup.user["id"]) == 0


@pytest.mark.parametrize("change", [
    {"active": False}, {"role": "operator"}, {"password": "a-brand-new-password"},
])
async def test_admin_changes_close_the_users_websockets(api, change):
    admin = await api.login("root", "admin")
    sup = await api.login("sup", "supervisor")
    ws = await _open(sup)
    await ws.send_json({"type": "subscribe", "topic": "calls"})
    assert (await ws.receive_json(timeout=DEADLINE))["type"] == "subscribed"
    resp = await admin.patch(f"/api/users/{sup.user['id']}", json=change)
    assert resp.status == 200, await resp.text()
    await _closed_with(ws, SESSION_ENDED)
    assert _push_to(api, sup.user["id"]) == 0
    me = await sup.get("/api/me")
    # a role change keeps the session (the page reloads as an operator); the others end it
    assert me.status == (200 if "role" in change else 401)
    await _still_open(await _open(await api.login("root", "admin", create=False)))


async def test_a_session_ended_by_another_process_is_noticed(api_with, db_url):
    api = await api_with(session_check_seconds=0.1)
    sup = await api.login("sup", "supervisor")
    ws = await _open(sup)
    other_process = Database(db_url)
    try:
        async with other_process.write() as conn:
            await conn.execute(delete(sessions))
    finally:
        await other_process.dispose()
    await _closed_with(ws, SESSION_ENDED)


async def test_a_role_changed_by_another_process_is_noticed(api_with, db_url):
    api = await api_with(session_check_seconds=0.1)
    sup = await api.login("sup", "supervisor")
    ws = await _open(sup)
    await _still_open(ws)
    other_process = Database(db_url)
    try:
        async with other_process.write() as conn:
            await conn.execute(update(users).where(users.c.id == sup.user["id"])
                               .values(role="operator"))
    finally:
        await other_process.dispose()
    await _closed_with(ws, SESSION_ENDED)


async def test_an_expired_session_is_noticed(api_with):
    api = await api_with(session_check_seconds=0.1, session_days=1)
    sup = await api.login("sup", "supervisor")
    ws = await _open(sup)
    await _still_open(ws)  # several checks pass while the session is valid
    api.clock.advance(days=1, seconds=1)
    await _closed_with(ws, SESSION_ENDED)


async def test_websockets_per_user_are_capped_and_the_new_one_refused(api_with):
    api = await api_with(max_websockets_per_user=2)
    anna = await api.login("anna")
    first, second = await _open(anna), await _open(anna)
    third = await anna.client.ws_connect("/ws")
    await _closed_with(third, TOO_MANY_PAGES)
    await _still_open(first)
    await _still_open(second)
    # another user is not affected, and a closed page frees its place
    await _still_open(await _open(await api.login("boris")))
    await first.close()
    for _ in range(100):  # the server notices the close on its own schedule
        if api.app[CALLS].hub.pages_of(anna.user["id"]) < 2:
            break
        await asyncio.sleep(0.02)
    await _still_open(await _open(anna))


@pytest.mark.parametrize("origin,allowed", [
    ("http://{host}:{port}", True),
    ("http://{host}:{port}/", True),
    ("https://{host}:{port}", False),        # same host and port, other scheme
    ("http://{host}:1", False),              # same host, other port
    ("http://{host}", False),                # default port 80 is another port
    ("http://evil.example:{port}", False),
    ("null", False),
])
async def test_the_origin_must_match_scheme_host_and_port(api, origin, allowed):
    anna = await api.login("anna")
    server = anna.client.server
    headers = {"Origin": origin.format(host=server.host, port=server.port)}
    if allowed:
        ws = await anna.client.ws_connect("/ws", headers=headers)
        assert (await ws.receive_json(timeout=DEADLINE))["type"] == "hello"
        await ws.close()
    else:
        with pytest.raises(WSServerHandshakeError) as exc:
            await anna.client.ws_connect("/ws", headers=headers)
        assert exc.value.status == 403


@pytest.mark.parametrize("forwarded,origin,allowed", [
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.shop.example"},
     "https://crm.shop.example", True),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.shop.example"},
     "http://crm.shop.example", False),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.shop.example"},
     "https://crm.shop.example:8443", False),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.shop.example"},
     "https://evil.example", False),
])
async def test_behind_a_tls_proxy_the_origin_is_the_public_one(api, forwarded, origin, allowed):
    anna = await api.login("anna")
    headers = {"Origin": origin, **forwarded}
    if allowed:
        ws = await anna.client.ws_connect("/ws", headers=headers)
        assert (await ws.receive_json(timeout=DEADLINE))["type"] == "hello"
        await ws.close()
    else:
        with pytest.raises(WSServerHandshakeError) as exc:
            await anna.client.ws_connect("/ws", headers=headers)
        assert exc.value.status == 403


async def test_a_page_that_connects_while_the_server_shuts_down_is_refused(api):
    """A handshake still in flight when the pages are closed at shutdown would register after
    them and hold the server's stop until its timeout: it is closed at once instead."""
    anna = await api.login("anna")
    ws = await _open(anna)
    await api.app[CALLS].hub.shutdown()
    await _closed_with(ws, 1001)
    late = await anna.client.ws_connect("/ws")
    await _closed_with(late, 1001)
    assert api.app[CALLS].hub.pages_of(anna.user["id"]) == 0
