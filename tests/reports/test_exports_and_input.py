"""Exports (CSV read back with the csv module, XLSX opened with openpyxl), bad input, plans,
the audit of exports and plan changes; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from callcenter.storage.tables import audit_log, calls
from tests.reports.conftest import seed

PERIOD = "from=2026-11-10&to=2026-11-12"


async def _audit(api, action):
    async with api.services.db.read() as conn:
        rows = await conn.execute(select(audit_log).where(audit_log.c.action == action)
                                  .order_by(audit_log.c.id))
        return [dict(r._mapping) for r in rows]


async def test_csv_export_reads_back(history):
    sup = history.sessions["sup"]
    resp = await sup.get(f"/api/reports/operators?{PERIOD}&format=csv")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == \
        'attachment; filename="operators-2026-11-10-2026-11-12.csv"'
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")          # the BOM Excel needs for Cyrillic
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, anna, boris, total = rows
    assert header[:4] == ["Оператор", "Логин", "Входящие", "Исходящие"]   # her language: ru
    by = dict(zip(header, anna))
    assert (by["Оператор"], by["Входящие"], by["Исходящие"], by["Пропущено"]) == \
        ("Анна", "4", "2", "2")
    assert (by["Доля пропущенных"], by["Среднее ожидание"], by["Продажи"]) == \
        ("0.5", "15.0", "2490.50")
    assert (by["Пауза: lunch"], by["Пауза: training"]) == ("36000", "7200")
    assert by["Заказ подтверждён"] == "2"            # the outcome pressed, by its label
    by_boris = dict(zip(header, boris))
    assert by_boris["КПЭ: звонки"] == "" and by_boris["Среднее ожидание"] == "10.5"
    assert by_boris["Средняя обработка"] == ""        # no wrap-up: no data, not 0
    by_total = dict(zip(header, total))
    assert (by_total["Оператор"], by_total["Логин"], by_total["Входящие"]) == ("Итого", "", "7")
    [entry] = await _audit(history.api, "report.export")
    assert entry["entity_id"] == "operators" and entry["login"] == "sup"
    assert entry["details"] == {"format": "csv", "from": "2026-11-10", "to": "2026-11-12",
                                "rows": 3}


async def test_xlsx_export_opens_with_numbers(history):
    sup = history.sessions["sup"]
    resp = await sup.get(f"/api/reports/operators?{PERIOD}&format=xlsx")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert resp.headers["Content-Disposition"].endswith('operators-2026-11-10-2026-11-12.xlsx"')
    book = load_workbook(io.BytesIO(await resp.read()))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert sheet["A1"].font.bold
    cells = {name: cell for name, cell in zip(header, sheet[2])}
    assert cells["Оператор"].value == "Анна"
    assert cells["Входящие"].value == 4 and isinstance(cells["Входящие"].value, int)
    assert cells["Доля пропущенных"].value == 0.5
    assert cells["Доля пропущенных"].number_format == "0.0%"
    # durations are stored as days with an [h]:mm:ss format (openpyxl reads them back as
    # timedeltas): 15 s of wait, 12 h of pauses
    assert cells["Среднее ожидание"].value == timedelta(seconds=15)
    assert cells["Среднее ожидание"].number_format == "[h]:mm:ss"
    assert cells["Время на паузе"].value == timedelta(hours=12)
    assert float(cells["Продажи"].value) == 2490.5
    assert sheet.column_dimensions["A"].width >= 24
    assert [c.value for c in sheet[4]][0] == "Итого"

    queues = await sup.get(f"/api/reports/queues?{PERIOD}&format=xlsx")
    assert queues.headers["Content-Disposition"].endswith('queues-2026-11-10-2026-11-12.xlsx"')
    sheet = load_workbook(io.BytesIO(await queues.read())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["Очередь", "Поступило", "Отвечено"]
    assert [r[0] for r in rows[1:]] == ["sales", "support", "(без очереди)", "Итого"]
    assert rows[1][1:4] == [4, 3, 1]
    assert [e["details"]["format"] for e in await _audit(history.api, "report.export")] == \
        ["xlsx", "xlsx"]


async def test_english_headers_for_an_english_user(api):
    api.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    await seed(api)
    await api.user("eve", "admin", language="en")
    eve = await api.login("eve", create=False)
    resp = await eve.get(f"/api/reports/queues?{PERIOD}&format=csv")
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Queue", "Offered", "Answered"]
    assert rows[-1][0] == "Total" and rows[-2][0] == "(no queue)"


@pytest.mark.parametrize("query", [
    "from=2026-11-12&to=2026-11-10",            # from after to
    "from=2026-11-31&to=2026-12-01",            # no such day
    "from=12.11.2026&to=2026-11-30",
    "to=2026-11-30",
    "",
    "from=2025-01-01&to=2026-01-02",            # 367 days
    "preset=last_week",
    f"{PERIOD}&format=pdf",
])
async def test_bad_input_is_422(history, query):
    sup = history.sessions["sup"]
    for path in ("/api/reports/operators", "/api/reports/queues"):
        resp = await sup.get(f"{path}?{query}")
        assert resp.status == 422, (path, query, await resp.text())
        body = await resp.json()
        assert body["error"]["code"] == "validation_failed"
        fields = body["error"]["details"]["fields"]
        assert fields and set(body["error"]["details"]["field_codes"]) == set(fields)


async def test_plans_list_and_update(history):
    sup, api = history.sessions["sup"], history.api
    anna, boris = history.users["anna"], history.users["boris"]
    listed = await (await sup.get("/api/reports/plans")).json()
    assert listed["items"] == [
        {"user_id": anna["id"], "name": "Анна", "login": "anna", "calls_per_day": None,
         "confirmed_orders_per_day": None, "sales_per_day": None},
        {"user_id": boris["id"], "name": "Борис", "login": "boris", "calls_per_day": None,
         "confirmed_orders_per_day": None, "sales_per_day": None}]

    async def put(user_id, body):
        return await sup.client.put(f"/api/reports/plans/{user_id}", json=body,
                                    headers={"X-CSRF-Token": sup.csrf})

    resp = await put(anna["id"], {"calls_per_day": 40, "sales_per_day": 15000.5})
    assert resp.status == 200
    assert await resp.json() == {"user_id": anna["id"], "name": "Анна", "login": "anna",
                                 "calls_per_day": 40, "confirmed_orders_per_day": None,
                                 "sales_per_day": "15000.50"}
    # a figure left out keeps its value; null clears one
    resp = await put(anna["id"], {"confirmed_orders_per_day": 5, "calls_per_day": None})
    assert (await resp.json())["calls_per_day"] is None
    item = [i for i in (await (await sup.get("/api/reports/plans")).json())["items"]
            if i["user_id"] == anna["id"]][0]
    assert (item["calls_per_day"], item["confirmed_orders_per_day"], item["sales_per_day"]) == \
        (None, 5, "15000.50")
    entries = await _audit(api, "plan.update")
    assert [e["entity_id"] for e in entries] == [str(anna["id"])] * 2
    assert entries[-1]["details"] == {"calls_per_day": None, "confirmed_orders_per_day": 5,
                                      "sales_per_day": "15000.50"}

    for body, field in (({"calls_per_day": -1}, "calls_per_day"),
                        ({"calls_per_day": 2.5}, "calls_per_day"),
                        ({"calls_per_day": True}, "calls_per_day"),
                        ({"confirmed_orders_per_day": "7"}, "confirmed_orders_per_day"),
                        ({"sales_per_day": "много"}, "sales_per_day"),
                        ({"sales_per_day": "10.005"}, "sales_per_day"),
                        ({"sales_per_day": "-5"}, "sales_per_day"),
                        ({"sales_per_day": "NaN"}, "sales_per_day"),
                        ({"calls": 5}, "calls")):
        resp = await put(anna["id"], body)
        assert resp.status == 422, body
        details = (await resp.json())["error"]["details"]
        assert list(details["fields"]) == [field] and field in details["field_codes"]
    # a supervisor is not an operator; an unknown id; not an id
    sup_id = sup.user["id"]
    assert (await put(sup_id, {"calls_per_day": 1})).status == 404
    assert (await put(999999, {"calls_per_day": 1})).status == 404
    assert (await put("abc", {"calls_per_day": 1})).status == 404
    assert len(await _audit(api, "plan.update")) == 2


async def test_hours_in_a_zone_half_an_hour_off_utc(api_with):
    api = await api_with(timezone="Asia/Kolkata")
    api.clock.now = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)
    await api.user("sup", "supervisor")
    async with api.services.db.write() as conn:
        for n, (hh, mm) in enumerate(((4, 15), (4, 29), (4, 30), (18, 29), (18, 30))):
            at = datetime(2026, 12, 1, hh, mm, tzinfo=timezone.utc)
            await conn.execute(insert(calls).values(
                call_key=f"k-{n}", direction="inbound", operators_rung=[], handled_by=[],
                started_at=at, outcome="missed", talk_seconds=0, wait_seconds=3,
                variables={}, status="completed"))
    sup = await api.login("sup", create=False)
    report = await (await sup.get("/api/reports/queues?from=2026-12-01&to=2026-12-01")).json()
    inbound = {h["hour"]: h["inbound"] for h in report["by_hour"] if h["inbound"]}
    # 04:15 and 04:29 UTC are 09:45 and 09:59 local, 04:30 is 10:00; 18:29 UTC is 23:59 local;
    # 18:30 UTC is already the 2nd, outside the day
    assert inbound == {9: 2, 10: 1, 23: 1}
    assert report["totals"]["offered"] == 4
