"""Tasks, their attempts, the next-task claim and the archive: the SQL about them.

The claim hands a task to one operator only, however many ask at once and however many server
processes share the database: it is one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1)
RETURNING``.  On PostgreSQL the inner SELECT locks its row ``FOR UPDATE SKIP LOCKED``, so
concurrent claimers take different rows without waiting for each other.  On SQLite the claim is
the first statement of its write transaction: SQLite takes the write lock when the UPDATE
starts, before it reads (as ``BEGIN IMMEDIATE`` would), and holds it to the commit, so no other
connection of any process can pick the same row in between.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Sequence

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.calls import visible_tasks
from callcenter.storage.tables import (
    UtcDateTime, client_phones, clients, orders, task_attempts, tasks, users,
)

t = tasks


def _view():
    """Tasks with what the API shows beside them: the client's name and do-not-call flag, the
    owner's name."""
    return (select(t, clients.c.name.label("client_name"),
                   clients.c.do_not_call.label("client_do_not_call"),
                   users.c.name.label("assigned_to_name"))
            .select_from(t.outerjoin(clients, clients.c.id == t.c.client_id)
                         .outerjoin(users, users.c.id == t.c.assigned_to)))


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


async def get_task(conn: AsyncConnection, task_id: int, *,
                   for_update: bool = False) -> dict[str, Any] | None:
    """The task row; ``for_update`` locks it on PostgreSQL until the transaction ends."""
    query = select(t).where(t.c.id == task_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row else None


async def get_task_view(conn: AsyncConnection, task_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_view().where(t.c.id == task_id))).first()
    return dict(row._mapping) if row else None


async def list_tasks(conn: AsyncConnection, *, status: str | None = None,
                     kind: str | None = None, assigned: str | int | None = None,
                     due_from: datetime | None = None, due_to: datetime | None = None,
                     client_id: int | None = None, limit: int = 50, offset: int = 0,
                     visible_to: Any = None) -> tuple[list[dict[str, Any]], int]:
    """Tasks matching the filters, soonest due first; ``assigned`` is "anyone" (no owner), a
    user id, or None (any); ``visible_to`` a condition such as ``visible_tasks``."""
    query = _view()
    conds = []
    if visible_to is not None:
        conds.append(visible_to)
    if status:
        conds.append(t.c.status == status)
    if kind:
        conds.append(t.c.kind == kind)
    if assigned == "anyone":
        conds.append(t.c.assigned_to.is_(None))
    elif isinstance(assigned, int):
        conds.append(t.c.assigned_to == assigned)
    if due_from is not None:
        conds.append(t.c.due_at >= due_from)
    if due_to is not None:
        conds.append(t.c.due_at < due_to)
    if client_id is not None:
        conds.append(t.c.client_id == client_id)
    if conds:
        query = query.where(*conds)
    count = select(func.count()).select_from(t)
    if conds:
        count = count.where(*conds)
    total = (await conn.execute(count)).scalar_one()
    rows = await conn.execute(query.order_by(t.c.due_at, t.c.id).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total


async def insert_task(conn: AsyncConnection, values: dict[str, Any]) -> int:
    stmt = _dialect(conn).insert(t).values(**values).returning(t.c.id)
    return (await conn.execute(stmt)).scalar_one()


async def update_task(conn: AsyncConnection, task_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(t).where(t.c.id == task_id).values(**values))


async def insert_attempt(conn: AsyncConnection, values: dict[str, Any]) -> int | None:
    """Store an attempt; one with a ``call_key`` already stored is not stored again (None)."""
    stmt = _dialect(conn).insert(task_attempts).values(**values)
    if values.get("call_key") is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["call_key"])
    stmt = stmt.returning(task_attempts.c.id)
    return (await conn.execute(stmt)).scalar_one_or_none()


async def attempts_of(conn: AsyncConnection, task_id: int,
                      limit: int = 50) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(task_attempts, users.c.name.label("user_name"))
        .select_from(task_attempts.outerjoin(users, users.c.id == task_attempts.c.user_id))
        .where(task_attempts.c.task_id == task_id)
        .order_by(task_attempts.c.at.desc(), task_attempts.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def client_for_tasks(conn: AsyncConnection, client_id: int) -> dict[str, Any] | None:
    """What placing a client's task needs: the zone hints (zone, city, region, first phone),
    the do-not-call flag and the owner."""
    first_phone = (select(client_phones.c.e164).where(client_phones.c.client_id == clients.c.id)
                   .order_by(client_phones.c.position, client_phones.c.id).limit(1)
                   .scalar_subquery())
    row = (await conn.execute(select(
        clients.c.id, clients.c.name, clients.c.timezone, clients.c.city, clients.c.region,
        clients.c.do_not_call, clients.c.assigned_operator_id, first_phone.label("e164"),
    ).where(clients.c.id == client_id))).first()
    return dict(row._mapping) if row else None


# the claim

ME, NOW, LEASE_UNTIL, SKIPPED_SINCE = (bindparam("me"), bindparam("now"),
                                       bindparam("lease_until"), bindparam("skipped_since"))


def _claimable(me: Any, now: Any, skipped_since: Any, own_clients_only: bool):
    no_call = exists().where(clients.c.id == t.c.client_id, clients.c.do_not_call.is_(True))
    conds = [t.c.status == "open", t.c.ready_at <= now, t.c.window_ends_at > now,
             # not an OR of assigned_to: that would lead the planner to the owner's index
             # and a sort, where ix_tasks_next gives the order and these columns
             func.coalesce(t.c.assigned_to, me) == me,
             or_(t.c.lease_until.is_(None), t.c.lease_until <= now),
             # released by this operator a moment ago (release): skipped by them for a while
             or_(t.c.claimed_by.is_(None), t.c.claimed_by != me,
                 t.c.lease_until.is_not(None), t.c.claimed_at <= skipped_since),
             ~no_call]
    if own_clients_only:
        conds.append(visible_tasks(me))
    return conds


@lru_cache(maxsize=8)
def claim_statement(dialect: str, own_clients_only: bool):
    """The claim (see :func:`claim_next`) with the parameters ``me``, ``now``,
    ``lease_until``, ``skipped_since``; RETURNING the task's id."""
    own = select(t.c.id).where(
        t.c.claimed_by == ME, t.c.lease_until > NOW, t.c.status == "open",
        func.coalesce(t.c.assigned_to, ME) == ME,
    ).order_by(t.c.claimed_at.desc()).limit(1)
    candidate = select(t.c.id).where(
        *_claimable(ME, NOW, SKIPPED_SINCE, own_clients_only)).order_by(
        t.c.rank, t.c.priority.desc(), t.c.ready_at, t.c.id).limit(1)
    if dialect == "postgresql":
        own = own.with_for_update(of=t, skip_locked=True)
        candidate = candidate.with_for_update(of=t, skip_locked=True)
    target = func.coalesce(own.scalar_subquery(), candidate.scalar_subquery())
    return update(t).where(t.c.id == target).values(
        claimed_by=ME, claimed_at=NOW, lease_until=LEASE_UNTIL, updated_at=NOW,
    ).returning(t.c.id)


@lru_cache(maxsize=8)
def _claim_with_view(own_clients_only: bool):
    """PostgreSQL: the claim and the claimed task's view in one statement."""
    claimed = claim_statement("postgresql", own_clients_only).returning(*t.c).cte("claimed")
    return (select(claimed, clients.c.name.label("client_name"),
                   clients.c.do_not_call.label("client_do_not_call"),
                   users.c.name.label("assigned_to_name"))
            .select_from(claimed.outerjoin(clients, clients.c.id == claimed.c.client_id)
                         .outerjoin(users, users.c.id == claimed.c.assigned_to)))


#: pg_advisory_xact_lock(space, user id) of an operator's claim ("ck")
CLAIM_LOCK_SPACE = 0x636B


async def claim_next(conn: AsyncConnection, user_id: int, now: datetime,
                     lease_until: datetime, *, skipped_since: datetime | None = None,
                     own_clients_only: bool = False) -> dict[str, Any] | None:
    """Lease the most urgent task ``user_id`` may take now to them: the task as
    :func:`get_task_view` reads it, or None.

    The operator's own lease still running is given again (renewed) rather than a second task.
    Most urgent: lowest ``rank`` (the configured order), then highest priority, then the
    longest ready.  Only open tasks inside their calling window (``ready_at <= now <
    window_ends_at``), for anyone or for this operator, not leased to another, of a client who
    may be called (and, ``own_clients_only``, of their own clients); not one this operator
    released after ``skipped_since``.  On SQLite it must be the first statement of its
    transaction (see the module's docstring); on a SQLite file :class:`SqliteClaims` is the faster way."""
    params = {"me": user_id, "now": now, "lease_until": lease_until,
              "skipped_since": skipped_since or now}
    if conn.dialect.name == "postgresql":
        # one claim at a time per operator: two of their pages (on two server processes)
        # asking at the same instant get the same task, not one each
        await conn.execute(text("SELECT pg_advisory_xact_lock(:space, :me)"),
                           {"space": CLAIM_LOCK_SPACE, "me": user_id})
        row = (await conn.execute(_claim_with_view(own_clients_only), params)).first()
        return dict(row._mapping) if row else None
    task_id = (await conn.execute(claim_statement("sqlite", own_clients_only),
                                  params)).scalar_one_or_none()
    return await get_task_view(conn, task_id) if task_id is not None else None


def _sqlite_time(value: datetime) -> str:
    """An aware datetime as SQLAlchemy's SQLite DateTime stores it (naive UTC text)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteClaims:
    """Next-task claims on a SQLite file, on a plain ``sqlite3`` connection of their own: each
    batch of claims that arrived together is one ``BEGIN IMMEDIATE`` transaction of
    single-statement claims (and the claimed rows read back).  SQLite serialises it with the
    server's other writers (and other processes) by its write lock; ``BEGIN IMMEDIATE`` takes
    that lock before anything is read, so no other connection can take the same row in
    between.

    Like the quick reads (``Database.quick_rows``), a batch first runs on the event loop's
    thread, without waiting for the lock: an indexed claim takes tens of microseconds, less
    than one hop to a driver thread and back (and a hop costs milliseconds on a busy machine).
    When another writer holds the lock, the batch runs in a thread of its own that waits for
    it, so the loop never blocks on a lock."""

    MAX_BATCH = 64

    def __init__(self, path: str, busy_timeout_ms: int = 10_000):
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="task-claims")
        self._pending: list[tuple[dict[str, Any], bool, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        dialect = sqlite.dialect(paramstyle="named")
        self._claim: dict[bool, tuple[str, dict[str, Any]]] = {}
        for own in (False, True):
            compiled = claim_statement("sqlite", own).compile(dialect=dialect)
            # the statement's own literals (status 'open', LIMIT 1) travel as parameters
            self._claim[own] = (str(compiled), {k: v for k, v in compiled.params.items()
                                                if k not in ("me", "now", "lease_until",
                                                             "skipped_since")})
        self._view = str(_view().where(t.c.id == bindparam("id")).compile(dialect=dialect))
        self._times = {c.name for c in t.columns if isinstance(c.type, UtcDateTime)}

    async def claim(self, user_id: int, now: datetime, lease_until: datetime,
                    skipped_since: datetime, *, own_clients_only: bool = False
                    ) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append(({"me": user_id, "now": _sqlite_time(now),
                               "lease_until": _sqlite_time(lease_until),
                               "skipped_since": _sqlite_time(skipped_since)},
                              own_clients_only, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[:self.MAX_BATCH]
            del self._pending[:self.MAX_BATCH]
            claims = [(p, own) for p, own, _ in batch]
            try:
                try:
                    rows = self._run(claims, wait=False)
                except sqlite3.OperationalError as exc:
                    if not _locked(exc):
                        raise
                    rows = await loop.run_in_executor(self._pool, self._run, claims)
            except BaseException as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception)
                                             else RuntimeError("the claim was cancelled"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, _, future), row in zip(batch, rows):
                if not future.done():
                    future.set_result(row)

    def _connection(self) -> sqlite3.Connection:
        # used by one batch at a time: on the loop's thread, or in the pool's one thread
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys=ON")
            # as the server's writer (storage.database): WAL, no fsync at each commit
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn

    def _run(self, batch: list[tuple[dict[str, Any], bool]], *,
             wait: bool = True) -> list[dict[str, Any] | None]:
        conn = self._connection()
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms) if wait else 0}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            out: list[dict[str, Any] | None] = []
            for params, own in batch:
                sql, literals = self._claim[own]
                found = conn.execute(sql, {**literals, **params}).fetchone()
                row = conn.execute(self._view, {"id": found[0]}).fetchone() if found else None
                out.append(self._typed(row) if row is not None else None)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return out

    def _typed(self, row: sqlite3.Row) -> dict[str, Any]:
        values = dict(zip(row.keys(), row))
        for name in self._times:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name]).replace(tzinfo=timezone.utc)
        values["client_do_not_call"] = bool(values.get("client_do_not_call"))
        return values

    def close(self) -> None:
        self._pool.submit(self._close).result()
        self._pool.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def candidate_query(user_id: int, now: datetime, skipped_since: datetime):
    """The claim's candidate SELECT alone (the benchmark's floor reads it with the driver)."""
    return select(t.c.id).where(*_claimable(user_id, now, skipped_since, False)).order_by(
        t.c.rank, t.c.priority.desc(), t.c.ready_at, t.c.id).limit(1)


async def release(conn: AsyncConnection, task_id: int, user_id: int, now: datetime) -> bool:
    """Give back ``user_id``'s lease on the task: free for anyone else at once; the row keeps
    who released it and when (``claimed_by``, ``claimed_at``, no ``lease_until``) so that
    their own next claim skips it for a while.  False when they held no lease."""
    result = await conn.execute(update(t).where(
        t.c.id == task_id, t.c.claimed_by == user_id, t.c.lease_until.is_not(None)).values(
        claimed_at=now, lease_until=None, updated_at=now))
    return bool(result.rowcount)


async def order_client(conn: AsyncConnection, order_id: int) -> int | None:
    """The client of the order, None when there is no such order."""
    return (await conn.execute(select(orders.c.client_id).where(
        orders.c.id == order_id))).scalar_one_or_none()


async def open_missed_call(conn: AsyncConnection, e164: str) -> int | None:
    """The open missed-call task of the number (at most one: uq_tasks_open_missed_call)."""
    return (await conn.execute(select(t.c.id).where(
        t.c.kind == "missed_call", t.c.status == "open",
        t.c.phone_e164 == e164))).scalar_one_or_none()


async def pbx_attempt(conn: AsyncConnection, task_id: int, call_id: int) -> int | None:
    """The attempt the PBX already recorded on the task for this call, if any."""
    return (await conn.execute(select(task_attempts.c.id).where(
        task_attempts.c.task_id == task_id, task_attempts.c.call_id == call_id,
        task_attempts.c.source == "pbx").limit(1))).scalar_one_or_none()


async def confirm_pbx_attempt(conn: AsyncConnection, attempt_id: int, *, outcome: str,
                              note: str | None, user_id: int | None) -> None:
    """The operator's button for a call the PBX already counted: the same attempt, now with
    the operator's outcome and note."""
    values: dict[str, Any] = {"outcome": outcome, "user_id": user_id}
    if note:
        values["note"] = note
    await conn.execute(update(task_attempts).where(task_attempts.c.id == attempt_id)
                       .values(**values))


async def open_follow_up(conn: AsyncConnection, client_id: int, kinds: Sequence[str],
                         user_id: int | None) -> dict[str, Any] | None:
    """The client's open task of one of ``kinds`` for anyone or ``user_id``, soonest due."""
    row = (await conn.execute(select(t).where(
        t.c.client_id == client_id, t.c.status == "open", t.c.kind.in_(list(kinds)),
        or_(t.c.assigned_to.is_(None), t.c.assigned_to == user_id),
    ).order_by(t.c.due_at, t.c.id).limit(1))).first()
    return dict(row._mapping) if row else None


# the archive

async def search_archive(conn: AsyncConnection, *, words: Sequence[str], digits: str | None,
                         limit: int, offset: int,
                         visible_to: Any = None) -> tuple[list[dict[str, Any]], int]:
    """Archived tasks, newest closed first, whose client's name holds every word (``words``
    folded: casefolded, ё as е) or whose number (the task's or a phone of its client) holds
    ``digits``."""
    conds = [t.c.status == "archived"]
    if visible_to is not None:
        conds.append(visible_to)
    if words:
        folded = func.replace(clients.c.search_name, "ё", "е")
        conds.append(t.c.client_id.in_(select(clients.c.id).where(
            *[folded.contains(w, autoescape=True) for w in words])))
    if digits:
        conds.append(or_(
            t.c.phone_e164.contains(digits, autoescape=True),
            t.c.client_id.in_(select(client_phones.c.client_id).where(
                client_phones.c.e164.contains(digits, autoescape=True)))))
    total = (await conn.execute(select(func.count()).select_from(t).where(*conds))).scalar_one()
    rows = await conn.execute(_view().where(*conds).order_by(
        t.c.closed_at.desc(), t.c.id.desc()).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total


async def user_exists(conn: AsyncConnection, user_id: int) -> bool:
    return (await conn.execute(select(users.c.id).where(
        users.c.id == user_id, users.c.active.is_(True)))).first() is not None


async def insert_tasks(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Many tasks in one statement (the benchmark, the tests)."""
    if rows:
        await conn.execute(insert(t), list(rows))
