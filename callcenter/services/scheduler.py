"""The scheduler: runs inside ``callcenter serve`` and keeps the task queue moving.

Every ``CALLCENTER_SCHEDULER_INTERVAL_SECONDS`` (and once at start) a round does, in order:

1. archives the open tasks of do-not-call clients (reason ``do_not_call``);
2. gives expired leases (no attempt since the claim) back to the pool;
3. places open tasks never placed, or whose calling window has passed, into the next calling
   window in the client's time zone (TaskService.placement);
4. tells the owner's pages, over the websocket, about each personal callback that fell due
   since the previous round: ``{"type": "tasks.due", "task": {...}}``;
5. hands personal callbacks still open ``CALLCENTER_CALLBACK_HANDOVER_MINUTES`` after they
   were due to anyone (``assigned_to`` NULL, ``handed_over_at`` set, audited).

Its state is only in the database: each step is a conditional UPDATE naming the state it
changes from (storage/scheduler.py), so a round repeated, interrupted or raced changes nothing
twice, and a restart after downtime catches up in due order; the "fell due" pushes follow a
watermark in ``scheduler_jobs`` moved in the same transaction that reads them.

Several server processes on one PostgreSQL: only the leader of ``leadership`` (a
``cluster.Leadership`` on ``LOCK_KEY``) runs rounds; when its process stops or dies another
takes the lead and runs a round at once. The "fell due" pushes go to the other processes as
``due`` notices on the cluster bus, sent in the transaction that moves the watermark (so they go
out on its commit, and not at all if it rolls back); each process pushes them to its own pages,
the scheduling one after the commit. On SQLite there is one server process (one writer): it
always leads, and the pushes go straight to its pages.

A failing database is logged and retried the next interval; it never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from callcenter.domain.tasks import rank_for
from callcenter.services.cluster import ClusterBus, Leadership
from callcenter.services.context import Clock
from callcenter.storage import scheduler as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.scheduler")

#: the leadership's advisory lock key (64-bit): "callschd"; advisory locks are per database
LOCK_KEY = 0x63616C6C_73636864
#: the bus notice of callbacks fallen due: ``{"items": [{"user_id": id, "task": {...}}]}``
DUE = "due"
PLACE_BATCH = 1000
ACTOR_LOGIN = "scheduler"

Placement = Callable[[Mapping[str, Any], datetime], tuple[datetime, datetime, str]]
Publish = Callable[[Iterable[int], dict[str, Any]], int]


@dataclass
class RoundReport:
    """What one round did."""

    at: datetime
    archived: int = 0
    handed_over: int = 0
    released: int = 0
    placed: int = 0
    due_pushed: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)

    def total(self) -> int:
        return self.archived + self.handed_over + self.released + self.placed + self.due_pushed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def due_task_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """The task of a ``tasks.due`` push, in the task JSON shape of the API."""
    zone = row.get("timezone") or ""
    return {
        "id": row["id"], "kind": row["kind"], "status": row["status"], "title": row["title"],
        "client_id": row["client_id"], "client_name": row.get("client_name"),
        "phone": row["phone_e164"], "due_at": _iso(row["due_at"]),
        "ready_at": _iso(row["ready_at"]), "window_ends_at": _iso(row["window_ends_at"]),
        "client_timezone": zone or None, "client_zone_known": bool(zone) and "," not in zone,
        "attempts": row["attempts"], "failures": row["failures"], "priority": row["priority"],
        "assigned_to": row["assigned_to"], "assigned_to_name": row.get("assigned_to_name"),
        "claimed_by": row["claimed_by"], "lease_until": _iso(row["lease_until"]),
        "result": row["result"], "note": row["note"], "order_id": row["order_id"],
        "previous_task_id": row["previous_task_id"], "closed_at": _iso(row["closed_at"]),
        "closed_reason": row["closed_reason"], "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "do_not_call": bool(row.get("client_do_not_call")),
    }


def due_notice_item(item: dict[str, Any]) -> dict[str, Any]:
    """A callback fallen due as the bus carries it to the other processes: the task without
    its note, free text of up to 20,000 characters that a notice (7,900 bytes) cannot hold; the
    rest is bounded columns and fits. A page told of a due task reads its lists, note included."""
    return {**item, "task": {**item["task"], "note": None}}


class Scheduler:
    """See the module docstring. ``placement(client, at)`` is TaskService.placement (set by
    create_app once the task service exists); ``publish`` the websocket hub's; ``bus`` tells
    the other processes' pages of callbacks fallen due (none: this process's pages only)."""

    def __init__(self, db: Database, clock: Clock, *, interval_seconds: float,
                 handover_minutes: int, publish: Publish, leadership: Leadership,
                 bus: ClusterBus | None = None, placement: Placement | None = None,
                 task_order: Sequence[str] = ()):
        self.db = db
        self.clock = clock
        self.interval = interval_seconds
        self.handover = timedelta(minutes=handover_minutes)
        self.publish = publish
        self.leadership = leadership
        self.bus = bus
        self.placement = placement
        # anyone's callback's place in the next-task order, after its handover
        self.handover_ranks = (rank_for("callback", 0, None, task_order),
                               rank_for("callback", 1, None, task_order))
        self.rounds = 0
        self.last_report: RoundReport | None = None
        self.round_done = asyncio.Event()
        self._task: asyncio.Task | None = None
        # set on taking the lead: the round then runs at once, not an interval later
        self._wake = asyncio.Event()
        leadership.on_gain.append(self._wake.set)
        if bus is not None:
            bus.on(DUE, self._deliver_due)
        self._jobs_ready = False
        self._placement_missing_logged = False
        # told of each task handed over (create_app: the tasks.changed push on every process)
        self.tasks_changed: Callable[[dict[str, Any]], None] | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this process schedules now (always on SQLite)."""
        return self.leadership.leading

    # lifecycle

    async def start(self) -> None:
        """Try for the lead (once, before the server takes requests), then run the loop."""
        if self._task is None:
            await self.leadership.start()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        """Cancel the loop and wait for it; then leave the lead (its lock's connection ends)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.leadership.stop()

    async def wait_for_round(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until ``count`` rounds have run in this process (tests)."""
        async def rounds() -> None:
            while self.rounds < count:
                await self.round_done.wait()
        await asyncio.wait_for(rounds(), timeout)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if self.leadership.leading:
                    report = await self.run_round()
                    if report.total():
                        log.info("scheduler round: %d archived (do not call), %d callbacks "
                                 "handed over, %d leases returned, %d placed, %d due pushed "
                                 "in %.2f s", report.archived, report.handed_over,
                                 report.released, report.placed, report.due_pushed,
                                 report.seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler round failed; retrying in %.1f s", self.interval)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    # callbacks fallen due, on every process

    def _deliver_due(self, payload: dict[str, Any]) -> None:
        """A ``due`` notice from the scheduling process: to this process's pages."""
        items = payload.get("items")
        if isinstance(items, list):
            self._publish_due([item for item in items if isinstance(item, dict)
                               and type(item.get("user_id")) is int
                               and isinstance(item.get("task"), dict)])

    def _publish_due(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.publish([item["user_id"]], {"type": "tasks.due", "task": item["task"]})

    # one round

    async def run_round(self) -> RoundReport:
        """One round of every step, now (also when not leading: tests and benchmarks)."""
        started = time.perf_counter()
        now = self.clock()
        report = RoundReport(at=now)
        if not self._jobs_ready:
            async with self.db.write() as conn:
                await repo.ensure_jobs(conn, now)
            self._jobs_ready = True
        steps = report.step_seconds

        async def step(name: str, work) -> int:
            began = time.perf_counter()
            try:
                return await work(now)
            finally:
                steps[name] = time.perf_counter() - began

        report.archived = await step("do_not_call", self._archive_do_not_call)
        report.released = await step("leases", self._release_leases)
        if self.placement is None:
            report.skipped.append("placement")
            if not self._placement_missing_logged:
                log.warning("no task placement is wired: tasks are not moved into calling "
                            "windows")
                self._placement_missing_logged = True
        else:
            report.placed = await step("placement", self._place)
        # told before handed over: after downtime the owner hears of it, then anyone may take it
        report.due_pushed = await step("tasks_due", self._push_due)
        report.handed_over = await step("handover", self._hand_over)
        report.seconds = time.perf_counter() - started
        self.rounds += 1
        self.last_report = report
        self.round_done.set()
        self.round_done = asyncio.Event()
        return report

    async def _archive_do_not_call(self, now: datetime) -> int:
        async with self.db.write() as conn:
            rows = await repo.archive_do_not_call(conn, now)
            await repo.audit_many(conn, [
                {"at": now, "action": "task.archive", "user_id": None, "login": ACTOR_LOGIN,
                 "ip": None, "entity": "task", "entity_id": str(r["id"]),
                 "details": {"reason": "do_not_call", "client_id": r["client_id"],
                             "kind": r["kind"]}} for r in sorted(rows, key=lambda r: r["id"])])
            await repo.mark_job(conn, "do_not_call", now)
        return len(rows)

    async def _hand_over(self, now: datetime) -> int:
        async with self.db.write() as conn:
            rows = await repo.hand_over_callbacks(
                conn, now, now - self.handover, rank=self.handover_ranks[0],
                rank_after_failure=self.handover_ranks[1])
            await repo.audit_many(conn, [
                {"at": now, "action": "task.hand_over", "user_id": None, "login": ACTOR_LOGIN,
                 "ip": None, "entity": "task", "entity_id": str(r["id"]),
                 "details": {"from_user_id": r["assigned_to"], "client_id": r["client_id"],
                             "due_at": _iso(r["ready_at"] or r["due_at"])}} for r in rows])
            await repo.mark_job(conn, "handover", now)
        if self.tasks_changed is not None:
            for r in rows:  # the previous owner's lists lose it; the staff's show it moved
                try:
                    self.tasks_changed({"id": r["id"], "kind": "callback", "status": "open",
                                        "assigned_to": r["assigned_to"], "claimed_by": None,
                                        "client_id": r["client_id"]})
                except Exception:
                    log.exception("telling the pages of a handed-over task failed")
        return len(rows)

    async def _release_leases(self, now: datetime) -> int:
        async with self.db.write() as conn:
            released = await repo.release_expired_leases(conn, now)
            await repo.mark_job(conn, "leases", now)
        return len(released)

    async def _place(self, now: datetime) -> int:
        placed, after = 0, 0
        # tasks of one client (or zone hints) due at one moment share a placement: after
        # downtime most are due "now"
        memo: dict[tuple, tuple[datetime, datetime, str]] = {}
        while True:
            async with self.db.read() as conn:
                rows = await repo.tasks_to_place(conn, now, after_id=after, limit=PLACE_BATCH)
            if not rows:
                break
            after = rows[-1]["id"]
            changes = []
            for row in rows:
                if row["do_not_call"]:
                    continue  # archived by the do-not-call step
                client = {"id": row["client_id"], "timezone": row["timezone"],
                          "city": row["city"], "region": row["region"], "name": row["name"],
                          "e164": row["phone_e164"], "phone_e164": row["phone_e164"]}
                at = max(row["due_at"], now)
                key = (row["timezone"], row["city"], row["region"], row["phone_e164"], at)
                try:
                    if key not in memo:
                        memo[key] = self.placement(client, at)
                    ready, ends, zone = memo[key]
                except Exception:
                    log.exception("task %s could not be placed in a calling window", row["id"])
                    continue
                changes.append({"_id": row["id"], "_old_ready": row["ready_at"],
                                "_old_ends": row["window_ends_at"], "_ready": ready,
                                "_ends": ends, "_zone": zone, "_now": now})
            async with self.db.write() as conn:
                await repo.place_tasks(conn, changes)
            placed += len(changes)
            if len(rows) < PLACE_BATCH:
                break
        async with self.db.write() as conn:
            await repo.mark_job(conn, "placement", now)
        return placed

    async def _push_due(self, now: datetime) -> int:
        async with self.db.write() as conn:
            marks = await repo.job_marks(conn)
            since = marks.get("tasks_due")
            if since is not None and now <= since:
                return 0  # the clock went back, or another round already went this far
            rows = await repo.callbacks_falling_due(conn, since or now, now)
            if not await repo.advance_watermark(conn, "tasks_due", since, now):
                return 0
            items = [{"user_id": r["assigned_to"], "task": due_task_json(r)} for r in rows]
            if items and self.bus is not None and self.bus.enabled:
                for payload in self.bus.batches(DUE, "items", map(due_notice_item, items)):
                    await self.bus.send(DUE, payload, conn=conn)
        # the bus skips its sender's own notices: this process's pages are told here
        self._publish_due(items)
        return len(items)
