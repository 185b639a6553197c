"""A real SMTP server (aiosmtpd), a real HTTP SMS gateway, and a shop with a customer."""

from __future__ import annotations

import email
from email import policy
from datetime import datetime
from decimal import Decimal

from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import insert

from callcenter.storage.tables import client_emails, client_phones, clients, orders, shops
from tests.conftest import listening_socket


class Inbox:
    """aiosmtpd handler keeping every message received, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.original_content or
                                                      envelope.content, policy=policy.default))
        return "250 OK"


def start_smtp() -> tuple[Controller, Inbox]:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


class SmsGateway:
    """A JSON SMS gateway on 127.0.0.1 that fails the first ``fail`` requests with a 503."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        if self.fail > 0:
            self.fail -= 1
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"id": f"gw-{len(self.requests)}"})

    async def start(self) -> "SmsGateway":
        app = web.Application()
        app.router.add_post("/send", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/send"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


async def seed_customer(db, now: datetime, *, email_address: str | None = "anna@example.ru",
                        phone: str | None = "+79261234567", do_not_call: bool = False,
                        name: str = "Анна Петрова", city: str | None = "Москва",
                        shop_name: str = "Домашний уют") -> dict[str, int]:
    async with db.write() as conn:
        shop_id = (await conn.execute(insert(shops).values(
            slug=f"shop-{now.timestamp()}-{name}"[:60], name=shop_name, created_at=now)
            .returning(shops.c.id))).scalar_one()
        client_id = (await conn.execute(insert(clients).values(
            name=name, search_name=name.casefold(), tags=[], do_not_call=do_not_call, city=city,
            created_at=now, updated_at=now).returning(clients.c.id))).scalar_one()
        if email_address:
            await conn.execute(insert(client_emails).values(client_id=client_id,
                                                            email=email_address))
        if phone:
            await conn.execute(insert(client_phones).values(client_id=client_id, number=phone,
                                                            e164=phone))
        order_id = (await conn.execute(insert(orders).values(
            shop_id=shop_id, client_id=client_id, number="10025", number_key="10025",
            status="confirmed", total=Decimal("4590.00"), currency="RUB", items=[],
            created_at=now, updated_at=now).returning(orders.c.id))).scalar_one()
    return {"shop": shop_id, "client": client_id, "order": order_id}
