"""The recording stored with a call, from the real MixMonitor traces and files (SQLite and
PostgreSQL): relative to the monitor directory, never a header-only file, unverified when the
CRM's machine cannot see the files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.calls.conftest import start_pbx

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "recordings"


@pytest.mark.parametrize("folder, trace, recording, verified", [
    ("rec_two_way", "rec_two_way", "2026/12/01/1796155319.15.wav", True),
    ("abandoned_header_only", "cdr_inbound_abandoned", None, False),
])  # fmt: skip
async def test_recording_checked_at_the_end_of_the_call(db_url, aiohttp_client, tmp_path, folder,
                                                         trace, recording, verified):
    # a copy: the recordings pipeline removes the originals once it has converted them
    monitor = tmp_path / "monitor"
    shutil.copytree(SAMPLES / folder / "2026", monitor / "2026")
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(monitor), "recordings_dir": str(tmp_path / "recordings")})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / folder / f"{trace}.jsonl")
        (call,) = await pbx.settle(1)
        assert call["recording"] == recording
        assert (call["variables"] or {}).get("recording_verified") == (
            ("yes" if verified else "no") if recording else None)
        anna = await pbx.browser("101")
        listed = (await (await anna.get("/api/calls")).json())["items"]
        assert [(c["recording_file"], c["recording_verified"]) for c in listed] == [(recording, verified)]
        await anna.session.close()
    finally:
        await pbx.sim.stop()


async def test_unseen_recording_keeps_its_name_unverified(db_url, aiohttp_client, tmp_path):
    # the monitor directory is not mounted on the CRM's machine
    pbx = await start_pbx(db_url, aiohttp_client,
                          settings_overrides={"monitor_dir": str(tmp_path / "not-mounted")})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / "rec_two_way" / "rec_two_way.jsonl")
        (call,) = await pbx.settle(1)
        assert call["recording"] == "2026/12/01/1796155319.15.wav"  # relative, not /var/spool/...
        assert call["variables"]["recording_verified"] == "no"
    finally:
        await pbx.sim.stop()


async def test_monitor_dir_setting_is_what_is_stripped(db_url, aiohttp_client, tmp_path):
    # a PBX whose monitor directory is elsewhere: its absolute names are not relative to it
    pbx = await start_pbx(db_url, aiohttp_client, settings_overrides={
        "monitor_dir": str(tmp_path), "asterisk_monitor_dir": "/srv/pbx/monitor"})
    try:
        await pbx.telephony.ami.wait_connected(10)
        await pbx.replay(SAMPLES / "rec_two_way" / "rec_two_way.jsonl")
        (call,) = await pbx.settle(1)
        assert call["recording"] == "/var/spool/asterisk/monitor/2026/12/01/1796155319.15.wav"
        assert call["variables"]["recording_verified"] == "no"  # never looked up outside the folder
    finally:
        await pbx.sim.stop()
