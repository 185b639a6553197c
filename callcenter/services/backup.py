"""Backups: make one (SQLite online copy or pg_dump), verify it, write its manifest, keep N days,
restore one, and the server's daily job.

Each backup ``callcenter-YYYYmmdd-HHMMSS.sqlite3.gz`` / ``.pgdump`` in ``backup_dir`` has a
manifest ``<file>.json``: started/finished, size, sha256, db kind, migration revision, per-table
counts, verified, error. The list over HTTP is read from the manifests; the database itself is
never served over HTTP (copy the files from ``backup_dir``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.domain import backups as rules
from callcenter.errors import BackupFailed, BackupRunning
from callcenter.services import backup_pg, backup_sqlite
from callcenter.services.backup_sqlite import BackupFileError
from callcenter.services.context import Actor
from callcenter.storage import locks
from callcenter.storage.audit import record
from callcenter.storage.database import Database
from callcenter.storage.migrate import head_revision
from callcenter.storage.recordings import take_daily_job

log = logging.getLogger("callcenter.backup")
PG_LOCK_KEY = 0x0CA11BAC  # pg_try_advisory_lock: one backing-up process per database
#: the daily job's mark in ``scheduler_jobs``: the process that moves it makes the day's backup
DAILY_JOB = "backup_daily"
#: less than a day (a 23-hour day in spring, clocks a little apart), more than anything else
DAILY_GAP = timedelta(hours=20)


def sqlite_file(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return Path(u.database)
    return None


def read_manifests(folder: Path) -> list[dict[str, Any]]:
    """Every backup's manifest in ``folder``, newest first; unreadable ones are skipped."""
    out = []
    if not folder.is_dir():
        return out
    for path in folder.glob("callcenter-*.json"):
        name = path.name[:-len(rules.MANIFEST_SUFFIX)]
        if rules.parse_backup_name(name) is None:
            continue
        try:
            out.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda m: m.get("name", ""), reverse=True)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / (manifest["name"] + rules.MANIFEST_SUFFIX)
    work = path.with_name(path.name + ".partial")
    work.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    os.replace(work, path)


class BackupService:
    def __init__(self, db: Database | None, clock: Callable[[], datetime], *, url: str,
                 backup_dir: str, keep_days: int, backup_time: str, timezone: str):
        self.db, self.clock, self.url = db, clock, url
        self.folder = Path(backup_dir)
        self.keep_days = keep_days
        self.at = rules.parse_backup_time(backup_time)
        self.timezone = timezone
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._running: asyncio.Task | None = None
        self._loop_task: asyncio.Task | None = None

    # --- making ---
    async def create(self, actor: Actor | None = None) -> dict[str, Any]:
        """Make, verify and register one backup; apply retention. Returns the manifest
        (``verified`` false and ``error`` set when it failed — it is still recorded)."""
        started = self.clock()
        self.folder.mkdir(parents=True, exist_ok=True)
        name = rules.backup_name("sqlite" if self.is_sqlite else "postgresql", started)
        target = self.folder / name
        manifest: dict[str, Any] = {
            "name": name, "file": name, "db_kind": "sqlite" if self.is_sqlite else "postgresql",
            "started_at": started.isoformat(), "finished_at": None, "size": None,
            "sha256": None, "revision": None, "counts": {}, "verified": False, "error": None}
        try:
            if self.is_sqlite:
                source = sqlite_file(self.url)
                if source is None:
                    raise BackupFileError("only a file SQLite database can be backed up")
                info = await asyncio.to_thread(backup_sqlite.make_backup, source, target)
                check = await asyncio.to_thread(
                    backup_sqlite.verify_backup, target,
                    self.folder / (name + ".verify.sqlite3"))
                manifest["verify_method"] = "integrity_check+counts"
            else:
                info = await backup_pg.make_backup(self.url, target)
                check = await backup_pg.verify_backup(self.url, target, info["counts"])
                manifest["verify_method"] = check["method"]
                if check.get("note"):
                    manifest["verify_note"] = check["note"]
            manifest.update(counts=info["counts"], revision=info["revision"])
            if "counts" in check and check["counts"] != info["counts"]:
                raise BackupFileError("row counts of the copy differ from the snapshot's")
            manifest["size"] = target.stat().st_size
            manifest["sha256"] = await asyncio.to_thread(backup_sqlite.sha256_of, target)
            manifest["verified"] = True
        except (BackupFileError, backup_pg.ToolMissing, OSError) as exc:
            manifest["error"] = str(exc)
            log.error("backup %s failed: %s", name, exc)
        except Exception as exc:  # the manifest must say what went wrong, whatever it was
            manifest["error"] = f"{type(exc).__name__}: {exc}"
            log.exception("backup %s failed", name)
        manifest["finished_at"] = self.clock().isoformat()
        if target.exists() and manifest["size"] is None:
            manifest["size"] = target.stat().st_size
        _write_manifest(self.folder, manifest)
        manifest["deleted"] = self.apply_retention()
        await self._audit(actor, "backup.create", name, {
            "verified": manifest["verified"], "error": manifest["error"],
            "size": manifest["size"], "deleted": manifest["deleted"]})
        return manifest

    def apply_retention(self) -> list[str]:
        infos = []
        for m in read_manifests(self.folder):
            at = rules.parse_backup_name(m.get("name", ""))
            if at is not None:
                infos.append(rules.BackupInfo(m["name"], at, bool(m.get("verified"))))
        doomed = rules.to_delete(infos, now=self.clock(), keep_days=self.keep_days)
        for name in doomed:
            (self.folder / name).unlink(missing_ok=True)
            (self.folder / (name + rules.MANIFEST_SUFFIX)).unlink(missing_ok=True)
        return doomed

    async def _audit(self, actor: Actor | None, action: str, name: str,
                     details: dict[str, Any]) -> None:
        if self.db is None:
            return
        actor = actor or Actor.system("backup")
        try:
            async with self.db.write() as conn:
                await record(conn, at=self.clock(), action=action, user_id=actor.user_id,
                             login=actor.login, ip=actor.ip, entity="backup", entity_id=name,
                             details=details)
        except Exception as exc:  # a restored, older schema may lack the audit table
            log.warning("could not audit %s: %s", action, exc)

    # --- the API's view ---
    async def status(self) -> dict[str, Any]:
        items = read_manifests(self.folder)
        listed = [{k: m.get(k) for k in ("name", "started_at", "finished_at", "size", "verified",
                                         "error", "db_kind", "revision", "sha256")}
                  for m in items]
        verified = [m for m in items if m.get("verified")]
        newest = rules.parse_backup_name(verified[0]["name"]) if verified else None
        now = self.clock()
        return {"backups": listed, "last": listed[0] if listed else None,
                "last_verified": listed[items.index(verified[0])] if verified else None,
                "stale": rules.is_stale(newest, now=now, daily_job=self.at is not None),
                "running": await self.is_running(), "daily_time": self.at.strftime("%H:%M")
                if self.at else None, "timezone": self.timezone,
                "next_run": rules.next_run(self.at, self.timezone, now).isoformat()
                if self.at else None, "backup_dir": str(self.folder.resolve())}

    @property
    def running(self) -> bool:
        """This process is making a backup."""
        return self._running is not None and not self._running.done()

    async def is_running(self) -> bool:
        """A backup is being made: by this process, or on PostgreSQL by any process on this
        database (whoever holds the backup's advisory lock)."""
        if self.running:
            return True
        if self.is_sqlite or self.db is None:
            return False
        async with self.db.read() as conn:
            return await locks.session_lock_held(conn, PG_LOCK_KEY)

    async def start_now(self, actor: Actor) -> None:
        """Back up in the background; BackupRunning when a backup is already running. On
        PostgreSQL the lock is taken here, before the caller answers, so a backup another
        process is making is refused too."""
        if self.running:
            raise BackupRunning("a backup is already running")
        held = await self._take_lock()
        self._running = asyncio.get_running_loop().create_task(self._holding(held, actor),
                                                                 name="backup-now")

    async def _take_lock(self) -> AsyncConnection | None:
        """One backup at a time across processes: on PostgreSQL the advisory lock, taken on a
        connection of its own (autocommit: no transaction stays open while pg_dump runs) that
        holds it until :meth:`_holding` ends; BackupRunning when another session holds it.
        None where there is nothing to lock (SQLite is served by one process), without
        waiting."""
        if self.is_sqlite or self.db is None:
            return None
        conn = await self.db.read_engine.connect()
        try:
            if await locks.try_session_lock(conn, PG_LOCK_KEY):
                return conn
        except BaseException:
            await conn.close()
            raise
        await conn.close()
        raise BackupRunning("a backup is already running (another server process)")

    async def _holding(self, conn: AsyncConnection | None,
                       actor: Actor | None) -> dict[str, Any]:
        """Back up while ``conn`` holds the lock; release it after, whatever happened."""
        try:
            return await self.create(actor)
        finally:
            if conn is not None:
                try:
                    await locks.release_session_lock(conn, PG_LOCK_KEY)
                except BaseException:
                    # a session that might still hold the lock must not go back to the pool
                    await conn.invalidate()
                    raise
                finally:
                    await conn.close()

    # --- restoring ---
    async def restore(self, backup: Path, *, yes: bool) -> dict[str, Any]:
        manifest_path = backup.with_name(backup.name + rules.MANIFEST_SUFFIX)
        if not backup.is_file():
            raise BackupFailed(f"no backup file {backup}")
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
        except (OSError, ValueError):
            raise BackupFailed(f"no readable manifest {manifest_path.name} beside the backup; "
                               "refusing to restore a file that cannot be checked") from None
        digest = await asyncio.to_thread(backup_sqlite.sha256_of, backup)
        if digest != manifest.get("sha256"):
            raise BackupFailed(f"{backup.name} does not match its manifest's sha256 "
                               "(truncated or altered); the database was not touched")
        try:
            if self.is_sqlite:
                if manifest.get("db_kind") != "sqlite":
                    raise BackupFailed("this is not an SQLite backup")
                path = sqlite_file(self.url)
                if path is None:
                    raise BackupFailed("the database is not an SQLite file")
                if await asyncio.to_thread(backup_sqlite.database_in_use, path):
                    raise BackupFailed(f"{path} is in use (is the server running?); stop it "
                                       "first")
                info = await asyncio.to_thread(backup_sqlite.restore_backup, backup, path,
                                               self.clock())
            else:
                if manifest.get("db_kind") != "postgresql":
                    raise BackupFailed("this is not a PostgreSQL backup")
                if not yes:
                    raise BackupFailed("restoring replaces every table of the PostgreSQL "
                                       "database; stop the servers and run again with --yes")
                info = await backup_pg.restore_backup(self.url, backup)
        except (BackupFileError, backup_pg.ToolMissing) as exc:
            raise BackupFailed(f"{exc}; the database was not touched") from None
        info["needs_migrate"] = info.get("revision") != head_revision()
        await self._audit(None, "backup.restore", backup.name,
                          {"revision": info.get("revision")})
        return info

    # --- the daily job ---
    async def start(self) -> None:
        if self.at is not None:
            self._loop_task = asyncio.get_running_loop().create_task(self._daily(),
                                                                     name="backup-daily")

    async def stop(self) -> None:
        for task in (self._loop_task, self._running):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._loop_task = self._running = None

    async def daily_run(self) -> dict[str, Any] | None:
        """The daily job at its time. The day is claimed in the database first (a conditional
        update of ``scheduler_jobs``' ``backup_daily``), so of several processes waking at the
        same time — or one after another finished — exactly one backs up that day; then the
        backup, under the lock. Returns its manifest; None when another process has taken the
        day, or a backup (of any process) is being made."""
        if self.running:
            return None
        if self.db is not None:
            async with self.db.write() as conn:
                if not await take_daily_job(conn, DAILY_JOB, self.clock(), DAILY_GAP):
                    log.info("today's backup was taken by another process")
                    return None
        if self.running:  # "Back up now" started meanwhile: that is today's
            return None
        try:
            held = await self._take_lock()
        except BackupRunning:
            log.info("another process is backing up this database; skipped")
            return None
        self._running = asyncio.get_running_loop().create_task(self._holding(held, None),
                                                                 name="backup-daily-run")
        return await asyncio.shield(self._running)

    async def _daily(self) -> None:
        assert self.at is not None
        while True:
            due = rules.next_run(self.at, self.timezone, self.clock())
            await asyncio.sleep(max(1.0, (due - self.clock()).total_seconds()))
            try:
                await self.daily_run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("daily backup failed")
