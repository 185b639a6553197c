"""CDR reconciliation beside the live AMI call log: nothing doubled, unfinished rows completed,
the guessed end of a call that vanished during an AMI outage corrected."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from callcenter.domain.call_records import CallEnded, CallRecord, CallStarted
from callcenter.domain.cdr import CdrRules
from callcenter.services.calls import record_values
from callcenter.services.cdr_reconcile import CdrFile, CdrReconciler
from callcenter.storage import calls as calls_repo
from callcenter.storage.tables import calls
from tests.calls.conftest import start_pbx
from tests.cdr.conftest import lines_of, settled, start_crm


def reconciler_for(telephony, db, path):
    cdr = CdrReconciler(db, lambda: datetime.now(timezone.utc), telephony.calls.store,
                        CdrRules(is_operator=telephony.directory.is_operator),
                        file=CdrFile(path, local_tz=timezone.utc))
    # the replayed calls are logged at the time of the replay, hours after their CDR says:
    # this test is about duplicates, not about history older than the call log
    cdr.history_margin = timedelta(days=365)
    return cdr


async def test_a_call_logged_from_ami_is_not_doubled_by_its_cdr(db_url, aiohttp_client, tmp_path):
    pbx = await start_pbx(db_url, aiohttp_client)
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay("inbound_invalid_number_then_callback")
        before = {r["call_key"]: r for r in await pbx.settle(2)}
        tasks_before = await pbx.tasks()
    finally:
        await pbx.sim.stop()
    assert set(before) == {"1796155787.3", "1796155799.6"}
    # the same calls' real CDR rows (the traces and the CDR share their linkedids)
    path = tmp_path / "crm.csv"
    path.write_text("".join(lines_of("crm.csv")[23:]), encoding="utf-8")
    settled(path)
    report = await reconciler_for(pbx.telephony, pbx.services.db, path).reconcile()
    assert (report.calls, report.stored, report.skipped) == (2, 0, 2)
    after = {r["call_key"]: r for r in await pbx.stored_calls()}
    assert after == before  # the AMI records, untouched (no CRM_SOURCE, recording kept)
    assert await pbx.tasks() == tasks_before


async def test_a_call_left_in_progress_is_completed_from_the_cdr(db_url, aiohttp_client,
                                                                 tmp_path):
    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="")
    # the CRM saw the call start (8(916)123-45-67 ringing 101 and 102), then went down
    ringing = CallRecord(key="1796155787.3", linkedid="1796155787.3", direction="inbound",
                         started_at=datetime(2026, 12, 1, 20, 9, 47, tzinfo=timezone.utc),
                         caller="8(916)123-45-67", callee="74951234567",
                         operators_rung=("PJSIP/101", "PJSIP/102"))
    values = record_values(ringing, "RU")
    if "status" in calls.c:
        values["status"] = "in_progress"
    values["ended_at"] = None
    async with crm.db.write() as conn:
        await calls_repo.insert_call(conn, values)
    path = tmp_path / "crm.csv"
    path.write_text("".join(lines_of("crm.csv")[23:25]), encoding="utf-8")
    settled(path)
    report = await reconciler_for(crm.telephony, crm.db, path).reconcile()
    assert report.stored == 1
    async with crm.db.read() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(select(calls))]
    assert len(rows) == 1
    row = rows[0]
    assert row["outcome"] == "missed" and row["ended_at"] is not None
    assert row.get("status", "completed") == "completed"
    assert row["client_id"] == crm.seeded["ivan"]
    callbacks = [t for t in await crm.tasks() if t["kind"] == "missed_call"]
    assert [(t["phone_e164"], t["status"]) for t in callbacks] == [("+79161234567", "open")]


async def test_every_ami_reconnect_reconciles_what_rang_meanwhile(db_url, aiohttp_client,
                                                                  tmp_path):
    pbx = await start_pbx(db_url, aiohttp_client)
    try:
        telephony = pbx.telephony
        await telephony.ami.wait_connected(10)
        path = tmp_path / "crm.csv"
        path.write_text("", encoding="utf-8")
        settled(path)
        telephony.cdr.file = CdrFile(path, local_tz=timezone.utc)
        await telephony.cdr.reconcile()
        runs = telephony.cdr.runs
        # the link drops; meanwhile an abandoned call rings 101 and 102 and ends
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(lines_of("crm.csv")[16:18]))
        settled(path)
        pbx.sim.disconnect_all()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while telephony.cdr.runs == runs and loop.time() < deadline:
            await asyncio.sleep(0.05)  # reconnect (backoff), login, resync, then the CDR
        await telephony.cdr.wait_idle()
        rows = {r["call_key"]: r for r in await pbx.stored_calls()}
        assert set(rows) == {"1796155397.24"}
        assert rows["1796155397.24"]["outcome"] == "missed"
        callbacks = [t for t in await pbx.tasks() if t["kind"] == "missed_call"]
        assert [t["phone_e164"] for t in callbacks] == ["+79031112233"]
    finally:
        await pbx.sim.stop()


async def test_a_call_that_vanished_during_an_outage_is_completed_from_its_cdr(
        db_url, aiohttp_client, tmp_path):
    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="",
                          spool_dir=str(tmp_path / "spool"))
    telephony = crm.telephony
    # Иван's call rang 101 and 102 when the AMI link dropped; at the reconnect its channels
    # were gone and, never seen answered, the tracker guesses it missed: 101 had answered it
    rang = CallRecord(key="1796155271.7", linkedid="1796155271.7", direction="inbound",
                      started_at=datetime(2026, 12, 1, 20, 1, 11, tzinfo=timezone.utc),
                      caller="79161234567", callee="74951234567",
                      operators_rung=("PJSIP/101", "PJSIP/102"))
    guessed = replace(rang, ended_at=datetime(2026, 12, 1, 20, 1, 40, tzinfo=timezone.utc),
                      outcome="missed", talk_seconds=0.0, vanished=True)
    telephony.calls.carry_out([CallStarted(rang), CallEnded(guessed)])
    assert telephony.calls.log.is_pending(rang.key)
    assert rang.key not in telephony._followed(), "a guess is no reason to skip the CDR"
    path = tmp_path / "crm.csv"
    path.write_text("".join(lines_of("crm.csv")[5:7]), encoding="utf-8")
    settled(path)
    cdr = reconciler_for(telephony, crm.db, path)
    cdr.live = telephony._followed
    report = await cdr.reconcile()
    await telephony.calls.drain()
    assert (report.calls, report.stored) == (1, 1)
    row = (await crm.calls())[rang.key]
    assert (row["status"], row["outcome"], row["answered_by"]) == (
        "completed", "answered", "PJSIP/101")
    assert [t for t in await crm.tasks() if t["kind"] == "missed_call"] == []
