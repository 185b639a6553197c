"""No call record is lost: through the app's own start and stop, while the database fails or
hangs, on SQLite and PostgreSQL; calls written when they start; the upsert by call key."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from callcenter.app import create_app
from callcenter.domain.call_records import CallEnded, CallRecord, CallStarted
from callcenter.http.keys import CALLS, SERVICES
from callcenter.services.call_log import read_spool
from callcenter.storage.database import Database
from callcenter.storage.tables import calls, tasks
from tests.conftest import make_settings

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def started(i: int) -> CallRecord:
    return CallRecord(key=f"1795000000.{i}", linkedid=f"1795000000.{i}", direction="inbound",
                      started_at=T0 + timedelta(seconds=i), caller=f"7916{i % 50:07d}",
                      caller_name="Иван Петров", queue="shop")


def ended(i: int) -> CallRecord:
    call = started(i)
    answered = i % 3 != 0
    return CallRecord(**{**{f: getattr(call, f) for f in call.__slots__},
                         "ended_at": call.started_at + timedelta(seconds=30),
                         "outcome": "answered" if answered else "missed",
                         "answered_by": "PJSIP/101" if answered else None,
                         "answered_at": call.started_at + timedelta(seconds=5) if answered
                         else None, "talk_seconds": 25.0 if answered else 0.0})


class Outage:
    """Make the app's database fail (the calls table is away) or hang (it is locked), from
    outside the app, as a real outage would; ``end()`` brings it back."""

    def __init__(self, db_url: str, mode: str):
        self.url, self.mode = make_url(db_url), mode
        self._pg = None
        self._sqlite = None

    async def begin(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            # no busy wait in the driver: it would block the event loop while the app's own
            # background writers (the event outbox) hold the lock they cannot release
            self._sqlite = sqlite3.connect(self.url.database, isolation_level=None, timeout=0)
            await self._sqlite_retry("ALTER TABLE calls RENAME TO calls_away"
                                     if self.mode == "fails" else "BEGIN IMMEDIATE")
            return
        import asyncpg

        self._pg = await asyncpg.connect(user=self.url.username, password=self.url.password,
                                         host=self.url.host, port=self.url.port,
                                         database=self.url.database)
        if self.mode == "fails":
            await self._pg.execute("ALTER TABLE calls RENAME TO calls_away")
        else:
            await self._pg.execute("BEGIN")
            await self._pg.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")

    async def _sqlite_retry(self, sql: str) -> None:
        for _ in range(400):
            try:
                self._sqlite.execute(sql)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                await asyncio.sleep(0.025)
        raise AssertionError(f"the database stayed locked: {sql}")

    async def end(self) -> None:
        if self._sqlite is not None:
            if self.mode == "fails":
                await self._sqlite_retry("ALTER TABLE calls_away RENAME TO calls")
            else:
                self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
        if self._pg is not None:
            if self.mode == "fails":
                await self._pg.execute("ALTER TABLE calls_away RENAME TO calls")
            else:
                await self._pg.execute("ROLLBACK")
            await self._pg.close()


async def start_app(settings) -> tuple[web.Application, web.AppRunner]:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the app's cleanup contexts: the telephony starts
    # the scheduler's first round is over before a test holds the database from outside
    await app[SERVICES].scheduler.wait_for_round()
    return app, runner


async def rows_by_key(db_url: str) -> tuple[int, dict[str, dict]]:
    db = Database(db_url)
    try:
        async with db.read() as conn:
            count = (await conn.execute(select(func.count()).select_from(calls))).scalar_one()
            rows = {r.call_key: dict(r._mapping) for r in await conn.execute(select(calls))}
            callbacks = (await conn.execute(select(tasks).where(tasks.c.kind == "missed_call"))).all()
    finally:
        await db.dispose()
    return count, rows, callbacks


@pytest.mark.parametrize("mode", ["fails", "hangs"])
async def test_records_queued_at_stop_are_spooled_and_stored_once_at_the_next_start(
        db_url, tmp_path, mode):
    if mode == "hangs" and db_url.startswith("sqlite"):
        # a SQLite writer waits in the driver's thread for the lock (busy_timeout) and cannot
        # be interrupted; the stop still spools at once, but the thread holds the file: the
        # same path is covered on SQLite by "fails"
        pytest.skip("a hung SQLite write cannot be interrupted")
    settings = make_settings(db_url, spool_dir=str(tmp_path / "spool"), stop_store_seconds=0.5)
    total, before = 3000, 200
    app, runner = await start_app(settings)
    spool = app[CALLS].spool_path  # this process's own
    assert spool.parent == tmp_path / "spool" and spool.name.startswith("unsaved-calls-")
    service = app[CALLS].calls
    # some calls are stored before the outage: started only, or started and ended
    service.carry_out([CallStarted(started(i)) for i in range(before)])
    service.carry_out([CallEnded(ended(i)) for i in range(0, before, 2)])
    await service.drain()
    outage = Outage(db_url, mode)
    await outage.begin()
    try:
        # thousands end while the database is away (e.g. ended by a resync); the rest of the
        # started ones end too, some of them twice (a replayed end changes nothing)
        effects = []
        for i in range(before, total):
            effects += [CallStarted(started(i)), CallEnded(ended(i))]
        effects += [CallEnded(ended(i)) for i in range(1, before, 2)]
        effects += [CallEnded(ended(i)) for i in range(0, 50)]
        service.carry_out(effects)
        loop = asyncio.get_running_loop()
        stop_began = loop.time()
        await runner.cleanup()  # the app's own stop
        assert loop.time() - stop_began < 10
    finally:
        await outage.end()
    spooled = read_spool(spool)
    assert len(spooled) >= total - before
    assert len({e.key for e in spooled}) == len(spooled)

    app, runner = await start_app(settings)  # the next start, on the same spool
    await runner.cleanup()
    assert not spool.exists()
    count, rows, callbacks = await rows_by_key(db_url)
    assert count == len(rows) == total  # every call, once
    assert {r["status"] for r in rows.values()} == {"completed"}
    for i in range(total):
        row = rows[f"1795000000.{i}"]
        assert row["outcome"] == ("missed" if i % 3 == 0 else "answered"), i
        assert row["ended_at"] is not None
    # the callback rules ran once per call: one open callback at most per number, only for
    # numbers with a missed call, and every missed call counted as one attempt
    open_numbers = [c.phone_e164 for c in callbacks if c.status == "open"]
    assert len(open_numbers) == len(set(open_numbers))
    assert set(open_numbers) <= {"+" + ended(i).caller for i in range(total) if i % 3 == 0}
    missed = [rows[f"1795000000.{i}"]["id"] for i in range(total) if i % 3 == 0]
    assert sum(c.attempts for c in callbacks) == len(missed)  # each missed call counted once

    # and a third start finds nothing to do
    app, runner = await start_app(settings)
    await runner.cleanup()
    assert (await rows_by_key(db_url))[0] == total


async def test_a_torn_last_spool_line_is_reported_and_the_rest_stored(db_url, tmp_path, caplog):
    from callcenter.services.call_log import write_spool

    settings = make_settings(db_url, spool_dir=str(tmp_path / "spool"))
    spool = tmp_path / "spool" / "unsaved-calls.jsonl"
    write_spool(spool, [ended(i) for i in range(5)])
    with spool.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "1795000000.99", "linkedid"')  # the machine lost power here
    app, runner = await start_app(settings)
    await runner.cleanup()
    count, rows, _ = await rows_by_key(db_url)
    assert count == 5 and set(rows) == {f"1795000000.{i}" for i in range(5)}
    assert not spool.exists()
    assert any("last line" in r.getMessage() for r in caplog.records)


async def test_a_call_is_written_when_it_starts_and_completed_at_its_end(db_url, tmp_path):
    settings = make_settings(db_url, spool_dir=str(tmp_path / "spool"))
    app, runner = await start_app(settings)
    try:
        service = app[CALLS].calls
        service.carry_out([CallStarted(started(0)), CallStarted(started(3))])
        await service.drain()
        _, rows, _ = await rows_by_key(db_url)
        assert {k: (r["status"], r["outcome"]) for k, r in rows.items()} == {
            "1795000000.0": ("in_progress", "unknown"), "1795000000.3": ("in_progress", "unknown")}
        # the API lists calls in progress with their status
        listed = await list_calls_api(app)
        assert {c["status"] for c in listed} == {"in_progress"}
        service.carry_out([CallEnded(ended(0))])
        await service.drain()
        _, rows, callbacks = await rows_by_key(db_url)
        assert (rows["1795000000.0"]["status"], rows["1795000000.0"]["outcome"]) == \
            ("completed", "missed")
        assert len(callbacks) == 1  # the missed call's callback, opened once
        # a duplicate end (replayed log, CDR) changes nothing: completed is final
        again = CallRecord(**{**{f: getattr(ended(0), f) for f in CallRecord.__slots__},
                              "outcome": "answered", "answered_by": "PJSIP/102"})
        call_id = await service.store(again)
        assert call_id == rows["1795000000.0"]["id"]
        _, rows, callbacks = await rows_by_key(db_url)
        assert rows["1795000000.0"]["outcome"] == "missed" and len(callbacks) == 1
    finally:
        await runner.cleanup()


async def list_calls_api(app) -> list[dict]:
    from callcenter.services.clients import call_row_json

    services = app[SERVICES]
    from callcenter.storage import calls as repo

    async with services.db.read() as conn:
        rows, _ = await repo.list_calls(conn, since=None, until=None, operator_id=None,
                                        operator_endpoint=None, client_id=None, direction=None,
                                        outcome=None, limit=100, offset=0)
    return [call_row_json(r) for r in rows]


async def test_store_inserts_a_call_never_seen_and_opens_its_callback_once(db_url, tmp_path):
    settings = make_settings(db_url, spool_dir=str(tmp_path / "spool"))
    app, runner = await start_app(settings)
    try:
        service = app[CALLS].calls
        missed = ended(3)  # from a CDR: the CRM never saw it
        first = await service.store(missed)
        assert await service.store(missed) == first
        assert await service.log.store_many([missed, missed]) == {missed.key: first}
        count, rows, callbacks = await rows_by_key(db_url)
        assert count == 1 and rows[missed.key]["status"] == "completed"
        assert [(c.status, c.attempts, c.call_id) for c in callbacks] == [("open", 1, first)]
    finally:
        await runner.cleanup()


async def test_a_call_whose_end_never_came_is_closed_unknown_and_a_late_end_completes_it(
        db_url, tmp_path):
    settings = make_settings(db_url, spool_dir=str(tmp_path / "spool"))
    app, runner = await start_app(settings)
    try:
        telephony = app[CALLS]
        service = telephony.calls
        # the previous run was killed during these calls: rows in progress, no end
        service.carry_out([CallStarted(started(i)) for i in (0, 1, 2)])
        await service.drain()
        # call 1 is still live on the PBX (the tracker follows it): never closed
        telephony.tracker.feed({
            "Event": "Newchannel", "Channel": "PJSIP/trunk-00000001", "ChannelState": "4",
            "ChannelStateDesc": "Ring", "CallerIDNum": "79160000001", "CallerIDName": "x",
            "ConnectedLineNum": "", "ConnectedLineName": "", "Context": "from-trunk",
            "Exten": "74951234567", "Priority": "1", "Uniqueid": "1795000000.1",
            "Linkedid": "1795000000.1"}, T0)
        assert "1795000000.1" in {c.key for c in telephony.tracker.live_calls()}
        closed = await telephony.close_unknown_calls(timedelta(seconds=0))
        assert closed == 2
        _, rows, _ = await rows_by_key(db_url)
        assert {k: (r["status"], r["outcome"]) for k, r in rows.items()} == {
            "1795000000.0": ("unknown", "unknown"), "1795000000.1": ("in_progress", "unknown"),
            "1795000000.2": ("unknown", "unknown")}
        # a late CDR / end fills it in: unknown -> completed, its callback opened then
        await service.store(ended(0))
        _, rows, callbacks = await rows_by_key(db_url)
        assert (rows["1795000000.0"]["status"], rows["1795000000.0"]["outcome"]) == \
            ("completed", "missed")
        assert len(callbacks) == 1
    finally:
        await runner.cleanup()


async def test_no_call_is_closed_unknown_while_the_pbx_picture_is_unknown(db_url, tmp_path):
    settings = make_settings(db_url, spool_dir=str(tmp_path / "spool"), ami_host="127.0.0.1",
                             ami_port=9)  # nothing listens: AMI stays down
    app, runner = await start_app(settings)
    try:
        telephony = app[CALLS]
        telephony.calls.carry_out([CallStarted(started(0))])
        await telephony.calls.drain()
        assert await telephony.close_unknown_calls(timedelta(seconds=0)) == 0
    finally:
        await runner.cleanup()
