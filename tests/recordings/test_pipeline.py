"""The recordings pipeline over a real database (SQLite and PostgreSQL), the real sample
files (copies) and ffmpeg, on a frozen clock."""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from callcenter.services.audio import probe
from callcenter.storage import recordings as repo
from callcenter.storage.tables import audit_log
from tests.recordings.conftest import CALLS, DAY, SAMPLES, T0

from sqlalchemy import select


def files_of(monitor: Path, name: str) -> list[Path]:
    stem = name[:-4]
    return [monitor / name, monitor / f"{stem}-customer.wav", monitor / f"{stem}-operator.wav"]


@pytest.mark.parametrize("sample, health", [
    ("rec_two_way", "ok"),
    ("rec_one_way_operator_silent", "operator_silent"),
    ("rec_both_silent", "both_silent"),
])  # fmt: skip
async def test_ready_with_health_and_originals_removed(bench, sample, health):
    call_id = await bench.queue(CALLS[sample])
    pipeline = bench.pipeline()
    assert await pipeline.run_once() == 1
    row = await bench.row(call_id)
    assert (row["status"], row["health"], row["format"]) == ("ready", health, "opus")
    # the call's local date (Moscow) and id: a stable name tied to the call
    assert row["file"] == f"2026/12/01/call-{call_id}.ogg"
    stored = bench.store / row["file"]
    assert probe(stored)[0] == "opus" and row["bytes"] == stored.stat().st_size
    assert abs(row["duration_seconds"] - 13.92) <= 0.25
    assert row["lease_until"] is None and row["attempts"] == 1 and row["error"] is None
    assert not any(p.exists() for p in files_of(bench.monitor, CALLS[sample]))
    assert await pipeline.run_once() == 0  # nothing left to do


async def test_mp3_setting(bench):
    call_id = await bench.queue(CALLS["rec_two_way"])
    await bench.pipeline(recording_format="mp3").run_once()
    row = await bench.row(call_id)
    assert row["file"].endswith(".mp3") and probe(bench.store / row["file"])[0] == "mp3"


async def test_header_only_is_empty_and_kept(bench):
    call_id = await bench.queue(CALLS["abandoned_header_only"])
    await bench.pipeline().run_once()
    row = await bench.row(call_id)
    assert (row["status"], row["file"]) == ("empty", None)
    assert all(p.exists() for p in files_of(bench.monitor, CALLS["abandoned_header_only"]))


async def test_a_file_that_comes_late_is_found(bench):
    name = CALLS["rec_two_way"]
    hidden = bench.monitor.parent / "hidden"
    hidden.mkdir()
    for p in files_of(bench.monitor, name):
        shutil.move(p, hidden / p.name)
    call_id = await bench.queue(name)
    pipeline = bench.pipeline()
    await pipeline.run_once()
    row = await bench.row(call_id)
    assert row["status"] == "pending" and row["error"] == "not found in the monitor directory"
    assert row["next_try_at"] == bench.clock() + timedelta(seconds=5)
    assert await pipeline.run_once() == 0  # not due yet
    bench.clock.advance(seconds=5)
    await pipeline.run_once()
    assert (await bench.row(call_id))["next_try_at"] == bench.clock() + timedelta(seconds=15)
    for p in hidden.iterdir():
        shutil.move(p, bench.monitor / DAY / p.name)
    bench.clock.advance(seconds=15)
    assert await pipeline.run_once() == 1
    row = await bench.row(call_id)
    assert (row["status"], row["health"], row["attempts"]) == ("ready", "ok", 3)


async def test_never_there_is_flagged_missing_after_the_wait(bench):
    call_id = await bench.queue(f"{DAY}/never.wav")
    pipeline = bench.pipeline(recording_wait_minutes=2)
    looks = 0
    while (row := await bench.row(call_id))["status"] == "pending":
        bench.clock.now = max(bench.clock.now, row["next_try_at"])
        assert await pipeline.run_once() == 1
        looks += 1
        assert looks < 20
    assert row["status"] == "missing" and row["error"] == "not found in the monitor directory"
    # 5, 15, 30, 60 s, then the deadline at 2 min: six looks, the last at the deadline
    assert looks == 6 and bench.clock() == T0 + timedelta(minutes=3)
    async with bench.db.read() as conn:
        listed, total = await repo.troubled_recordings(conn, limit=10, offset=0)
    assert total == 1 and listed[0]["call_id"] == call_id


async def test_monitor_dir_not_mounted(bench, tmp_path):
    call_id = await bench.queue(CALLS["rec_two_way"])
    pipeline = bench.pipeline(monitor_dir=str(tmp_path / "share-not-mounted"),
                              recording_wait_minutes=1)
    await pipeline.run_once()
    row = await bench.row(call_id)
    assert (row["status"], row["error"]) == ("pending", "monitor directory not reachable")
    bench.clock.advance(minutes=2)
    await pipeline.run_once()
    row = await bench.row(call_id)
    assert (row["status"], row["error"]) == ("missing", "monitor directory not reachable")


async def test_retry_after_missing(bench):
    name = CALLS["rec_two_way"]
    away = bench.monitor.parent / "away"
    shutil.move(bench.monitor / "2026", away)
    call_id = await bench.queue(name)
    pipeline = bench.pipeline(recording_wait_minutes=0)
    await pipeline.run_once()
    assert (await bench.row(call_id))["status"] == "missing"
    shutil.move(away, bench.monitor / "2026")
    assert await pipeline.retry(call_id) is True
    row = await bench.row(call_id)
    assert (row["status"], row["attempts"], row["error"]) == ("pending", 0, None)
    await pipeline.run_once()
    assert (await bench.row(call_id))["status"] == "ready"
    assert await pipeline.retry(call_id) is False  # ready: nothing to retry
    assert await pipeline.retry(999_999) is False


@pytest.mark.parametrize("name", [
    "../outside.wav", "/etc/passwd", f"{DAY}/../../../outside.wav", "link/secret.wav",
])  # fmt: skip
async def test_names_outside_the_monitor_dir_are_never_read(bench, tmp_path, name):
    secret = tmp_path / "outside"
    secret.mkdir()
    shutil.copy(bench.monitor / CALLS["rec_two_way"], secret / "secret.wav")
    shutil.copy(bench.monitor / CALLS["rec_two_way"], tmp_path / "outside.wav")
    os.symlink(secret, bench.monitor / "link")
    call_id = await bench.queue(name)
    await bench.pipeline().run_once()
    row = await bench.row(call_id)
    assert (row["status"], row["error"]) == ("failed",
                                             "recording name outside the monitor directory")
    assert (secret / "secret.wav").exists() and (tmp_path / "outside.wav").exists()
    assert not bench.store.exists()


async def test_corrupt_file_fails_after_a_few_tries_and_is_kept(bench):
    name = CALLS["rec_two_way"]
    customer = files_of(bench.monitor, name)[1]
    customer.write_bytes(customer.read_bytes()[:5000])  # truncated
    call_id = await bench.queue(name)
    pipeline = bench.pipeline()
    statuses = []
    for _ in range(3):
        row = await bench.row(call_id)
        bench.clock.now = max(bench.clock.now, row["next_try_at"])
        await pipeline.run_once()
        statuses.append((await bench.row(call_id))["status"])
    assert statuses == ["pending", "pending", "failed"]
    row = await bench.row(call_id)
    assert "truncated" in row["error"] and row["file"] is None
    assert all(p.exists() for p in files_of(bench.monitor, name))
    assert not list(bench.store.rglob("*")) if bench.store.exists() else True


async def test_a_leased_row_is_resumed_when_the_lease_runs_out(bench):
    call_id = await bench.queue(CALLS["rec_two_way"])
    # a process claimed it and died mid-way: its lease stays in the row
    async with bench.db.write() as conn:
        assert await repo.claim(conn, call_id, bench.clock(),
                                bench.clock() + timedelta(minutes=10)) is not None
    pipeline = bench.pipeline()
    assert await pipeline.run_once() == 0
    bench.clock.advance(minutes=10, seconds=1)
    assert await pipeline.run_once() == 1
    assert (await bench.row(call_id))["status"] == "ready"


async def test_a_result_after_the_lease_was_lost_is_not_stored(bench):
    call_id = await bench.queue(CALLS["rec_two_way"])
    async with bench.db.write() as conn:
        row = await repo.claim(conn, call_id, bench.clock(), bench.clock() + timedelta(minutes=1))
        # another worker took it over after the lease ran out
        later = bench.clock() + timedelta(minutes=2)
        assert await repo.claim(conn, call_id, later, later + timedelta(minutes=10))
        assert not await repo.settle(conn, call_id, row["lease_until"], {"status": "ready"})


@pytest.mark.postgres
async def test_two_pipelines_never_convert_the_same_row(bench):
    if bench.db.is_sqlite:
        pytest.skip("several processes share a database only on PostgreSQL")
    ids = []
    for i in range(6):
        sample = ("rec_two_way", "rec_one_way_operator_silent", "rec_both_silent")[i % 3]
        if i >= 3:  # copies under new names, so there are six calls' worth of files
            for p in files_of(bench.monitor, CALLS[sample]):
                shutil.copy(p, p.with_name(p.name.replace(".", f".{i}", 1)))
            name = CALLS[sample].replace(".", f".{i}", 1)
        else:
            name = CALLS[sample]
        ids.append(await bench.queue(name))
    first = bench.pipeline(own_db=True, recording_workers=2)
    second = bench.pipeline(own_db=True, recording_workers=2)
    done = []
    while len(done) < 6:
        counts = await asyncio.gather(first.run_once(), second.run_once())
        assert sum(counts) > 0
        done += [1] * sum(counts)
    assert len(done) == 6 and first.converted + second.converted == 6
    rows = [await bench.row(i) for i in ids]
    assert [r["status"] for r in rows] == ["ready"] * 6 and all(r["attempts"] == 1 for r in rows)


async def test_the_loop_works_when_woken(bench):
    pipeline = bench.pipeline()
    pipeline.poll_seconds = 60
    await pipeline.start()
    call_id = await bench.queue(CALLS["rec_two_way"])
    pipeline.wake()
    for _ in range(200):
        if (await bench.row(call_id))["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    assert (await bench.row(call_id))["status"] == "ready"
    await pipeline.stop()


async def test_retention_deletes_old_recordings_once_a_day(bench):
    old = await bench.queue(CALLS["rec_two_way"], started_at=T0 - timedelta(days=40))
    recent = await bench.queue(CALLS["rec_both_silent"])
    kept_off = bench.pipeline()
    for _ in range(2):
        await kept_off.run_once()
    assert await kept_off.delete_expired() == 0  # retention 0 keeps everything
    pipeline = bench.pipeline(recording_retention_days=30)
    old_file = bench.store / (await bench.row(old))["file"]
    assert old_file.exists()
    assert await pipeline.retention_due() is True
    assert await pipeline.delete_expired() == 1
    assert (await bench.row(old))["status"] == "deleted" and not old_file.exists()
    assert (await bench.row(recent))["status"] == "ready"
    assert (bench.store / (await bench.row(recent))["file"]).exists()
    # the same day, another process or a restart: not again
    assert await bench.pipeline(recording_retention_days=30, own_db=True).retention_due() is False
    bench.clock.advance(days=1)
    assert await pipeline.retention_due() is True
    async with bench.db.read() as conn:
        audited = (await conn.execute(select(audit_log.c.details).where(
            audit_log.c.action == "recording.retention"))).scalars().all()
    assert audited[-1]["deleted"] == 1


async def test_a_failed_recording_asked_again_gets_fresh_tries(bench):
    name = CALLS["rec_two_way"]
    files_of(bench.monitor, name)[2].write_bytes(os.urandom(20_000))
    call_id = await bench.queue(name)
    pipeline = bench.pipeline()
    while (row := await bench.row(call_id))["status"] == "pending":
        bench.clock.now = max(bench.clock.now, row["next_try_at"])
        await pipeline.run_once()
    assert row["status"] == "failed" and "not a PCM WAV" in row["error"]
    assert await pipeline.retry(call_id) is True
    await pipeline.run_once()
    assert (await bench.row(call_id))["status"] == "pending"  # one try of three, not failed
    shutil.copy(SAMPLES / "rec_two_way" / CALLS["rec_two_way"].replace(".wav", "-operator.wav"),
                files_of(bench.monitor, name)[2])
    bench.clock.advance(seconds=5)
    await pipeline.run_once()
    assert (await bench.row(call_id))["status"] == "ready"


async def test_stop_lets_a_running_conversion_finish(bench):
    call_id = await bench.queue(CALLS["rec_two_way"])
    pipeline = bench.pipeline()
    await pipeline.start()
    for _ in range(400):  # until a worker holds its lease (the conversion is under way)
        if (await bench.row(call_id))["lease_until"] is not None:
            break
        await asyncio.sleep(0.005)
    await pipeline.stop()
    row = await bench.row(call_id)
    assert (row["status"], row["lease_until"]) == ("ready", None)


async def test_a_stopped_pipeline_claims_nothing(bench):
    pipeline = bench.pipeline()
    await pipeline.start()
    await pipeline.stop()
    call_id = await bench.queue(CALLS["rec_two_way"])
    pipeline.wake()
    await asyncio.sleep(0.2)
    assert (await bench.row(call_id))["status"] == "pending"
