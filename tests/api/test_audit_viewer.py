"""The audit log viewer's API on SQLite and PostgreSQL: every filter, combined, paged, bad
input named field by field, who may look, and failed logins present with the login tried
and the address."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from callcenter.services.context import Actor
from callcenter.storage import audit
from tests.api.world import build_world

UTC = timezone.utc
SUPERVISOR = Actor(user_id=None, login="svetlana", role=None, ip="10.1.2.3")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (when, action, login, ip, entity, entity_id, details): written straight to the log, so the
# times are chosen; the shop's zone is Europe/Moscow (UTC+3)
ENTRIES = [
    ("2026-11-20T08:00:00", "recording.listen", "svetlana", "10.1.2.3", "call", "41", {}),
    ("2026-11-20T08:05:00", "recording.download", "svetlana", "10.1.2.3", "call", "41", {}),
    ("2026-11-21T20:59:00", "supervise.listen", "svetlana", "10.1.9.9", "user", "7",
     {"operator": "anna", "call_key": "1700000000.42"}),
    # 00:30 on the 22nd in Moscow, still the 21st in UTC
    ("2026-11-21T21:30:00", "report.export", "admin", "192.168.0.5", "report", "operators",
     {"format": "xlsx", "from": "2026-11-01", "to": "2026-11-21"}),
    ("2026-11-22T10:00:00", "client.update", "anna", "10.1.2.77", "client", "12",
     {"name": {"old": "Иван Петров", "new": "Иван Петрович"}}),
    ("2026-11-22T11:00:00", "agent.state_set", "svetlana", "10.1.2.3", "user", "7",
     {"target": "anna", "state": "paused", "reason": "100%_done"}),
]


async def _seed(api):
    users = {login: await api.user(login, role) for login, role in
             (("svetlana", "supervisor"), ("admin", "admin"), ("anna", "operator"))}
    async with api.services.db.write() as conn:
        for when, action, login, ip, entity, entity_id, details in ENTRIES:
            await audit.record(conn, at=at(when), action=action, user_id=users[login]["id"],
                               login=login, ip=ip, entity=entity, entity_id=entity_id,
                               details=details)
    return users


@pytest.fixture
async def viewer(api):
    users = await _seed(api)
    sup = await api.login("svetlana", create=False)
    admin = await api.login("admin", create=False)
    return api, users, sup, admin


async def _items(session, **params):
    resp = await session.get("/api/audit", params={k: str(v) for k, v in params.items()})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert set(body) == {"items", "total"}
    return body


def _actions(body):
    return [item["action"] for item in body["items"]]


async def test_an_entry_has_the_documented_shape(viewer):
    api, users, sup, _ = viewer
    body = await _items(sup, action="supervise.listen")
    assert body["total"] == 1
    (item,) = body["items"]
    assert {k: item[k] for k in item if k != "id"} == {
        "at": "2026-11-21T20:59:00+00:00", "user_id": users["svetlana"]["id"],
        "login": "svetlana", "action": "supervise.listen", "entity": "user", "entity_id": "7",
        "ip": "10.1.9.9", "details": {"operator": "anna", "call_key": "1700000000.42"},
        "client_id": None}


async def test_action_exact_and_by_prefix(viewer):
    _, _, sup, _ = viewer
    assert _actions(await _items(sup, action="recording.listen")) == ["recording.listen"]
    assert _actions(await _items(sup, action="recording.")) == ["recording.download",
                                                               "recording.listen"]
    # "login" is the successful login only; "login." does not take it in
    assert set(_actions(await _items(sup, action="login"))) == {"login"}
    assert set(_actions(await _items(sup, action="login."))) == set()
    assert (await _items(sup, action="recording"))["total"] == 0


async def test_who_by_user_id_and_by_part_of_the_login(viewer):
    _, users, sup, _ = viewer
    body = await _items(sup, user_id=users["anna"]["id"])
    assert _actions(body) == ["client.update"]
    assert {i["login"] for i in (await _items(sup, login="SVET"))["items"]} == {"svetlana"}
    # the test's users were created by the "test" system actor: their user.create entries
    assert {i["action"] for i in (await _items(sup, login="test"))["items"]} == {"user.create"}


async def test_free_text_over_login_entity_id_and_details(viewer):
    _, _, sup, _ = viewer
    assert _actions(await _items(sup, q="xlsx")) == ["report.export"]
    assert _actions(await _items(sup, q="1700000000.42")) == ["supervise.listen"]
    assert _actions(await _items(sup, q="operators")) == ["report.export"]  # the entity id
    # Cyrillic text in the details, as written and in lower case
    assert _actions(await _items(sup, q="Иван Петрович")) == ["client.update"]
    assert _actions(await _items(sup, q="иван")) == ["client.update"]
    # % and _ are letters, not wildcards
    assert _actions(await _items(sup, q="100%_done")) == ["agent.state_set"]
    assert (await _items(sup, q="%"))["total"] == 1
    assert (await _items(sup, q="1_0"))["total"] == 0


async def test_ip_whole_or_its_beginning(viewer):
    _, _, sup, _ = viewer
    assert _actions(await _items(sup, ip="10.1.9.9")) == ["supervise.listen"]
    assert set(_actions(await _items(sup, ip="10.1.2."))) == {
        "recording.listen", "recording.download", "client.update", "agent.state_set"}
    assert (await _items(sup, ip="10.1.2.3", action="client.update"))["total"] == 0


async def test_period_in_local_dates_of_the_shop(viewer):
    _, _, sup, _ = viewer
    # 21:30 UTC on the 21st is 00:30 on the 22nd in Moscow
    assert set(_actions(await _items(sup, **{"from": "2026-11-22", "to": "2026-11-22"}))) \
        == {"report.export", "client.update", "agent.state_set"}
    assert set(_actions(await _items(sup, **{"from": "2026-11-21", "to": "2026-11-21"}))) \
        == {"supervise.listen"}
    assert set(_actions(await _items(sup, to="2026-11-20"))) == {"recording.listen",
                                                                "recording.download"}


async def test_period_in_date_times(viewer):
    _, _, sup, _ = viewer
    # an ISO date-time with its offset; "to" takes in that very moment
    body = await _items(sup, **{"from": "2026-11-20T08:00:00Z", "to": "2026-11-20T08:05:00Z"})
    assert _actions(body) == ["recording.download", "recording.listen"]
    body = await _items(sup, **{"from": "2026-11-20T08:00:01+00:00"}, action="recording.")
    assert _actions(body) == ["recording.download"]
    # without an offset, the shop's local time: 11:05 in Moscow is 08:05 UTC
    body = await _items(sup, to="2026-11-20T11:04:59", action="recording.")
    assert _actions(body) == ["recording.listen"]


async def test_filters_combine(viewer):
    _, users, sup, _ = viewer
    body = await _items(sup, action="recording.", user_id=users["svetlana"]["id"],
                        ip="10.1.", **{"from": "2026-11-20", "to": "2026-11-20"}, q="41")
    assert body["total"] == 2
    body = await _items(sup, login="svetlana", q="anna", **{"from": "2026-11-22"})
    assert _actions(body) == ["agent.state_set"]


async def test_newest_first_and_paged_with_the_total(viewer):
    _, _, sup, _ = viewer
    everything = await _items(sup, limit=1000)
    ids = [i["id"] for i in everything["items"]]
    # by time (the seeded entries are older than the logins written after them), then as written
    assert [(i["at"], i["id"]) for i in everything["items"]] == sorted(
        ((i["at"], i["id"]) for i in everything["items"]), reverse=True)
    assert everything["items"][-1]["action"] == "recording.listen"
    assert everything["total"] == len(ids)
    page = await _items(sup, limit=2, offset=2)
    assert [i["id"] for i in page["items"]] == ids[2:4]
    assert page["total"] == everything["total"]
    assert (await _items(sup, offset=len(ids)))["items"] == []


async def test_actions_lists_each_action_once_sorted(viewer):
    _, _, sup, admin = viewer
    resp = await sup.get("/api/audit/actions")
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert items == sorted(set(items))
    assert {"recording.listen", "recording.download", "supervise.listen", "report.export",
            "client.update", "agent.state_set", "user.create", "login"} <= set(items)
    assert (await (await admin.get("/api/audit/actions")).json())["items"] == items


@pytest.mark.parametrize("params, field", [
    ({"action": "DROP TABLE audit_log"}, "action"),
    ({"action": "x" * 65}, "action"),
    ({"action": "Login"}, "action"),
    ({"user_id": "abc"}, "user_id"),
    ({"user_id": "0"}, "user_id"),
    ({"user_id": "4294967296"}, "user_id"),
    ({"login": "l" * 65}, "login"),
    ({"q": "x" * 101}, "q"),
    ({"q": "a\x07b"}, "q"),  # (a NUL is refused as a bad request for every route)
    ({"ip": "10.0.0.1; --"}, "ip"),
    ({"from": "2026-13-01"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-11-20T25:00"}, "to"),
    ({"from": "2026-11-22", "to": "2026-11-21"}, "to"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "9" * 5000}, "limit"),
    ({"offset": "-1"}, "offset"),
])
async def test_bad_filters_are_named_field_errors(viewer, params, field):
    _, _, sup, _ = viewer
    resp = await sup.get("/api/audit", params=params)
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "validation_failed"
    assert set(error["details"]["fields"]) == {field}
    assert field in error["details"]["field_codes"], error  # the page can say it in ru/en/uk


async def test_several_bad_filters_are_named_together(viewer):
    _, _, sup, _ = viewer
    resp = await sup.get("/api/audit", params={"user_id": "x", "ip": "?", "limit": "0"})
    assert resp.status == 422
    assert set((await resp.json())["error"]["details"]["fields"]) == {"user_id", "ip", "limit"}


async def test_operators_and_strangers_may_not_look(viewer):
    api, _, _, _ = viewer
    anna = await api.login("anna", create=False)
    for path in ("/api/audit", "/api/audit/actions", "/api/audit?action=login"):
        assert (await anna.get(path)).status == 403
        assert (await api.anon.get(path)).status == 401


async def test_failed_and_locked_logins_are_there_with_the_login_tried_and_the_address(viewer):
    api, _, sup, _ = viewer
    statuses = []
    for _ in range(5):  # the fifth failure starts the lock and says so
        resp = await api.anon.post("/api/login", json={"login": "anna", "password": "wrong-1"})
        statuses.append(resp.status)
    assert statuses == [401] * 4 + [429]
    resp = await api.anon.post("/api/login", json={"login": "anna", "password": "wrong-2"})
    assert resp.status == 429  # refused without a check
    # a login that is nobody's has a guard of its own, is checked and fails
    resp = await api.anon.post("/api/login", json={"login": "nobody", "password": "guess-123"})
    assert resp.status == 401

    failed = (await _items(sup, action="login.failed", login="anna"))["items"]
    assert len(failed) == 5 and {(i["login"], i["ip"], i["user_id"]) for i in failed} \
        == {("anna", "127.0.0.1", None)}
    tried = (await _items(sup, action="login.", login="anna"))["items"]
    assert [i["action"] for i in tried] == ["login.locked"] + ["login.failed"] * 5
    nobody = (await _items(sup, q="nobody"))["items"]
    assert [(i["action"], i["ip"]) for i in nobody] == [("login.failed", "127.0.0.1")]
    # the successful logins of the fixture, with who and from where
    ok = (await _items(sup, action="login"))["items"]
    assert {(i["login"], i["ip"]) for i in ok} == {("svetlana", "127.0.0.1"),
                                                  ("admin", "127.0.0.1")}
    assert all(i["user_id"] for i in ok)


async def test_entries_name_the_client_they_are_about(api_with):
    world = await build_world(api_with)
    services = world.api.services
    async with services.db.write() as conn:
        await audit.record(conn, at=world.api.clock(), action="recording.listen",
                           user_id=world.users["sup"]["id"], login="sup", ip="10.0.0.1",
                           entity="call", entity_id=world.calls["anna"])
        await audit.record(conn, at=world.api.clock(), action="recording.listen",
                           user_id=world.users["sup"]["id"], login="sup", ip="10.0.0.1",
                           entity="call", entity_id=world.calls["anna_unknown"])
    sup = world.session("sup")
    calls = (await _items(sup, action="recording.listen"))["items"]
    assert {i["entity_id"]: i["client_id"] for i in calls} == {
        str(world.calls["anna"]): world.clients["anna"],
        str(world.calls["anna_unknown"]): None}
    created = (await _items(sup, action="client.create"))["items"]
    assert {i["client_id"] for i in created} == set(world.clients.values())
    orders = (await _items(sup, action="order.create"))["items"]
    assert {i["client_id"] for i in orders} == set(world.clients.values())
