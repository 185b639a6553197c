"""The client card read in one statement holds exactly what the nine per-table queries gave,
on SQLite and PostgreSQL; the number lookup and the summaries likewise."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from callcenter.app import build_services
from callcenter.errors import NotFound
from callcenter.services.clients import call_row_json, order_json, task_json
from callcenter.services.context import Actor
from callcenter.storage import calls as calls_repo
from callcenter.storage import client_card
from callcenter.storage import clients as repo
from callcenter.storage import orders as orders_repo
from callcenter.storage.database import Database
from callcenter.storage.tables import activities, calls, changes, orders, shops, tasks
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("test")


async def seed(db: Database) -> dict:
    """An operator, a rich client (two phones, e-mails, tags, birthday, orders of two shops,
    notes, history, calls, open and closed tasks), a second client sharing nothing, a third
    sharing a phone with nobody; returns their ids."""
    services = build_services(make_settings(db.url), db, lambda: NOW)
    op = await services.accounts.create_user(SYSTEM, {
        "login": "anna", "name": "Анна Смирнова", "role": "operator",
        "extension": "PJSIP/101", "password": "correct horse battery"})
    client = await services.clients.create(SYSTEM, {
        "name": "Иван Петров", "company": "ООО «Ромашка»", "city": "Новосибирск",
        "timezone": "Asia/Novosibirsk", "tags": ["vip", "опт"], "birthday": "1980-02-29",
        "notes": "Звонить после 10", "assigned_operator_id": op["id"], "force": True,
        "phones": [{"number": "8 916 123-45-67", "label": "mobile"},
                   {"number": "+7 (495) 111-22-33", "label": "work"}],
        "emails": [{"email": "ivan@example.ru"}, {"email": "petrov@example.com",
                                                   "label": "work"}]})
    other = await services.clients.create(SYSTEM, {"name": "Мария", "force": True,
                                                   "phones": [{"number": "89265550101"}]})
    cid = client["id"]
    async with db.write() as conn:
        shop_ids = []
        for slug, name in (("tehnomir", "Техномир"), ("dom", "Дом и сад")):
            shop_ids.append((await conn.execute(insert(shops).values(
                slug=slug, name=name, created_at=NOW).returning(shops.c.id))).scalar_one())
        for n, (shop, total, items) in enumerate((
                (shop_ids[0], Decimal("2490.00"),
                 [{"sku": "K-1", "name": "Чайник", "qty": 1, "price": "2490"}]),
                (shop_ids[1], Decimal("123456789012.05"),
                 [{"sku": "S", "name": "Садовый домик", "qty": 2, "price": 0.5}]),
                (shop_ids[0], Decimal("0.10"), []))):
            await conn.execute(insert(orders).values(
                shop_id=shop, client_id=cid, external_id=f"E-{n}", number=f"TM-{n}",
                number_key=f"tm-{n}", status="new", total=total, currency="RUB", items=items,
                # two orders at the same moment: the id decides their order
                created_at=NOW - timedelta(days=min(n, 1)), updated_at=NOW))
        for n in range(3):
            await conn.execute(insert(activities).values(
                client_id=cid, kind="note", text=f"заметка {n}", author_id=op["id"] if n else None,
                created_at=NOW + timedelta(minutes=n, microseconds=123456 * n)))
            await conn.execute(insert(changes).values(
                entity="client", entity_id=cid, client_id=cid, user_id=op["id"] if n else None,
                at=NOW + timedelta(seconds=n), field="name", old=f"o{n}", new=None))
        call_ids = []
        for n, outcome in enumerate(("answered", "missed", "no_answer")):
            call_ids.append((await conn.execute(insert(calls).values(
                call_key=f"k{n}", linkedid=f"1795449448.{n}", direction="inbound",
                caller="89161234567", caller_e164="+79161234567", caller_name="Иван",
                callee="74951234567", callee_e164=None, client_id=cid,
                operators_rung=["PJSIP/101", "PJSIP/102"], answered_by="PJSIP/101"
                if n == 0 else None, answered_by_user_id=op["id"] if n == 0 else None,
                handled_by=[], started_at=NOW - timedelta(hours=n),
                answered_at=NOW if n == 0 else None, ended_at=NOW + timedelta(minutes=1),
                outcome=outcome, talk_seconds=60 if n == 0 else 0, hangup_cause=16,
                variables={"CRM_TASK_ID": "1"}, note="перезвонить" if n else None,
            ).returning(calls.c.id))).scalar_one())
        for n, status in enumerate(("open", "open", "done")):
            await conn.execute(insert(tasks).values(
                kind="callback" if n == 0 else "redial", status=status, client_id=cid,
                phone_e164=f"+7916123456{n}", title=f"Перезвонить {n}",
                due_at=NOW + timedelta(hours=2 - n), call_id=call_ids[n], attempts=n,
                created_at=NOW, updated_at=NOW, closed_at=NOW if status == "done" else None,
                closed_reason="reached" if status == "done" else None))
    return {"client": cid, "other": other["id"], "operator": op["id"], "services": services}


async def card_nine_queries(service, client_id: int) -> dict:
    """The card as it was built before, one query per table: the reference."""
    async with service.db.read() as conn:
        row = await repo.get_client(conn, client_id)
        phones = await repo.phones_of(conn, [client_id])
        emails = await repo.emails_of(conn, [client_id])
        names = await repo.operator_names(conn, [row["assigned_operator_id"]])
        summary = service._summary(row, phones, emails, names)
        orders_ = await orders_repo.orders_of_clients(conn, [client_id])
        notes = await repo.activities_of(conn, client_id)
        history = await repo.history_of_client(conn, client_id)
        calls_ = await calls_repo.calls_of_client(conn, client_id)
        tasks_ = await calls_repo.open_tasks_of_client(conn, client_id)
    local = service.clock().astimezone(ZoneInfo(summary["timezone"]))
    offset = local.strftime("%z")
    return {
        **summary, "notes": row["notes"], "region": row["region"],
        "birthday": row["birthday"].isoformat() if row["birthday"] else None,
        "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat(),
        "local_time": local.isoformat(timespec="seconds"),
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
        "orders": [order_json(o) for o in orders_],
        "activities": [{"id": a["id"], "kind": a["kind"], "text": a["text"],
                        "author": {"id": a["author_id"], "name": a["author_name"]},
                        "created_at": a["created_at"].isoformat()} for a in notes],
        "history": [{"id": h["id"], "at": h["at"].isoformat(),
                     "user": {"id": h["user_id"], "name": h["user_name"]}
                     if h["user_id"] else None,
                     "field": h["field"], "old": h["old"], "new": h["new"],
                     "entity": h["entity"], "entity_id": h["entity_id"]} for h in history],
        "calls": [call_row_json(c) for c in calls_],
        "tasks": [task_json(t) for t in tasks_],
    }


@pytest.fixture
async def seeded(db_url):
    db = Database(db_url)
    try:
        yield db, await seed(db)
    finally:
        await db.dispose()


@pytest.mark.parametrize("lane", ["api", "telephony"])
async def test_the_card_in_one_statement_equals_the_card_of_nine_queries(seeded, lane):
    db, ids = seeded
    service = ids["services"].clients
    card = await service.card(SYSTEM, ids["client"], lane=lane)
    assert card == await card_nine_queries(service, ids["client"])
    # and it is the content expected, not merely the same
    assert card["name"] == "Иван Петров" and card["tags"] == ["vip", "опт"]
    assert card["birthday"] == "1980-02-29" and card["timezone"] == "Asia/Novosibirsk"
    assert card["utc_offset"] == "+07:00" and card["local_time"] == "2026-11-23T16:00:00+07:00"
    assert card["created_at"] == "2026-11-23T09:00:00+00:00"
    assert card["do_not_call"] is False
    assert card["assigned_operator"] == {"id": ids["operator"], "name": "Анна Смирнова"}
    assert [(p["e164"], p["label"], p["extension"], p["display"]) for p in card["phones"]] == [
        ("+79161234567", "mobile", None, card["phones"][0]["display"]),
        ("+74951112233", "work", None, card["phones"][1]["display"])]
    assert [e["email"] for e in card["emails"]] == ["ivan@example.ru", "petrov@example.com"]
    assert [(o["number"], o["total"], o["shop"]["slug"]) for o in card["orders"]] == [
        ("TM-0", "2490.00", "tehnomir"), ("TM-2", "0.10", "tehnomir"),
        ("TM-1", "123456789012.05", "dom")]
    assert card["orders"][2]["items"] == [{"sku": "S", "name": "Садовый домик", "qty": 2,
                                           "price": 0.5}]
    assert card["orders"][1]["items"] == []
    assert [a["text"] for a in card["activities"]] == ["заметка 2", "заметка 1", "заметка 0"]
    assert card["activities"][0]["created_at"] == "2026-11-23T09:02:00.246912+00:00"
    assert card["activities"][2]["author"] == {"id": None, "name": None}
    assert [h["old"] for h in card["history"]][:3] == ["o2", "o1", "o0"]
    assert card["history"][0]["user"] == {"id": ids["operator"], "name": "Анна Смирнова"}
    assert [c["outcome"] for c in card["calls"]] == ["answered", "missed", "no_answer"]
    assert card["calls"][0]["operators_rung"] == ["PJSIP/101", "PJSIP/102"]
    assert card["calls"][0]["answered_at"] == "2026-11-23T09:00:00+00:00"
    assert card["calls"][1]["answered_at"] is None
    assert [t["title"] for t in card["tasks"]] == ["Перезвонить 1", "Перезвонить 0"]


async def test_a_client_with_nothing_yet_and_a_missing_one(seeded):
    db, ids = seeded
    service = ids["services"].clients
    card = await service.card(SYSTEM, ids["other"])
    assert card == await card_nine_queries(service, ids["other"])
    assert card["orders"] == card["calls"] == card["tasks"] == card["activities"] == []
    assert card["assigned_operator"] is None and card["birthday"] is None
    assert card["timezone"] == "Europe/Moscow"  # the shop's, as before
    with pytest.raises(NotFound):
        await service.card(SYSTEM, 987654)


async def test_number_lookup_and_summaries(seeded):
    db, ids = seeded
    service = ids["services"].clients
    for lane in ("api", "telephony"):
        assert await client_card.client_ids_for_number(db, "+79161234567", lane=lane) == [
            ids["client"]]
        assert await client_card.client_ids_for_number(db, "+79990000000", lane=lane) == []
    async with db.read() as conn:
        got = await service.summaries(conn, [ids["other"], 424242, ids["client"]])
        rows = await repo.get_clients(conn, [ids["other"], ids["client"]])
        phones = await repo.phones_of(conn, [ids["other"], ids["client"]])
        emails = await repo.emails_of(conn, [ids["other"], ids["client"]])
        names = await repo.operator_names(conn, [r["assigned_operator_id"] for r in rows])
        assert await service.summaries(conn, []) == []
    assert got == [service._summary(r, phones, emails, names) for r in rows]
    assert [s["id"] for s in got] == [ids["other"], ids["client"]]


def test_the_statement_reads_every_column_of_the_tables_it_shows():
    """A column added to a table shows up in the card's rows without touching the SQL."""
    for dialect in ("sqlite", "postgresql"):
        sql = client_card.card_statement(dialect).text
        for column in calls.columns:
            assert (f'"{column.name}"' in sql) == (column.name != "variables"), column.name
        for column in tasks.columns:
            assert f'"{column.name}"' in sql
    assert client_card.read_card_document(
        '{"id": 1, "name": "x", "company": null, "notes": null, "timezone": null, '
        '"city": null, "region": null, "tags": [], "assigned_operator_id": null, '
        '"birthday": "2000-01-02", "do_not_call": 1, "created_at": "2026-11-23 09:00:00.000000",'
        ' "updated_at": "2026-11-23T09:00:00", "operator_name": null}')["client"] == {
        "id": 1, "name": "x", "company": None, "notes": None, "timezone": None, "city": None,
        "region": None, "tags": [], "assigned_operator_id": None,
        "birthday": date(2000, 1, 2), "do_not_call": True, "created_at": NOW, "updated_at": NOW}
