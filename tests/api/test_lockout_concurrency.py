"""The lockout holds however the guesses are timed: 100 at once over real HTTP, on SQLite and
PostgreSQL, and split between two server instances sharing one database."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select

from callcenter.storage.tables import login_attempts
from tests.api.conftest import PASSWORD

WRONG = "wrong-password-guess"


async def _verified(api) -> list[bool]:
    """Every password actually checked, in the order they were settled."""
    async with api.services.db.read() as conn:
        rows = await conn.execute(
            select(login_attempts.c.success).where(login_attempts.c.login == "anna")
            .order_by(login_attempts.c.id))
        return [r.success for r in rows]


async def _guess(client, password):
    resp = await client.post("/api/login", json={"login": "anna", "password": password})
    body = await resp.json()
    assert resp.status in (200, 401, 429), body
    assert resp.status == 200 or body["error"]["code"] in ("invalid_credentials", "login_locked")
    return resp.status


async def test_after_five_failures_a_burst_with_the_right_password_gets_nowhere(api):
    await api.user("anna")
    for _ in range(5):
        await _guess(api.anon, WRONG)
    passwords = [WRONG] * 99
    passwords.insert(37, PASSWORD)
    statuses = await asyncio.gather(*(_guess(api.anon, p) for p in passwords))
    assert set(statuses) == {429}
    assert await _verified(api) == [False] * 5  # none of the 100 was even checked


async def test_a_burst_of_100_guesses_checks_at_most_five_before_the_right_one(api):
    await api.user("anna")
    passwords = [WRONG] * 99
    passwords.insert(50, PASSWORD)
    statuses = await asyncio.gather(*(_guess(api.anon, p) for p in passwords))
    verified = await _verified(api)
    assert statuses.count(200) <= 1
    if True in verified:
        # the right password got in only because fewer than five failures came before it
        assert verified.index(True) < 5 and statuses.count(200) == 1
    else:
        assert statuses.count(200) == 0 and len(verified) == 5
        resp = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
        assert resp.status == 429
    # at most five checks per window: one window before a success, one after it
    assert len(verified) <= 10
    assert statuses.count(429) >= 90


async def test_a_burst_of_wrong_guesses_verifies_exactly_five_and_locks(api):
    await api.user("anna")
    statuses = await asyncio.gather(*(_guess(api.anon, WRONG) for _ in range(100)))
    assert await _verified(api) == [False] * 5
    assert statuses.count(401) + statuses.count(429) == 100 and statuses.count(401) <= 4
    api.clock.advance(minutes=14)
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": PASSWORD})
    assert resp.status == 429
    assert "locked_until" in (await resp.json())["error"]["details"]


async def test_two_servers_on_one_database_share_the_count(api_with):
    first = await api_with()
    second = await api_with()  # its own Database, engine and pool on the same database
    assert first.services.db is not second.services.db
    await first.user("anna")
    guesses = [_guess(first.anon if i % 2 else second.anon, WRONG) for i in range(60)]
    passwords_right = [_guess(second.anon, PASSWORD), _guess(first.anon, PASSWORD)]
    # the right password arrives after the wrong ones have been sent
    statuses = await asyncio.gather(*guesses)
    assert await _verified(first) == [False] * 5
    assert statuses.count(401) <= 4
    assert await asyncio.gather(*passwords_right) == [429, 429]


class _WatchedHasher:
    """The real hasher, noting which thread runs each verification and how many run at once."""

    def __init__(self, hasher):
        self.hasher = hasher
        self.threads: set[str] = set()
        self.running = self.most = 0
        self.lock = threading.Lock()

    def verify(self, stored, password):
        with self.lock:
            self.threads.add(threading.current_thread().name)
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return self.hasher.verify(stored, password)
        finally:
            with self.lock:
                self.running -= 1

    def __getattr__(self, name):
        return getattr(self.hasher, name)


async def test_a_burst_is_verified_off_the_event_loop_by_a_bounded_pool(api):
    """Hashes run in a bounded thread pool, never on the loop, and the health check answers
    while a burst of logins is being verified."""
    from callcenter.services.accounts import PASSWORD_THREADS

    await api.user("anna")
    watched = _WatchedHasher(api.services.accounts.hasher)
    api.services.accounts.hasher = watched
    loop = asyncio.get_running_loop()
    done = {}

    async def burst():
        # unknown logins: each is checked (against a dummy hash) under its own guard
        results = await asyncio.gather(*(api.anon.post(
            "/api/login", json={"login": f"nobody{i}", "password": WRONG}) for i in range(12)))
        done["burst"] = loop.time()
        return results

    async def health():
        while not watched.running:  # once the burst is being verified
            await asyncio.sleep(0.001)
        resp = await api.anon.get("/api/health")
        done["health"] = loop.time()
        return resp

    results, resp = await asyncio.wait_for(asyncio.gather(burst(), health()), 20)
    assert resp.status == 200 and done["health"] < done["burst"]
    assert all(r.status == 401 for r in results)
    assert threading.main_thread().name not in watched.threads
    assert all(name.startswith("argon2") for name in watched.threads), watched.threads
    assert 1 <= watched.most <= PASSWORD_THREADS
