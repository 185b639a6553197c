"""Hearing recordings over the API (SQLite and PostgreSQL): who may hear and download which
recording, HTTP Range on real converted audio, crafted ids and paths, the audit rows, the
supervisors' missing list and retry.

The recordings table is filled here by hand and the files converted with ffmpeg from the real
MixMonitor samples, so these tests do not depend on the recordings pipeline running."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from callcenter.storage.tables import audit_log, calls, recordings
from tests.api.conftest import api_with  # noqa: F401  (the fixture)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "recordings"
TWO_WAY = SAMPLES / "rec_two_way" / "2026" / "12" / "01" / "1796155319.15.wav"
PASSWORD = "secret-pw-10"


def convert(source: Path, target: Path) -> Path:
    """``source`` converted the way the pipeline stores recordings (Opus in Ogg, or MP3)."""
    codec = ["-c:a", "libopus", "-b:a", "24k"] if target.suffix == ".ogg" \
        else ["-c:a", "libmp3lame", "-b:a", "32k"]
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), *codec,
                    str(target)], check=True)
    return target


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> dict[str, Path]:
    """The two-way sample as .ogg and .mp3 (converted once per run)."""
    folder = tmp_path_factory.mktemp("converted")
    return {fmt: convert(TWO_WAY, folder / f"two_way.{ext}")
            for fmt, ext in (("opus", "ogg"), ("mp3", "mp3"))}


@dataclass
class Desk:
    api: Any
    root: Path
    sessions: dict[str, Any]
    users: dict[str, dict]
    calls: dict[str, int]

    async def get(self, who: str, path: str, **kw):
        return await self.sessions[who].get(path, **kw)

    async def audit(self, action: str) -> list[dict]:
        async with self.api.services.db.read() as conn:
            rows = await conn.execute(select(audit_log).where(audit_log.c.action == action)
                                      .order_by(audit_log.c.id))
            return [dict(r._mapping) for r in rows]


async def add_call(conn, key: str, now, **values) -> int:
    base = {"call_key": key, "linkedid": key, "direction": "inbound", "caller": "+79161234567",
            "caller_e164": "+79161234567", "operators_rung": [], "handled_by": [],
            "started_at": now - timedelta(minutes=3), "answered_at": now - timedelta(minutes=2),
            "ended_at": now, "outcome": "answered", "talk_seconds": 14, "variables": {}}
    return (await conn.execute(insert(calls).values(**{**base, **values})
                               .returning(calls.c.id))).scalar_one()


async def add_recording(conn, call_id: int, now, *, status="ready", file=None, fmt="opus",
                        **values) -> None:
    await conn.execute(insert(recordings).values(**{
        "call_id": call_id, "source": f"2026/12/01/{call_id}.wav",
        "parts": [f"2026/12/01/{call_id}.wav"], "status": status, "file": file,
        "format": fmt if file else None, "duration_seconds": 13.92 if file else None,
        "health": "ok" if file else None, "details": {}, "attempts": 0,
        "call_started_at": now - timedelta(minutes=3), "created_at": now, "updated_at": now,
        **values}))


async def build_desk(api_with, tmp_path, converted, **overrides) -> Desk:  # noqa: F811
    root = tmp_path / "recordings"
    api = await api_with(recordings_dir=str(root), **overrides)
    users = {"anna": await api.user("anna", "operator", PASSWORD, extension="PJSIP/101"),
             "boris": await api.user("boris", "operator", PASSWORD, extension="PJSIP/102"),
             "sup": await api.user("sup", "supervisor", PASSWORD, extension="PJSIP/201"),
             "admin": await api.user("admin", "admin", PASSWORD)}
    now = api.clock()
    ids = {}
    async with api.services.db.write() as conn:
        # anna answered one, placed one, took one over in a transfer; boris answered one
        ids["anna_in"] = await add_call(conn, "anna-in", now, answered_by="PJSIP/101",
                                        answered_by_user_id=users["anna"]["id"],
                                        handled_by=["PJSIP/101"])
        ids["anna_out"] = await add_call(conn, "anna-out", now, direction="outbound",
                                         placed_by="PJSIP/101", callee="+79161234567")
        ids["transfer"] = await add_call(conn, "transfer", now, answered_by="PJSIP/102",
                                         answered_by_user_id=users["boris"]["id"],
                                         handled_by=["PJSIP/102", "PJSIP/101"])
        ids["boris_in"] = await add_call(conn, "boris-in", now, answered_by="PJSIP/102",
                                         answered_by_user_id=users["boris"]["id"],
                                         handled_by=["PJSIP/102"])
        ids["mp3"] = await add_call(conn, "mp3", now, answered_by="PJSIP/102",
                                    answered_by_user_id=users["boris"]["id"])
        ids["gone"] = await add_call(conn, "gone", now, answered_by="PJSIP/102")
        ids["missing"] = await add_call(conn, "missing", now, answered_by="PJSIP/101",
                                        answered_by_user_id=users["anna"]["id"])
        ids["failed"] = await add_call(conn, "failed", now - timedelta(hours=1),
                                       answered_by="PJSIP/102")
        ids["pending"] = await add_call(conn, "pending", now, answered_by="PJSIP/101",
                                        answered_by_user_id=users["anna"]["id"])
        ids["no_row"] = await add_call(conn, "no-row", now, answered_by="PJSIP/101",
                                       answered_by_user_id=users["anna"]["id"])
        for kind in ("anna_in", "anna_out", "transfer", "boris_in", "mp3"):
            fmt = "mp3" if kind == "mp3" else "opus"
            name = f"2026/11/23/call-{ids[kind]}.{'mp3' if fmt == 'mp3' else 'ogg'}"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(converted[fmt], root / name)
            await add_recording(conn, ids[kind], now, file=name, fmt=fmt,
                                bytes=(root / name).stat().st_size)
        await add_recording(conn, ids["gone"], now, file="2026/11/23/vanished.ogg")
        await add_recording(conn, ids["missing"], now, status="missing", attempts=4,
                            error="no file in the monitor directory after 10 minutes")
        await add_recording(conn, ids["failed"], now, status="failed", attempts=2,
                            error="ffmpeg: invalid data", call_started_at=now - timedelta(hours=1))
        await add_recording(conn, ids["pending"], now, status="pending")
    sessions = {login: await api.login(login, password=PASSWORD, create=False) for login in users}
    return Desk(api, root, sessions, users, ids)


@pytest.fixture
async def desk(api_with, tmp_path, converted):  # noqa: F811
    return await build_desk(api_with, tmp_path, converted)


def url(call_id) -> str:
    return f"/api/calls/{call_id}/recording"


async def test_staff_hear_every_recording_as_the_stored_file(desk, converted):
    for who in ("sup", "admin"):
        for kind in ("anna_in", "boris_in"):
            resp = await desk.get(who, url(desk.calls[kind]))
            assert resp.status == 200, (who, kind)
            assert await resp.read() == converted["opus"].read_bytes()
            assert resp.headers["Content-Type"] == "audio/ogg"
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert resp.headers["Cache-Control"] == "private, no-store"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Content-Disposition"].startswith("inline")
    resp = await desk.get("sup", url(desk.calls["mp3"]))
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/mpeg"
    assert await resp.read() == converted["mp3"].read_bytes()


async def test_an_operator_hears_own_calls_only_and_others_look_absent(desk):
    for kind in ("anna_in", "anna_out", "transfer"):
        assert (await desk.get("anna", url(desk.calls[kind]))).status == 200, kind
    other = await desk.get("anna", url(desk.calls["boris_in"]))
    absent = await desk.get("anna", url(999_999))
    assert other.status == absent.status == 404
    # the same answer as for a call that does not exist: ids cannot be probed
    assert (await other.json())["error"]["message"].replace(str(desk.calls["boris_in"]), "N") \
        == (await absent.json())["error"]["message"].replace("999999", "N")
    assert (await desk.get("boris", url(desk.calls["boris_in"]))).status == 200


async def test_with_the_setting_off_operators_hear_nothing(api_with, tmp_path, converted):  # noqa: F811
    desk = await build_desk(api_with, tmp_path, converted, operators_hear_own_recordings=False)
    assert (await desk.get("anna", url(desk.calls["anna_in"]))).status == 404
    assert (await desk.get("sup", url(desk.calls["anna_in"]))).status == 200
    listed = (await (await desk.get("anna", "/api/calls")).json())["items"]
    mine = next(c for c in listed if c["id"] == desk.calls["anna_in"])
    assert mine["recording"]["status"] == "ready" and mine["recording"]["url"] is None


async def test_download_for_those_allowed(desk):
    resp = await desk.get("sup", url(desk.calls["anna_in"]) + "?download=1")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == \
        f'attachment; filename="call-{desk.calls["anna_in"]}-2026-11-23.ogg"'
    refused = await desk.get("anna", url(desk.calls["anna_in"]) + "?download=1")
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "download_not_allowed"
    # another operator's call stays absent, download or not
    assert (await desk.get("anna", url(desk.calls["boris_in"]) + "?download=1")).status == 404


async def test_operators_download_when_the_shop_allows_it(api_with, tmp_path, converted):  # noqa: F811
    desk = await build_desk(api_with, tmp_path, converted, operators_download_recordings=True)
    resp = await desk.get("anna", url(desk.calls["anna_in"]) + "?download=1")
    assert resp.status == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    assert (await desk.get("anna", url(desk.calls["boris_in"]) + "?download=1")).status == 404


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-99", 0, 99),
    ("bytes=1000-", 1000, None),
    ("bytes=-500", -500, None),
])
async def test_a_range_gives_206_with_the_slice_of_the_file(desk, converted, header, start, end):
    data = converted["opus"].read_bytes()
    resp = await desk.get("sup", url(desk.calls["anna_in"]), headers={"Range": header})
    assert resp.status == 206
    body = await resp.read()
    first = start if start >= 0 else len(data) + start
    last = len(data) - 1 if end is None else end
    assert body == data[first:last + 1]
    assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert resp.headers["Content-Type"] == "audio/ogg"


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=0-1,5-9", "bytes=abc",
                                    "items=0-5", "bytes=9-2"])
async def test_unsatisfiable_or_odd_ranges_never_fail(desk, header):
    resp = await desk.get("sup", url(desk.calls["anna_in"]), headers={"Range": header})
    # what aiohttp answers: 416 for what it cannot satisfy or read, the whole file otherwise
    assert resp.status in (200, 416), (header, resp.status)
    if resp.status == 416:
        assert resp.headers["Content-Range"].startswith("bytes */")


async def test_head_gives_the_headers_without_the_audio(desk, converted):
    resp = await desk.sessions["sup"].client.head(url(desk.calls["anna_in"]))
    assert resp.status == 200
    assert int(resp.headers["Content-Length"]) == converted["opus"].stat().st_size
    assert await resp.read() == b""
    assert (await desk.sessions["anna"].client.head(url(desk.calls["boris_in"]))).status == 404


@pytest.mark.parametrize("path", [
    "/api/calls/abc/recording", "/api/calls/-1/recording", "/api/calls/0/recording",
    "/api/calls/99999999999999999999999/recording",
    "/api/calls/..%2f..%2fetc%2fpasswd/recording", "/api/calls/1%2f..%2f2/recording",
    "/api/calls/%2e%2e/recording", "/api/calls/1.5/recording",
])
async def test_crafted_ids_and_traversal_get_404(desk, path):
    resp = await desk.sessions["sup"].client.get(path, allow_redirects=False)
    assert resp.status == 404, (path, resp.status)


async def test_a_nul_in_the_id_is_refused_before_any_handler(desk):
    # as on every route: text SQL cannot hold is a bad request, never a file lookup
    resp = await desk.sessions["sup"].client.get("/api/calls/1%00/recording")
    assert resp.status == 400
    assert (await resp.json())["error"]["details"] == {"param": "id"}


async def test_a_row_pointing_out_of_the_folder_is_not_followed(desk, tmp_path, converted):
    secret = tmp_path / "outside.ogg"
    shutil.copy(converted["opus"], secret)
    os.symlink(secret, desk.root / "2026" / "11" / "23" / "link.ogg")
    async with desk.api.services.db.write() as conn:
        now = desk.api.clock()
        for kind, name in (("dotdot", "../outside.ogg"), ("link", "2026/11/23/link.ogg"),
                           ("absolute", str(secret)), ("folder", "2026/11/23")):
            call_id = await add_call(conn, kind, now)
            await add_recording(conn, call_id, now, file=name)
            desk.calls[kind] = call_id
    for kind in ("dotdot", "link", "absolute", "folder"):
        resp = await desk.get("sup", url(desk.calls[kind]))
        assert resp.status == 404, kind
        assert (await resp.json())["error"]["details"]["reason"] == "file_missing"


async def test_a_recording_whose_file_is_gone_is_a_clear_404(desk):
    resp = await desk.get("sup", url(desk.calls["gone"]))
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["code"] == "not_found"
    assert body["error"]["details"] == {"entity": "recording", "id": desk.calls["gone"],
                                        "reason": "file_missing"}
    assert "gone" in body["error"]["message"]
    pending = await desk.get("sup", url(desk.calls["pending"]))
    assert pending.status == 404
    assert (await pending.json())["error"]["details"]["status"] == "pending"
    assert (await desk.get("sup", url(desk.calls["no_row"]))).status == 404


async def test_listens_are_audited_once_per_ten_minutes_downloads_every_time(desk):
    call_id = desk.calls["anna_in"]
    for header in ("bytes=0-99", "bytes=100-", None, "bytes=-500"):
        resp = await desk.get("sup", url(call_id), headers={"Range": header} if header else {})
        assert resp.status in (200, 206)
    await desk.get("anna", url(call_id))
    listens = await desk.audit("recording.listen")
    assert [(r["login"], r["entity"], r["entity_id"]) for r in listens] == [
        ("sup", "call", str(call_id)), ("anna", "call", str(call_id))]
    desk.api.clock.advance(minutes=11)
    await desk.get("sup", url(call_id), headers={"Range": "bytes=0-1"})
    assert len(await desk.audit("recording.listen")) == 3
    for _ in range(2):
        assert (await desk.get("sup", url(call_id) + "?download=1")).status == 200
    downloads = await desk.audit("recording.download")
    assert [(r["login"], r["entity_id"]) for r in downloads] == [("sup", str(call_id))] * 2
    # refused and absent ones leave no trace
    await desk.get("anna", url(call_id) + "?download=1")
    await desk.get("anna", url(desk.calls["boris_in"]))
    assert len(await desk.audit("recording.download")) == 2
    assert len(await desk.audit("recording.listen")) == 3


async def test_the_call_log_and_the_card_carry_the_recording_object(desk):
    listed = {c["id"]: c for c in (await (await desk.get("anna", "/api/calls?limit=100")).json())["items"]}
    ready = listed[desk.calls["anna_in"]]["recording"]
    assert ready == {"status": "ready", "health": "ok", "duration_seconds": 13.92,
                     "format": "opus", "url": url(desk.calls["anna_in"]), "may_download": False}
    assert listed[desk.calls["boris_in"]]["recording"]["url"] is None  # not hers to hear
    assert listed[desk.calls["missing"]]["recording"]["status"] == "missing"
    assert listed[desk.calls["no_row"]]["recording"] is None
    staff = {c["id"]: c for c in (await (await desk.get("sup", "/api/calls?limit=100")).json())["items"]}
    assert staff[desk.calls["boris_in"]]["recording"]["url"] == url(desk.calls["boris_in"])
    assert staff[desk.calls["boris_in"]]["recording"]["may_download"] is True
    assert staff[desk.calls["mp3"]]["recording"]["format"] == "mp3"

    client = await desk.api.services.clients.create(
        __import__("callcenter.services.context", fromlist=["Actor"]).Actor.system("test"),
        {"name": "Иван Петров", "phones": ["+79161234567"]})
    async with desk.api.services.db.write() as conn:
        await conn.execute(calls.update().where(calls.c.id.in_(
            [desk.calls["anna_in"], desk.calls["boris_in"]])).values(client_id=client["id"]))
    card = await (await desk.get("anna", f"/api/clients/{client['id']}")).json()
    by_id = {c["id"]: c["recording"] for c in card["calls"]}
    assert by_id[desk.calls["anna_in"]]["url"] == url(desk.calls["anna_in"])
    assert by_id[desk.calls["boris_in"]]["url"] is None
    patched = await desk.sessions["anna"].patch(f"/api/calls/{desk.calls['anna_in']}",
                                                json={"note": "перезвонить"})
    assert (await patched.json())["recording"]["url"] == url(desk.calls["anna_in"])


async def test_the_missing_list_and_retry(desk):
    assert (await desk.get("anna", "/api/recordings/missing")).status == 403
    body = await (await desk.get("sup", "/api/recordings/missing")).json()
    assert body["total"] == 2
    assert [(i["id"], i["recording"]["status"], i["attempts"]) for i in body["items"]] == [
        (desk.calls["missing"], "missing", 4), (desk.calls["failed"], "failed", 2)]
    assert body["items"][0]["error"] == "no file in the monitor directory after 10 minutes"
    assert body["items"][0]["answered_by_name"] == "Anna"
    page = await (await desk.get("sup", "/api/recordings/missing?limit=1&offset=1")).json()
    assert [i["id"] for i in page["items"]] == [desk.calls["failed"]] and page["total"] == 2

    # the pipeline stopped, so that nothing converts the row before it is looked at
    await desk.api.services.recordings.stop()
    desk.api.clock.advance(minutes=1)
    resp = await desk.sessions["sup"].post(f"/api/recordings/{desk.calls['failed']}/retry")
    assert resp.status == 200
    assert (await resp.json()) == {"call_id": desk.calls["failed"], "recording": {
        "status": "pending", "health": None, "duration_seconds": None, "format": None,
        "url": None, "may_download": False}}
    async with desk.api.services.db.read() as conn:
        row = (await conn.execute(select(recordings).where(
            recordings.c.call_id == desk.calls["failed"]))).one()
    assert (row.status, row.attempts, row.error, row.next_try_at) == \
        ("pending", 0, None, desk.api.clock())
    (audited,) = await desk.audit("recording.retry")
    assert (audited["login"], audited["entity_id"]) == ("sup", str(desk.calls["failed"]))
    assert audited["details"]["status"] == "failed"
    after = await (await desk.get("sup", "/api/recordings/missing")).json()
    assert [i["id"] for i in after["items"]] == [desk.calls["missing"]]
    ready = await desk.sessions["sup"].post(f"/api/recordings/{desk.calls['anna_in']}/retry")
    assert ready.status == 409
    assert (await ready.json())["error"]["details"] == {"status": "ready"}
    absent = await desk.sessions["sup"].post(f"/api/recordings/{desk.calls['no_row']}/retry")
    assert absent.status == 404
    assert (await desk.sessions["anna"].post(
        f"/api/recordings/{desk.calls['missing']}/retry")).status == 403


async def test_retry_without_a_pipeline_resets_the_row_itself(desk):
    await desk.api.services.recordings.stop()
    desk.api.services.recording_access.pipeline = lambda: None
    resp = await desk.sessions["admin"].post(f"/api/recordings/{desk.calls['missing']}/retry")
    assert resp.status == 200
    async with desk.api.services.db.read() as conn:
        row = (await conn.execute(select(recordings).where(
            recordings.c.call_id == desk.calls["missing"]))).one()
    assert (row.status, row.attempts, row.error, row.next_try_at) == \
        ("pending", 0, None, desk.api.clock())
    assert [r["login"] for r in await desk.audit("recording.retry")] == ["admin"]
