"""After an outage the call log is reconciled from Asterisk's CDR file: real rows, real app,
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timezone

import pytest
from sqlalchemy import delete

from callcenter.services.cdr_reconcile import CdrFile
from callcenter.storage.tables import cdr_cursors
from tests.cdr.conftest import copy_sample, lines_of, settled, start_crm
from tests.cdr.test_cdr_domain import EXPECTED


def open_callbacks(tasks):
    return {t["phone_e164"]: t for t in tasks if t["kind"] == "missed_call" and t["status"] == "open"}


@pytest.mark.parametrize("name", ["crm.csv", "Master.csv"])
async def test_calls_of_the_outage_are_in_the_log_once_after_start(db_url, aiohttp_client,
                                                                     tmp_path, name):
    path = copy_sample(name, tmp_path)
    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file=str(path),
                          asterisk_cdr_timezone="UTC")  # no AMI at all: the CRM saw nothing
    found = await crm.wait_for_calls(len(EXPECTED))
    assert set(found) == set(EXPECTED)
    users, ivan = crm.seeded["users"], crm.seeded["ivan"]
    for key, (direction, outcome, operator, _number, talk, _rung) in EXPECTED.items():
        row = found[key]
        assert (row["direction"], row["outcome"], row["talk_seconds"]) == \
            (direction, outcome, talk), key
        assert row["variables"] == {"CRM_SOURCE": "cdr"}
    # the client is matched, also from the unformatted 8(916)123-45-67 and from 89161234567
    for key in ("1796155220.0", "1796155787.3", "1796155799.6", "1796155415.27"):
        assert found[key]["client_id"] == ivan, key
    assert found["1796155234.2"]["client_id"] is None  # Мария is no client
    assert found["1796155220.0"]["answered_by_user_id"] == users["102"]["id"]
    assert found["1796155787.3"]["caller_e164"] == "+79161234567"
    # missed inbound calls open their callback once; the answered call-back closed Ivan's
    tasks = await crm.tasks()
    callbacks = [t for t in tasks if t["kind"] == "missed_call"]
    assert open_callbacks(tasks).keys() == {"+79031112233"}
    assert open_callbacks(tasks)["+79031112233"]["attempts"] == 1
    ivans = [t for t in callbacks if t["phone_e164"] == "+79161234567"]
    assert len(ivans) == 1 and ivans[0]["status"] != "open"

    # reconcile again: nothing new is read, nothing doubled
    report = await crm.telephony.cdr.reconcile()
    assert (report.rows, report.stored) == (0, 0)
    # even reading everything again (cursor lost) doubles nothing
    async with crm.db.write() as conn:
        await conn.execute(delete(cdr_cursors))
    report = await crm.telephony.cdr.reconcile()
    assert (report.rows, report.stored, report.skipped) == (26, 0, len(EXPECTED))
    assert (await crm.calls()).keys() == found.keys()
    assert await crm.tasks() == tasks


async def test_only_new_complete_lines_are_read_across_growth_rotation_and_truncation(
        db_url, aiohttp_client, tmp_path):
    lines = lines_of("crm.csv")
    path = tmp_path / "crm.csv"
    # Asterisk is half way through writing the fourth row
    path.write_text("".join(lines[:3]) + lines[3][:40], encoding="utf-8")
    settled(path)
    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file=str(path),
                          asterisk_cdr_timezone="UTC")
    cdr = crm.telephony.cdr
    found = await crm.wait_for_calls(2)
    assert set(found) == {"1796155220.0", "1796155234.2"}
    async with crm.db.read() as conn:
        from callcenter.storage.cdr import get_cursor
        cursor = await get_cursor(conn, str(path))
    assert cursor.position == len("".join(lines[:3]).encode("utf-8")), "partial line kept"

    # the rest arrives, with a malformed line and a blank one among it
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[3][40:] + 'garbage,"not a cdr\n\n' + "".join(lines[4:]))
    settled(path)
    report = await cdr.reconcile()
    assert report.malformed == 1 and report.rows == 23
    assert set(await crm.calls()) == set(EXPECTED)

    # logrotate: a new file under the same name, read from its start
    new_call = [line.replace("1796155397.24", "1796170000.1") for line in lines[16:18]]
    path.rename(tmp_path / "crm.csv.1")
    path.write_text("".join(new_call), encoding="utf-8")
    settled(path)
    report = await cdr.reconcile()
    assert (report.rows, report.stored) == (2, 1)
    # truncated in place (same inode, shorter): read from its start too
    with path.open("w", encoding="utf-8") as fh:
        fh.write(lines[16].replace("1796155397.24", "1796170000.2"))
    settled(path)
    report = await cdr.reconcile()
    assert (report.rows, report.stored) == (1, 1)
    found = await crm.calls()
    assert len(found) == len(EXPECTED) + 2
    assert found["1796170000.1"]["outcome"] == "missed"
    # the same number missed twice more: still one callback, with more attempts
    callbacks = open_callbacks(await crm.tasks())
    assert callbacks["+79031112233"]["attempts"] == 3


async def test_the_last_call_of_a_file_being_written_waits_for_its_other_rows(
        db_url, aiohttp_client, tmp_path):
    lines = lines_of("crm.csv")
    path = tmp_path / "crm.csv"
    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="",
                          asterisk_cdr_timezone="UTC")
    cdr = crm.telephony.cdr
    cdr.file = CdrFile(path, local_tz=timezone.utc, settle_seconds=2.0)
    path.write_text("".join(lines[:2]), encoding="utf-8")  # 1796155234.2 lacks its NO ANSWER leg
    report = await cdr.reconcile()
    # the file was written just now: the last call may still be missing rows
    assert report.held_back and set(await crm.calls()) == {"1796155220.0"}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines[2])
    # a follow-up run comes by itself once the file is quiet
    cdr.request()
    found = await crm.wait_for_calls(2, timeout=10)
    assert set(found) == {"1796155220.0", "1796155234.2"}
    row = found["1796155234.2"]
    assert row["outcome"] == "answered" and row["operators_rung"] == ["PJSIP/101", "PJSIP/102"]


async def test_a_missing_file_or_an_unreadable_database_harms_nothing(db_url, aiohttp_client,
                                                                       tmp_path):
    crm = await start_crm(db_url, aiohttp_client,
                          asterisk_cdr_file=str(tmp_path / "no-such" / "crm.csv"),
                          asterisk_cdr_db_url="postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    cdr = crm.telephony.cdr
    await cdr.wait_idle()
    report = await cdr.reconcile()
    assert report.failed and report.stored == 0
    assert await crm.calls() == {}
    resp_ok = crm.telephony.status()  # the runtime still answers
    assert resp_ok["status"] == "disabled"


async def test_history_older_than_the_call_log_is_not_reconciled_on_a_first_read(
        db_url, aiohttp_client, tmp_path):
    """A CDR file of years before the CRM: its first read starts where the call log ends."""
    from datetime import datetime

    from callcenter.domain.call_records import CallRecord
    from callcenter.services.calls import record_values
    from callcenter.storage import calls as calls_repo

    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="")
    logged = CallRecord(key="1796164000.1", linkedid="1796164000.1", direction="inbound",
                        started_at=datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc),
                        ended_at=datetime(2026, 12, 1, 22, 1, tzinfo=timezone.utc),
                        caller="79857778899", outcome="answered", talk_seconds=50.0)
    async with crm.db.write() as conn:
        await calls_repo.insert_call(conn, record_values(logged, "RU"))
    lines = lines_of("crm.csv")
    path = tmp_path / "crm.csv"
    later = lines[16].replace("1796155397.24", "1796164100.5").replace("2026-12-01 20:03",
                                                                       "2026-12-01 22:03")
    path.write_text("".join(lines) + later, encoding="utf-8")
    settled(path)
    crm.telephony.cdr.file = CdrFile(path, local_tz=timezone.utc)
    report = await crm.telephony.cdr.reconcile()
    assert (report.stored, report.skipped) == (1, len(EXPECTED))
    assert set(await crm.calls()) == {"1796164000.1", "1796164100.5"}
    assert list(open_callbacks(await crm.tasks())) == ["+79031112233"]


async def test_cdr_times_in_the_future_are_reported_as_a_time_zone_mistake(
        db_url, aiohttp_client, tmp_path, caplog):
    from datetime import datetime

    from callcenter.domain.cdr import CdrRules
    from callcenter.services.cdr_reconcile import CdrReconciler

    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="")
    path = copy_sample("crm.csv", tmp_path)
    # the PBX runs in Moscow (UTC+3) but its local times are read as UTC: 3 hours ahead
    three_hours_before = datetime(2026, 12, 1, 17, 10, tzinfo=timezone.utc)
    cdr = CdrReconciler(crm.db, lambda: three_hours_before, crm.telephony.calls.store,
                        CdrRules(), file=CdrFile(path, local_tz=timezone.utc))
    with caplog.at_level("WARNING", logger="callcenter.cdr"):
        await cdr.reconcile()
    assert "CALLCENTER_ASTERISK_CDR_TIMEZONE" in caplog.text


async def test_the_file_is_read_off_the_event_loop(db_url, aiohttp_client, tmp_path):
    import threading

    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="")
    file = CdrFile(copy_sample("Master.csv", tmp_path), local_tz=timezone.utc)
    readers = []
    real_read = file.read

    def read(cursor, *args):
        readers.append(threading.current_thread())
        return real_read(cursor, *args)

    file.read = read
    crm.telephony.cdr.file = file
    report = await crm.telephony.cdr.reconcile()
    assert report.stored == len(EXPECTED)
    assert readers and threading.main_thread() not in readers
