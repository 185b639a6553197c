"""The recordings pipeline: from Asterisk's monitor directory to a checked, compact file.

A ``recordings`` row is queued (status ``pending``, due now) in the transaction that completes
an answered call with a MixMonitor recording (services.call_log), and the pipeline is woken.
A worker loop then, for each due row:

1. claims it with a lease (``lease_until``): one conditional UPDATE, so two processes on one
   PostgreSQL never work on the same row; a lease left by a process that stopped or died runs
   out and the row is taken up again;
2. in a worker thread (never on the event loop: a screen pop is never delayed by it) looks for
   every part (``parts``: each MixMonitor recording of the call, in order) and its two
   direction files under ``CALLCENTER_MONITOR_DIR`` -- only names relative to it, never ``..``,
   an absolute path or a symlink leading out of it -- then converts them (services.audio) to
   ``CALLCENTER_RECORDINGS_DIR/<YYYY>/<MM>/<DD>/call-<call id>.<ogg|mp3>`` (the call's local
   date in CALLCENTER_TIMEZONE) and flags its health;
3. stores the result: ``ready`` (file, format, bytes, duration, health, levels in
   ``details``), then removes the originals -- only after the converted copy is verified and
   its row committed; ``empty`` for files with only the WAV header; a file not there yet (or a
   monitor directory that is not reachable: a share not mounted) is looked for again on the
   schedule of domain.recording_health until ``CALLCENTER_RECORDING_WAIT_MINUTES`` have passed
   since the row was queued, then flagged ``missing`` (error "not found in the monitor
   directory" / "monitor directory not reachable"); a file that cannot be read or converted is
   tried ``FAILED_AFTER`` times, then flagged ``failed`` -- its originals are always kept.

``missing`` and ``failed`` rows are the supervisors' "recording missing" list;
``retry(call_id)`` queues one again. ``delete_expired()`` is the retention: ready recordings
of calls older than ``CALLCENTER_RECORDING_RETENTION_DAYS`` lose their file (status
``deleted``), with the count in the log and the audit log (``recording.retention``); it runs
once a day (the last run kept in ``scheduler_jobs`` as ``recording_retention``, so a restart
or a second process does not run it twice).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from callcenter.domain.recording_health import FAILED_AFTER, next_look
from callcenter.domain.recordings import direction_files
from callcenter.services import audio
from callcenter.services.context import Clock
from callcenter.services.recordings import path_inside
from callcenter.storage import audit
from callcenter.storage import recordings as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.recordings")

RETENTION_JOB = "recording_retention"
NOT_FOUND = "not found in the monitor directory"
NOT_REACHABLE = "monitor directory not reachable"
OUTSIDE = "recording name outside the monitor directory"


@dataclass
class Look:
    """What a worker thread found for one row: ``kind`` is ready, empty, failed (this try),
    refused (a name outside the monitor directory: final), not_found or unreachable."""

    kind: str
    error: str | None = None
    converted: audio.Converted | None = None
    originals: list[Path] = field(default_factory=list)


def locate(folder: Path, parts: list[str]) -> Look | list[audio.PartFiles]:
    """The files of each part under ``folder``, or why they cannot be used (yet)."""
    if not folder.is_dir():
        return Look("unreachable", NOT_REACHABLE)
    found: list[audio.PartFiles] = []
    for name in parts:
        customer_name, operator_name = direction_files(name)
        paths = [path_inside(folder, n) for n in (name, customer_name, operator_name)]
        if paths[0] is None:
            return Look("refused", OUTSIDE)
        mixed, customer, operator = (p if p is not None and p.is_file() else None
                                     for p in paths)
        if mixed is None and (customer is None or operator is None):
            return Look("not_found", NOT_FOUND)
        found.append(audio.PartFiles(mixed, customer, operator))
    return found


class RecordingPipeline:
    """See the module docstring. ``publish(row)`` (optional) hears of each settled row."""

    def __init__(self, db: Database, clock: Clock, settings: Any,
                 publish: Callable[[dict[str, Any]], Any] | None = None, *,
                 lease_seconds: float = 600.0, poll_seconds: float = 30.0,
                 retention_check_seconds: float = 3600.0):
        self.db = db
        self.clock = clock
        self.publish = publish
        self.monitor_dir = Path(settings.monitor_dir)
        self.recordings_dir = Path(settings.recordings_dir)
        self.format = settings.recording_format
        self.silence_dbfs = float(settings.recording_silence_dbfs)
        self.wait = timedelta(minutes=settings.recording_wait_minutes)
        self.retention_days = int(settings.recording_retention_days)
        self.workers = max(1, int(settings.recording_workers))
        self.zone = ZoneInfo(settings.timezone)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.retention_check_seconds = retention_check_seconds
        self._executor: ThreadPoolExecutor | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._claimed: set[int] = set()
        self._stopping = False
        self.converted = 0  # recordings made ready by this process (tests, benchmarks)

    # lifecycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = False
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="recording")
        self._tasks = [loop.create_task(self._run(), name="recording-pipeline")]
        if self.retention_days > 0:
            self._tasks.append(loop.create_task(self._retention_loop(),
                                                name="recording-retention"))

    async def stop(self, timeout: float = 15.0) -> None:
        """Stop claiming; conversions already running may finish within ``timeout`` (their
        rows are stored), then the loop is cancelled: a conversion still running is dropped
        and its lease runs out, so the row is worked on again later. Originals are only ever
        removed after their copy is stored, so none is lost."""
        self._stopping = True
        self._wake.set()
        tasks, self._tasks = self._tasks, []
        if tasks:
            await asyncio.wait(tasks[:1], timeout=timeout)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def wake(self) -> None:
        """New rows were queued (or asked again): look now rather than at the next poll."""
        self._wake.set()

    async def retry(self, call_id: int) -> bool:
        """A supervisor asks for a call's recording again: pending, due now, attempts from
        zero, the wait counted from now. False when there is nothing to retry (no row, or
        ready/deleted)."""
        async with self.db.write() as conn:
            done = await repo.ask_again(conn, call_id, self.clock())
        if done:
            self.wake()
        return done

    # the worker loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recordings pipeline round failed; trying again")
                worked = 0
            if worked or self._stopping:
                continue
            self._wake.clear()
            delay = self.poll_seconds
            try:
                async with self.db.read() as conn:
                    due = await repo.next_due_at(conn)
                if due is not None:
                    delay = min(delay, max(0.05, (due - self.clock()).total_seconds()))
            except Exception:
                log.exception("recordings pipeline: the next due time could not be read")
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except asyncio.TimeoutError:
                pass

    async def run_once(self) -> int:
        """Claim up to ``recording_workers`` due rows and work on them at once; how many."""
        now = self.clock()
        lease_until = now + self.lease
        claimed: list[dict[str, Any]] = []
        async with self.db.write() as conn:
            for call_id in await repo.due_ids(conn, now, self.workers):
                row = await repo.claim(conn, call_id, now, lease_until)
                if row is not None:
                    claimed.append(row)
        self._claimed.update(r["call_id"] for r in claimed)
        try:
            await asyncio.gather(*(self._work(row) for row in claimed))
        except asyncio.CancelledError:
            unfinished = [r["call_id"] for r in claimed if r["call_id"] in self._claimed]
            await asyncio.shield(self._release(unfinished))
            raise
        return len(claimed)

    async def _release(self, call_ids: list[int]) -> None:
        # rows whose thread never started can go back now rather than at the lease's end
        if not call_ids:
            return
        try:
            async with self.db.write() as conn:
                await repo.release(conn, call_ids)
        except Exception:
            log.warning("leases of %d recording(s) run out by themselves", len(call_ids))

    def _target(self, row: dict[str, Any]) -> str:
        local = row["call_started_at"].astimezone(self.zone)
        suffix = audio.FORMATS[self.format][0]
        return f"{local:%Y/%m/%d}/call-{row['call_id']}.{suffix}"

    def _look(self, row: dict[str, Any]) -> Look:
        """Blocking: find and convert one row's recording (a worker thread runs it)."""
        found = locate(self.monitor_dir, list(row["parts"] or [row["source"]]))
        if isinstance(found, Look):
            return found
        target = self.recordings_dir / self._target(row)
        try:
            converted = audio.convert_call(found, target, self.format, self.silence_dbfs)
        except audio.AudioProblem as problem:
            return Look(problem.kind, problem.message)
        return Look("ready", converted=converted,
                    originals=[p for part in found for p in part.existing()])

    async def _work(self, row: dict[str, Any]) -> None:
        call_id, lease_until = row["call_id"], row["lease_until"]
        loop = asyncio.get_running_loop()
        try:
            look = await loop.run_in_executor(self._executor, self._look, row) \
                if self._executor is not None else await asyncio.to_thread(self._look, row)
        except Exception as exc:  # a bug or an OS error: keep everything, try again
            log.exception("recording of call %s: looking failed", call_id)
            look = Look("failed", f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self._claimed.discard(call_id)
        now = self.clock()
        values = self._values(row, look, now)
        async with self.db.write() as conn:
            stored = await repo.settle(conn, call_id, lease_until, values)
        if not stored:
            log.warning("recording of call %s: its lease ran out before it was stored; "
                        "another worker has it", call_id)
            return
        if values["status"] == "ready":
            self.converted += 1
            errors = await asyncio.to_thread(audio.remove_files, look.originals)
            if errors:
                log.warning("recording of call %s is stored, but originals were not removed: "
                            "%s", call_id, "; ".join(errors))
        elif values["status"] in ("missing", "failed"):
            log.warning("recording of call %s %s: %s", call_id, values["status"],
                        values["error"])
        if self.publish is not None:
            self.publish({"call_id": call_id, **values})

    def _values(self, row: dict[str, Any], look: Look, now: datetime) -> dict[str, Any]:
        attempts = row["attempts"] + 1
        base = {"attempts": attempts, "updated_at": now}
        if look.kind == "ready":
            c = look.converted
            return {**base, "status": "ready", "file": self._target(row), "format": c.format,
                    "bytes": c.bytes, "duration_seconds": c.duration_seconds,
                    "health": c.health, "details": c.details, "error": None,
                    "next_try_at": None}
        if look.kind == "empty":
            return {**base, "status": "empty", "error": look.error, "next_try_at": None}
        if look.kind == "refused":
            return {**base, "status": "failed", "error": look.error, "next_try_at": None}
        details = dict(row["details"] or {})
        if look.kind == "failed":
            # a row asked for again starts from zero attempts and gets fresh tries
            before = int(details.get("failures", 0)) if row["attempts"] else 0
            details["failures"] = before + 1
            if details["failures"] >= FAILED_AFTER:
                return {**base, "status": "failed", "error": (look.error or "")[:300],
                        "details": details, "next_try_at": None}
        when = next_look(attempts=attempts, queued_at=row["created_at"], now=now,
                         wait=self.wait)
        if when.give_up:
            error = look.error
            status = "failed" if look.kind == "failed" else "missing"
            return {**base, "status": status, "error": (error or "")[:300],
                    "details": details, "next_try_at": None}
        return {**base, "status": "pending", "error": (look.error or "")[:300],
                "details": details, "next_try_at": when.at}

    # retention

    async def delete_expired(self, batch: int = 500) -> int:
        """Delete the files of ready recordings older than the retention (status
        ``deleted``); the count is logged and audited. 0 when retention is off."""
        if self.retention_days <= 0:
            return 0
        now = self.clock()
        before = now - timedelta(days=self.retention_days)
        total = 0
        while True:
            async with self.db.read() as conn:
                rows = await repo.expired(conn, before, batch)
            if not rows:
                break
            paths = [p for p in (path_inside(self.recordings_dir, r["file"] or "")
                                 for r in rows) if p is not None]
            errors = await asyncio.to_thread(audio.remove_files, paths)
            if errors:
                log.warning("retention: %d file(s) not removed: %s", len(errors),
                            "; ".join(errors[:5]))
            async with self.db.write() as conn:
                total += await repo.mark_deleted(conn, [r["call_id"] for r in rows], now)
            if len(rows) < batch:
                break
        async with self.db.write() as conn:
            await audit.record(conn, at=now, action="recording.retention", user_id=None,
                               login="retention", ip=None, entity="recording",
                               details={"deleted": total, "days": self.retention_days,
                                        "before": before.isoformat()})
        log.info("retention: %d recording(s) older than %d days deleted", total,
                 self.retention_days)
        return total

    async def retention_due(self) -> bool:
        """Take today's retention run: True for the one caller (of any process) whose
        conditional update moved the job's mark; False when it ran in the last 24 h."""
        now = self.clock()
        async with self.db.write() as conn:
            return await repo.take_daily_job(conn, RETENTION_JOB, now, timedelta(days=1))

    async def _retention_loop(self) -> None:
        while True:
            try:
                if await self.retention_due():
                    await self.delete_expired()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recording retention failed; trying again later")
            await asyncio.sleep(self.retention_check_seconds)
