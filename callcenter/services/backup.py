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
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url

from callcenter.domain import backups as rules
from callcenter.errors import BackupFailed, BackupRunning
from callcenter.services import backup_pg, backup_sqlite
from callcenter.services.backup_sqlite import BackupFileError
from callcenter.services.context import Actor
from callcenter.storage.audit import record
from callcenter.storage.database import Database
from callcenter.storage.migrate import head_revision

log = logging.getLogger("callcenter.backup")
PG_LOCK_KEY = 0x0CA11BAC  # pg_try_advisory_lock: one backing-up process per database


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
    def status(self) -> dict[str, Any]:
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
                "running": self.running, "daily_time": self.at.strftime("%H:%M")
                if self.at else None, "timezone": self.timezone,
                "next_run": rules.next_run(self.at, self.timezone, now).isoformat()
                if self.at else None, "backup_dir": str(self.folder.resolve())}

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def start_now(self, actor: Actor) -> None:
        """Back up in the background; BackupRunning when one is already running."""
        if self.running:
            raise BackupRunning("a backup is already running")
        self._running = asyncio.get_running_loop().create_task(self._locked(actor),
                                                                 name="backup-now")

    async def _locked(self, actor: Actor | None) -> dict[str, Any] | None:
        """One backup at a time across processes: on PostgreSQL an advisory lock; SQLite is
        served by one process."""
        if self.is_sqlite or self.db is None:
            return await self.create(actor)
        async with self.db.engine.connect() as conn:
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                      {"k": PG_LOCK_KEY})).scalar()
            if not got:
                log.info("another process is backing up this database; skipped")
                return None
            try:
                return await self.create(actor)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})

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

    async def _daily(self) -> None:
        assert self.at is not None
        while True:
            due = rules.next_run(self.at, self.timezone, self.clock())
            await asyncio.sleep(max(1.0, (due - self.clock()).total_seconds()))
            if self.running:
                continue
            self._running = asyncio.get_running_loop().create_task(self._locked(None))
            try:
                await asyncio.shield(self._running)
            except Exception:
                log.exception("daily backup failed")
