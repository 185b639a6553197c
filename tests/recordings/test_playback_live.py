"""From the PBX to the ear: a real AMI trace replayed over TCP, the real MixMonitor files
converted by the pipeline, then the operator who answered plays the recording from the call
log and another operator cannot (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import shutil

from callcenter.storage import recordings as repo
from tests.calls.conftest import start_pbx
from tests.recordings.test_playback import SAMPLES


async def _ready(pbx, call_id, timeout=30.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with pbx.services.db.read() as conn:
            row = await repo.recording_for_call(conn, call_id)
        if row and row["status"] == "ready":
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the recording of call {call_id} is not ready: {row}")


async def test_the_operator_who_answered_plays_the_converted_call(db_url, aiohttp_client,
                                                                  tmp_path):
    monitor = tmp_path / "monitor"
    shutil.copytree(SAMPLES / "rec_two_way" / "2026", monitor / "2026")
    store = tmp_path / "recordings"
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(monitor), "recordings_dir": str(store)})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / "rec_two_way" / "rec_two_way.jsonl")
        (call,) = await pbx.settle(1)
        row = await _ready(pbx, call["id"])
        anna, boris = await pbx.browser("101"), await pbx.browser("102")
        (listed,) = (await (await anna.get("/api/calls")).json())["items"]
        recording = listed["recording"]
        assert recording["status"] == "ready" and recording["health"] == "ok"
        assert recording["url"] == f"/api/calls/{call['id']}/recording"
        assert abs(recording["duration_seconds"] - 13.92) <= 0.25
        audio = await anna.get(recording["url"], headers={"Range": "bytes=0-"})
        assert audio.status == 206 and audio.headers["Content-Type"] == "audio/ogg"
        assert await audio.read() == (store / row["file"]).read_bytes()
        (theirs,) = (await (await boris.get("/api/calls")).json())["items"]
        assert theirs["recording"]["url"] is None
        assert (await boris.get(recording["url"])).status == 404
        await anna.close()
        await boris.close()
    finally:
        await pbx.sim.stop()
