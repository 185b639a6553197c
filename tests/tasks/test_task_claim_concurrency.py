"""Next task under load: 50 operators claiming at once through several database engines (as
several server processes would), on a real SQLite file and a real PostgreSQL: no task handed
out twice, none lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from callcenter.domain.access import Role
from callcenter.services.clients import ClientService
from callcenter.services.context import Actor
from callcenter.services.outcomes import OutcomeService
from callcenter.services.tasks import TaskService
from callcenter.storage.database import Database
from callcenter.storage.tables import tasks, users
from tests.conftest import FrozenClock, make_settings

CLAIMERS = 50
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def _services(db_url: str, engines: int, clock) -> list[TaskService]:
    settings = make_settings(db_url)
    made = []
    for _ in range(engines):
        db = Database(db_url)
        clients = ClientService(db, clock, region="RU", shop_timezone="Europe/Moscow",
                                own_clients_only=False)
        made.append(TaskService(db, clock, settings, clients, OutcomeService(db, clock)))
    return made


async def _seed(db: Database, n_tasks: int) -> tuple[list[Actor], list[int]]:
    async with db.write() as conn:
        await conn.execute(insert(users), [{
            "login": f"op{i}", "name": f"Оператор {i}", "role": "operator",
            "password_hash": "x", "active": True, "language": "ru", "created_at": NOW,
            "updated_at": NOW} for i in range(CLAIMERS)])
        ids = [r.id for r in await conn.execute(select(users.c.id).order_by(users.c.id))]
        await conn.execute(insert(tasks), [{
            "kind": ("missed_call", "redial", "order_confirmation", "reminder")[i % 4],
            "status": "open", "title": f"Задача {i}", "due_at": NOW - timedelta(minutes=i),
            "ready_at": NOW - timedelta(minutes=i), "window_ends_at": NOW + timedelta(hours=1),
            "phone_e164": f"+7916{i:07d}", "rank": i % 4, "priority": i % 3, "attempts": 0,
            "failures": 0, "created_at": NOW, "updated_at": NOW} for i in range(n_tasks)])
        task_ids = [r.id for r in await conn.execute(select(tasks.c.id))]
    return [Actor(uid, f"op{n}", Role.OPERATOR, name=f"op{n}") for n, uid in enumerate(ids)], \
        task_ids


async def _close(services: list[TaskService]) -> None:
    for s in services:
        await s.close()
        await s.db.dispose()


async def test_fifty_claimers_working_tasks_through_several_engines(db_url):
    """Each claims, closes the task (an outcome), claims again, until nothing is left."""
    engines = 4 if db_url.startswith("postgresql") else 3
    clock = FrozenClock(NOW)
    services = _services(db_url, engines, clock)
    n_tasks = 180  # fewer than 50 claimers x their rounds
    try:
        actors, task_ids = await _seed(services[0].db, n_tasks)
        start = asyncio.Event()
        handed: list[tuple[int, int]] = []

        async def operator(n: int) -> None:
            service, actor = services[n % engines], actors[n]
            await start.wait()
            while True:
                got = await service.claim_next(actor)
                if got is None:
                    return
                handed.append((got["task"]["id"], actor.user_id))
                await service.record_outcome(actor, got["task"]["id"], "paid")

        workers = [asyncio.create_task(operator(n)) for n in range(CLAIMERS)]
        start.set()
        await asyncio.wait_for(asyncio.gather(*workers), 120)
        counts = Counter(task_id for task_id, _ in handed)
        assert [t for t, c in counts.items() if c > 1] == [], "a task was handed out twice"
        assert sorted(counts) == sorted(task_ids), "a task was never handed out"
        assert len({uid for _, uid in handed}) > 1  # really spread over the operators
        async with services[0].db.read() as conn:
            statuses = Counter(r.status for r in await conn.execute(select(tasks.c.status)))
        assert statuses == {"done": n_tasks}
    finally:
        await _close(services)


async def test_fifty_claimers_at_once_each_hold_a_different_task(db_url):
    """More operators than tasks, all asking in the same instant and holding their lease:
    every task goes to exactly one of them, the others get nothing; asking again gives each
    their own task back."""
    engines = 4 if db_url.startswith("postgresql") else 3
    clock = FrozenClock(NOW)
    services = _services(db_url, engines, clock)
    try:
        actors, task_ids = await _seed(services[0].db, 40)
        start = asyncio.Event()

        async def claim(n: int):
            await start.wait()
            got = await services[n % engines].claim_next(actors[n])
            return got["task"]["id"] if got else None

        workers = [asyncio.create_task(claim(n)) for n in range(CLAIMERS)]
        start.set()
        results = await asyncio.wait_for(asyncio.gather(*workers), 60)
        held = [r for r in results if r is not None]
        assert len(held) == len(set(held)) == 40
        assert sorted(held) == sorted(task_ids)
        assert results.count(None) == CLAIMERS - 40
        again = await asyncio.gather(*(services[(n + 1) % engines].claim_next(actors[n])
                                       for n in range(CLAIMERS)))
        assert [g["task"]["id"] if g else None for g in again] == results
    finally:
        await _close(services)
