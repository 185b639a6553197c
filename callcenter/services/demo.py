"""Demo data: seeds an empty database with shops, users, ~1,000 clients, their orders, the
operator's day (missed calls and tasks of every kind, placed in the clients' calling windows) and
four weeks of call history with the operators' states (for the reports)."""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.config import Settings, load_settings
from callcenter.domain.demo_data import DemoData, generate_demo
from callcenter.domain.demo_history import generate_history
from callcenter.domain.phones import normalise_phone
from callcenter.domain.pipeline import default_stages, demo_moves
from callcenter.services.orders import shop_token_hash
from callcenter.services.tasks import TaskService
from callcenter.storage import audit
from callcenter.storage import calls as calls_repo
from callcenter.storage import clients as clients_repo
from callcenter.storage import pipeline as pipeline_repo
from callcenter.storage import tasks as tasks_repo
from callcenter.storage import users as users_repo
from callcenter.storage.database import Database
from callcenter.storage.tables import order_stage_changes
from callcenter.storage.tables import (
    agent_state_changes, calls, client_emails, client_phones, orders, shops, task_attempts,
)

DEMO_USERS = (
    # login, name, role, extension, password
    # the same password rule as everyone's (10 characters, not the login)
    ("101", "Анна Соколова", "operator", "PJSIP/101", "demo-pass-101"),
    ("102", "Борис Кузнецов", "operator", "PJSIP/102", "demo-pass-102"),
    ("supervisor", "Светлана Орлова", "supervisor", "PJSIP/201", "demo-supervisor"),
    ("admin", "Администратор", "admin", None, "demo-admin"),
)


def demo_secret_key(folder: Path) -> str:
    """The demo's session key, kept in ``folder/secret-key`` (mode 0600) so demo sessions
    survive a restart; made on first use. ``OSError`` when the file cannot be read or made."""
    path = folder / "secret-key"
    try:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # written under a temporary name and renamed, so a crash never leaves half a key behind
    tmp = folder / f".secret-key.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    os.replace(tmp, path)
    return key


async def seed_demo(db: Database, *, clients: int, now: datetime, seed: int = 7,
                    settings: Settings | None = None) -> dict[str, Any]:
    """Fill an empty database (no users) with demo data; do nothing to a database in use.

    The tasks are placed in their clients' calling windows as ``settings`` (calling hours,
    holidays, next-task order; the defaults when None) say, as the tasks service places them.
    Returns the demo credentials to print (passwords are the fixed demo ones).
    """
    credentials = {"users": {login: {"password": pw, "role": role, "extension": ext}
                             for login, _, role, ext, pw in DEMO_USERS}}
    async with db.read() as conn:
        credentials["callers"] = await clients_repo.some_phones(conn, 40)
        if await users_repo.count_users(conn) > 0:
            credentials["already_seeded"] = True
            return credentials
    hasher = PasswordHasher()
    data = generate_demo(seed=seed, now=now, clients=clients)
    tokens = {s["slug"]: secrets.token_urlsafe(24) for s in data.shops}
    async with db.write() as conn:
        user_ids = []
        for login, name, role, ext, pw in DEMO_USERS:
            user_ids.append(await users_repo.insert_user(conn, {
                "login": login, "name": name, "role": role, "extension": ext,
                "password_hash": hasher.hash(pw), "active": True, "language": "ru"}, now))
        shop_ids = {}
        for shop in data.shops:
            result = await conn.execute(insert(shops).values(
                slug=shop["slug"], name=shop["name"], token_hash=shop_token_hash(tokens[shop["slug"]]),
                created_at=now).returning(shops.c.id))
            shop_ids[shop["slug"]] = result.scalar_one()
            await pipeline_repo.replace_stages(conn, shop_ids[shop["slug"]], default_stages(
                settings.parcel_check_days if settings else 7))
        client_ids = []
        operators = user_ids[:2]
        for i, c in enumerate(data.clients):
            client_ids.append(await clients_repo.insert_client(conn, {
                "name": c["name"], "company": c.get("company"), "notes": c.get("notes"),
                "timezone": c.get("timezone"), "city": c.get("city"), "region": c.get("region"),
                "tags": list(c.get("tags") or []), "birthday": c.get("birthday"),
                "do_not_call": bool(c.get("do_not_call")),
                "assigned_operator_id": operators[i % 2] if i % 3 == 0 else None,
            }, now))
        phone_rows, email_rows = [], []
        for cid, c in zip(client_ids, data.clients):
            for pos, p in enumerate(c["phones"]):
                phone_rows.append({"client_id": cid, "number": p["number"],
                                   "e164": normalise_phone(p["number"]).e164,
                                   "extension": None, "label": p.get("label"), "position": pos})
            for pos, e in enumerate(c.get("emails") or []):
                email = e["email"] if isinstance(e, dict) else e
                email_rows.append({"client_id": cid, "email": email.lower(),
                                   "label": e.get("label") if isinstance(e, dict) else None,
                                   "position": pos})
        await conn.execute(insert(client_phones), phone_rows)
        if email_rows:
            await conn.execute(insert(client_emails), email_rows)
        order_rows = [{
            "shop_id": shop_ids[o["shop_slug"]], "client_id": client_ids[o["client_index"]],
            "external_id": o["external_id"], "number": o["number"],
            "number_key": o["number"].casefold(), "status": o["status"], "total": o["total"],
            "currency": o["currency"], "items": _json_items(o["items"]),
            "created_at": o["created_at"], "updated_at": o["created_at"],
        } for o in data.orders]
        order_ids: list[int] = []
        if order_rows:
            result = await conn.execute(
                insert(orders).returning(orders.c.id, sort_by_parameter_order=True), order_rows)
            order_ids = list(result.scalars())
            await _seed_stage_history(conn, order_rows, order_ids, operators, now)
        settings = settings or load_settings({}, environ={})
        tasks = TaskService(db, lambda: now, settings,
                            clients=None, outcomes=None)  # type: ignore[arg-type]
        task_count = await _seed_day(conn, tasks, data, client_ids, order_ids, operators, now)
        history = await _seed_history(conn, data, client_ids, operators,
                                      now.astimezone(ZoneInfo(settings.timezone)), seed)
        await audit.record(conn, at=now, action="demo.seed", user_id=None, login="demo", ip=None,
                           details={"clients": len(client_ids), "orders": len(order_rows),
                                    "tasks": task_count, "history_calls": history})
    credentials["shop_tokens"] = tokens
    async with db.read() as conn:
        credentials["callers"] = await clients_repo.some_phones(conn, 40)
    return credentials


async def _seed_day(conn: AsyncConnection, tasks: TaskService, data: DemoData,
                    client_ids: Sequence[int], order_ids: Sequence[int],
                    operators: Sequence[int], now: datetime) -> int:
    """The demo's missed calls, then its tasks, each placed in its client's calling window
    (:meth:`TaskService.placement`; one due in a window that has closed goes to the next, as
    the scheduler places it) and ranked as the tasks service does; their earlier attempts.
    Returns how many tasks."""
    call_ids = []
    for n, call in enumerate(data.calls):
        client = call["client_index"]
        started = call["started_at"]
        call_id, _ = await calls_repo.insert_call(conn, {
            "call_key": f"demo-missed-{n}", "direction": "inbound",
            "caller": call["phone"].lstrip("+"), "caller_e164": call["phone"],
            "client_id": client_ids[client] if client is not None else None,
            "operators_rung": ["PJSIP/101", "PJSIP/102"], "handled_by": [],
            "started_at": started, "ended_at": started + timedelta(seconds=call["wait_seconds"]),
            "outcome": "missed", "talk_seconds": 0, "wait_seconds": call["wait_seconds"],
            "hangup_side": "customer", "queue": "shop", "variables": {}, "status": "completed"})
        call_ids.append(call_id)
    attempts = []
    for task in data.tasks:
        index = task["client_index"]
        client = data.clients[index] if index is not None else {}
        row = {"timezone": client.get("timezone"), "city": client.get("city"),
               "region": client.get("region"),
               "e164": client["phones"][0]["number"] if client else None}
        ready_at, window_ends_at, zone = tasks.placement(row, task["due_at"], task["phone"])
        if window_ends_at <= now:  # due in a window gone by: the next one, as the scheduler does
            ready_at, window_ends_at, zone = tasks.placement(row, now, task["phone"])
        assigned = operators[task["assigned"]] if task["assigned"] is not None else None
        task_id = await tasks_repo.insert_task(conn, {
            "kind": task["kind"], "status": task["status"],
            "client_id": client_ids[index] if index is not None else None,
            "phone_e164": task["phone"] or row["e164"], "title": task["title"],
            "due_at": task["due_at"], "ready_at": ready_at, "window_ends_at": window_ends_at,
            "timezone": zone, "attempts": task["attempts"], "failures": task["failures"],
            "priority": task["priority"],
            "rank": tasks.rank(task["kind"], task["failures"], assigned),
            "assigned_to": assigned, "result": task["result"], "note": task["note"],
            "order_id": order_ids[task["order_index"]] if task["order_index"] is not None
            else None,
            "call_id": call_ids[task["call_index"]] if task["call_index"] is not None else None,
            "closed_at": task["closed_at"], "closed_reason": task["closed_reason"],
            "created_at": min(now, task["due_at"], *(at for at, _ in task["history"])),
            "updated_at": now})
        for k, (at, outcome) in enumerate(task["history"]):
            attempts.append({"task_id": task_id, "at": at, "outcome": outcome, "note": None,
                             "user_id": assigned or operators[k % len(operators)],
                             "call_id": None, "source": "operator", "next_at": None,
                             "call_key": None})
    if attempts:
        await conn.execute(insert(task_attempts), attempts)
    return len(data.tasks)


async def _seed_history(conn: AsyncConnection, data: DemoData, client_ids: Sequence[int],
                        operators: Sequence[int], now: datetime, seed: int) -> int:
    """Four weeks of calls and agent-state changes before today in ``now``'s zone (the shop's;
    domain.demo_history), the callers matched to the clients whose numbers they are. Returns
    how many calls."""
    owner = {}
    for cid, c in list(zip(client_ids, data.clients))[:300]:
        if not c.get("do_not_call") and c["phones"]:
            owner[c["phones"][0]["number"]] = cid
    extensions = [ext for _, _, role, ext, _ in DEMO_USERS if role == "operator"]
    history, changes = generate_history(seed, now, sorted(owner), extensions)
    rows = []
    for call in history:
        row = {k: v for k, v in call.items() if k != "operator"}
        row["client_id"] = owner.get(call["caller_e164"] or call["callee_e164"])
        row["answered_by_user_id"] = operators[call["operator"]] if call["answered_by"] else None
        rows.append(row)
    for start in range(0, len(rows), 500):
        await conn.execute(insert(calls), rows[start:start + 500])
    if changes:
        await conn.execute(insert(agent_state_changes), [
            {"user_id": operators[c["operator"]], "at": c["at"], "state": c["state"],
             "reason": c["reason"], "source": c["source"]} for c in changes])
    return len(rows)


def _json_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (f"{v:.2f}" if k == "price" and not isinstance(v, str) else v)
             for k, v in item.items()} for item in items]


async def _seed_stage_history(conn: AsyncConnection, order_rows: Sequence[dict[str, Any]],
                              order_ids: Sequence[int], operators: Sequence[int], now) -> None:
    """Each demo order's way through the stages (the board's ages and the funnel have data);
    the moves made by the operators in turn, parcels past "paid" get a tracking number."""
    changes = []
    for i, (row, order_id) in enumerate(zip(order_rows, order_ids)):
        moves = demo_moves(row["status"], row["created_at"], now)
        for move in moves:
            changes.append(dict(move, order_id=order_id, shop_id=row["shop_id"],
                                user_id=operators[i % len(operators)] if move["from_stage"]
                                else None))
        values = {"stage_changed_at": moves[-1]["at"]}
        if "shipped" in [m["to_stage"] for m in moves]:
            values["tracking_number"] = f"RA{100000000 + order_id:09d}RU"
        await conn.execute(update(orders).where(orders.c.id == order_id).values(**values))
    if changes:
        await conn.execute(insert(order_stage_changes), changes)
