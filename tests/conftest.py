"""Shared fixtures: real databases (a SQLite file, and a real PostgreSQL server), the real app.

PostgreSQL: set CALLCENTER_TEST_PG_URL (e.g. postgresql+asyncpg://callcenter:callcenter@127.0.0.1:5432/postgres)
to a role allowed to create databases; `make test` starts a local server and sets it. Without it
the PostgreSQL variants are skipped, except under CI where that is an error.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from callcenter.config import load_settings
from callcenter.storage.database import Database
from callcenter.storage.migrate import upgrade

PG_URL = os.environ.get("CALLCENTER_TEST_PG_URL")
IN_CI = os.environ.get("CI") == "true"


def pytest_collection_modifyitems(config, items):
    if PG_URL is None and IN_CI:
        raise pytest.UsageError("CI=true but CALLCENTER_TEST_PG_URL is not set: the PostgreSQL "
                                "tests must run in CI (use `make test`)")
    # Playwright's sync API keeps an event loop marked as running in the main thread for as long
    # as the browser lives: the async tests go first, the browser tests last
    items.sort(key=lambda item: "/tests/browser/" in str(item.path).replace("\\", "/"))


def _run(coro):
    """Run a coroutine to completion from sync code, even where another loop is running
    (Playwright's sync API keeps one in the main thread)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(PG_URL)
    conn = await asyncpg.connect(user=url.username, password=url.password, host=url.host,
                                 port=url.port or 5432, database=url.database or "postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


_PG_VERSION: list[int] = []


def create_from_template(name: str, template: str) -> str:
    """The statement copying ``template`` into database ``name``: by files on PostgreSQL 15
    and later (its default, WAL_LOG, writes every block to the WAL: four to five times slower
    for a database this size)."""
    if not _PG_VERSION:
        async def version() -> int:
            import asyncpg

            url = make_url(PG_URL)
            conn = await asyncpg.connect(user=url.username, password=url.password,
                                         host=url.host, port=url.port or 5432,
                                         database=url.database or "postgres")
            try:
                return int(await conn.fetchval("SHOW server_version_num"))
            finally:
                await conn.close()
        _PG_VERSION.append(_run(version()))
    strategy = " STRATEGY FILE_COPY" if _PG_VERSION[0] >= 150000 else ""
    return f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}'


@pytest.fixture(scope="session")
def pg_template() -> str:
    if PG_URL is None:
        pytest.skip("no PostgreSQL server (set CALLCENTER_TEST_PG_URL or run `make test`)")
    name = f"cc_template_{uuid.uuid4().hex[:8]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    _run(_migrate(make_url(PG_URL).set(database=name).render_as_string(hide_password=False)))
    yield name
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def cheap_argon2(request, monkeypatch):
    """Passwords hashed with argon2id's cheapest parameters: each test creates and logs in
    several users, and the product's parameters cost a third of a second a hash on a loaded
    test machine. Tests marked ``real_argon2`` keep the product's own."""
    if request.node.get_closest_marker("real_argon2"):
        return
    from argon2 import PasswordHasher

    import callcenter.services.accounts as accounts

    monkeypatch.setattr(accounts, "PasswordHasher",
                        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A freshly migrated database of each kind: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "callcenter.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"cc_test_{uuid.uuid4().hex[:10]}"
    _run(_pg_admin(create_from_template(name, template)))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "callcenter.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def make_settings(db_url: str, **overrides: Any):
    env = {"CALLCENTER_DB_URL": db_url, "CALLCENTER_SECRET_KEY": "test-secret-key",
           "CALLCENTER_RECORDINGS_DIR": f"/tmp/callcenter-test-recordings/{uuid.uuid5(uuid.NAMESPACE_URL, db_url)}",
           "CALLCENTER_MONITOR_DIR": "/tmp/callcenter-test-monitor",
           # a PBX's real CDR file on the test machine must not leak into tests
           "CALLCENTER_ASTERISK_CDR_FILE": "",
           "CALLCENTER_SPOOL_DIR": f"/tmp/callcenter-test-spool/{uuid.uuid5(uuid.NAMESPACE_URL, db_url)}",
           # backups: never into the repository's var/backups
           "CALLCENTER_BACKUP_DIR": f"/tmp/callcenter-test-backups/{uuid.uuid5(uuid.NAMESPACE_URL, db_url)}"}
    settings = load_settings(environ=env)
    return settings.replace(**overrides) if overrides else settings


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a port the OS picked and already listening: hand it to the server
    (``web.SockSite``, ``asyncio.start_server(sock=...)``). Binding, closing and binding again
    would let another process take the port in between."""
    return socket.create_server((host, 0))


@dataclass
class LiveServer:
    """The real app served on a real port from a background thread, for browser tests."""

    url: str
    loop: asyncio.AbstractEventLoop
    services: Any
    app: Any = None
    sim: Any = None

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def create_user(self, login: str, password: str, role: str, name: str | None = None,
                    extension: str | None = None) -> dict:
        from callcenter.services.context import Actor

        return self.call(self.services.accounts.create_user(Actor.system("test"), {
            "login": login, "password": password, "role": role, "name": name or login,
            "extension": extension}))

    def create_client(self, **fields) -> dict:
        from callcenter.services.context import Actor

        fields.setdefault("force", True)
        return self.call(self.services.clients.create(Actor.system("test"), fields))

    def create_shop(self, slug: str, name: str) -> dict:
        from callcenter.services.context import Actor

        return self.call(self.services.orders.create_shop(Actor.system("test"),
                                                          {"slug": slug, "name": name}))

    def replay(self, trace: str, speed: float = 1.0, fresh_ids: bool = True) -> None:
        """Replay a real AMI trace (tests/traces/NAME.jsonl) through the AMI simulator."""
        path = Path(__file__).resolve().parent / "traces" / f"{trace}.jsonl"
        self.call(self.sim.replay(path, speed=speed, fresh_ids=fresh_ids))

    def wait_ami_connected(self, timeout: float = 10) -> None:
        from callcenter.http.keys import CALLS

        self.call(self.app[CALLS].ami.wait_connected(timeout))


def _task_stacks(loop) -> str:
    """What every task of ``loop`` waits on, to tell why a stop hangs."""
    import io

    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=8, file=out)
    return out.getvalue()


def _serve_in_thread(settings, before=None, sock=None):
    from aiohttp import web

    from callcenter.app import create_app
    from callcenter.http.keys import SERVICES

    loop = asyncio.new_event_loop()
    started = threading.Event()
    state: dict[str, Any] = {}

    async def start():
        if before is not None:
            state.update(await before())
        app = create_app(state.pop("settings", settings))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        state["runner"], state["app"] = runner, app

    def run():
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        finally:
            started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30) and "app" in state, "the server did not start"
    app = state["app"]
    server = LiveServer(f"http://127.0.0.1:{app[SERVICES].settings.http_port}", loop,
                        app[SERVICES], app=app, sim=state.get("sim"))

    def stop():
        async def cleanup():
            await state["runner"].cleanup()
            if state.get("sim") is not None:
                await state["sim"].stop()
        try:
            asyncio.run_coroutine_threadsafe(cleanup(), loop).result(timeout=30)
        except TimeoutError:
            raise AssertionError("the server did not stop within 30 s; its tasks:\n" +
                                 _task_stacks(loop)) from None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return server, stop


@pytest.fixture
def live_server(sqlite_url):
    sock = listening_socket()
    server, stop = _serve_in_thread(
        make_settings(sqlite_url, http_port=sock.getsockname()[1]), sock=sock)
    yield server
    stop()


@pytest.fixture
def live_pbx(sqlite_url):
    """The real app on a real port, listening to an AMI simulator on another real port."""
    from callcenter.ami.sim import AmiSimulator

    sock = listening_socket()

    async def before():
        sim = AmiSimulator("callcenter", "test-ami-secret", seed=3)
        port = await sim.start()
        return {"sim": sim, "settings": make_settings(
            sqlite_url, http_port=sock.getsockname()[1], ami_host="127.0.0.1", ami_port=port,
            ami_username="callcenter", ami_secret="test-ami-secret")}

    server, stop = _serve_in_thread(None, before, sock=sock)
    yield server
    stop()
