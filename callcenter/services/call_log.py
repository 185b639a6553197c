"""The call log: every call the CRM sees is written, once, and never lost.

A call's row is written when the call starts (status ``in_progress``) and completed when it
ends (``completed``, final). A call whose end never arrives is closed ``unknown`` after
``CALLCENTER_CALL_UNKNOWN_AFTER_SECONDS`` unless a late end or an Asterisk CDR completes it
first (``unknown`` -> ``completed``). Every write is an idempotent upsert by the call key, so
a record stored twice (a replayed log, a spool stored again after a crash, the CDR
reconciliation) changes nothing, and the callback/task rules run exactly once per call, on
its transition to ``completed``.

A call that ended while the AMI link was down (the resync after the reconnect found its
channels gone: a ``vanished`` record) is a guess: when it ended, and for a call not seen
answered how (missed, no answer...). It is stored ``unknown``, never ``completed``, and runs
no task rule, recording or webhook event, so that a better record completes the row: another
process's that followed the call, or the CDR reconciliation's. After
``CALLCENTER_CALL_VANISHED_GRACE_SECONDS`` the process that saw the call vanish stores its
guess again as final: it completes the row (and opens the missed call's callback) only when
nothing better did meanwhile. A guess whose grace is not over at stop is spooled and waits
its grace again after the next start.

Records are queued (:meth:`CallLog.started`, :meth:`CallLog.ended`) without blocking and
written by one writer task in group commits: many records per transaction, so a burst of
calls costs a few transactions instead of one each, and the writer holds the database only
briefly at a time (the HTTP API's writes slip in between batches). The queue keeps one
record per call key (a call's end replaces its start), which bounds it by the calls not yet
stored. A record that cannot be stored is retried, with backoff, until it is; at stop what is
still queued or in flight is written to the spool file (write, fsync, rename), and stored at
the next start.

Several server processes on one PostgreSQL each follow the PBX and each store every call: their
batches take turns (a transaction-level advisory lock), and the upsert's conditions make the
first to store a call's start insert it and the first to store its end complete it, so the
callback, the recording and the webhook event of a call happen once, whichever process lives.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Union

from sqlalchemy import text

from callcenter.domain.call_records import CallRecord
from callcenter.domain.phones import try_normalise
from callcenter.domain.recordings import RecordingFile, stored_recording
from callcenter.services import change_events
from callcenter.services.context import Clock
from callcenter.storage import calls as repo
from callcenter.storage import clients as clients_repo
from callcenter.storage import recordings as recordings_repo
from callcenter.storage import tasks as tasks_repo
from callcenter.storage.database import Database
from callcenter.storage.tables import calls as calls_table

log = logging.getLogger("callcenter.calls")

IN_PROGRESS, COMPLETED, UNKNOWN = repo.IN_PROGRESS, repo.COMPLETED, repo.UNKNOWN
#: pg_advisory_xact_lock key of a call-log batch ("callslog")
CALL_LOG_LOCK_KEY = 0x63616C6C_736C6F67
#: what the PBX tells of a call placed for a task that moves the task's ladder
PBX_TASK_OUTCOMES = frozenset({"no_answer", "busy", "unavailable", "invalid_number"})


@dataclass(frozen=True, slots=True)
class Discard:
    """A call whose in-progress row is to be removed: it turned out to be the operators'
    consultation leg of an attended transfer, which lives on in the customer's call."""

    key: str


Entry = Union[CallRecord, Discard]


def status_of(call: CallRecord) -> str:
    """``completed`` once the call's outcome is known, ``in_progress`` before; ``unknown``
    for a call that vanished during an AMI outage (its end and outcome are a guess)."""
    if call.outcome is None:
        return IN_PROGRESS
    return UNKNOWN if call.vanished else COMPLETED


def _is_final(entry: Entry) -> bool:
    return isinstance(entry, Discard) or entry.outcome is not None


class CallLog:
    """Queues call records and stores them in group commits; see the module docstring.

    ``user_id_of(endpoint)`` names the user of a softphone (for ``answered_by_user_id``).
    ``vanished_grace_seconds``: how long the guessed end of a call that vanished during an AMI
    outage waits for a better record before it is stored as final.
    """

    def __init__(self, db: Database, clock: Clock, region: str,
                 user_id_of: Callable[[str | None], int | None], *, batch_size: int = 200,
                 retry_seconds: float = 2.0, max_retry_seconds: float = 60.0,
                 vanished_grace_seconds: float = 60.0):
        self.db = db
        self.clock = clock
        self.region = region
        self.user_id_of = user_id_of
        self.batch_size = batch_size
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.vanished_grace_seconds = vanished_grace_seconds
        # calls that vanished during an AMI outage, key -> (the guess, the timer storing it
        # as final once the grace is over)
        self._guesses: dict[str, tuple[CallRecord, asyncio.TimerHandle]] = {}
        self._pending: dict[str, Entry] = {}
        self._inflight: dict[str, Entry] = {}
        self._ids: dict[str, int] = {}  # calls whose start row is stored, not yet their end
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task | None = None
        self.stored = 0  # records written (start rows and ends), for tests and benchmarks
        # looks at each answered call's recording at its end (Telephony sets it)
        self.recording_probe: Callable[[str], RecordingFile | None] | None = None
        self.batches = 0
        # TaskService.apply_pbx_outcome (create_app sets it): a failed call placed for a task
        # moves the task's ladder in the transaction that completes the call
        self.pbx_outcome: Callable[..., Awaitable[Any]] | None = None
        # the place of missed-call tasks in CALLCENTER_NEXT_TASK_ORDER, and
        # TaskService.placement (their calling window), set by create_app
        self.missed_call_rank = 0
        self.placement: Callable[..., tuple[datetime, datetime, str]] | None = None
        # RecordingPipeline.wake (create_app sets it): recordings were queued in a commit
        self.recordings_queued: Callable[[], None] | None = None
        self._queued_recordings = False
        self.events_recorded: Callable[[], None] | None = None  # EventOutbox.wake (app)
        self._recorded_events = False

    # queueing: never blocks, never raises

    def started(self, call: CallRecord) -> None:
        """Queue the in-progress row of a call that just started."""
        previous = self._pending.get(call.key)
        if previous is not None and _is_final(previous):
            return  # its end is already queued
        self._queue(call.key, call)

    def ended(self, call: CallRecord) -> asyncio.Future:
        """Queue the final record of a call (or the removal of a consultation leg's row).

        Returns a future of the call's row id: at once when its start row is already stored,
        else when the end is; ``None`` for a consultation leg. A ``vanished`` record is stored
        ``unknown`` now and as final after the grace (see :meth:`_await_grace`)."""
        future = asyncio.get_running_loop().create_future()
        if call.merged_into:
            self._queue(call.key, Discard(call.key))
            self._ids.pop(call.key, None)
            future.set_result(None)
            return future
        self._queue(call.key, call)
        if call.vanished:
            self._await_grace(call)
        known = self._ids.get(call.key)
        if known is not None:
            future.set_result(known)
        else:
            self._waiters.setdefault(call.key, []).append(future)
        return future

    def _queue(self, key: str, entry: Entry) -> None:
        self._pending[key] = entry
        self._idle.clear()
        self._wake.set()

    def _await_grace(self, call: CallRecord) -> None:
        """Queue ``call``'s guess again as final once the grace is over: it completes the
        call's row then unless a better record (another process's, the CDR's) completed it
        meanwhile, which it leaves as it is."""
        previous = self._guesses.pop(call.key, None)
        if previous is not None:
            previous[1].cancel()
        timer = asyncio.get_running_loop().call_later(self.vanished_grace_seconds,
                                                      self._settle, call.key)
        self._guesses[call.key] = (call, timer)

    def _settle(self, key: str) -> None:
        call, _ = self._guesses.pop(key)
        self._queue(key, replace(call, vanished=False))

    @property
    def backlog(self) -> int:
        """Records queued or being written."""
        return len(self._pending) + len(self._inflight)

    def followed_keys(self) -> set[str]:
        """Keys of the calls whose queued record is what the PBX told: not the guesses of
        calls that vanished during an AMI outage, which an Asterisk CDR is to beat."""
        return {key for entries in (self._pending, self._inflight)
                for key, entry in entries.items() if not getattr(entry, "vanished", False)}

    def is_pending(self, key: str) -> bool:
        return key in self._pending or key in self._inflight

    # the writer

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._run(),
                                                                  name="call-log-writer")

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is stored; False on timeout."""
        if self._writer is None and self._pending:
            self.start()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _run(self) -> None:
        delay = self.retry_seconds
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            keys = list(self._pending)[:self.batch_size]
            self._inflight = {key: self._pending.pop(key) for key in keys}
            failed = await self._write_batch(self._inflight)
            for key, entry in failed.items():
                newer = self._pending.get(key)
                if newer is None or (_is_final(entry) and not _is_final(newer)):
                    self._pending[key] = entry
            self._inflight = {}
            if failed:
                log.warning("%d call record(s) not stored yet (%d queued); retrying in %.1f s",
                            len(failed), len(self._pending), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_seconds)
            else:
                delay = self.retry_seconds
                # let a write waiting for the database (the API's) go before the next batch
                await asyncio.sleep(0)

    async def _write_batch(self, batch: dict[str, Entry]) -> dict[str, Entry]:
        """Store ``batch`` in one transaction; when that fails, find the records that cannot
        be stored by trying them one by one (unless even the first fails: the database is
        away). Returns the records not stored."""
        try:
            await self._store(list(batch.values()))
            return {}
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("storing %d call record(s) failed", len(batch))
        if len(batch) == 1:
            return dict(batch)
        failed: dict[str, Entry] = {}
        for number, (key, entry) in enumerate(batch.items()):
            try:
                await self._store([entry])
            except asyncio.CancelledError:
                raise
            except Exception:
                failed[key] = entry
                if number == 0:
                    return dict(batch)
                log.exception("call record %s could not be stored", key)
        return failed

    async def _store(self, entries: list[Entry]) -> dict[str, int]:
        records = [e for e in entries if isinstance(e, CallRecord)]
        discards = [e.key for e in entries if isinstance(e, Discard)]
        async with self.db.write() as conn:
            ids = await self._upsert(conn, records)
            if discards:
                await repo.discard_unfinished(conn, discards)
        self._committed()
        self.batches += 1
        self.stored += len(entries)
        for call in records:
            call_id = ids.get(call.key)
            if status_of(call) == IN_PROGRESS and call_id is not None:
                self._ids[call.key] = call_id
            else:
                self._ids.pop(call.key, None)
            for waiter in self._waiters.pop(call.key, ()):
                if not waiter.done():
                    waiter.set_result(call_id)
        return ids

    # storing now, outside the queue

    async def store(self, call: CallRecord) -> int:
        """Store one call now, in its own transaction: the idempotent upsert by call key.

        Works for a call never seen before (e.g. built from an Asterisk CDR for a call the CRM
        missed): it is inserted and its callback opened, once. A final record completes an
        ``in_progress`` or ``unknown`` row; a ``completed`` row never changes (a ``vanished``
        record only turns an ``in_progress`` row ``unknown``). Returns the call's id."""
        async with self.db.write() as conn:
            ids = await self._upsert(conn, [call])
        self._committed()
        self._ids.pop(call.key, None)
        return ids[call.key]

    async def store_many(self, records: Iterable[CallRecord]) -> dict[str, int]:
        """:meth:`store` for many records, in transactions of ``batch_size``."""
        records = list(records)
        ids: dict[str, int] = {}
        for start in range(0, len(records), self.batch_size):
            async with self.db.write() as conn:
                ids.update(await self._upsert(conn, records[start:start + self.batch_size]))
            self._committed()
        return ids

    def _committed(self) -> None:
        if self._recorded_events:
            self._recorded_events = False
            if self.events_recorded is not None:
                self.events_recorded()
        if self._queued_recordings:
            self._queued_recordings = False
            if self.recordings_queued is not None:
                self.recordings_queued()

    async def _upsert(self, conn, records: list[CallRecord]) -> dict[str, int]:
        if not records:
            return {}
        if conn.dialect.name == "postgresql":
            # several server processes store the same calls (each follows the PBX): their
            # batches take turns, so each reads the calls' states after the one before stored
            # its, and a call's start is inserted and its end completed by one of them only
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": CALL_LOG_LOCK_KEY})
        # one record per key, the final one winning, in the order given
        unique: dict[str, CallRecord] = {}
        for call in records:
            if call.key not in unique or status_of(call) == COMPLETED:
                unique[call.key] = call
        numbers = {key: customer_e164(call, self.region) for key, call in unique.items()}
        clients = await self._clients_of(conn, {n for n in numbers.values() if n})
        # the client a click-to-call was for (CRM_CLIENT_ID) beats the number, as on the card
        hinted = sorted({c.client_id_hint for c in unique.values() if c.client_id_hint})
        still = {row["id"] for row in await clients_repo.get_clients(conn, hinted)}
        client_of = {key: call.client_id_hint if call.client_id_hint in still
                     else clients.get(numbers[key]) for key, call in unique.items()}
        existing = await repo.call_states(conn, list(unique))
        ids = {key: call_id for key, (call_id, _) in existing.items()}
        new_rows, updates, guesses, finished = [], [], [], []
        values_of: dict[str, dict[str, Any]] = {}

        def change(call: CallRecord, call_id: int, stored: str) -> None:
            # a final record completes an unfinished row; a guess (a vanished call) only
            # turns an in-progress row unknown; completed is final
            values = values_of[call.key]
            if values["status"] == COMPLETED and stored != COMPLETED:
                updates.append({"_id": call_id, **values})
                finished.append(call)
            elif values["status"] == UNKNOWN and stored == IN_PROGRESS:
                guesses.append({"_id": call_id, **values})

        for key, call in unique.items():
            values = values_of[key] = record_values(call, self.region, self.recording_probe)
            values.update(client_id=client_of[key],
                          answered_by_user_id=self.user_id_of(call.answered_by))
            if key not in existing:
                new_rows.append(values)
            else:
                change(call, *existing[key])
        inserted: dict[str, int] = {}
        if new_rows:
            inserted = await repo.insert_calls(conn, new_rows)
            ids.update(inserted)
            finished += [unique[k] for k in inserted if status_of(unique[k]) == COMPLETED]
            raced = [row["call_key"] for row in new_rows if row["call_key"] not in inserted]
            if raced:  # stored meanwhile by another process: complete it like any other
                for key, (call_id, status) in (await repo.call_states(conn, raced)).items():
                    ids[key] = call_id
                    change(unique[key], call_id, status)
        await repo.complete_calls(conn, updates)
        await repo.mark_vanished(conn, guesses)
        finished.sort(key=lambda c: c.ended_at or c.started_at)
        await self._queue_recordings(conn, finished, ids, [*new_rows, *updates])
        await self._tasks_after(conn, finished, ids, numbers, clients)
        rows = {row["call_key"]: row for row in [*new_rows, *updates]}
        if await change_events.calls_changed(
                conn, [row for row in new_rows if row["call_key"] in inserted],
                [rows[c.key] for c in finished if c.key in rows], ids, self.clock()):
            self._recorded_events = True
        return ids

    async def _queue_recordings(self, conn, finished: list[CallRecord], ids: dict[str, int],
                                rows: list[dict[str, Any]]) -> None:
        """Queue the recording of each answered call that just became ``completed`` with a
        recording kept by ``record_values`` (never the bare header of an unanswered call):
        in this transaction, so a call is never completed without its recording queued."""
        kept = {row["call_key"]: row["recording"] for row in rows if row.get("recording")}
        queued = [{"call_id": ids[call.key], "source": kept[call.key],
                   "parts": recording_parts(call, kept[call.key]),
                   "call_started_at": call.started_at, "now": self.clock()}
                  for call in finished if call.outcome == "answered" and call.key in kept
                  and ids.get(call.key) is not None]
        if queued:
            await recordings_repo.enqueue(conn, queued)
            self._queued_recordings = True

    @staticmethod
    async def _clients_of(conn, e164s: set[str]) -> dict[str, int]:
        """e164 -> the one client holding that number (numbers shared by several: none)."""
        owners: dict[str, set[int]] = {}
        for client_id, e164 in await clients_repo.client_ids_by_phone(conn, sorted(e164s)):
            owners.setdefault(e164, set()).add(client_id)
        return {e164: ids.pop() for e164, ids in owners.items() if len(ids) == 1}

    async def _tasks_after(self, conn, finished: list[CallRecord], ids: dict[str, int],
                           numbers: dict[str, str | None], clients: dict[str, int]) -> None:
        """The task rules for calls that just became ``completed``, in the order they ended:
        a missed inbound call opens one ``missed_call`` task for its number (or counts as one
        more attempt of the open one), never for a do-not-call client's number; an answered
        call closes the number's missed-call tasks. A call placed for a task (CRM_TASK_ID)
        that the PBX says failed (no answer, busy, unavailable, invalid number) moves that
        task along its ladder, in this transaction; an answered one is a contact, and the
        operator's outcome button decides what follows."""
        now = self.clock()
        if self.pbx_outcome is not None:
            await self._task_outcomes(conn, finished, ids, now)
        wanted = [c for c in finished if numbers.get(c.key) and (
            c.outcome == "answered" or (c.direction == "inbound" and c.outcome == "missed"))]
        if not wanted:
            return
        e164s = [numbers[c.key] for c in wanted]
        open_tasks = await repo.open_missed_calls_for(conn, e164s)
        not_to_call = await repo.do_not_call_numbers(conn, e164s)
        for call in wanted:
            e164 = numbers[call.key]
            if call.outcome == "answered":
                if open_tasks.pop(e164, None) is not None:
                    await repo.close_missed_calls(conn, e164, "reached" if call.direction ==
                                                  "outbound" else "called_back", now)
            elif e164 in not_to_call:
                continue
            elif e164 in open_tasks:
                await repo.touch_missed_call(conn, open_tasks[e164]["id"], ids[call.key], now)
            else:
                client_id = clients.get(e164)
                ready = ends = zone = None
                if self.placement is not None:  # else the scheduler's next round places it
                    client = await tasks_repo.client_for_tasks(conn, client_id) \
                        if client_id else None
                    ready, ends, zone = self.placement(client, now, e164)
                task_id = await repo.open_or_count_missed_call(conn, {
                    "kind": "missed_call", "status": "open", "client_id": client_id,
                    "phone_e164": e164, "title": f"Missed call from {e164}", "due_at": now,
                    "ready_at": ready, "window_ends_at": ends, "timezone": zone,
                    "call_id": ids[call.key], "attempts": 1, "rank": self.missed_call_rank,
                    "created_at": now, "updated_at": now})
                open_tasks[e164] = {"id": task_id}

    async def _task_outcomes(self, conn, finished: list[CallRecord], ids: dict[str, int],
                             now: datetime) -> None:
        placed = [c for c in finished if c.outcome in PBX_TASK_OUTCOMES and c.task_id
                  and c.task_id.isdigit()]
        if not placed:
            return
        still_open = await repo.open_task_ids(conn, [int(c.task_id) for c in placed])
        for call in placed:
            if int(call.task_id) in still_open:
                await self.pbx_outcome(conn, int(call.task_id), call.outcome,
                                       call_id=ids.get(call.key), call_key=call.key,
                                       at=call.ended_at or now)

    # calls whose end never arrived

    async def close_unknown(self, older_than: timedelta,
                            live: Callable[[str], bool]) -> int:
        """Close as ``unknown`` the calls in progress that started more than ``older_than``
        ago, except those ``live(key)`` says the PBX still has and those whose record is
        queued here. Returns how many were closed."""
        cutoff = self.clock() - older_than
        async with self.db.read() as conn:
            stale = await repo.stale_in_progress(conn, cutoff)
        ids = [call_id for call_id, key in stale if not live(key) and not self.is_pending(key)]
        if not ids:
            return 0
        async with self.db.write() as conn:
            closed = await repo.close_as_unknown(conn, ids)
        for _, key in stale:
            self._ids.pop(key, None)
        if closed:
            log.warning("%d call(s) closed as unknown: in progress for over %s, not live on "
                        "the PBX and in no CDR", closed, older_than)
        return closed

    # the spool

    async def close(self, timeout: float, spool: Path) -> int:
        """Stop: store what is queued within ``timeout`` seconds, then write what is left
        (queued, in flight or failing) to ``spool`` for the next start, with the guesses of
        vanished calls whose grace is not over (as ``vanished`` records: their grace starts
        again at :meth:`restore`). Returns how many records were spooled; ``spool`` is
        removed when none are left."""
        stored_in_time = await self.flush(timeout) if self._pending or self._inflight else True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
        # spooled before waiting for the writer: a write stuck in the database may take long
        # to notice its cancellation; should it commit after all, storing again is harmless
        left: dict[str, Entry] = dict(self._inflight)
        for key, entry in self._pending.items():
            if key not in left or not _is_final(left[key]) or _is_final(entry):
                left[key] = entry
        unstored = len(left)
        for key, (call, timer) in self._guesses.items():
            timer.cancel()
            left.setdefault(key, call)  # when not stored yet, the guess is queued itself
        self._guesses.clear()
        self._inflight, self._pending = {}, {}
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._waiters.clear()
        if not left:
            spool.unlink(missing_ok=True)
        else:
            write_spool(spool, left.values())
        if writer is not None:
            await asyncio.wait([writer], timeout=max(1.0, timeout))
        if not left:
            return 0
        if unstored:
            log.error("%d call record(s) could not be stored%s; kept in %s and stored at the "
                      "next start", unstored, "" if stored_in_time else
                      f" within {timeout:.0f} s of the stop", spool)
        if len(left) > unstored:
            log.info("%d call(s) that vanished during an AMI outage kept in %s: their guessed "
                     "end is stored as final after the next start, unless a better record "
                     "comes first", len(left) - unstored, spool)
        return len(left)

    async def restore(self, spool: Path) -> int:
        """At start: store the records a previous run spooled, then remove the file. When the
        database does not take them now, they are queued (and spooled again at stop). The
        guesses of vanished calls are stored ``unknown`` and their grace starts again."""
        entries = read_spool(spool)
        if not entries:
            spool.unlink(missing_ok=True)
            return 0
        for entry in entries:
            if isinstance(entry, CallRecord) and entry.vanished:
                self._await_grace(entry)
        try:
            await self._restore_now(entries)
        except Exception:
            log.exception("the %d spooled call record(s) of %s could not be stored at start; "
                          "they are queued and retried", len(entries), spool)
            for entry in entries:
                if entry.key not in self._pending or _is_final(entry):
                    self._queue(entry.key, entry)
            return 0
        spool.unlink(missing_ok=True)  # another process starting may have stored it too
        log.info("stored %d spooled call record(s) from %s", len(entries), spool)
        return len(entries)

    async def _restore_now(self, entries: list[Entry]) -> None:
        for start in range(0, len(entries), self.batch_size):
            chunk = entries[start:start + self.batch_size]
            records = [e for e in chunk if isinstance(e, CallRecord)]
            discards = [e.key for e in chunk if isinstance(e, Discard)]
            async with self.db.write() as conn:
                await self._upsert(conn, records)
                if discards:
                    await repo.discard_unfinished(conn, discards)
            self._committed()


def write_spool(path: Path, entries: Iterable[Entry]) -> None:
    """Write ``entries`` (JSON lines) to ``path`` atomically: a temporary file, fsync,
    rename, fsync of the folder; a crash leaves the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as fh:
        for entry in entries:
            item = {"discard": entry.key} if isinstance(entry, Discard) else \
                record_to_json(entry)
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def read_spool(path: Path) -> list[Entry]:
    """The entries of a spool file ([] when there is none). A line that is not whole (a
    torn last line, a disk that lied) is skipped and reported, never fatal."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    except FileNotFoundError:  # none, or stored and removed by another process meanwhile
        return []
    entries: list[Entry] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            entries.append(Discard(item["discard"]) if "discard" in item
                           else record_from_json(item))
        except (ValueError, KeyError, TypeError):
            where = "its last line" if number >= len(lines) - 1 else f"line {number}"
            log.error("spool %s: %s is not a whole call record and was skipped: %.200r",
                      path, where, line)
    return entries


_TIMES = ("started_at", "ring_started_at", "answered_at", "ended_at")


def record_to_json(call: CallRecord) -> dict[str, Any]:
    data = {f.name: getattr(call, f.name) for f in fields(call)}
    for name in _TIMES:
        data[name] = data[name].isoformat() if data[name] else None
    data["variables"] = dict(call.variables)
    for name in ("operators_rung", "handled_by", "recordings"):
        data[name] = list(data[name])
    return data


def record_from_json(data: dict[str, Any]) -> CallRecord:
    known = {f.name for f in fields(CallRecord)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _TIMES:
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    for name in ("operators_rung", "handled_by", "recordings"):
        values[name] = tuple(values.get(name) or ())
    return CallRecord(**values)


def recording_parts(call: CallRecord, first: str) -> list[str]:
    """Every MixMonitor recording of a call in order (the one stored with the call first)."""
    parts = [first]
    for name in getattr(call, "recordings", ()) or ():
        if name and name not in parts:
            parts.append(name)
    return parts


def customer_e164(call: CallRecord, region: str) -> str | None:
    parsed = try_normalise(call.customer_number, region) if call.customer_number else None
    return parsed.e164 if parsed else None


_LENGTHS = {c.name: c.type.length for c in calls_table.columns
            if getattr(c.type, "length", None)}


def _fit(values: dict[str, Any]) -> dict[str, Any]:
    # a forged or odd AMI value longer than its column must not make the record unstorable
    for name, length in _LENGTHS.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > length:
            values[name] = value[:length]
    return values


def record_values(call: CallRecord, region: str,
                  probe: Callable[[str], RecordingFile | None] | None = None) -> dict[str, Any]:
    """The ``calls`` columns of a record (all but client_id and answered_by_user_id).

    ``probe`` looks at the recording on this machine at the end of the call
    (services.recordings.RecordingProbe); without it the name is kept unverified. Whether the
    recording was verified is kept in ``variables`` as ``recording_verified``.
    """
    def e164(raw):
        parsed = try_normalise(raw, region) if raw else None
        return parsed.e164 if parsed else None

    task_id = call.task_id
    status = status_of(call)
    looked = probe(call.recording) if probe and call.recording and call.outcome == "answered" \
        else None
    recording = stored_recording(call, looked)
    variables = dict(call.variables)
    if recording.name:
        variables["recording_verified"] = "yes" if recording.verified else "no"
    return _fit({
        "call_key": call.key, "linkedid": call.linkedid, "direction": call.direction,
        "caller": call.caller, "caller_e164": e164(call.caller), "caller_name": call.caller_name,
        "callee": call.callee, "callee_e164": e164(call.callee),
        "operators_rung": list(call.operators_rung), "answered_by": call.answered_by,
        "handled_by": list(call.handled_by), "placed_by": call.placed_by,
        "started_at": call.started_at, "answered_at": call.answered_at,
        "ended_at": call.ended_at, "status": status,
        "outcome": call.outcome if status == COMPLETED else UNKNOWN,
        "talk_seconds": round(call.talk_seconds or 0),
        "wait_seconds": None if call.wait_seconds is None or status != COMPLETED
        else round(call.wait_seconds),
        "hangup_side": call.hangup_side, "hangup_cause": call.hangup_cause,
        "hangup_cause_text": call.hangup_cause_text, "recording": recording.name,
        "queue": call.queue, "action_id": call.action_id,
        "task_id": int(task_id) if task_id and task_id.isdigit() else None,
        "variables": variables,
    })
