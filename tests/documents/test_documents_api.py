"""Invoices and offers end to end over HTTP on SQLite and PostgreSQL: requisites, images, real
PDFs read back with pypdf, access, e-mail queueing, XLSX exports read back with openpyxl."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from aiohttp import FormData
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from callcenter.storage.tables import audit_log, messages
from tests.api.conftest import api_with  # noqa: F401  (the fixture)

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgG"
                       "AWjR9awAAAABJRU5ErkJggg==")
REQUISITES = {"legal_name": "ООО «Техномир»", "inn": "7707083893", "kpp": "773601001",
              "ogrn": "1027700132195", "address": "Москва, ул. Ленина, д. 1",
              "bank_name": "ПАО Сбербанк", "bik": "044525225",
              "account": "40702810938000000001", "corr_account": "30101810400000000225",
              "director": "Иванов И. И.", "accountant": "Петрова П. П.", "vat_rate": "20"}


def upload(data: bytes, filename: str, content_type: str = "image/png") -> FormData:
    form = FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form


@pytest.fixture
async def shop_world(api_with, tmp_path):  # noqa: F811
    api = await api_with(documents_dir=str(tmp_path / "docs"),
                         operators_see_own_clients_only=True)
    admin = await api.login("root", "admin")
    shop = await (await admin.post("/api/shops", json={"slug": "tehnomir",
                                                       "name": "Техномир"})).json()
    anna = await api.login("anna")
    boris = await api.login("boris")
    resp = await anna.post("/api/clients", json={
        "name": "Пётр Васильевич Ёжиков", "phones": ["+79161234567"],
        "emails": ["petr@example.ru"], "city": "Москва",
        "assigned_operator_id": anna.user["id"]})
    assert resp.status == 201, await resp.text()
    client = await resp.json()
    resp = await anna.post("/api/orders", json={
        "client_id": client["id"], "shop_id": shop["id"], "number": "TM-77", "status": "new",
        "total": "1234.50", "currency": "RUB",
        "items": [{"name": "Чайник «Ромашка»", "qty": 1, "price": "1000.00"},
                  {"name": "=HYPERLINK(\"http://evil\")", "qty": 2, "price": "117.25"}]})
    assert resp.status == 201, await resp.text()
    return {"api": api, "admin": admin, "anna": anna, "boris": boris, "shop": shop,
            "client": client, "order": await resp.json(), "root": tmp_path / "docs"}


async def test_requisites_are_checked_and_saved(shop_world):
    w = shop_world
    url = f"/api/shops/{w['shop']['id']}/requisites"
    resp = await w["admin"].client.put(url, json={**REQUISITES, "inn": "7707083894",
                                                  "account": "40702810938000000002"},
                                       headers={"X-CSRF-Token": w["admin"].csrf})
    assert resp.status == 422
    body = await resp.json()
    codes = {k: v["code"] for k, v in body["error"]["details"]["field_codes"].items()}
    assert codes == {"inn": "bad_inn", "account": "account_key"}
    resp = await w["admin"].client.put(url, json=REQUISITES,
                                       headers={"X-CSRF-Token": w["admin"].csrf})
    assert resp.status == 200, await resp.text()
    saved = await (await w["admin"].get(url)).json()
    assert saved["legal_name"] == "ООО «Техномир»" and saved["vat_rate"] == "20"
    # operators neither read nor write requisites
    assert (await w["anna"].get(url)).status == 403
    async with w["api"].services.db.read() as conn:
        actions = [r.action for r in await conn.execute(select(audit_log.c.action))]
    assert "requisites.update" in actions


async def test_images_by_their_bytes_with_generated_names(shop_world):
    w = shop_world
    url = f"/api/shops/{w['shop']['id']}/requisites"
    resp = await w["admin"].post(f"{url}/stamp", data=upload(PNG, "../../../etc/passwd.png"))
    assert resp.status == 200, await resp.text()
    link = (await resp.json())["images"]["stamp"]
    files = list((w["root"] / "shops" / str(w["shop"]["id"])).iterdir())
    assert len(files) == 1 and files[0].name.startswith("stamp-") and files[0].suffix == ".png"
    assert not (w["root"].parent / "etc").exists()
    got = await w["admin"].get(link)
    assert got.status == 200 and got.content_type == "image/png" and await got.read() == PNG
    # an HTML page named .png, a GIF, an unknown kind, an oversized file: refused
    resp = await w["admin"].post(f"{url}/logo", data=upload(
        b"<html><script>alert(1)</script></html>", "logo.png"))
    assert resp.status == 415 and (await resp.json())["error"]["code"] == "bad_image"
    assert (await w["admin"].post(f"{url}/logo", data=upload(b"GIF89a" + bytes(20), "a.gif"))
            ).status == 415
    assert (await w["admin"].post(f"{url}/..%2F..%2Fx", data=upload(PNG, "a.png"))).status \
        == 404
    big = PNG + bytes(3 * 1024 * 1024)
    assert (await w["admin"].post(f"{url}/logo", data=upload(big, "big.png"))).status == 413
    # a second stamp replaces the first file
    resp = await w["admin"].post(f"{url}/stamp", data=upload(PNG, "again.png"))
    assert resp.status == 200
    assert len(list((w["root"] / "shops" / str(w["shop"]["id"])).iterdir())) == 1


async def test_invoice_pdf_holds_the_requisites_the_client_and_the_amount_in_words(shop_world):
    w = shop_world
    url = f"/api/shops/{w['shop']['id']}/requisites"
    await w["admin"].client.put(url, json=REQUISITES, headers={"X-CSRF-Token": w["admin"].csrf})
    await w["admin"].post(f"{url}/stamp", data=upload(PNG, "stamp.png"))
    resp = await w["anna"].post(f"/api/orders/{w['order']['id']}/documents",
                                json={"kind": "invoice"})
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert doc["number"] == "INV-2026-0001" and doc["total"] == "1234.50"
    assert (w["root"] / "shops").exists()
    resp = await w["anna"].get(doc["pdf_url"])
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert "filename*=UTF-8''invoice-INV-2026-0001.pdf" in resp.headers["Content-Disposition"]
    data = await resp.read()
    assert data.startswith(b"%PDF") and len(data) == doc["bytes"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    text = " ".join(text.split())
    for needle in ("Счёт на оплату № INV-2026-0001", "Пётр Васильевич Ёжиков",
                   "ООО «Техномир»", "7707083893", "044525225", "40702810938000000001",
                   "Чайник «Ромашка»", "1 234,50", "205,75",
                   "Одна тысяча двести тридцать четыре рубля 50 копеек", "Иванов И. И."):
        assert needle in text.replace("\u00a0", " "), needle
    # the next invoice takes the next number; an offer has its own
    again = await (await w["anna"].post(f"/api/orders/{w['order']['id']}/documents",
                                        json={"kind": "invoice"})).json()
    offer = await (await w["anna"].post(f"/api/orders/{w['order']['id']}/documents",
                                        json={"kind": "offer"})).json()
    assert again["number"] == "INV-2026-0002" and offer["number"] == "KP-2026-0001"
    offer_pdf = await (await w["anna"].get(offer["pdf_url"])).read()
    assert "Коммерческое предложение" in PdfReader(io.BytesIO(offer_pdf)).pages[0].extract_text()
    listed = await (await w["anna"].get(f"/api/documents?order_id={w['order']['id']}")).json()
    assert [d["number"] for d in listed["items"]] == ["KP-2026-0001", "INV-2026-0002",
                                                      "INV-2026-0001"]
    bad = await w["anna"].post(f"/api/orders/{w['order']['id']}/documents", json={"kind": "x"})
    assert bad.status == 422


async def test_html_in_values_is_text_in_the_pdf(shop_world):
    w = shop_world
    await w["admin"].client.put(f"/api/shops/{w['shop']['id']}/requisites",
                                json={"legal_name": "<img src='file:///etc/passwd'><b>ООО</b>"},
                                headers={"X-CSRF-Token": w["admin"].csrf})
    doc = await (await w["anna"].post(f"/api/orders/{w['order']['id']}/documents",
                                      json={"kind": "invoice"})).json()
    text = PdfReader(io.BytesIO(await (await w["anna"].get(doc["pdf_url"])).read())
                     ).pages[0].extract_text()
    assert "<b>ООО</b>" in text


async def test_another_operators_client_documents_do_not_exist(shop_world):
    w = shop_world
    doc = await (await w["anna"].post(f"/api/orders/{w['order']['id']}/documents",
                                      json={"kind": "invoice"})).json()
    assert (await w["boris"].post(f"/api/orders/{w['order']['id']}/documents",
                                  json={"kind": "invoice"})).status == 404
    assert (await w["boris"].get(doc["pdf_url"])).status == 404
    assert (await w["boris"].post(f"/api/documents/{doc['id']}/send", json={})).status == 404
    assert (await w["boris"].get(f"/api/documents?client_id={w['client']['id']}")).status == 404
    assert (await w["anna"].get("/api/documents/99999/pdf")).status == 404


async def test_send_queues_an_email_with_the_pdf_attached(shop_world):
    w = shop_world
    doc = await (await w["anna"].post(f"/api/orders/{w['order']['id']}/documents",
                                      json={"kind": "invoice"})).json()
    resp = await w["anna"].post(f"/api/documents/{doc['id']}/send", json={})
    assert resp.status == 202, await resp.text()
    sent = await resp.json()
    assert sent["to"] == "petr@example.ru" and sent["status"] == "queued"
    assert (await w["anna"].post(f"/api/documents/{doc['id']}/send",
                                 json={"email": "not-an-address"})).status == 422
    async with w["api"].services.db.read() as conn:
        row = (await conn.execute(select(messages).where(
            messages.c.id == sent["message_id"]))).one()._mapping
    assert row["kind"] == "document" and row["channel"] == "email"
    assert row["subject"].startswith("Счёт на оплату № INV-2026-0001")
    [att] = row["attachments"]
    assert att["name"] == "invoice-INV-2026-0001.pdf" and att["type"] == "application/pdf"
    assert (w["root"] / att["path"]).is_file()
    listed = await (await w["anna"].get(f"/api/documents?client_id={w['client']['id']}")).json()
    assert listed["items"][0]["sent_to"] == "petr@example.ru"


async def test_exports_read_back_with_filters_cyrillic_and_no_formulas(shop_world):
    w = shop_world
    other = await (await w["boris"].post("/api/clients", json={
        "name": "=1+2 Борис-клиент", "phones": ["+79160000002"],
        "assigned_operator_id": w["boris"].user["id"]})).json()
    resp = await w["admin"].get("/api/clients/export.xlsx")
    assert resp.status == 200
    assert "filename*=UTF-8''clients.xlsx" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await resp.read()))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:2] == ("ID", "Имя")
    names = {r[1] for r in rows[1:]}
    assert names == {"Пётр Васильевич Ёжиков", "=1+2 Борис-клиент"}
    cell = next(c for c in book.active["B"] if c.value == "=1+2 Борис-клиент")
    assert cell.data_type == "s"
    # anna sees only her own clients; a search narrows as in the list
    anna_rows = list(load_workbook(io.BytesIO(await (await w["anna"].get(
        "/api/clients/export.xlsx")).read())).active.iter_rows(values_only=True))
    assert [r[1] for r in anna_rows[1:]] == ["Пётр Васильевич Ёжиков"]
    found = list(load_workbook(io.BytesIO(await (await w["admin"].get(
        "/api/clients/export.xlsx?q=Борис")).read())).active.iter_rows(values_only=True))
    assert [r[0] for r in found[1:]] == [other["id"]]
    # orders: status filter, the client's name, money as a number, the formula-looking item
    resp = await w["admin"].get("/api/orders/export.xlsx?status=new")
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    orders = list(sheet.iter_rows(values_only=True))
    assert len(orders) == 2 and orders[1][1] == "TM-77"
    assert orders[1][3] == "Пётр Васильевич Ёжиков" and float(orders[1][6]) == 1234.5
    assert orders[1][8].startswith("Чайник «Ромашка» × 1; =HYPERLINK")
    assert sheet.cell(row=2, column=9).data_type == "s"
    for other_filter in ("status=paid", f"shop_id={w['shop']['id'] + 1}"):
        none = list(load_workbook(io.BytesIO(await (await w["admin"].get(
            f"/api/orders/export.xlsx?{other_filter}")).read())).active.iter_rows(values_only=True))
        assert len(none) == 1, other_filter
    assert (await w["admin"].get("/api/orders/export.xlsx?status=no%20such")).status == 400
    async with w["api"].services.db.read() as conn:
        actions = [r.action for r in await conn.execute(select(audit_log.c.action))]
    assert "export.clients" in actions and "export.orders" in actions
