"""The real app started on a real database with Asterisk's real CDR rows as its CDR source."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.app import build_services, create_app
from callcenter.http.keys import CALLS, SERVICES
from callcenter.services.context import Actor, utc_now
from callcenter.storage.database import Database
from callcenter.storage.tables import calls, tasks
from tests.conftest import make_settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "cdr"


def lines_of(name: str) -> list[str]:
    return (SAMPLES / name).read_text(encoding="utf-8").splitlines(keepends=True)


def settled(path: Path) -> None:
    """Make the file look written a minute ago (nothing is being appended to it)."""
    past = time.time() - 60
    os.utime(path, (past, past))


async def seed(db_url: str) -> dict[str, Any]:
    """Operators 101 and 102 and the client Иван Петров (+79161234567), before the CRM starts."""
    db = Database(db_url)
    try:
        services = build_services(make_settings(db_url), db, utc_now)
        actor = Actor.system("test")
        users = {}
        for login, ext in (("101", "PJSIP/101"), ("102", "PJSIP/102")):
            users[login] = await services.accounts.create_user(actor, {
                "login": login, "name": f"Operator {login}", "role": "operator",
                "extension": ext, "password": "pw-long-enough-" + login})
        ivan = await services.clients.create(actor, {
            "name": "Иван Петров", "phones": [{"number": "+79161234567", "label": "mobile"}]})
        return {"users": users, "ivan": ivan["id"]}
    finally:
        await db.dispose()


@dataclass
class Crm:
    app: Any
    seeded: dict[str, Any]

    @property
    def telephony(self):
        return self.app[CALLS]

    @property
    def db(self):
        return self.app[SERVICES].db

    async def calls(self) -> dict[str, dict[str, Any]]:
        async with self.db.read() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(select(calls))]
        keys = [r["call_key"] for r in rows]
        assert len(keys) == len(set(keys)), "a call stored twice"
        return {r["call_key"]: r for r in rows}

    async def tasks(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(select(tasks))]

    async def wait_for_calls(self, count: int, timeout: float = 10.0) -> dict[str, dict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.telephony.cdr.wait_idle()
            found = await self.calls()
            if len(found) >= count or loop.time() > deadline:
                return found
            await asyncio.sleep(0.05)


async def start_crm(db_url: str, aiohttp_client, **settings: Any) -> Crm:
    seeded = await seed(db_url)
    app = create_app(make_settings(db_url, **settings))
    await aiohttp_client(app)
    return Crm(app, seeded)


def copy_sample(name: str, tmp_path: Path) -> Path:
    path = tmp_path / "cdr" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / name, path)
    settled(path)
    return path
