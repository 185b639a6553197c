"""Calls that ended while the AMI link was down: the resync's record is a guess, stored
``unknown``, completed by a better record (another process's, the CDR's) or, when none comes,
by the guess itself once its grace is over; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from callcenter.domain.call_records import CallRecord
from callcenter.services.call_log import (
    CallLog, read_spool, record_from_json, record_to_json, record_values, status_of,
)
from callcenter.storage import calls as repo
from callcenter.storage.database import Database
from callcenter.storage.tables import calls, events, recordings, tasks

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
CALLER = "+79161234567"


def started(key: str = "1797000000.1") -> CallRecord:
    return CallRecord(key=key, linkedid=key, direction="inbound", started_at=T0, caller=CALLER,
                      callee="74951234567", operators_rung=("PJSIP/101", "PJSIP/102"),
                      ring_started_at=T0 + timedelta(seconds=2), queue="shop")


def missed(key: str = "1797000000.1", **changes) -> CallRecord:
    return replace(started(key), ended_at=T0 + timedelta(seconds=20), outcome="missed",
                   talk_seconds=0.0, **changes)


def answered(key: str = "1797000000.1", **changes) -> CallRecord:
    return replace(started(key), ended_at=T0 + timedelta(seconds=50), outcome="answered",
                   answered_by="PJSIP/101", handled_by=("PJSIP/101",),
                   answered_at=T0 + timedelta(seconds=6), talk_seconds=44.0,
                   hangup_side="customer", recording="2026/12/01/in-1797000000.1.wav",
                   **changes)


def guess(record: CallRecord) -> CallRecord:
    """What the resync tells of the call: its end seen at the reconnect, nobody hung up."""
    return replace(record, vanished=True, ended_at=T0 + timedelta(seconds=90), hangup_side=None)


# -- the record's status and columns: pure -------------------------------------------------

@pytest.mark.parametrize("record, status, outcome", [
    (started(), "in_progress", "unknown"),
    (missed(), "completed", "missed"),
    (answered(), "completed", "answered"),
    (guess(missed()), "unknown", "unknown"),
    (guess(answered()), "unknown", "unknown"),
    (replace(guess(missed()), vanished=False), "completed", "missed"),
])
def test_a_vanished_record_is_unknown_never_completed(record, status, outcome):
    values = record_values(record, "RU")
    assert (status_of(record), values["status"], values["outcome"]) == (status, status, outcome)
    if record.vanished:
        assert values["ended_at"] == T0 + timedelta(seconds=90) and values["wait_seconds"] is None


@pytest.mark.parametrize("record", [guess(missed()), guess(answered()), missed(), started()])
def test_the_spool_keeps_whether_a_record_is_a_guess(record):
    data = record_to_json(record)
    assert data["vanished"] is record.vanished
    assert record_from_json(data) == record


# -- stored on a real database ---------------------------------------------------------------

KEY = "1797000000.1"


@pytest.fixture
async def logs(db_url, tmp_path):
    """``logs(process, grace)``: the call log of one of two server processes on the database
    (each its own connections); closed at the end."""
    dbs = [Database(db_url), Database(db_url)]
    made: list[CallLog] = []

    def make(process: int = 0, grace: float = 60.0) -> CallLog:
        log = CallLog(dbs[process], lambda: T0 + timedelta(minutes=5), "RU",
                      lambda _endpoint: None, retry_seconds=0.05, vanished_grace_seconds=grace)
        made.append(log)
        return log

    yield make
    for n, log in enumerate(made):
        await log.close(1.0, tmp_path / f"spool-{n}.jsonl")
    for db in dbs:
        await db.dispose()


async def state(log: CallLog) -> dict:
    async with log.db.read() as conn:
        rows = {r.call_key: dict(r._mapping) for r in await conn.execute(select(calls))}
        callbacks = [(r.phone_e164, r.status, r.attempts) for r in await conn.execute(
            select(tasks).where(tasks.c.kind == "missed_call").order_by(tasks.c.id))]
        kinds = sorted((await conn.execute(select(events.c.type))).scalars())
        queued = (await conn.execute(select(recordings.c.call_id))).scalars().all()
    row = rows.get(KEY)
    return {"row": row, "status": row and (row["status"], row["outcome"]), "rows": len(rows),
            "callbacks": callbacks, "events": kinds, "recordings": list(queued)}


def utc(value: datetime | None) -> datetime | None:
    # SQLite gives naive UTC times back
    return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)


async def settled(log: CallLog, timeout: float = 5.0) -> dict:
    """The state once the guess's grace is over and its final record stored."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await log.flush()
        got = await state(log)
        if got["status"][0] == "completed" or loop.time() > deadline:
            return got
        await asyncio.sleep(0.05)


async def test_a_vanished_call_is_stored_unknown_and_opens_no_callback(logs):
    log = logs()
    log.started(started())
    await log.flush()
    assert (await state(log))["status"] == ("in_progress", "unknown")
    stored = log.ended(guess(missed()))
    await log.flush()
    got = await state(log)
    assert got["status"] == ("unknown", "unknown")
    # the in-progress row took the guess's fields
    assert utc(got["row"]["ended_at"]) == T0 + timedelta(seconds=90)
    assert got["row"]["operators_rung"] == ["PJSIP/101", "PJSIP/102"]
    assert await stored == got["row"]["id"]
    assert got["callbacks"] == [] and got["events"] == ["call.started"]


async def test_a_full_record_after_the_guess_completes_it_and_opens_one_callback(logs):
    this, other = logs(0), logs(1)
    this.ended(guess(missed()))
    await this.flush()
    assert (await state(this))["status"] == ("unknown", "unknown")
    # the process that followed the call stores what happened, and again (a replay)
    await other.store(missed())
    await other.store(missed())
    got = await state(this)
    assert got["status"] == ("completed", "missed")
    assert utc(got["row"]["ended_at"]) == T0 + timedelta(seconds=20)
    assert got["callbacks"] == [(CALLER, "open", 1)]
    assert got["events"] == ["call.missed", "call.started"]


async def test_an_answer_told_after_a_missed_guess_opens_no_callback(logs):
    this, other = logs(0), logs(1)
    this.ended(guess(missed()))
    await this.flush()
    await other.store(answered())
    got = await state(this)
    assert got["status"] == ("completed", "answered")
    assert got["callbacks"] == [] and got["recordings"] == [got["row"]["id"]]
    assert got["events"] == ["call.ended", "call.started"]


async def test_an_answered_guess_closes_nothing_until_the_answer_is_told(logs):
    this, other = logs(0), logs(1)
    await other.store(missed("1797000000.0"))  # an earlier missed call opened a callback
    this.ended(guess(answered()))
    await this.flush()
    got = await state(this)
    assert got["status"] == ("unknown", "unknown")
    assert got["callbacks"] == [(CALLER, "open", 1)] and got["recordings"] == []
    await other.store(answered())
    got = await state(this)
    assert got["status"] == ("completed", "answered")
    assert [c[1] for c in got["callbacks"]] == ["done"] and got["recordings"] == [got["row"]["id"]]


async def test_a_guess_after_the_full_record_changes_nothing(logs):
    this, other = logs(0, grace=0.2), logs(1)
    this.start()
    await other.store(missed())
    before = await state(this)
    this.ended(guess(answered()))
    await this.flush()
    assert await state(this) == before
    await asyncio.sleep(0.5)  # the grace is over: the guess, stored as final, changes nothing
    await this.flush()
    assert await state(this) == before
    assert before["status"] == ("completed", "missed") and len(before["callbacks"]) == 1


async def test_an_unknown_row_is_left_as_it_is_by_a_guess(logs):
    log = logs()
    log.started(started())
    await log.flush()
    async with log.db.write() as conn:
        call_id = (await repo.call_states(conn, [KEY]))[KEY][0]
        assert await repo.close_as_unknown(conn, [call_id]) == 1
    await log.store(guess(missed()))
    got = await state(log)
    assert got["status"] == ("unknown", "unknown") and got["row"]["ended_at"] is None


async def test_with_nothing_better_the_guess_is_completed_after_its_grace(logs):
    log = logs(grace=0.2)
    log.start()
    log.ended(guess(missed()))
    await log.flush()
    assert (await state(log))["status"] == ("unknown", "unknown")
    got = await settled(log)
    assert got["status"] == ("completed", "missed"), "the guess was never stored as final"
    assert utc(got["row"]["ended_at"]) == T0 + timedelta(seconds=90)
    assert got["callbacks"] == [(CALLER, "open", 1)]
    assert got["events"] == ["call.missed", "call.started"]
    await asyncio.sleep(0.3)
    assert await state(log) == got  # settled once


async def test_a_guess_not_settled_at_stop_is_spooled_and_waits_its_grace_again(logs, tmp_path):
    spool = tmp_path / "spool" / "unsaved-calls.jsonl"
    log = logs(0, grace=0.2)
    log.start()
    log.ended(guess(missed()))
    await log.flush()
    assert await log.close(1.0, spool) == 1  # stored unknown, its grace not over
    assert read_spool(spool) == [guess(missed())]
    await asyncio.sleep(0.4)  # the stopped log's timer is cancelled: nothing settles
    assert (await state(log))["status"] == ("unknown", "unknown")

    again = logs(1, grace=0.2)
    again.start()
    assert await again.restore(spool) == 1 and not spool.exists()
    assert (await state(again))["status"] == ("unknown", "unknown")
    got = await settled(again)
    assert got["status"] == ("completed", "missed") and got["callbacks"] == [(CALLER, "open", 1)]
    assert await again.close(1.0, spool) == 0 and not spool.exists()
