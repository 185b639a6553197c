"""Demo data: seeds an empty database with shops, users, ~1,000 clients and their orders."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import insert

from callcenter.domain.demo_data import generate_demo
from callcenter.domain.phones import normalise_phone
from callcenter.services.orders import shop_token_hash
from callcenter.storage import audit
from callcenter.storage import clients as clients_repo
from callcenter.storage import users as users_repo
from callcenter.storage.database import Database
from callcenter.storage.tables import client_emails, client_phones, orders, shops

DEMO_USERS = (
    # login, name, role, extension, password
    # the same password rule as everyone's (10 characters, not the login)
    ("101", "Анна Соколова", "operator", "PJSIP/101", "demo-pass-101"),
    ("102", "Борис Кузнецов", "operator", "PJSIP/102", "demo-pass-102"),
    ("supervisor", "Светлана Орлова", "supervisor", None, "demo-supervisor"),
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


async def seed_demo(db: Database, *, clients: int, now: datetime, seed: int = 7) -> dict[str, Any]:
    """Fill an empty database (no users) with demo data; do nothing to a database in use.

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
        if order_rows:
            await conn.execute(insert(orders), order_rows)
        await audit.record(conn, at=now, action="demo.seed", user_id=None, login="demo", ip=None,
                           details={"clients": len(client_ids), "orders": len(order_rows)})
    credentials["shop_tokens"] = tokens
    async with db.read() as conn:
        credentials["callers"] = await clients_repo.some_phones(conn, 40)
    return credentials


def _json_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (f"{v:.2f}" if k == "price" and not isinstance(v, str) else v)
             for k, v in item.items()} for item in items]
