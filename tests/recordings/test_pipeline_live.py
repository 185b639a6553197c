"""The whole path: a real AMI trace replayed by the simulator over TCP to the real app, the
call completed in the log, its recording queued in the same transaction, the pipeline woken,
the copy of the real MixMonitor files converted: a ready row (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import shutil

from callcenter.services.audio import probe
from callcenter.storage import recordings as repo
from tests.calls.conftest import start_pbx
from tests.recordings.conftest import CALLS, SAMPLES


async def _wait_status(pbx, call_id, status, timeout=20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with pbx.services.db.read() as conn:
            row = await repo.recording_for_call(conn, call_id)
        if (row and row["status"] == status) or loop.time() > deadline:
            return row
        await asyncio.sleep(0.05)


async def test_replayed_call_gets_a_ready_recording(db_url, aiohttp_client, tmp_path):
    monitor = tmp_path / "monitor"
    shutil.copytree(SAMPLES / "rec_two_way" / "2026", monitor / "2026")
    store = tmp_path / "recordings"
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(monitor), "recordings_dir": str(store)})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / "rec_two_way" / "rec_two_way.jsonl")
        (call,) = await pbx.settle(1)
        row = await _wait_status(pbx, call["id"], "ready")
        assert row is not None and row["status"] == "ready", row
        assert row["source"] == CALLS["rec_two_way"] and row["parts"] == [CALLS["rec_two_way"]]
        assert row["health"] == "ok" and abs(row["duration_seconds"] - 13.92) <= 0.25
        assert probe(store / row["file"])[0] == "opus"
        assert row["call_started_at"] == call["started_at"]
        assert not (monitor / CALLS["rec_two_way"]).exists()  # converted, verified, removed
    finally:
        await pbx.sim.stop()


async def test_unanswered_call_queues_nothing(db_url, aiohttp_client, tmp_path):
    monitor = tmp_path / "monitor"
    shutil.copytree(SAMPLES / "abandoned_header_only" / "2026", monitor / "2026")
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(monitor), "recordings_dir": str(tmp_path / "recordings")})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / "abandoned_header_only" / "cdr_inbound_abandoned.jsonl")
        (call,) = await pbx.settle(1)
        assert call["outcome"] != "answered"
        async with pbx.services.db.read() as conn:
            assert await repo.recording_for_call(conn, call["id"]) is None
        assert (monitor / CALLS["abandoned_header_only"]).exists()
    finally:
        await pbx.sim.stop()


async def test_recording_not_there_yet_stays_pending(db_url, aiohttp_client, tmp_path):
    # the share is mounted but Asterisk has not written the files yet: queued, not lost
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(monitor), "recordings_dir": str(tmp_path / "recordings")})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / "rec_two_way" / "rec_two_way.jsonl")
        (call,) = await pbx.settle(1)
        row = await _wait_status(pbx, call["id"], "pending")
        assert row["status"] == "pending"
        for _ in range(100):
            async with pbx.services.db.read() as conn:
                row = await repo.recording_for_call(conn, call["id"])
            if row["attempts"]:
                break
            await asyncio.sleep(0.05)
        assert row["attempts"] == 1 and row["error"] == "not found in the monitor directory"
        assert call["variables"]["recording_verified"] == "no"
    finally:
        await pbx.sim.stop()


def _with_second_mixmonitor(tmp_path, second: str):
    """rec_two_way's trace with a second MixMonitor started on the trunk channel before the
    hang-up (as after a transfer to a dialplan that records again)."""
    import json
    import re

    lines = (SAMPLES / "rec_two_way" / "rec_two_way.jsonl").read_text(encoding="utf-8"
                                                                       ).splitlines()
    items = [json.loads(line) for line in lines]
    first = next(i for i in items if "Variable: MIXMONITOR_FILENAME" in i["data"])
    message = next(m for m in first["data"].split("\r\n\r\n")
                   if "Variable: MIXMONITOR_FILENAME" in m)
    copy = re.sub(r"Value: .*", f"Value: /var/spool/asterisk/monitor/{second}", message)
    hangup = next(i for i in items if i["dir"] == "in" and "Event: Hangup\r\n" in i["data"])
    hangup["data"] = copy + "\r\n\r\n" + hangup["data"]
    path = tmp_path / "two_parts.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n",
                    encoding="utf-8")
    return path


async def test_two_mixmonitors_give_one_recording(db_url, aiohttp_client, tmp_path):
    monitor = tmp_path / "monitor"
    shutil.copytree(SAMPLES / "rec_two_way" / "2026", monitor / "2026")
    second = "2026/12/01/1796155319.15-after-transfer.wav"
    silent = SAMPLES / "rec_both_silent" / "2026" / "12" / "01"
    for suffix in ("", "-customer", "-operator"):
        shutil.copy(silent / f"1796155371.21{suffix}.wav",
                    monitor / f"{second[:-4]}{suffix}.wav")
    store = tmp_path / "recordings"
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(monitor), "recordings_dir": str(store)})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(_with_second_mixmonitor(tmp_path, second))
        (call,) = await pbx.settle(1)
        assert call["recording"] == CALLS["rec_two_way"]
        row = await _wait_status(pbx, call["id"], "ready")
        assert row["parts"] == [CALLS["rec_two_way"], second]
        assert abs(row["duration_seconds"] - (13.92 + 13.94)) <= 0.25
        assert row["health"] == "ok"
        assert sorted(p.name for p in monitor.rglob("*.wav")) == []
    finally:
        await pbx.sim.stop()
