"""The backup with two server processes on one PostgreSQL database: the daily backup is made
once, by one of them, however their wake-ups fall; either one's status shows a backup the other
is making, and "Back up now" on one while the other backs up is refused as on one process."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.app import create_app
from callcenter.errors import BackupRunning
from callcenter.services.backup import BackupService, read_manifests
from callcenter.services.context import Actor
from callcenter.storage.database import Database
from tests.conftest import FrozenClock, make_settings

pytestmark = pytest.mark.postgres

JUST_BEFORE = datetime(2026, 12, 2, 2, 59, 59, 500000, tzinfo=timezone.utc)


class Process:
    """What one `callcenter serve` has of the backups: its own pools, its own backup folder."""

    def __init__(self, url: str, folder: Path, clock: FrozenClock):
        self.db = Database(url)
        self.backups = BackupService(self.db, clock, url=url, backup_dir=str(folder),
                                     keep_days=14, backup_time="03:00", timezone="UTC")
        self.folder = folder

    def made(self) -> list[str]:
        return [m["name"] for m in read_manifests(self.folder)]

    async def close(self) -> None:
        await self.backups.stop()
        await self.db.dispose()


@pytest.fixture
async def two(pg_url, tmp_path):
    clock = FrozenClock(JUST_BEFORE)
    a = Process(pg_url, tmp_path / "a", clock)
    b = Process(pg_url, tmp_path / "b", clock)
    yield a, b
    for p in (a, b):
        await p.close()


async def until(check, seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_the_daily_backup_is_made_once_when_the_other_process_wakes_later(two):
    a, b = two
    await a.backups.start()
    await until(lambda: _done(a))
    await a.backups.stop()  # its next wake-up is another day's
    # the other process wakes a little later the same night, after the first backup finished
    await b.backups.start()
    await asyncio.sleep(1.5)
    await until(lambda: _idle(b))
    assert len(a.made()) == 1 and b.made() == []


async def test_the_daily_backup_is_made_once_when_both_wake_together(two):
    a, b = two
    await asyncio.gather(a.backups.daily_run(), b.backups.daily_run())
    await asyncio.gather(a.backups.daily_run(), b.backups.daily_run())
    assert len(a.made() + b.made()) == 1
    manifest = read_manifests(a.folder if a.made() else b.folder)[0]
    assert manifest["verified"] is True, manifest


async def _done(p: Process) -> bool:
    return bool(p.made()) and not p.backups.running


async def _idle(p: Process) -> bool:
    return not p.backups.running


def hold_backups(process: Process) -> asyncio.Event:
    """Make ``process``'s backups wait (holding the lock, as a long pg_dump does) until the
    event is set."""
    release = asyncio.Event()
    real = process.backups.create

    async def slow_create(actor=None):
        await release.wait()
        return await real(actor)

    process.backups.create = slow_create
    return release


async def test_a_backup_of_one_process_shows_on_the_other_and_blocks_back_up_now(two):
    a, b = two
    release = hold_backups(a)
    assert (await b.backups.status())["running"] is False
    await a.backups.start_now(Actor.system("test"))
    assert (await a.backups.status())["running"] is True
    assert (await b.backups.status())["running"] is True
    with pytest.raises(BackupRunning):
        await b.backups.start_now(Actor.system("test"))
    # nor does B's daily job back up meanwhile (it finds the lock taken)
    assert await b.backups.daily_run() is None
    release.set()
    await until(lambda: _done(a))
    assert (await b.backups.status())["running"] is False
    await b.backups.start_now(Actor.system("test"))
    await until(lambda: _done(b))
    assert len(a.made()) == 1 and len(b.made()) == 1


async def test_back_up_now_over_http_on_the_other_process_is_a_409(two, pg_url):
    a, _ = two
    release = hold_backups(a)
    app = create_app(make_settings(pg_url, backup_time=""), clock=FrozenClock(JUST_BEFORE))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        from callcenter.http.keys import SERVICES

        await app[SERVICES].accounts.create_user(Actor.system("test"), {
            "login": "root", "role": "admin", "password": "secret-pw-10", "name": "Root"})
        resp = await client.post("/api/login", json={"login": "root",
                                                     "password": "secret-pw-10"})
        csrf = (await resp.json())["csrf_token"]
        await a.backups.start_now(Actor.system("test"))
        body = await (await client.get("/api/backups")).json()
        assert body["running"] is True
        resp = await client.post("/api/backups", headers={"X-CSRF-Token": csrf})
        assert resp.status == 409, await resp.text()
        assert (await resp.json())["error"]["code"] == "backup_running"
        release.set()
        await until(lambda: _done(a))
        body = await (await client.get("/api/backups")).json()
        assert body["running"] is False
    finally:
        release.set()
        await client.close()
