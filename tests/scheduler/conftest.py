"""The scheduler's tests: the real app on a real database (SQLite file, PostgreSQL), the clock in
the test's hand (FrozenClock), rounds run by the test (the app's own loop waits an hour between
rounds after the one at start) unless a test sets a short interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from callcenter.services.context import Actor
from callcenter.storage.tables import audit_log, tasks
from tests.api.conftest import Api, api_with  # noqa: F401

SYSTEM = Actor.system("test")
#: Monday 23 November 2026, 09:00 UTC = 12:00 in Moscow
START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@dataclass
class Desk:
    api: Api
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)

    @property
    def services(self):
        return self.api.services

    @property
    def scheduler(self):
        return self.api.services.scheduler

    @property
    def clock(self):
        return self.api.clock

    async def task(self, **values) -> int:
        """Insert a task as it would be in the database (open, due now unless told)."""
        now = self.clock()
        row = {"kind": "callback", "status": "open", "title": "Перезвонить", "due_at": now,
               "attempts": 0, "created_at": now, "updated_at": now}
        row.update(values)
        if row.get("client_id") and "phone_e164" not in row:
            row["phone_e164"] = PHONES.get(row["client_id"])
        async with self.services.db.write() as conn:
            return (await conn.execute(insert(tasks).values(**row).returning(tasks.c.id))
                    ).scalar_one()

    async def row(self, task_id: int) -> dict[str, Any]:
        async with self.services.db.read() as conn:
            return dict((await conn.execute(select(tasks).where(tasks.c.id == task_id))
                         ).one()._mapping)

    async def audits(self, action: str) -> list[dict[str, Any]]:
        async with self.services.db.read() as conn:
            rows = await conn.execute(select(audit_log).where(audit_log.c.action == action)
                                      .order_by(audit_log.c.id))
            return [dict(r._mapping) for r in rows]

    async def count(self, *where) -> int:
        async with self.services.db.read() as conn:
            return (await conn.execute(select(func.count()).select_from(tasks).where(*where))
                    ).scalar_one()


PHONES: dict[int, str] = {}


async def make_desk(api_with, **overrides) -> Desk:
    overrides.setdefault("scheduler_interval_seconds", 3600.0)
    api = await api_with(**overrides)
    api.clock.now = START
    desk = Desk(api)
    await desk.scheduler.wait_for_round()  # the round at start
    for login, ext in (("anna", "PJSIP/101"), ("boris", "PJSIP/102")):
        desk.users[login] = await api.user(login, "operator", extension=ext,
                                           name=login.title())
    for name, phone, extra in (("moscow", "+74951110001", {"timezone": "Europe/Moscow"}),
                               ("vladivostok", "+74232220002", {"city": "Владивосток"}),
                               ("nocall", "+74953330003", {"do_not_call": True,
                                                           "timezone": "Europe/Moscow"})):
        card = await api.services.clients.create(SYSTEM, {
            "name": name.title(), "phones": [phone], **extra, "force": True})
        desk.clients[name] = card["id"]
        PHONES[card["id"]] = phone
    return desk


@pytest.fixture
async def desk(api_with) -> Desk:
    return await make_desk(api_with)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
