"""A small seeded world for walking the API: users of every role, a shop, two operators' clients
with an order, a call and a task each, calls and tasks with no client, and optionally a PBX
(the AMI simulator on a real port) so that click-to-call really reaches Asterisk's stand-in."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from callcenter.ami.sim import AmiSimulator
from callcenter.http.keys import CALLS
from callcenter.services.context import Actor
from callcenter.storage.tables import calls, recordings, tasks

PASSWORD = "correct-horse-battery-7"
AMI_USER, AMI_SECRET = "callcenter", "world-ami-secret"
#: login -> (role, extension)
PEOPLE = {"anna": ("operator", "PJSIP/101"), "boris": ("operator", "PJSIP/102"),
          "sup": ("supervisor", "PJSIP/201"), "admin": ("admin", "PJSIP/301")}
PHONES = {"anna": "+79161110001", "boris": "+79162220002"}


@dataclass
class World:
    api: Any
    sessions: dict[str, Any]
    users: dict[str, dict[str, Any]]
    shop: dict[str, Any]
    clients: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    order_numbers: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # login -> an outcome they may remove
    spare_user: dict[str, Any] | None = None
    # mailings: ids by f"{kind}_{login}" (a segment and mailings of each role to act on)
    mailing_ids: dict[str, int] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)  # webhooks: kept, doomed, delivery
    messages: dict[str, int] = field(default_factory=dict)  # notifications: a failed one each
    documents: dict[str, int] = field(default_factory=dict)  # documents: anna's client's invoice
    sim: AmiSimulator | None = None

    def session(self, login: str):
        return self.sessions[login]


async def _insert(conn, table, values) -> int:
    return (await conn.execute(insert(table).values(**values).returning(table.c.id))).scalar_one()


async def _recordings(conn, settings, call_ids: dict[str, int], now) -> None:
    folder = Path(settings.recordings_dir) / "world"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "anna.ogg").write_bytes(b"OggS" + bytes(2000))
    for kind, status, file in (("anna", "ready", "world/anna.ogg"),
                               ("anna_unknown", "failed", None)):
        await conn.execute(insert(recordings).values(
            call_id=call_ids[kind], source=f"2026/12/01/world-{kind}.wav",
            parts=[f"2026/12/01/world-{kind}.wav"], status=status, file=file,
            format="opus" if file else None, bytes=2004 if file else None,
            duration_seconds=2.0 if file else None, health="ok" if file else None, details={},
            attempts=0 if file else 3, error=None if file else "ffmpeg failed",
            call_started_at=now, created_at=now, updated_at=now))


async def build_world(api_with, *, own_clients_only: bool = False, pbx: bool = False) -> World:
    """Seed the world through the services (and the call log through its table, as the AMI
    pipeline would have stored it) and log everybody in."""
    sim = None
    overrides: dict[str, Any] = {"operators_see_own_clients_only": own_clients_only}
    overrides["documents_dir"] = tempfile.mkdtemp(prefix="world-documents-")  # documents
    if pbx:
        sim = AmiSimulator(AMI_USER, AMI_SECRET, seed=5)
        port = await sim.start()
        overrides.update(ami_host="127.0.0.1", ami_port=port, ami_username=AMI_USER,
                         ami_secret=AMI_SECRET)
    api = await api_with(**overrides)
    if pbx:
        await api.app[CALLS].ami.wait_connected(10)
    services = api.services
    system = Actor.system("test")
    users = {}
    for login, (role, ext) in PEOPLE.items():
        users[login] = await api.user(login, role, PASSWORD, extension=ext,
                                      name={"anna": "Анна Соколова", "boris": "Борис Кузнецов",
                                            "sup": "Светлана", "admin": "Админ"}[login])
    shop = await services.orders.create_shop(system, {"slug": "tehnomir", "name": "Техномир"})
    world = World(api, {}, users, shop, sim=sim)
    world.spare_user = await api.user("spare", "operator", PASSWORD)
    await services.outcomes.create(system, {"code": "letter_sent", "label_ru": "Письмо отправлено",
                                            "label_en": "Letter sent"})
    world.outcomes["admin"] = "letter_sent"
    # webhooks: one to read, edit and ping, one to delete, and a delivery to retry
    for name in ("kept", "doomed"):
        hook = await services.webhooks.create(system, {
            "url": f"https://hooks.example.invalid/{name}", "events": ["client.created"]})
        world.webhooks[name] = hook["id"]
    world.webhooks["delivery"] = (await services.webhooks.ping(
        system, world.webhooks["kept"]))["id"]
    now = api.clock()
    for login in ("anna", "boris"):
        card = await services.clients.create(system, {
            "name": f"Клиент {users[login]['name']}", "phones": [PHONES[login]],
            "assigned_operator_id": users[login]["id"], "city": "Москва"})
        world.clients[login] = card["id"]
        number = f"TM-{login.upper()}-1"
        order = await services.orders.create(system, {
            "client_id": card["id"], "shop_id": shop["id"], "number": number,
            "total": "1990.00", "items": [{"sku": "K-1", "name": "Чайник", "qty": 1,
                                           "price": "1990"}]})
        world.orders[login], world.order_numbers[login] = order["id"], number
        async with services.db.read() as conn:  # the new order's confirmation task
            world.tasks[f"{login}_order"] = (await conn.execute(
                select(tasks.c.id).where(tasks.c.order_id == order["id"]))).scalar_one()
    async with services.db.write() as conn:
        for login in ("anna", "boris"):
            ext = PEOPLE[login][1]
            for kind, client_id, caller in ((login, world.clients[login], PHONES[login]),
                                            (f"{login}_unknown", None,
                                             "+7903" + ("1112233" if login == "anna"
                                                        else "4445566"))):
                world.calls[kind] = await _insert(conn, calls, {
                    "call_key": f"world-{kind}", "linkedid": f"world-{kind}",
                    "direction": "inbound", "caller": caller, "caller_e164": caller,
                    "client_id": client_id, "operators_rung": [ext], "answered_by": ext,
                    "answered_by_user_id": users[login]["id"], "handled_by": [ext],
                    "started_at": now - timedelta(minutes=5), "answered_at": now,
                    "ended_at": now, "outcome": "answered", "talk_seconds": 30,
                    "variables": {}})
                world.tasks[kind] = await _insert(conn, tasks, {
                    "kind": "callback", "status": "open", "client_id": client_id,
                    "phone_e164": caller, "title": f"Перезвонить {caller}", "due_at": now,
                    "attempts": 1, "assigned_to": users[login]["id"] if not client_id else None,
                    "created_at": now, "updated_at": now})
        # a recording ready to play for anna's call, one that failed for her unknown caller's
        await _recordings(conn, services.settings, world.calls, now)
        # due now and inside the calling window: Next task has one for each role to take
        for who in ("anna", "sup", "admin"):
            world.tasks[f"ready_{who}"] = await _insert(conn, tasks, {
                "kind": "order_confirmation", "status": "open",
                "client_id": world.clients["boris"], "phone_e164": PHONES["boris"],
                "title": f"Подтвердить заказ ({who})", "due_at": now,
                "ready_at": now - timedelta(minutes=1), "window_ends_at": now + timedelta(hours=8),
                "timezone": "Europe/Moscow", "attempts": 0, "created_at": now,
                "updated_at": now})
        # archived after the ladder ran out, one for each role to bring back
        for who in ("anna", "sup", "admin"):
            world.tasks[f"archived_{who}"] = await _insert(conn, tasks, {
                "kind": "redial", "status": "archived", "client_id": world.clients["boris"],
                "phone_e164": PHONES["boris"], "title": f"Дозвон ({who})", "due_at": now,
                "attempts": 5, "failures": 5, "created_at": now, "updated_at": now,
                "closed_at": now, "closed_reason": "ladder_exhausted"})
    # mailings: a segment, a draft, one to start and one to cancel for each role
    for who in ("anon", "anna", "sup", "admin", "fuzz"):
        segment = await services.mailings.create_segment(
            system, {"name": f"Москва ({who})", "filter": {"cities": ["Москва"]}})
        world.mailing_ids[f"segment_{who}"] = segment["id"]
        for kind in ("draft", "start", "cancel"):
            mailing = await services.mailings.create(system, {
                "name": f"{kind} {who}", "segment_id": segment["id"], "subject": "Скидки",
                "body": "{client_name}, скидки! {unsubscribe_url}"})
            world.mailing_ids[f"{kind}_{who}"] = mailing["id"]
    # notifications: a failed message for each role to send again
    from callcenter.storage.messages import queue_message
    async with services.db.write() as conn:
        for who in ("anon", "anna", "sup", "admin", "fuzz"):
            world.messages[who] = await queue_message(
                conn, kind="notification", channel="email", to_address="a@example.ru",
                body="Заказ отправлен", dedupe_key=f"world:{who}", now=now,
                client_id=world.clients["anna"], order_id=world.orders["anna"],
                status="failed", last_error="550 mailbox unavailable")
    # documents: an invoice of anna's client's order to read and send (a stand-in PDF file)
    from callcenter.storage.tables import documents
    Path(api.services.settings.documents_dir, "world.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    async with services.db.write() as conn:
        world.documents["anna"] = await _insert(conn, documents, {
            "kind": "invoice", "number": "INV-2026-0001", "shop_id": shop["id"],
            "order_id": world.orders["anna"], "client_id": world.clients["anna"],
            "file": "world.pdf", "bytes": 16, "sha256": "0" * 64, "total": 100,
            "currency": "RUB", "created_at": now})
    for login in PEOPLE:
        world.sessions[login] = await api.login(login, password=PASSWORD, create=False)
    return world
