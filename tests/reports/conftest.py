"""A small seeded history whose every report figure the tests compute by hand.

Shop zone Europe/Moscow (UTC+3, no DST); the period is 10..12 November 2026 (local), i.e.
[2026-11-09 21:00 UTC, 2026-11-12 21:00 UTC); the clock stands after it.  Helpers take local
wall times and store UTC, as the call log does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.conftest import api, api_with  # noqa: F401
from sqlalchemy import insert

from callcenter.storage.tables import (
    agent_state_changes, calls, changes, clients, orders, shops, task_attempts, tasks,
)

MSK = ZoneInfo("Europe/Moscow")
ANNA_EXT, BORIS_EXT = "PJSIP/201", "PJSIP/202"


def local(day: int, hh: int, mm: int = 0, ss: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=MSK).astimezone(timezone.utc)


@dataclass
class History:
    api: Any
    users: dict[str, dict[str, Any]]
    sessions: dict[str, Any] = field(default_factory=dict)


async def _row(conn, table, values) -> int:
    return (await conn.execute(insert(table).values(**values).returning(table.c.id))).scalar_one()


def _call(n: int, *, direction: str, start: datetime, outcome: str, wait: int | None = None,
          talk: int = 0, answered_by: str | None = None, user_id: int | None = None,
          placed_by: str | None = None, rung: list[str] | None = None, queue: str | None = None,
          disposition: str | None = None, status: str = "completed") -> dict[str, Any]:
    return {"call_key": f"h-{n}", "linkedid": f"h-{n}", "direction": direction,
            "caller": "+79161234567", "callee": "200", "operators_rung": rung or [],
            "answered_by": answered_by, "answered_by_user_id": user_id, "handled_by": [],
            "placed_by": placed_by, "started_at": start,
            "answered_at": start + timedelta(seconds=wait or 0) if outcome == "answered" else None,
            "ended_at": start + timedelta(seconds=(wait or 0) + talk), "outcome": outcome,
            "talk_seconds": talk, "wait_seconds": wait, "queue": queue, "variables": {},
            "disposition": disposition, "status": status}


async def seed(api) -> History:
    anna = await api.user("anna", "operator", extension=ANNA_EXT, name="Анна")
    boris = await api.user("boris", "operator", extension=BORIS_EXT, name="Борис")
    await api.user("sup", "supervisor", name="Светлана")
    a, b = anna["id"], boris["id"]
    now = api.clock()
    async with api.services.db.write() as conn:
        rows = [
            _call(1, direction="inbound", start=local(10, 10), outcome="answered", wait=10,
                  talk=100, answered_by=ANNA_EXT, user_id=a, rung=[ANNA_EXT], queue="sales",
                  disposition="confirmed"),
            _call(2, direction="inbound", start=local(10, 10, 30), outcome="answered", wait=20,
                  talk=200, answered_by=ANNA_EXT, user_id=a, rung=[ANNA_EXT], queue="sales",
                  disposition="callback"),
            _call(3, direction="inbound", start=local(11, 12), outcome="answered", wait=21,
                  talk=60, answered_by=BORIS_EXT, user_id=b, rung=[BORIS_EXT], queue="sales"),
            _call(4, direction="inbound", start=local(11, 12, 10), outcome="missed", wait=30,
                  rung=[ANNA_EXT, BORIS_EXT, ANNA_EXT], queue="sales"),
            _call(5, direction="inbound", start=local(12, 23, 50), outcome="missed", wait=5,
                  rung=[ANNA_EXT], queue="support"),
            _call(6, direction="inbound", start=local(12, 9), outcome="answered", wait=0,
                  talk=30, answered_by=BORIS_EXT, user_id=b, rung=[BORIS_EXT]),
            _call(7, direction="outbound", start=local(11, 15), outcome="answered", wait=8,
                  talk=50, answered_by=ANNA_EXT, user_id=a, placed_by=ANNA_EXT,
                  disposition="confirmed"),
            _call(8, direction="outbound", start=local(11, 15, 10), outcome="no_answer",
                  wait=25, placed_by=ANNA_EXT, disposition="no_answer"),
            _call(9, direction="outbound", start=local(12, 16), outcome="busy", wait=3,
                  placed_by=BORIS_EXT),
            # just outside the period on either side
            _call(10, direction="inbound", start=local(9, 23, 59, 59), outcome="answered",
                  wait=1, talk=10, answered_by=ANNA_EXT, user_id=a, queue="sales"),
            _call(11, direction="inbound", start=local(13, 0), outcome="missed", wait=4,
                  rung=[ANNA_EXT], queue="sales"),
            # still going on: not reported; an internal call: not a customer call
            _call(12, direction="inbound", start=local(11, 11), outcome="unknown",
                  status="in_progress", queue="sales"),
            _call(13, direction="internal", start=local(11, 11), outcome="answered", wait=2,
                  talk=40, answered_by=ANNA_EXT, user_id=a),
            # closed without its end: counted as a call, neither answered nor missed
            _call(14, direction="inbound", start=local(11, 11, 20), outcome="unknown",
                  status="unknown"),
        ]
        ids = {}
        for row in rows:
            ids[row["call_key"]] = await _row(conn, calls, row)
        states = [
            (a, local(9, 20), "paused", "lunch"), (a, local(10, 9), "ready", None),
            (a, local(10, 10), "talking", None), (a, local(10, 10, 5), "wrap_up", None),
            (a, local(10, 10, 6), "ready", None), (a, local(10, 13), "paused", "lunch"),
            (a, local(10, 14), "ready", None), (a, local(10, 18), "offline", None),
            (a, local(12, 22), "paused", "training"), (a, local(13, 9), "ready", None),
            (b, local(1, 8), "ready", None),
        ]
        for uid, at, state, reason in states:
            await conn.execute(insert(agent_state_changes).values(
                user_id=uid, at=at, state=state, reason=reason, source="crm"))

        def task(kind, status, due, closed=None, failures=0):
            return {"kind": kind, "status": status, "title": kind, "due_at": due,
                    "attempts": 0, "failures": failures, "created_at": local(1, 9),
                    "updated_at": now, "closed_at": closed}

        redial = await _row(conn, tasks, task("redial", "open", local(12, 10), failures=1))
        confirm = await _row(conn, tasks, task("order_confirmation", "done", local(11, 9),
                                               local(11, 11)))
        attempts = [
            (redial, local(10, 11), "no_answer", a, None, "operator"),
            (redial, local(11, 11), "confirmed", a, None, "operator"),
            (redial, local(11, 11, 30), "busy", None, ids["h-9"], "pbx"),
            (redial, local(9, 11), "no_answer", a, None, "operator"),   # before the period
            (confirm, local(11, 11), "confirmed", a, None, "operator"),  # not a redial
        ]
        cb1 = await _row(conn, tasks, task("callback", "done", local(10, 12), local(10, 12, 30)))
        cb2 = await _row(conn, tasks, task("callback", "done", local(11, 10), local(11, 9, 50)))
        cb3 = await _row(conn, tasks, task("callback", "done", local(8, 10), local(9, 10)))
        cb4 = await _row(conn, tasks, task("callback", "archived", local(11, 10), local(11, 12)))
        attempts += [(cb1, local(10, 12, 30), "confirmed", a, None, "operator"),
                     (cb2, local(11, 9, 50), "refused", a, None, "operator"),
                     (cb3, local(9, 10), "refused", b, None, "operator"),
                     (cb4, local(11, 12), "invalid_number", b, None, "operator")]
        for task_id, at, outcome, uid, call_id, source in attempts:
            await conn.execute(insert(task_attempts).values(
                task_id=task_id, at=at, outcome=outcome, user_id=uid, call_id=call_id,
                source=source))
        shop = await _row(conn, shops, {"slug": "s", "name": "S", "created_at": now})
        client = await _row(conn, clients, {"name": "K", "search_name": "k", "tags": [],
                                            "do_not_call": False, "created_at": now,
                                            "updated_at": now})
        order_ids = []
        for number, total in (("O1", "1500.00"), ("O2", "990.50"), ("O3", "100.00")):
            order_ids.append(await _row(conn, orders, {
                "shop_id": shop, "client_id": client, "number": number, "number_key": number,
                "status": "confirmed", "total": Decimal(total), "currency": "RUB", "items": [],
                "created_at": now, "updated_at": now}))
        o1, o2, o3 = order_ids
        for order_id, uid, at, new in ((o1, a, local(11, 14), "confirmed"),
                                       (o2, a, local(12, 10), "confirmed"),
                                       (o2, a, local(12, 11), "confirmed"),
                                       (o3, b, local(9, 10), "confirmed"),
                                       (o3, b, local(11, 10), "paid")):
            await conn.execute(insert(changes).values(
                entity="order", entity_id=order_id, client_id=client, user_id=uid, at=at,
                field="status", old="new", new=new))
    return History(api, {"anna": anna, "boris": boris})


@pytest.fixture
async def history(api) -> History:
    api.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    world = await seed(api)
    world.sessions["sup"] = await api.login("sup", create=False)
    world.sessions["anna"] = await api.login("anna", create=False)
    return world
