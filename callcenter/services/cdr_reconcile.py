"""Reconciling the call log from Asterisk's own CDR after the CRM was down or off AMI.

While the CRM is stopped or its AMI link is down, calls still ring and end, and Asterisk still
writes a CDR for each.  At start and after every AMI reconnect the :class:`CdrReconciler` reads
what is new in that CDR — a CSV file on the PBX host (cdr_custom ``crm.csv`` or cdr_csv
``Master.csv``), or a cdr table Asterisk writes into a database (cdr_pgsql,
cdr_adaptive_odbc) when the CRM runs on another machine — turns the rows into call records
(:mod:`callcenter.domain.cdr`) and hands each call the CRM has not completed to
``CallService.store``, which stores it once (by linkedid), matches the client and opens the
callback owed for a missed inbound call.

Contracts:

* only what is new is read: a file by inode and byte offset (a new inode or a shorter file means
  it was rotated or truncated: it is read from its start), a table by the newest ``calldate``
  taken (re-read with a margin of the longest call, since rows are written when a call *ends*
  but carry its *start*);
* a partial last line (Asterisk writing it right now) is never consumed; the rows of the last
  call of a file written to in the last ``settle_seconds`` (or, in a table, of a call that ended
  that recently) are held back and read again a moment later, so a call is never stored from
  half of its rows;
* a malformed row is logged and skipped; a failing store leaves the cursor where it was (the
  batch is read again next time; storing is idempotent); nothing here raises into its caller;
* the file is read in a thread, so a big file never blocks the event loop;
* calls already complete in the CRM, or that the live tracker is following, are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from callcenter.domain.call_records import CallRecord
from callcenter.domain.cdr import (
    CdrRow, CdrRules, MalformedCdrRow, call_from_rows, group_by_linkedid, parse_cdr_line,
    row_from_table,
)
from callcenter.services.context import Clock
from callcenter.storage import cdr as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.cdr")

#: bytes read from a CDR file per pass (a CDR line is ~300 bytes: ~25,000 rows)
READ_CHUNK = 8 * 1024 * 1024
TABLE_PAGE = 5_000


@dataclass
class FileBatch:
    """What one read of a CDR file found: rows with the offset of their line, and where the
    next read starts."""

    inode: int
    start: int
    next_position: int
    rows: list[tuple[int, CdrRow]] = field(default_factory=list)
    malformed: int = 0
    at_end: bool = True
    held_back: bool = False


@dataclass
class ReconcileReport:
    """What one reconciliation did, per run (for logs and tests)."""

    rows: int = 0
    malformed: int = 0
    calls: int = 0
    stored: int = 0
    skipped: int = 0
    held_back: bool = False
    failed: bool = False


class CdrFile:
    """A CDR CSV file read from a cursor; blocking, so it is called in a thread."""

    def __init__(self, path: str | Path, *, local_tz: tzinfo, csv_tz: tzinfo = timezone.utc,
                 settle_seconds: float = 5.0, wall_clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.local_tz = local_tz
        self.csv_tz = csv_tz
        self.settle_seconds = settle_seconds
        self.wall_clock = wall_clock

    @property
    def source(self) -> str:
        return str(self.path)

    def read(self, cursor: repo.Cursor, max_bytes: int = READ_CHUNK) -> FileBatch | None:
        """Complete lines after ``cursor`` (``None`` when the file does not exist)."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return None
        with fh:
            st = os.fstat(fh.fileno())
            start = cursor.position
            if cursor.inode != st.st_ino or st.st_size < start:
                if cursor.inode is not None:
                    log.info("CDR file %s was rotated or truncated: reading it from the start",
                             self.path)
                start = 0
            fh.seek(start)
            data = fh.read(max_bytes)
        cut = data.rfind(b"\n")
        complete = data[:cut + 1] if cut >= 0 else b""
        batch = FileBatch(inode=st.st_ino, start=start, next_position=start + len(complete),
                          at_end=start + len(data) >= st.st_size)
        offset = start
        for raw in complete.split(b"\n")[:-1]:
            line_at, offset = offset, offset + len(raw) + 1
            line = raw.rstrip(b"\r")
            if not line.strip():
                continue
            try:
                row = parse_cdr_line(line.decode("utf-8"), local_tz=self.local_tz,
                                     csv_tz=self.csv_tz)
            except (UnicodeDecodeError, MalformedCdrRow) as exc:
                batch.malformed += 1
                log.warning("CDR %s, byte %d: skipped a malformed row: %s", self.path, line_at,
                            exc)
                continue
            batch.rows.append((line_at, row))
        if batch.at_end and batch.rows and self.wall_clock() - st.st_mtime < self.settle_seconds:
            # Asterisk may be writing the rest of the last call's rows right now
            last = batch.rows[-1][1].linkedid
            first_at = min(at for at, row in batch.rows if row.linkedid == last)
            batch.rows = [(at, row) for at, row in batch.rows if row.linkedid != last]
            batch.next_position = first_at
            batch.held_back = True
        return batch


class CdrTable:
    """Asterisk's cdr table in a database of its own (cdr_pgsql / cdr_adaptive_odbc)."""

    def __init__(self, url: str, table: str = "cdr", *, tz: tzinfo = timezone.utc,
                 max_call: timedelta = timedelta(hours=4), settle_seconds: float = 5.0,
                 engine: AsyncEngine | None = None):
        self.table = repo.check_table_name(table)
        self.tz = tz
        self.max_call = max_call
        self.settle_seconds = settle_seconds
        self.engine = engine or create_async_engine(url, pool_size=1, max_overflow=0,
                                                    pool_pre_ping=True)

    @property
    def source(self) -> str:
        return f"table:{self.table}"

    async def read(self, cursor: repo.Cursor, now: datetime) -> tuple[list[CdrRow], int,
                                                                     datetime | None, bool]:
        """(rows of calls that are over, malformed count, newest calldate, anything held back)."""
        since = None
        if cursor.last_calldate is not None:
            since = (cursor.last_calldate - self.max_call).astimezone(self.tz).replace(tzinfo=None)
        rows: list[CdrRow] = []
        malformed = 0
        newest = cursor.last_calldate
        seen: set[tuple] = set()
        async with self.engine.connect() as conn:
            while True:
                page = await repo.read_table_rows(conn, self.table, since, TABLE_PAGE)
                for raw in page:
                    ident = tuple(raw.get(k) for k in ("linkedid", "uniqueid", "sequence",
                                                        "calldate", "dstchannel"))
                    if ident in seen:
                        continue
                    seen.add(ident)
                    try:
                        row = row_from_table(raw, tz=self.tz)
                    except MalformedCdrRow as exc:
                        malformed += 1
                        log.warning("CDR table %s: skipped a malformed row (linkedid %r): %s",
                                    self.table, raw.get("linkedid"), exc)
                        continue
                    rows.append(row)
                    if newest is None or row.start > newest:
                        newest = row.start
                if len(page) < TABLE_PAGE:
                    break
                # rows sharing the page's last calldate are read again and skipped above
                if page[-1]["calldate"] == since:
                    log.warning("CDR table %s: over %d rows share calldate %s; the rest are "
                                "read next time", self.table, TABLE_PAGE, since)
                    break
                since = page[-1]["calldate"]
        held = False
        recent = now - timedelta(seconds=self.settle_seconds)
        ready: list[CdrRow] = []
        for legs in group_by_linkedid(rows).values():
            ended = max(r.end for r in legs)
            # a call that ended a moment ago may still be missing rows; an end far in the
            # future means a wrong time zone setting, and waiting would never help
            if recent < ended <= now + timedelta(minutes=5):
                held = True
                continue
            ready.extend(legs)
        return ready, malformed, newest, held

    async def close(self) -> None:
        await self.engine.dispose()


class CdrReconciler:
    """Reads new CDRs from each source and stores the calls the CRM has not completed.

    ``store`` is ``CallService.store`` (idempotent by call key); ``rules`` tells operators'
    phones from the outside world; ``live()`` gives the keys of the calls the live tracker is
    following (or has not stored yet), whose AMI record is better than their CDR.
    """

    def __init__(self, db: Database, clock: Clock, store: Callable[[CallRecord], Awaitable[int]],
                 rules: CdrRules, *, file: CdrFile | None = None, table: CdrTable | None = None,
                 live: Callable[[], Collection[str]] = frozenset):
        self.db = db
        self.clock = clock
        self.store = store
        self.rules = rules
        self.file = file
        self.table = table
        self.live = live
        self.runs = 0
        #: on a first read, calls that ended this long before the newest logged call are history
        self.history_margin = timedelta(hours=1)
        self.last_report: ReconcileReport | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._again = False
        self._follow_up: asyncio.TimerHandle | None = None
        self._missing_logged = False

    @property
    def enabled(self) -> bool:
        return self.file is not None or self.table is not None

    # background use: start, after every AMI reconnect

    def request(self) -> asyncio.Task | None:
        """Reconcile soon, in the background; requests made while one runs are folded into
        one more run after it."""
        if not self.enabled:
            return None
        if self._task is not None and not self._task.done():
            self._again = True
            return self._task
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self._task

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                report = await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("CDR reconciliation failed; it runs again at the next reconnect")
                report = None
            if report is not None and report.held_back and self._follow_up is None:
                loop = asyncio.get_running_loop()
                delay = max(self.file.settle_seconds if self.file else 0,
                            self.table.settle_seconds if self.table else 0) + 0.5
                self._follow_up = loop.call_later(delay, self._follow)
            if not self._again:
                return

    def _follow(self) -> None:
        self._follow_up = None
        self.request()

    async def wait_idle(self) -> None:
        """Until no reconciliation is running or requested (for tests and shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        if self._follow_up is not None:
            self._follow_up.cancel()
            self._follow_up = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.table is not None:
            await self.table.close()

    # one run

    async def reconcile(self) -> ReconcileReport:
        """Read every source once up to its end and store what is new."""
        async with self._lock:
            report = ReconcileReport()
            if self.file is not None:
                await self._reconcile_file(self.file, report)
            if self.table is not None:
                await self._reconcile_table(self.table, report)
            self.runs += 1
            self.last_report = report
            if report.stored or report.malformed:
                log.info("CDR reconciliation: %d row(s), %d call(s) new to the log, "
                         "%d malformed row(s) skipped", report.rows, report.stored,
                         report.malformed)
            return report

    async def _reconcile_file(self, source: CdrFile, report: ReconcileReport) -> None:
        async with self.db.read() as conn:
            cursor = await repo.get_cursor(conn, source.source)
            floor = await self._first_read_floor(conn, cursor)
        while True:
            batch = await asyncio.to_thread(source.read, cursor)
            if batch is None:
                if not self._missing_logged:
                    log.info("CDR file %s does not exist (yet): nothing to reconcile from it",
                             source.path)
                    self._missing_logged = True
                return
            self._missing_logged = False
            report.rows += len(batch.rows)
            report.malformed += batch.malformed
            report.held_back |= batch.held_back
            if not await self._store_rows([row for _, row in batch.rows], report, floor):
                return
            moved = repo.Cursor(inode=batch.inode, position=batch.next_position)
            if moved != cursor:
                async with self.db.write() as conn:
                    await repo.save_cursor(conn, source.source, moved, self.clock())
            cursor = moved
            if batch.at_end or batch.next_position <= batch.start:
                return

    async def _reconcile_table(self, source: CdrTable, report: ReconcileReport) -> None:
        async with self.db.read() as conn:
            cursor = await repo.get_cursor(conn, source.source)
            floor = await self._first_read_floor(conn, cursor)
        try:
            rows, malformed, newest, held = await source.read(cursor, self.clock())
        except Exception as exc:  # the PBX's database is another system: report, go on
            report.failed = True
            log.warning("CDR table %s could not be read: %s", source.table, exc)
            return
        report.rows += len(rows)
        report.malformed += malformed
        report.held_back |= held
        if not await self._store_rows(rows, report, floor):
            return
        if newest is not None and newest != cursor.last_calldate:
            async with self.db.write() as conn:
                await repo.save_cursor(conn, source.source,
                                       repo.Cursor(last_calldate=newest), self.clock())

    async def _first_read_floor(self, conn, cursor: repo.Cursor) -> datetime | None:
        # A source never read before may hold years of history (CDRs written long before the
        # CRM was installed): the outage to reconcile starts where the call log ends, so older
        # calls are not logged again and their misses owe no callback today.
        if cursor != repo.Cursor():
            return None
        newest = await repo.newest_call_start(conn)
        return None if newest is None else newest - self.history_margin

    async def _store_rows(self, rows: Iterable[CdrRow], report: ReconcileReport,
                          floor: datetime | None = None) -> bool:
        """Store the calls of ``rows`` the CRM has not completed (and, on a first read, that
        ended after ``floor``); False if a store failed."""
        records = [c for c in (call_from_rows(legs, self.rules)
                               for legs in group_by_linkedid(rows).values()) if c is not None]
        report.calls += len(records)
        if floor is not None:
            kept = [c for c in records if c.ended_at is None or c.ended_at >= floor]
            report.skipped += len(records) - len(kept)
            records = kept
        if not records:
            return True
        ahead = max(c.started_at for c in records) - self.clock()
        if ahead > timedelta(minutes=5):
            log.warning("CDR calls start %s in the future: the CDR time zone settings "
                        "(CALLCENTER_ASTERISK_CDR_TIMEZONE, CALLCENTER_ASTERISK_CDR_DB_TIMEZONE) "
                        "or the PBX's clock are wrong", ahead)
        async with self.db.read() as conn:
            done = await repo.completed_keys(conn, [c.key for c in records])
        done |= set(self.live())
        for call in records:
            if call.key in done:
                report.skipped += 1
                continue
            try:
                await self.store(call)
            except asyncio.CancelledError:
                raise
            except Exception:
                report.failed = True
                log.exception("CDR: could not store call %s; the rows are read again next time",
                              call.key)
                return False
            report.stored += 1
        return True


def reconciler_from_settings(settings, db: Database, clock: Clock,
                             store: Callable[[CallRecord], Awaitable[int]],
                             is_operator: Callable[[str], bool],
                             live: Callable[[], Collection[str]]) -> CdrReconciler:
    """The reconciler the settings describe (possibly with no source: then it does nothing)."""
    local_tz = ZoneInfo(settings.asterisk_cdr_timezone or settings.timezone)
    file = CdrFile(settings.asterisk_cdr_file, local_tz=local_tz) \
        if settings.asterisk_cdr_file else None
    table = None
    if settings.asterisk_cdr_db_url:
        table = CdrTable(settings.asterisk_cdr_db_url, settings.asterisk_cdr_db_table,
                         tz=ZoneInfo(settings.asterisk_cdr_db_timezone),
                         max_call=timedelta(minutes=settings.asterisk_cdr_max_call_minutes))
    return CdrReconciler(db, clock, store, CdrRules(is_operator=is_operator), file=file,
                         table=table, live=live)
