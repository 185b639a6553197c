"""Clients over the API: create, search by any form of phone, duplicates, edits with history."""

import pytest


async def make(s, **fields):
    resp = await s.post("/api/clients", json=fields)
    assert resp.status == 201, await resp.text()
    return await resp.json()


@pytest.mark.parametrize("query", [
    "+79161234567", "8 (916) 123-45-67", "79161234567", "9161234567", "+7 916 123 45 67",
    "8916123",  # typed so far
])
async def test_search_finds_a_client_by_any_form_of_the_number(api, query):
    s = await api.login("anna")
    ivan = await make(s, name="Иван Петров", phones=[{"number": "8 916 123-45-67", "label": "mobile"}])
    await make(s, name="Ольга Смирнова", phones=["+79265550101"])
    result = await (await s.get("/api/clients", params={"q": query})).json()
    assert [c["id"] for c in result["items"]] == [ivan["id"]]
    assert result["items"][0]["matched_on"] == "phone"
    assert result["items"][0]["phones"][0]["e164"] == "+79161234567"


async def test_search_by_cyrillic_name_any_case_email_and_order_number(api):
    s = await api.login("anna")
    ivan = await make(s, name="Иван Петров", emails=["Ivan@Example.ru"], phones=["+79161234567"])
    olga = await make(s, name="Ольга Смирнова")
    shop = (await (await (await api.login("root", "admin")).post(
        "/api/shops", json={"slug": "tehnomir", "name": "ТехноМир"})).json())
    resp = await s.post("/api/orders", json={"client_id": olga["id"], "shop_id": shop["id"],
                                             "number": "TM-10234", "total": "1990.00"})
    assert resp.status == 201
    async def ids(q):
        return [c["id"] for c in (await (await s.get("/api/clients", params={"q": q})).json())["items"]]
    assert await ids("петров") == [ivan["id"]]
    assert await ids("ИВАН ПЕТ") == [ivan["id"]]
    assert await ids("ivan@example.ru") == [ivan["id"]]
    assert await ids("tm-10234") == [olga["id"]]
    assert await ids("Сидоров") == []
    listing = await (await s.get("/api/clients")).json()
    assert listing["total"] == 2


async def test_duplicate_phone_or_email_warns_and_offers_the_existing_card(api):
    s = await api.login("anna")
    ivan = await make(s, name="Иван Петров", phones=["+79161234567"], emails=["ivan@example.ru"])
    for payload in ({"name": "Иван П.", "phones": ["8-916-123-45-67"]},
                    {"name": "Иван П.", "emails": ["IVAN@example.ru"]}):
        resp = await s.post("/api/clients", json=payload)
        assert resp.status == 409
        match = (await resp.json())["error"]["details"]["matches"][0]
        assert match["id"] == ivan["id"] and match["name"] == "Иван Петров"
    resp = await s.post("/api/clients", json={"name": "Жена Ивана", "phones": ["+79161234567"],
                                              "force": True})
    assert resp.status == 201  # a shared family phone is allowed once confirmed


async def test_edit_records_history_visible_on_the_card(api):
    s = await api.login("anna", name="Анна")
    c = await make(s, name="Иван Петров", city="Москва", phones=["+79161234567"],
                   timezone="Europe/Moscow")
    resp = await s.patch(f"/api/clients/{c['id']}", json={"city": "Казань",
                                                          "phones": ["+79161234567", "+79035550000"]})
    assert resp.status == 200
    card = await resp.json()
    assert card["city"] == "Казань"
    assert [p["e164"] for p in card["phones"]] == ["+79161234567", "+79035550000"]
    history = {h["field"]: h for h in card["history"]}
    assert history["city"]["old"] == "Москва" and history["city"]["new"] == "Казань"
    assert history["city"]["user"]["name"] == "Анна"
    assert "+79035550000" in history["phones"]["new"]
    # a no-op edit writes nothing
    before = len(card["history"])
    card = await (await s.patch(f"/api/clients/{c['id']}", json={"city": "Казань"})).json()
    assert len(card["history"]) == before


async def test_card_shows_local_time_orders_and_notes(api):
    s = await api.login("anna", name="Анна")
    c = await make(s, name="Пётр Иванов", timezone="Asia/Vladivostok", phones=["+74232123456"])
    card = await (await s.get(f"/api/clients/{c['id']}")).json()
    # the frozen clock is 09:00 UTC: 19:00 in Vladivostok
    assert card["local_time"].startswith("2026-11-23T19:00") and card["utc_offset"] == "+10:00"
    resp = await s.post(f"/api/clients/{c['id']}/notes", json={"text": "Перезвонить после 10"})
    assert resp.status == 201
    card = await (await s.get(f"/api/clients/{c['id']}")).json()
    assert card["activities"][0]["text"] == "Перезвонить после 10"
    assert card["activities"][0]["author"]["name"] == "Анна"
    resp = await s.post(f"/api/clients/{c['id']}/notes", json={"text": "  "})
    assert resp.status == 422


async def test_bad_input_is_rejected_field_by_field_and_nothing_is_written(api):
    s = await api.login("anna")
    resp = await s.post("/api/clients", json={
        "name": "Х", "timezone": "Mars/Olympus", "birthday": "31.02.2000",
        "phones": ["12"], "emails": ["not-an-email"], "tags": "ok", "colour": "red"})
    assert resp.status == 422
    fields = (await resp.json())["error"]["details"]["fields"]
    assert set(fields) == {"timezone", "birthday", "phones.0", "emails.0", "colour"}
    assert (await (await s.get("/api/clients")).json())["total"] == 0
    resp = await s.patch("/api/clients/12345", json={"city": "Тула"})
    assert resp.status == 404
