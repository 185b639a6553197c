"""`callcenter backup` and `callcenter restore` as real subprocesses, on a real SQLite file and a
real PostgreSQL database, while a writer keeps committing during the backup."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.storage.tables import audit_log

CALLCENTER = Path(sys.executable).with_name("callcenter")
ACTION = "test.write"


def cli(db_url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "CALLCENTER_DB_URL": db_url,
           "CALLCENTER_BACKUP_DIR": str(tmp / "backups")}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run([str(CALLCENTER), *args], capture_output=True, text=True, env=env,
                          cwd=tmp, timeout=300)


async def _count(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(audit_log)
                                       .where(audit_log.c.action == ACTION))).scalar()
    finally:
        await engine.dispose()


async def _seed(url: str, n: int) -> None:
    engine = create_async_engine(url)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(audit_log), [
                {"at": now, "action": ACTION, "login": "seed", "entity": "test",
                 "details": {"i": i, "text": "Проверка резервной копии " * 8}} for i in range(n)])
    finally:
        await engine.dispose()


async def _delete_all(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(audit_log.delete().where(audit_log.c.action == ACTION))
    finally:
        await engine.dispose()


def run(coro):
    return asyncio.run(coro)


class Writer(threading.Thread):
    """Commits one row after another until stopped, on its own connection."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.written, self.error = url, threading.Event(), 0, None

    def run(self) -> None:
        async def loop():
            engine = create_async_engine(self.url)
            try:
                while not self.stop.is_set():
                    async with engine.begin() as conn:
                        await conn.execute(insert(audit_log).values(
                            at=datetime.now(timezone.utc), action=ACTION, login="writer",
                            details={"n": self.written}))
                    self.written += 1
            finally:
                await engine.dispose()
        try:
            asyncio.run(loop())
        except Exception as exc:  # pragma: no cover - reported by the test
            self.error = exc


def _backup_with_writer(db_url: str, tmp: Path) -> tuple[dict, Path, Writer]:
    run(_seed(db_url, 20000))
    writer = Writer(db_url)
    writer.start()
    try:
        while writer.written < 20:  # the writer is really writing when the backup begins
            pass
        result = cli(db_url, tmp, "backup", "--dir", str(tmp / "backups"))
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    assert result.returncode == 0, result.stderr
    name = json.loads(result.stdout.strip().splitlines()[-1])["name"]
    backup = tmp / "backups" / name
    manifest = json.loads((backup.parent / (name + ".json")).read_text("utf-8"))
    return manifest, backup, writer


def test_backup_while_writing_then_restore(db_url, tmp_path):
    manifest, backup, writer = _backup_with_writer(db_url, tmp_path)
    assert manifest["verified"] is True and manifest["error"] is None
    assert manifest["revision"] == "0018" or manifest["revision"]
    snapshot = manifest["counts"]["audit_log"]
    total = run(_count(db_url))
    assert 20000 + 20 <= snapshot <= total  # a snapshot taken while rows kept coming
    assert total > snapshot or writer.written > 20
    assert manifest["size"] == backup.stat().st_size > 0
    if make_url(db_url).get_backend_name() == "sqlite":
        # the copy opens on its own, is intact, and holds exactly the manifest's counts
        plain = tmp_path / "copy.sqlite3"
        plain.write_bytes(gzip.decompress(backup.read_bytes()))
        conn = sqlite3.connect(plain)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table, n in manifest["counts"].items():
            assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == n, table
        conn.close()
        assert not list((tmp_path / "backups").glob("*.partial*"))
    else:
        assert manifest["verify_method"] == "scratch_restore"

    run(_delete_all(db_url))
    assert run(_count(db_url)) == 0
    args = ["restore", str(backup)] + ([] if "sqlite" in db_url else ["--yes"])
    result = cli(db_url, tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert f"restored {backup.name}" in result.stdout
    assert run(_count(db_url)) == snapshot  # the deleted rows are back, as of the backup
    if "sqlite" in db_url:
        db = Path(make_url(db_url).database)
        assert list(db.parent.glob(db.name + ".before-restore-*"))


def _corrupt(backup: Path, how: str) -> None:
    data = backup.read_bytes()
    if how == "truncated":
        backup.write_bytes(data[: len(data) // 2])
    else:  # altered and its manifest "fixed" to match: the content itself must be refused
        backup.write_bytes(data[:200] + bytes(b ^ 0x5A for b in data[200:4000]) + data[4000:])
        import hashlib
        mpath = backup.with_name(backup.name + ".json")
        m = json.loads(mpath.read_text("utf-8"))
        m["sha256"] = hashlib.sha256(backup.read_bytes()).hexdigest()
        mpath.write_text(json.dumps(m), "utf-8")


@pytest.mark.parametrize("how", ["truncated", "altered"])
def test_a_corrupt_backup_is_refused_and_the_database_untouched(db_url, tmp_path, how):
    run(_seed(db_url, 3000))
    result = cli(db_url, tmp_path, "backup")
    assert result.returncode == 0, result.stderr
    backup = next((tmp_path / "backups").glob("callcenter-*[zp]"))
    run(_seed(db_url, 7))
    _corrupt(backup, how)
    args = ["restore", str(backup)] + ([] if "sqlite" in db_url else ["--yes"])
    result = cli(db_url, tmp_path, *args)
    assert result.returncode == 1
    assert "error:" in result.stderr and "not touched" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert run(_count(db_url)) == 3007


def test_sqlite_restore_refused_while_the_database_is_open(sqlite_url, tmp_path):
    result = cli(sqlite_url, tmp_path, "backup")
    assert result.returncode == 0, result.stderr
    backup = next((tmp_path / "backups").glob("*.sqlite3.gz"))
    holder = sqlite3.connect(make_url(sqlite_url).database)  # as a running server does
    holder.execute("SELECT count(*) FROM audit_log").fetchone()
    try:
        result = cli(sqlite_url, tmp_path, "restore", str(backup))
    finally:
        holder.close()
    assert result.returncode == 1 and "in use" in result.stderr


@pytest.mark.postgres
def test_postgres_restore_needs_yes(db_url, tmp_path):
    if "sqlite" in db_url:
        pytest.skip("PostgreSQL only")
    result = cli(db_url, tmp_path, "backup")
    assert result.returncode == 0, result.stderr
    backup = next((tmp_path / "backups").glob("*.pgdump"))
    result = cli(db_url, tmp_path, "restore", str(backup))
    assert result.returncode == 1 and "--yes" in result.stderr
