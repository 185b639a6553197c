"""Login, sessions, lockout, logout, audit of logins."""

import pytest

from callcenter.storage import audit
from tests.api.conftest import PASSWORD


async def test_login_sets_httponly_samesite_cookie_and_me_works(api):
    await api.user("anna", name="Анна Соколова", extension="PJSIP/101")
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    assert resp.status == 200
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    body = await resp.json()
    assert body["user"]["name"] == "Анна Соколова" and body["user"]["extension"] == "PJSIP/101"
    assert "password_hash" not in body["user"]
    me = await (await api.anon.get("/api/me")).json()
    assert me["user"]["login"] == "anna" and me["csrf_token"] == body["csrf_token"]


async def test_wrong_password_and_unknown_login_are_the_same_error(api):
    await api.user("anna")
    for login, password in (("anna", "wrong"), ("nobody", "secret-pw")):
        resp = await api.anon.post("/api/login", json={"login": login, "password": password})
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "invalid_credentials"


async def test_five_failures_lock_the_account_for_that_address_for_15_minutes(api):
    await api.user("anna")
    for attempt in range(4):
        resp = await api.anon.post("/api/login", json={"login": "anna", "password": "bad"})
        assert resp.status == 401, attempt
        api.clock.advance(seconds=30)
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": "bad"})
    assert resp.status == 429
    body = await resp.json()
    assert body["error"]["code"] == "login_locked" and "locked" in body["error"]["message"]
    # even the right password is refused while locked
    api.clock.advance(minutes=10)
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    assert resp.status == 429
    api.clock.advance(minutes=6)
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    assert resp.status == 200


async def test_logins_and_failures_are_audited_with_ip(api):
    await api.user("anna")
    await api.anon.post("/api/login", json={"login": "anna", "password": "bad"})
    await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    async with api.services.db.read() as conn:
        rows, _ = await audit.list_entries(conn, limit=10, offset=0, action=None, user_id=None)
    actions = [(r["action"], r["login"], r["ip"]) for r in rows]
    assert ("login", "anna", "127.0.0.1") in actions
    assert ("login.failed", "anna", "127.0.0.1") in actions


async def test_logout_ends_the_session(api):
    s = await api.login("anna")
    assert (await s.get("/api/me")).status == 200
    assert (await s.post("/api/logout")).status == 200
    assert (await s.get("/api/me")).status == 401


async def test_deactivated_user_loses_sessions_and_cannot_log_in(api):
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    resp = await admin.patch(f"/api/users/{anna.user['id']}", json={"active": False})
    assert resp.status == 200
    assert (await anna.get("/api/me")).status == 401
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    assert resp.status == 401


@pytest.mark.real_argon2
async def test_admin_manages_users_and_passwords_are_hashed_with_argon2(api):
    admin = await api.login("root", "admin")
    resp = await admin.post("/api/users", json={"login": "boris", "name": "Борис", "role": "operator",
                                                "extension": "PJSIP/102", "password": "pw-boris-long"})
    assert resp.status == 201
    resp = await admin.post("/api/users", json={"login": "boris", "name": "B", "role": "operator",
                                                "password": "pw"})
    assert resp.status in (409, 422)
    resp = await admin.post("/api/users", json={"login": "x y", "role": "king", "password": ""})
    assert resp.status == 422
    assert set((await resp.json())["error"]["details"]["fields"]) >= {"login", "role", "password"}
    from callcenter.storage.users import get_user_with_hash

    async with api.services.db.read() as conn:
        row = await get_user_with_hash(conn, "boris")
    assert row["password_hash"].startswith("$argon2id$") and "pw-boris-long" not in row["password_hash"]
    # argon2-cffi's defaults (RFC 9106's low-memory choice), not the tests' cheap ones
    assert row["password_hash"].split("$")[3] == "m=65536,t=3,p=4"


async def test_a_password_change_ends_every_session_of_that_user(api):
    admin = await api.login("root", "admin")
    anna = await api.login("anna")
    anna_phone = await api.login("anna", create=False)
    resp = await admin.patch(f"/api/users/{anna.user['id']}", json={"password": "a-new-password-1"})
    assert resp.status == 200
    assert (await anna.get("/api/me")).status == 401
    assert (await anna_phone.get("/api/me")).status == 401
    assert (await admin.get("/api/me")).status == 200  # other users keep theirs
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": "a-new-password-1"})
    assert resp.status == 200


async def test_log_out_everywhere_ends_all_sessions_of_that_user_only(api):
    anna = await api.login("anna")
    anna_phone = await api.login("anna", create=False)
    boris = await api.login("boris")
    assert (await anna.post("/api/logout/everywhere")).status == 200
    assert (await anna.get("/api/me")).status == 401
    assert (await anna_phone.get("/api/me")).status == 401
    assert (await boris.get("/api/me")).status == 200
    async with api.services.db.read() as conn:
        rows, _ = await audit.list_entries(conn, limit=10, offset=0, action="logout.everywhere",
                                           user_id=None)
    assert [r["login"] for r in rows] == ["anna"]


async def test_a_refused_claim_is_not_a_failure_and_a_success_clears_the_count(api):
    await api.user("anna")
    for _ in range(4):
        assert (await api.anon.post("/api/login", json={"login": "anna", "password": "bad"})
                ).status == 401
    assert (await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
            ).status == 200
    for _ in range(4):  # counted afresh after the success
        assert (await api.anon.post("/api/login", json={"login": "anna", "password": "bad"})
                ).status == 401
