"""The shipped nginx configuration in front of three real `callcenter serve` processes on one
real PostgreSQL database, with the AMI simulator as the PBX (over TCP): pages land on every
process and all get their pops; a state changed through one process shows on the boards
connected to the others; a process killed (-9) mid-call loses no call, doubles no callback, and
the other pops keep coming; restarted, it takes pages again and pops to them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from callcenter.ami.sim import AmiSimulator
from callcenter.app import create_app
from callcenter.http.keys import SERVICES
from callcenter.services.context import Actor
from callcenter.storage.database import Database
from callcenter.storage.tables import audit_log, calls, tasks
from tests.calls.conftest import AMI_SECRET, AMI_USER, TRACES
from tests.cluster.harness import Nginx, Server, free_port, nginx_binary
from tests.conftest import make_settings

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")]

SECRET = "cluster-test-secret-key-0123456789abcdef"
PEOPLE = (("101", "Анна Соколова", "operator", "PJSIP/101"),
          ("102", "Борис Кузнецов", "operator", "PJSIP/102"),
          ("sup", "Светлана", "supervisor", None))
# the address the browsers connect from: not the proxy's own, as on a real network
BROWSER_ADDRESS = "127.0.0.5"


@dataclass
class Page:
    """A logged-in browser tab: its HTTP session (through nginx) and its websocket."""

    login: str
    session: aiohttp.ClientSession
    csrf: str
    ws: aiohttp.ClientWebSocketResponse | None = None
    server: str | None = None
    inbox: list[dict] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task | None = None

    async def wait_for(self, kind: str, timeout: float = 10.0, **match) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for msg in self.inbox[seen:]:
                seen += 1
                if msg.get("type") == kind and all(msg.get(k) == v for k, v in match.items()):
                    return msg
            if loop.time() > deadline:
                raise AssertionError(f"{self.login}@{self.server}: no {kind} {match}; got "
                                     f"{[m.get('type') for m in self.inbox]}")
            await asyncio.sleep(0.02)

    def count(self, kind: str) -> int:
        return sum(1 for m in self.inbox if m.get("type") == kind)


@dataclass
class Cluster:
    db_url: str
    sim: AmiSimulator
    servers: list[Server]
    nginx: Nginx
    pages: list[Page] = field(default_factory=list)

    def connector(self) -> aiohttp.TCPConnector:
        return aiohttp.TCPConnector(local_addr=(BROWSER_ADDRESS, 0), force_close=False)

    async def page(self, login: str) -> Page:
        session = aiohttp.ClientSession(self.nginx.url, connector=self.connector(),
                                        cookie_jar=aiohttp.CookieJar(unsafe=True))
        resp = await session.post("/api/login", json={"login": login,
                                                      "password": "pw-secret-" + login})
        assert resp.status == 200, await resp.text()
        me = await (await session.get("/api/me")).json()
        page = Page(login, session, me["csrf_token"])
        self.pages.append(page)
        await self.connect(page)
        return page

    async def connect(self, page: Page) -> None:
        page.closed.clear()
        page.inbox = []
        page.ws = await page.session.ws_connect("/ws", headers={"Origin": self.nginx.url})
        hello = await page.ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        page.server = hello["server"]

        async def read() -> None:
            async for msg in page.ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    page.inbox.append(msg.json())
            page.closed.set()

        page.reader = asyncio.get_running_loop().create_task(read())

    async def pages_on_every_server(self, login: str, servers: int = 3,
                                    tries: int = 12) -> list[Page]:
        """Open pages for ``login`` until they sit on ``servers`` distinct processes."""
        mine: list[Page] = []
        for _ in range(tries):
            mine.append(await self.page(login))
            if len({p.server for p in mine if not p.closed.is_set()}) >= servers:
                return mine
        raise AssertionError(f"pages of {login} landed on {[p.server for p in mine]}")

    async def count(self, query) -> int:
        db = Database(self.db_url)
        try:
            async with db.read() as conn:
                return (await conn.execute(query)).scalar_one()
        finally:
            await db.dispose()

    async def wait_rows(self, query, expected: int, timeout: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (got := await self.count(query)) < expected:
            assert loop.time() < deadline, f"{got} rows, expected {expected}"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for page in self.pages:
            with contextlib.suppress(Exception):
                if page.ws is not None:
                    await page.ws.close()
                if page.reader is not None:
                    page.reader.cancel()
                await page.session.close()


async def seed(db_url: str) -> None:
    app = create_app(make_settings(db_url))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        accounts = app[SERVICES].accounts
        for login, name, role, ext in PEOPLE:
            await accounts.create_user(Actor.system("test"), {
                "login": login, "name": name, "role": role, "extension": ext,
                "password": "pw-secret-" + login})
    finally:
        await runner.cleanup()


@pytest.fixture
async def cluster(pg_url, tmp_path: Path):
    sim = AmiSimulator(AMI_USER, AMI_SECRET, seed=1)
    await sim.start()
    await seed(pg_url)
    env = {"CALLCENTER_DB_URL": pg_url, "CALLCENTER_SECRET_KEY": SECRET,
           "CALLCENTER_AMI_HOST": "127.0.0.1", "CALLCENTER_AMI_PORT": str(sim.port),
           "CALLCENTER_AMI_USERNAME": AMI_USER, "CALLCENTER_AMI_SECRET": AMI_SECRET,
           "CALLCENTER_TRUSTED_PROXIES": "127.0.0.1",
           "CALLCENTER_SESSION_CHECK_SECONDS": "3600",
           "CALLCENTER_SPOOL_DIR": str(tmp_path / "spool"),
           "CALLCENTER_RECORDINGS_DIR": str(tmp_path / "recordings"),
           "CALLCENTER_MONITOR_DIR": str(tmp_path / "monitor"),
           "CALLCENTER_BACKUP_DIR": str(tmp_path / "backups"),
           "CALLCENTER_DOCUMENTS_DIR": str(tmp_path / "documents"),
           "CALLCENTER_ASTERISK_CDR_FILE": "", "CALLCENTER_BACKUP_TIME": "",
           "CALLCENTER_LOG_LEVEL": "INFO"}
    servers = [Server(free_port(), env, tmp_path) for _ in range(3)]
    nginx = Nginx(tmp_path / "nginx", [s.port for s in servers], f"127.0.0.1:{free_port()}")
    found = Cluster(pg_url, sim, servers, nginx)
    try:
        for server in servers:
            server.start()
        for server in servers:
            await asyncio.to_thread(server.wait_ready)
        await sim.wait_for_clients(3, timeout=10)
        nginx.start()
        yield found
    finally:
        await found.close()
        nginx.stop()
        for server in servers:
            await asyncio.to_thread(server.stop)
        await sim.stop()


async def test_pops_and_states_reach_every_process_and_a_killed_one_loses_nothing(cluster):
    anna = await cluster.pages_on_every_server("101")
    boards = await cluster.pages_on_every_server("sup")
    servers = {p.server for p in anna}
    assert len(servers) == 3

    # 1. a call rings 101 and 102: every page of 101's, wherever it is connected, pops it
    await cluster.sim.replay(TRACES / "inbound_answered.jsonl", speed=0)
    for page in anna:
        await page.wait_for("call.ringing")
        await page.wait_for("call.answered")
    await cluster.wait_rows(select(func.count()).select_from(calls).where(
        calls.c.status == "completed"), 1)

    # 2. an agent state chosen through one process reaches the boards on all of them
    boris = await cluster.page("102")
    resp = await boris.session.post("/api/agents/me/state", headers={"X-CSRF-Token":
                                                                      boris.csrf},
                                    json={"state": "paused", "reason": "lunch"})
    assert resp.status == 200, await resp.text()
    for board in boards:
        msg = await board.wait_for("agent.state")
        while not (msg["agent"]["login"] == "102" and msg["agent"]["state"] == "paused"):
            board.inbox.remove(msg)
            msg = await board.wait_for("agent.state")
    await boris.session.post("/api/agents/me/state", headers={"X-CSRF-Token": boris.csrf},
                             json={"state": "ready"})

    # 3. a process is killed while a missed call rings: the call is logged once, its callback
    # opened once, and the pages on the other processes get the next call's pop
    victim_node = anna[0].server
    victim = await which_server(cluster, victim_node)
    for page in anna + boards:
        page.inbox.clear()
    ringing = asyncio.get_running_loop().create_task(
        cluster.sim.replay(TRACES / "inbound_abandoned.jsonl", speed=2))
    for page in anna:
        await page.wait_for("call.ringing")
    victim.kill()
    await ringing
    await cluster.wait_rows(select(func.count()).select_from(calls).where(
        calls.c.status == "completed"), 2)
    await asyncio.sleep(1.0)
    assert await cluster.count(select(func.count()).select_from(calls)) == 2
    assert await cluster.count(select(func.count()).select_from(tasks).where(
        tasks.c.kind == "missed_call")) == 1
    assert await cluster.count(select(tasks.c.attempts).where(
        tasks.c.kind == "missed_call")) == 1
    survivors = [p for p in anna if p.server != victim_node]
    cut = [p for p in anna if p.server == victim_node]
    for page in cut:
        await asyncio.wait_for(page.closed.wait(), 10)
    for page in survivors:
        page.inbox.clear()
    await cluster.sim.replay(TRACES / "inbound_answered.jsonl", speed=0)
    for page in survivors:
        await page.wait_for("call.ringing")
    # a cut page reconnects (as the app does) and lands on a living process
    for page in cut:
        await cluster.connect(page)
        assert page.server != victim_node

    # 4. restarted, the process connects to the PBX again and takes new pages
    victim.start()
    await asyncio.to_thread(victim.wait_ready)
    await cluster.sim.wait_for_clients(3, timeout=10)
    # nginx skips a process that failed for fail_timeout (5 s), then sends it the new pages
    # (least_conn: it has none)
    newcomer = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while newcomer is None and loop.time() < deadline:
        page = await cluster.page("101")
        if page.server not in servers:  # a new process id: the restarted one
            newcomer = page
        else:
            await page.ws.close()
            await asyncio.sleep(0.5)
    assert newcomer is not None, "no page landed on the restarted process"
    await cluster.wait_rows(select(func.count()).select_from(calls).where(
        calls.c.status == "completed"), 3)
    await cluster.sim.replay(TRACES / "inbound_answered.jsonl", speed=0)
    await newcomer.wait_for("call.ringing")
    await cluster.wait_rows(select(func.count()).select_from(calls).where(
        calls.c.status == "completed"), 4)
    await asyncio.sleep(1.0)
    assert await cluster.count(select(func.count()).select_from(calls)) == 4


async def which_server(cluster: Cluster, node: str) -> Server:
    """The process a page's hello named: its own pages' hellos say it, straight from its port."""
    for server in cluster.servers:
        async with aiohttp.ClientSession(server.url,
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            resp = await session.post("/api/login", json={"login": "sup",
                                                          "password": "pw-secret-sup"})
            assert resp.status == 200
            async with session.ws_connect("/ws") as ws:
                if (await ws.receive_json(timeout=5))["server"] == node:
                    return server
    raise AssertionError(f"no process is {node}")


async def test_the_audit_log_sees_the_browsers_address_not_a_forged_one(cluster):
    async with aiohttp.ClientSession(cluster.nginx.url, connector=cluster.connector()) as s:
        resp = await s.post("/api/login", json={"login": "sup", "password": "wrong-password"},
                            headers={"X-Forwarded-For": "6.6.6.6"})
        assert resp.status == 401
    # straight to a process, past the proxy: the header is not believed either
    async with aiohttp.ClientSession(cluster.servers[0].url,
                                     connector=cluster.connector()) as s:
        resp = await s.post("/api/login", json={"login": "sup", "password": "wrong-password"},
                            headers={"X-Forwarded-For": "6.6.6.6"})
        assert resp.status == 401
    db = Database(cluster.db_url)
    try:
        async with db.read() as conn:
            ips = (await conn.execute(select(audit_log.c.ip).where(
                audit_log.c.action == "login.failed").order_by(audit_log.c.id))).scalars().all()
    finally:
        await db.dispose()
    assert ips == [BROWSER_ADDRESS, BROWSER_ADDRESS]
