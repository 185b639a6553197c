"""Every declared route, with every role and with no session, against seeded objects and a valid
request: the exact status for each (the 2xx of the real action where the role is allowed, 403
where not, 401 without a session), so a 500 or a request that never reached its action fails.
A route added without a case here fails the walk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from aiohttp import FormData, WSServerHandshakeError

from callcenter.app import all_route_specs
from callcenter.domain.access import Role
from callcenter.domain.pipeline import default_stages
from tests.api.world import PASSWORD, PHONES, PEOPLE, World, build_world
from tests.supervise.live_call import operator_on_call

ROLE_LOGIN = {Role.OPERATOR: "anna", Role.SUPERVISOR: "sup", Role.ADMIN: "admin"}


@dataclass
class Req:
    path: str
    json: Any = None
    data: Any = None
    headers: dict[str, str] | None = None


def csv_upload() -> FormData:
    form = FormData()
    form.add_field("file", "ФИО;Телефон\nНовый Клиент;+79265550101\n".encode(),
                   filename="clients.csv", content_type="text/csv")
    return form


def png_upload() -> FormData:  # documents: a real 1×1 PNG
    import base64
    form = FormData()
    form.add_field("file", base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
        filename="logo.png", content_type="image/png")
    return form


# (method, path) -> (request for (world, acting login), the status when allowed)
Case = tuple[Callable[[World, str], Req], int]
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/api/me"): (lambda w, who: Req("/api/me"), 200),
    ("POST", "/api/logout"): (lambda w, who: Req("/api/logout"), 200),
    ("POST", "/api/logout/everywhere"): (lambda w, who: Req("/api/logout/everywhere"), 200),
    ("GET", "/ws"): (lambda w, who: Req("/ws"), 101),
    ("GET", "/api/calls"): (lambda w, who: Req(f"/api/calls?client_id={w.clients['anna']}"), 200),
    ("PATCH", "/api/calls/{id}"): (lambda w, who: Req(
        f"/api/calls/{w.calls['anna']}", {"disposition": "resolved", "note": f"by {who}"}), 200),
    ("POST", "/api/calls/originate"): (lambda w, who: Req(
        "/api/calls/originate", {"number": PHONES["anna"], "client_id": w.clients["anna"],
                                 "task_id": w.tasks["anna"]}), 202),
    ("GET", "/api/tasks"): (lambda w, who: Req("/api/tasks?status=open"), 200),
    ("GET", "/api/calls/live"): (lambda w, who: Req("/api/calls/live"), 200),
    # --- agents cases ---
    ("GET", "/api/agents"): (lambda w, who: Req("/api/agents"), 200),
    ("POST", "/api/agents/me/state"): (lambda w, who: Req(
        "/api/agents/me/state", {"state": "paused", "reason": "training"}), 200),
    # --- tasks cases ---
    ("POST", "/api/tasks"): (lambda w, who: Req("/api/tasks", {
        "kind": "reminder", "client_id": w.clients["anna"], "due_at": "2026-11-24T12:00:00+03:00",
        "title": f"Напомнить ({who})"}), 201),
    ("POST", "/api/tasks/next"): (lambda w, who: Req("/api/tasks/next"), 200),
    ("GET", "/api/tasks/archive"): (lambda w, who: Req("/api/tasks/archive?q=Борис"), 200),
    ("GET", "/api/tasks/{id}"): (lambda w, who: Req(f"/api/tasks/{w.tasks['anna']}"), 200),
    ("POST", "/api/tasks/{id}/outcome"): (lambda w, who: Req(
        f"/api/tasks/{w.tasks['boris']}/outcome", {"outcome": "no_answer", "note": f"{who}"}),
        200),
    ("POST", "/api/tasks/{id}/release"): (lambda w, who: Req(
        f"/api/tasks/{w.tasks['boris']}/release"), 200),
    ("POST", "/api/tasks/{id}/restore"): (lambda w, who: Req(
        f"/api/tasks/{w.tasks.get('archived_' + who, w.tasks['anna'])}/restore"), 200),
    ("POST", "/api/calls/{id}/outcome"): (lambda w, who: Req(
        f"/api/calls/{w.calls['anna']}/outcome", {"outcome": "confirmed", "note": who}), 200),
    # --- outcomes cases ---
    ("GET", "/api/outcomes"): (lambda w, who: Req("/api/outcomes"), 200),
    ("POST", "/api/outcomes"): (lambda w, who: Req("/api/outcomes", {
        "code": f"sent_sms_{who}", "label_ru": "Отправлено SMS", "label_en": "SMS sent"}), 201),
    ("PATCH", "/api/outcomes/{code}"): (lambda w, who: Req(
        "/api/outcomes/no_answer", {"label_ru": f"Не берёт трубку ({who})"}), 200),
    ("DELETE", "/api/outcomes/{code}"): (lambda w, who: Req(
        f"/api/outcomes/{w.outcomes.get(who, 'gone')}"), 200),
    # --- planner cases ---
    ("GET", "/api/planner/parse"): (lambda w, who: Req(
        f"/api/planner/parse?text=%2B30m&client_id={w.clients['anna']}&tz=Europe/Moscow"), 200),
    ("GET", "/api/planner/day"): (lambda w, who: Req(
        "/api/planner/day?date=2026-11-23&tz=Europe/Moscow"), 200),
    # --- recordings cases ---
    ("GET", "/api/calls/{id}/recording"): (lambda w, who: Req(
        f"/api/calls/{w.calls['anna']}/recording"), 200),
    ("GET", "/api/recordings/missing"): (lambda w, who: Req("/api/recordings/missing"), 200),
    ("POST", "/api/recordings/{call_id}/retry"): (lambda w, who: Req(
        f"/api/recordings/{w.calls['anna_unknown']}/retry"), 200),
    # --- board cases ---
    ("GET", "/api/board"): (lambda w, who: Req("/api/board"), 200),
    ("POST", "/api/agents/{id}/state"): (lambda w, who: Req(
        f"/api/agents/{w.users['boris']['id']}/state", {"state": "paused", "reason": "training"}),
        200),
    # --- supervise cases ---
    ("POST", "/api/supervise"): (lambda w, who: Req(
        "/api/supervise", {"operator_id": operator_on_call(w, "anna"), "mode": "listen"}), 202),
    # --- reports cases ---
    ("GET", "/api/reports/operators"): (lambda w, who: Req(
        "/api/reports/operators?from=2026-11-01&to=2026-11-30"), 200),
    ("GET", "/api/reports/queues"): (lambda w, who: Req(
        "/api/reports/queues?preset=this_month&format=csv"), 200),
    ("GET", "/api/reports/plans"): (lambda w, who: Req("/api/reports/plans"), 200),
    ("PUT", "/api/reports/plans/{user_id}"): (lambda w, who: Req(
        f"/api/reports/plans/{w.users['anna']['id']}", {"calls_per_day": 40}), 200),
    # --- audit cases ---
    ("GET", "/api/audit"): (lambda w, who: Req(
        "/api/audit?action=login.&from=2020-01-01&q=a&limit=5"), 200),
    ("GET", "/api/audit/actions"): (lambda w, who: Req("/api/audit/actions"), 200),
    # --- pipeline cases ---
    ("GET", "/api/shops/{id}/stages"): (lambda w, who: Req(f"/api/shops/{w.shop['id']}/stages"),
                                        200),
    ("PUT", "/api/shops/{id}/stages"): (lambda w, who: Req(
        f"/api/shops/{w.shop['id']}/stages", {"stages": [
            dict(s, name_en=f"{s['name_en']} ({who})") for s in default_stages()]}), 200),
    ("GET", "/api/pipeline"): (lambda w, who: Req(
        f"/api/pipeline?shop_id={w.shop['id']}&q=a"), 200),
    ("GET", "/api/reports/funnel"): (lambda w, who: Req(
        f"/api/reports/funnel?shop_id={w.shop['id']}&preset=this_month"), 200),
    ("POST", "/api/orders/{id}/stage"): (lambda w, who: Req(
        f"/api/orders/{w.orders['anna']}/stage",
        {"stage": "shipped", "tracking_number": f"RA{len(who)}RU"}), 200),
    # --- notifications cases ---
    ("GET", "/api/messages"): (lambda w, who: Req(
        f"/api/messages?client_id={w.clients['anna']}"), 200),
    ("POST", "/api/messages/{id}/retry"): (lambda w, who: Req(
        f"/api/messages/{w.messages[who]}/retry"), 200),
    ("GET", "/api/notification-templates"): (lambda w, who: Req(
        f"/api/notification-templates?shop_id={w.shop['id']}"), 200),
    ("PUT", "/api/notification-templates"): (lambda w, who: Req(
        "/api/notification-templates", {"shop_id": w.shop["id"], "event": "order_shipped",
                                        "channel": "sms", "lang": "ru", "enabled": True,
                                        "body": f"Заказ {{order_number}} в пути ({who})"}), 200),
    ("POST", "/api/notification-templates/preview"): (lambda w, who: Req(
        "/api/notification-templates/preview", {"event": "order_shipped", "channel": "email",
                                                "lang": "ru", "subject": "Заказ {order_number}",
                                                "body": "Трек {tracking_number}",
                                                "order_id": w.orders["anna"]}), 200),
    # --- mailings cases ---
    ("GET", "/api/segments"): (lambda w, who: Req("/api/segments"), 200),
    ("POST", "/api/segments"): (lambda w, who: Req("/api/segments", {
        "name": f"Тула ({who})", "filter": {"cities": ["Тула"], "has_email": True}}), 201),
    ("POST", "/api/segments/count"): (lambda w, who: Req("/api/segments/count", {
        "filter": {"cities": ["Москва"], "orders_min": 1}}), 200),
    ("GET", "/api/segments/{id}"): (lambda w, who: Req(
        f"/api/segments/{w.mailing_ids['segment_' + who]}"), 200),
    ("PUT", "/api/segments/{id}"): (lambda w, who: Req(
        f"/api/segments/{w.mailing_ids['segment_' + who]}",
        {"name": f"Москва и Тула ({who})", "filter": {"cities": ["Москва", "Тула"]}}), 200),
    ("DELETE", "/api/segments/{id}"): (lambda w, who: Req(
        f"/api/segments/{w.mailing_ids['segment_' + who]}"), 200),
    ("GET", "/api/mailings"): (lambda w, who: Req("/api/mailings"), 200),
    ("POST", "/api/mailings"): (lambda w, who: Req("/api/mailings", {
        "name": f"Новая ({who})", "filter": {"cities": ["Москва"]}, "body": "Привет"}), 201),
    ("GET", "/api/mailings/{id}"): (lambda w, who: Req(
        f"/api/mailings/{w.mailing_ids['draft_' + who]}"), 200),
    ("PATCH", "/api/mailings/{id}"): (lambda w, who: Req(
        f"/api/mailings/{w.mailing_ids['draft_' + who]}", {"subject": f"Тема {who}"}), 200),
    ("POST", "/api/mailings/{id}/test"): (lambda w, who: Req(
        f"/api/mailings/{w.mailing_ids['draft_' + who]}/test", {"to": f"{who}@example.com"}),
        202),
    ("POST", "/api/mailings/{id}/start"): (lambda w, who: Req(
        f"/api/mailings/{w.mailing_ids['start_' + who]}/start"), 202),
    ("POST", "/api/mailings/{id}/cancel"): (lambda w, who: Req(
        f"/api/mailings/{w.mailing_ids['cancel_' + who]}/cancel"), 200),
    ("GET", "/api/mailings/{id}/report"): (lambda w, who: Req(
        f"/api/mailings/{w.mailing_ids['start_' + who]}/report"), 200),
    # --- documents cases ---
    ("GET", "/api/shops/{id}/requisites"): (lambda w, who: Req(
        f"/api/shops/{w.shop['id']}/requisites"), 200),
    ("PUT", "/api/shops/{id}/requisites"): (lambda w, who: Req(
        f"/api/shops/{w.shop['id']}/requisites", {"legal_name": f"ООО «Техномир» ({who})",
                                                  "inn": "7707083893"}), 200),
    ("POST", "/api/shops/{id}/requisites/{kind}"): (lambda w, who: Req(
        f"/api/shops/{w.shop['id']}/requisites/logo", data=png_upload()), 200),
    ("GET", "/api/shops/{id}/requisites/{kind}"): (lambda w, who: Req(
        f"/api/shops/{w.shop['id']}/requisites/stamp"), 404),  # admins: none uploaded yet
    ("POST", "/api/orders/{id}/documents"): (lambda w, who: Req(
        f"/api/orders/{w.orders['anna']}/documents", {"kind": "offer"}), 201),
    ("GET", "/api/documents"): (lambda w, who: Req(
        f"/api/documents?client_id={w.clients['anna']}"), 200),
    ("GET", "/api/documents/{id}/pdf"): (lambda w, who: Req(
        f"/api/documents/{w.documents['anna']}/pdf"), 200),
    ("POST", "/api/documents/{id}/send"): (lambda w, who: Req(
        f"/api/documents/{w.documents['anna']}/send", {"email": f"{who}@example.ru"}), 202),
    ("GET", "/api/clients/export.xlsx"): (lambda w, who: Req("/api/clients/export.xlsx"), 200),
    ("GET", "/api/orders/export.xlsx"): (lambda w, who: Req(
        "/api/orders/export.xlsx?status=new"), 200),
    # --- webhooks cases ---
    ("POST", "/api/webhooks"): (lambda w, who: Req("/api/webhooks", {
        "url": f"https://hooks.example.invalid/{who}", "events": ["call.missed"]}), 201),
    ("GET", "/api/webhooks"): (lambda w, who: Req("/api/webhooks"), 200),
    ("GET", "/api/webhooks/{id}"): (lambda w, who: Req(f"/api/webhooks/{w.webhooks['kept']}"),
                                    200),
    ("PATCH", "/api/webhooks/{id}"): (lambda w, who: Req(
        f"/api/webhooks/{w.webhooks['kept']}", {"description": f"by {who}"}), 200),
    ("DELETE", "/api/webhooks/{id}"): (lambda w, who: Req(
        f"/api/webhooks/{w.webhooks['doomed']}"), 200),
    ("GET", "/api/webhooks/{id}/deliveries"): (lambda w, who: Req(
        f"/api/webhooks/{w.webhooks['kept']}/deliveries?status=pending&limit=5"), 200),
    ("POST", "/api/webhooks/{id}/ping"): (lambda w, who: Req(
        f"/api/webhooks/{w.webhooks['kept']}/ping"), 202),
    ("POST", "/api/webhook-deliveries/{id}/retry"): (lambda w, who: Req(
        f"/api/webhook-deliveries/{w.webhooks['delivery']}/retry"), 202),
    # --- backups cases ---
    ("GET", "/api/backups"): (lambda w, who: Req("/api/backups"), 200),
    ("POST", "/api/backups"): (lambda w, who: Req("/api/backups"), 202),
    # --- screen cases ---
    ("GET", "/api/clients"): (lambda w, who: Req("/api/clients?q=Клиент"), 200),
    ("POST", "/api/clients"): (lambda w, who: Req(
        "/api/clients", {"name": f"Новый клиент ({who})", "city": "Тула"}), 201),
    ("GET", "/api/clients/{id}"): (lambda w, who: Req(f"/api/clients/{w.clients['anna']}"), 200),
    ("PATCH", "/api/clients/{id}"): (lambda w, who: Req(
        f"/api/clients/{w.clients['anna']}", {"city": f"Город {who}"}), 200),
    ("POST", "/api/clients/{id}/notes"): (lambda w, who: Req(
        f"/api/clients/{w.clients['anna']}/notes", {"text": f"Заметка от {who}"}), 201),
    ("POST", "/api/import/clients"): (lambda w, who: Req(
        "/api/import/clients?dry_run=1", data=csv_upload()), 200),
    ("GET", "/api/orders"): (lambda w, who: Req(
        f"/api/orders?client_id={w.clients['anna']}"), 200),
    ("POST", "/api/orders"): (lambda w, who: Req("/api/orders", {
        "client_id": w.clients["anna"], "shop_id": w.shop["id"], "number": f"M-{who}",
        "total": "250.00", "items": [{"name": "Фильтр", "qty": 2, "price": "125"}]}), 201),
    ("GET", "/api/orders/{id}"): (lambda w, who: Req(f"/api/orders/{w.orders['anna']}"), 200),
    ("PATCH", "/api/orders/{id}"): (lambda w, who: Req(
        f"/api/orders/{w.orders['anna']}", {"status": "confirmed"}), 200),
    ("GET", "/api/shops"): (lambda w, who: Req("/api/shops"), 200),
    ("POST", "/api/shops"): (lambda w, who: Req(
        "/api/shops", {"slug": f"shop-{who}", "name": f"Магазин {who}"}), 201),
    ("POST", "/api/shops/{id}/token"): (lambda w, who: Req(f"/api/shops/{w.shop['id']}/token"),
                                        200),
    ("GET", "/api/users"): (lambda w, who: Req("/api/users"), 200),
    ("POST", "/api/users"): (lambda w, who: Req("/api/users", {
        "login": f"new-{who}", "name": f"Новичок {who}", "role": "operator",
        "password": PASSWORD}), 201),
    ("PATCH", "/api/users/{id}"): (lambda w, who: Req(
        f"/api/users/{w.spare_user['id']}", {"name": f"Переименован {who}"}), 200),
}

PUBLIC_CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/login"): (lambda w, who: Req(
        "/api/login", {"login": "boris", "password": PASSWORD}), 200),
    ("GET", "/api/health"): (lambda w, who: Req("/api/health"), 200),
    ("GET", "/api/openapi.json"): (lambda w, who: Req("/api/openapi.json"), 200),
    ("GET", "/"): (lambda w, who: Req("/"), 200),
    ("POST", "/api/shops/{shop}/orders"): (lambda w, who: Req(
        f"/api/shops/{w.shop['slug']}/orders", {
            "external_id": f"A-{who}", "number": f"TM-{who}", "total": "2490.00",
            "items": [{"sku": "K-1", "name": "Чайник", "qty": 1, "price": "2490"}],
            "customer": {"name": "Иван Петров", "phone": "8 916 123-45-67"}},
        headers={"Authorization": f"Bearer {w.shop['token']}"}), 201),
    # notifications: an SMS gateway's delivery report (the token in the URL is the secret)
    ("POST", "/api/messages/sms-status/{token}"): (lambda w, who: Req(
        f"/api/messages/sms-status/{w.api.services.notifications.callback_token}",
        {"id": "gw-none", "status": "delivered"}), 200),
    # mailings: a cart from the shop's site; the unsubscribe page and its one-click POST
    ("POST", "/api/shops/{shop}/carts"): (lambda w, who: Req(
        f"/api/shops/{w.shop['slug']}/carts", {
            "external_id": f"C-{who}", "total": "990.00",
            "items": [{"sku": "F-2", "name": "Фильтр", "qty": 1, "price": "990"}],
            "customer": {"name": "Иван Петров", "email": "ivan@example.com"}},
        headers={"Authorization": f"Bearer {w.shop['token']}"}), 201),
    ("GET", "/u/{token}"): (lambda w, who: Req(
        "/u/" + w.api.services.unsubscribe.token(w.clients["anna"], w.mailing_ids["start_sup"])),
        200),
    ("POST", "/u/{token}"): (lambda w, who: Req(
        "/u/" + w.api.services.unsubscribe.token(w.clients["anna"], w.mailing_ids["start_sup"]),
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"}), 200),
}

SPECS = [s for s in all_route_specs() if s.method != "HEAD"]
# the logouts last: logging out everywhere ends the sessions the other calls use
PRIVATE = sorted((s for s in SPECS if not s.public),
                 key=lambda s: s.path.startswith("/api/logout"))
PUBLIC = [s for s in SPECS if s.public]


async def send(client, method: str, req: Req, headers: dict[str, str]) -> int:
    """The status of one request; a websocket counts 101 when the upgrade succeeds."""
    if req.path == "/ws":
        try:
            ws = await client.ws_connect(req.path)
        except WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101
    resp = await client.request(method, req.path, json=req.json, data=req.data,
                                headers={**headers, **(req.headers or {})})
    if resp.status >= 500:
        pytest.fail(f"{method} {req.path}: {resp.status} {await resp.text()}")
    await resp.read()
    return resp.status


def test_every_route_has_a_case():
    declared = {(s.method, s.path) for s in SPECS}
    missing = declared - set(CASES) - set(PUBLIC_CASES)
    assert not missing, f"routes with no case in the role walk: {sorted(missing)}"
    assert {(s.method, s.path) for s in PUBLIC} == set(PUBLIC_CASES), \
        "a route became public, or a public one private"
    assert not (set(CASES) | set(PUBLIC_CASES)) - declared, "cases for routes that are gone"


async def test_every_private_route_refuses_anonymous(api_with):
    world = await build_world(api_with, pbx=False)
    try:
        for spec in PRIVATE:
            build, _ = CASES[(spec.method, spec.path)]
            status = await send(world.api.anon, spec.method, build(world, "anon"), {})
            assert status == 401, (spec.method, spec.path, status)
    finally:
        await _stop(world)


async def test_every_route_with_every_role_gives_its_exact_status(api_with):
    world = await build_world(api_with, pbx=True)
    try:
        for spec in PRIVATE:
            build, allowed_status = CASES[(spec.method, spec.path)]
            for role, login in ROLE_LOGIN.items():
                session = world.session(login)
                if spec.path.startswith("/api/logout"):  # it ends the session: a fresh one
                    session = await world.api.login(login, password=PASSWORD, create=False)
                status = await send(session.client, spec.method, build(world, login),
                                    {"X-CSRF-Token": session.csrf})
                expected = allowed_status if role in spec.roles else 403
                assert status == expected, (role.value, spec.method, spec.path, status)
    finally:
        await _stop(world)


async def test_every_public_route_gives_its_exact_status(api_with):
    world = await build_world(api_with)
    try:
        for spec in PUBLIC:
            build, expected = PUBLIC_CASES[(spec.method, spec.path)]
            status = await send(world.api.anon, spec.method, build(world, "anon"), {})
            assert status == expected, (spec.method, spec.path, status)
    finally:
        await _stop(world)


async def test_a_forbidden_answer_has_the_error_shape(api_with):
    world = await build_world(api_with)
    try:
        resp = await world.session("anna").get("/api/users")
        assert resp.status == 403
        body = await resp.json()
        assert body["error"]["code"] == "forbidden"
        assert body["error"]["details"] == {"required": ["admin"]}
    finally:
        await _stop(world)


async def test_writes_need_the_csrf_token(api):
    s = await api.login("anna", password=PASSWORD)
    resp = await s.client.post("/api/clients", json={"name": "Без токена"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "csrf_failed"
    resp = await s.client.post("/api/clients", json={"name": "Чужой токен"},
                               headers={"X-CSRF-Token": "forged"})
    assert resp.status == 403
    resp = await s.post("/api/clients", json={"name": "С токеном"})
    assert resp.status == 201


async def _stop(world: World) -> None:
    if world.sim is not None:
        await world.sim.stop()


assert set(PEOPLE) >= set(ROLE_LOGIN.values())
