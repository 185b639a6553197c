"""The shops' intake with two server processes on one PostgreSQL database: a shop that sends the
same order (or cart) to both at the same moment gets what two sends to one process give — one
order, one client, "created" then "the same order again" — and never a 500; two orders of one
new customer arriving at once make one client."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from callcenter.app import create_app
from callcenter.http.keys import SERVICES
from callcenter.services.context import Actor
from callcenter.storage.tables import carts, client_emails, client_phones, clients, orders
from tests.conftest import FrozenClock, make_settings

pytestmark = pytest.mark.postgres

ROUNDS = 12


@pytest.fixture
async def two(pg_url):
    """Two apps with pools of their own (as two `callcenter serve`) and a shop."""
    made = []
    for _ in range(2):
        app = create_app(make_settings(pg_url, ami_host="", backup_time=""), clock=FrozenClock())
        client = TestClient(TestServer(app))
        await client.start_server()
        made.append(client)
    shop = await made[0].app[SERVICES].orders.create_shop(
        Actor.system("test"), {"slug": "tehnomir", "name": "ТехноМир"})
    yield made, shop
    for client in made:
        await client.close()


def order(n: int, external_id: str | None = None, phone: str | None = None) -> dict:
    return {"external_id": external_id or f"A-{n}", "number": f"TM-{n}", "status": "new",
            "total": "2490.00", "currency": "RUB",
            "items": [{"sku": "K-1", "name": "Чайник", "qty": 1, "price": "2490"}],
            "customer": {"name": f"Покупатель {n}", "phone": phone or f"+7916{n:07d}",
                         "email": f"buyer{n}@example.ru", "city": "Москва"}}


def cart(n: int, phone: str | None = None) -> dict:
    return {"external_id": f"C-{n}", "total": "990.00", "currency": "RUB",
            "items": [{"sku": "K-2", "name": "Кружка", "qty": 2, "price": "495"}],
            "customer": {"name": f"Покупатель {n}", "phone": phone or f"+7903{n:07d}"}}


async def send(client: TestClient, shop: dict, what: str, payload: dict):
    resp = await client.post(f"/api/shops/{shop['slug']}/{what}", json=payload,
                             headers={"Authorization": f"Bearer {shop['token']}"})
    return resp.status, await resp.json()


async def count(client: TestClient, query) -> int:
    async with client.app[SERVICES].db.read() as conn:
        return (await conn.execute(query)).scalar_one()


async def test_the_same_order_at_both_processes_at_once_is_one_order_answered_as_a_resend(two):
    (a, b), shop = two
    for n in range(ROUNDS):
        payload = order(n)
        answers = await asyncio.gather(send(a, shop, "orders", payload),
                                       send(b, shop, "orders", payload))
        assert sorted(status for status, _ in answers) == [200, 201], answers
        first, second = (body for _, body in answers)
        # what a sequential resend answers: the same order, unchanged
        assert first == second
        assert await send(a, shop, "orders", payload) == (200, first)
        assert await count(a, select(func.count()).select_from(orders)
                           .where(orders.c.external_id == payload["external_id"])) == 1
        assert await count(a, select(func.count()).select_from(client_phones)
                           .where(client_phones.c.e164 == payload["customer"]["phone"])) == 1
        assert await count(a, select(func.count()).select_from(client_emails)
                           .where(client_emails.c.email == payload["customer"]["email"])) == 1
    assert await count(a, select(func.count()).select_from(clients)) == ROUNDS


async def test_two_orders_of_one_new_customer_at_once_make_one_client(two):
    (a, b), shop = two
    for n in range(ROUNDS):
        phone = f"+7926{n:07d}"
        one, other = order(100 + n, phone=phone), order(200 + n, phone=phone)
        other["customer"]["email"] = None  # the same person, known by the phone only
        answers = await asyncio.gather(send(a, shop, "orders", one),
                                       send(b, shop, "orders", other))
        assert [status for status, _ in answers] == [201, 201], answers
        assert answers[0][1]["client_id"] == answers[1][1]["client_id"]
        assert await count(a, select(func.count()).select_from(client_phones)
                           .where(client_phones.c.e164 == phone)) == 1


async def test_the_same_cart_at_both_processes_at_once_is_one_cart(two):
    (a, b), shop = two
    for n in range(ROUNDS):
        payload = cart(n)
        answers = await asyncio.gather(send(a, shop, "carts", payload),
                                       send(b, shop, "carts", payload))
        assert sorted(status for status, _ in answers) == [200, 201], answers
        assert answers[0][1]["id"] == answers[1][1]["id"]
        assert await count(a, select(func.count()).select_from(carts)
                           .where(carts.c.external_id == payload["external_id"])) == 1
        assert await count(a, select(func.count()).select_from(client_phones)
                           .where(client_phones.c.e164 == payload["customer"]["phone"])) == 1


async def test_an_order_and_a_cart_of_one_new_customer_at_once_make_one_client(two):
    (a, b), shop = two
    for n in range(ROUNDS):
        phone = f"+7985{n:07d}"
        answers = await asyncio.gather(send(a, shop, "orders", order(300 + n, phone=phone)),
                                       send(b, shop, "carts", cart(300 + n, phone=phone)))
        assert [status for status, _ in answers] == [201, 201], answers
        assert answers[0][1]["client_id"] == answers[1][1]["client_id"]
        assert await count(a, select(func.count()).select_from(client_phones)
                           .where(client_phones.c.e164 == phone)) == 1
