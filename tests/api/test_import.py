"""CSV import over the API: dry-run preview, apply, merge into existing clients, broken files."""

from aiohttp import FormData

CSV = (
    "ФИО;Телефон;Email;Город;Теги\n"
    "Иван Петров;8 916 123-45-67;ivan@example.ru;Москва;vip\n"
    "Мария Иванова;+7 903 555-00-01, 8 (495) 123-45-67;;Москва;\n"
    "Без телефона;;;Тула;\n"
    "Плохой номер;12ab;;Тула;\n"
    "Ольга Смирнова;+79265550101;olga@example.ru;Новосибирск;опт\n"
).encode("utf-8")


def upload(data: bytes, name="clients.csv"):
    form = FormData()
    form.add_field("file", data, filename=name, content_type="text/csv")
    return form


async def test_dry_run_previews_then_import_applies_and_merges(api):
    sup = await api.login("sup", "supervisor")
    resp = await sup.post("/api/clients", json={"name": "Ольга С.", "phones": ["+79265550101"],
                                                "tags": ["розница"]})
    olga_id = (await resp.json())["id"]

    resp = await sup.post("/api/import/clients?dry_run=1", data=upload(CSV))
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert report["dry_run"] is True
    assert (report["created"], report["merged"]) == (2, 1)
    assert sorted((r["line"], r["reason"]) for r in report["rejected"]) == [
        (4, "no_contact"), (5, "bad_phone")]
    assert (await (await sup.get("/api/clients")).json())["total"] == 1  # nothing written

    resp = await sup.post("/api/import/clients?dry_run=0", data=upload(CSV))
    report = await resp.json()
    assert (report["dry_run"], report["created"], report["merged"]) == (False, 2, 1)
    found = await (await sup.get("/api/clients", params={"q": "84951234567"})).json()
    assert [c["name"] for c in found["items"]] == ["Мария Иванова"]
    olga = await (await sup.get(f"/api/clients/{olga_id}")).json()
    assert olga["name"] == "Ольга С."  # merge adds, never overwrites
    assert [e["email"] for e in olga["emails"]] == ["olga@example.ru"]
    assert set(olga["tags"]) == {"розница", "опт"}


async def test_cp1251_file_from_excel(api):
    sup = await api.login("sup", "supervisor")
    data = "Имя;Телефон\nПётр Сидоров;89161112233\n".encode("cp1251")
    report = await (await sup.post("/api/import/clients?dry_run=0", data=upload(data))).json()
    assert report["created"] == 1
    found = await (await sup.get("/api/clients", params={"q": "Пётр"})).json()
    assert found["items"][0]["name"] == "Пётр Сидоров"


async def test_broken_file_changes_nothing(api):
    sup = await api.login("sup", "supervisor")
    for data in (b"", b"\x00\x01\x02\xff\xfe" * 100, "Город;Заметки\nМосква;x\n".encode()):
        resp = await sup.post("/api/import/clients?dry_run=0", data=upload(data))
        assert resp.status == 422, data[:20]
        assert (await resp.json())["error"]["code"] == "bad_csv"
    assert (await (await sup.get("/api/clients")).json())["total"] == 0


async def test_oversized_upload_is_refused(api_with):
    api = await api_with(max_upload_mb=1)
    sup = await api.login("sup", "supervisor")
    big = b"name,phone\n" + b"x" * (3 * 1024 * 1024)
    resp = await sup.post("/api/import/clients?dry_run=0", data=upload(big))
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"


async def test_operators_may_not_import(api):
    op = await api.login("anna")
    resp = await op.post("/api/import/clients?dry_run=1", data=upload(CSV))
    assert resp.status == 403
