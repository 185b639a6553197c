"""Three call logs on one PostgreSQL database, as three server processes that each follow the
same PBX: every one stores every record it sees, at the same time, in batches cut differently.
The database ends up as one process alone would leave it: each call once, each callback opened
once and each missed call counted once on it, each event once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from callcenter.domain.call_records import CallRecord
from callcenter.services.call_log import CallLog
from callcenter.storage.database import Database
from callcenter.storage.tables import calls, events, tasks
from tests.conftest import PG_URL, _pg_admin, create_from_template

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def record(i: int, final: bool) -> CallRecord:
    # 40 callers, so that one number's missed calls end in several processes' batches at once
    start = T0 + timedelta(seconds=i)
    base = dict(key=f"1796000000.{i}", linkedid=f"1796000000.{i}", direction="inbound",
                started_at=start, caller=f"7903{i % 40:07d}", queue="shop")
    if not final:
        return CallRecord(**base)
    answered = i % 4 == 0
    return CallRecord(**base, ended_at=start + timedelta(seconds=20),
                      outcome="answered" if answered else "missed",
                      answered_by="PJSIP/101" if answered else None,
                      answered_at=start + timedelta(seconds=4) if answered else None,
                      talk_seconds=16.0 if answered else 0.0)


def stream(total: int) -> list[CallRecord]:
    """What the PBX tells, in order: calls start, and end a little later."""
    out = []
    for i in range(total):
        out.append(record(i, final=False))
        if i >= 3:
            out.append(record(i - 3, final=True))
    out += [record(i, final=True) for i in range(max(0, total - 3), total)]
    return out


async def follow(log: CallLog, records: list[CallRecord], seed: int) -> None:
    rng = random.Random(seed)
    at = 0
    while at < len(records):
        size = rng.randint(1, 25)
        async with log.db.write() as conn:
            await log._upsert(conn, records[at:at + size])
        at += size
        await asyncio.sleep(0)


async def outcome(db: Database) -> tuple:
    async with db.read() as conn:
        rows = (await conn.execute(select(calls.c.call_key, calls.c.status,
                                          calls.c.outcome))).all()
        missed = (await conn.execute(select(tasks.c.phone_e164, tasks.c.status,
                                            tasks.c.attempts, tasks.c.closed_reason)
                                     .where(tasks.c.kind == "missed_call"))).all()
        kinds = Counter((await conn.execute(select(events.c.type))).scalars())
    return (sorted(tuple(r) for r in rows), sorted(tuple(m) for m in missed), kinds)


async def test_three_processes_store_what_one_would(pg_url, pg_template):
    records = stream(400)
    # the reference: one process alone, on a database of its own
    name = f"cc_test_{uuid.uuid4().hex[:10]}"
    await _pg_admin(create_from_template(name, pg_template))
    alone_db = Database(make_url(PG_URL).set(database=name).render_as_string(
        hide_password=False))
    try:
        await follow(CallLog(alone_db, lambda: T0, "RU", lambda _e: None), records, seed=0)
        expected = await outcome(alone_db)
    finally:
        await alone_db.dispose()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    dbs = [Database(pg_url) for _ in range(3)]
    try:
        logs = [CallLog(db, lambda: T0, "RU", lambda _e: None) for db in dbs]
        await asyncio.gather(*(follow(log, records, seed=n + 1) for n, log in enumerate(logs)))
        got = await outcome(dbs[0])
    finally:
        for db in dbs:
            await db.dispose()
    assert len(got[0]) == 400 and {r[1] for r in got[0]} == {"completed"}
    assert got[0] == expected[0]
    assert got[1] == expected[1]  # the same callbacks, each missed call counted once
    assert got[2] == expected[2] == Counter({"call.started": 400, "call.missed": 300,
                                             "call.ended": 100})
