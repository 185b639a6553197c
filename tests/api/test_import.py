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


async def test_a_broken_quote_rejects_the_whole_file_and_names_the_line(api):
    sup = await api.login("sup", "supervisor")
    data = 'ФИО;Телефон\nИван;89161234567\n"Мария;89265550101\nОльга;89031112233\n'.encode()
    resp = await sup.post("/api/import/clients?dry_run=0", data=upload(data))
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert (error["code"], error["details"]["reason"]) == ("bad_csv", "malformed")
    assert "line 3" in error["message"]
    assert (await (await sup.get("/api/clients")).json())["total"] == 0  # not even Иван


async def test_people_sharing_a_phone_are_not_merged(api):
    """Within the file and against the database: merged only when the names agree (or the row
    has none); otherwise both are kept and the report names the lines, the client and the number."""
    sup = await api.login("sup", "supervisor")
    resp = await sup.post("/api/clients", json={"name": "Пётр Сидоров", "phones": ["+74957770000"]})
    petr_id = (await resp.json())["id"]
    data = ("ФИО;Телефон\n"
            "Иван Петров;8 495 123-45-67\n"      # 2
            "Мария Петрова;+7 495 123 45 67\n"   # 3 the same landline, someone else
            "Петров Иван;84951234567\n"          # 4 Иван again: merged into line 2
            ";8 (495) 123-45-67, 89161234567\n"  # 5 no name: merged into line 2
            "Анна Сидорова;84957770000\n"        # 6 Пётр's phone: a client of her own
            "петр сидоров;8 495 777-00-00\n"     # 7 Пётр himself: merged into him
            ).encode()
    for dry_run in ("1", "0"):
        report = await (await sup.post(f"/api/import/clients?dry_run={dry_run}",
                                       data=upload(data))).json()
        assert (report["created"], report["merged"], report["merged_in_file"]) == (3, 1, 2)
        assert report["merged_in_file_rows"] == [
            {"line": 4, "into_line": 2, "shared": "+74951234567"},
            {"line": 5, "into_line": 2, "shared": "+74951234567"}]
        assert report["merged_into"] == [
            {"line": 7, "client_id": petr_id, "name": "Пётр Сидоров", "shared": "+74957770000"}]
        assert report["conflicts"] == [
            {"line": 3, "other_line": 2, "shared": "+74951234567", "name": "Мария Петрова",
             "other_name": "Иван Петров"},
            {"line": 7, "other_line": 6, "shared": "+74957770000", "name": "петр сидоров",
             "other_name": "Анна Сидорова"},
            {"line": 6, "client_id": petr_id, "shared": "+74957770000", "name": "Анна Сидорова",
             "other_name": "Пётр Сидоров"}]
        assert report["rejected"] == []
    again = await (await sup.post("/api/import/clients?dry_run=0", data=upload(data))).json()
    assert (again["created"], again["merged"]) == (0, 4)  # each row finds its own client
    found = await (await sup.get("/api/clients", params={"q": "84951234567"})).json()
    assert sorted(c["name"] for c in found["items"]) == ["Иван Петров", "Мария Петрова"]
    found = await (await sup.get("/api/clients", params={"q": "84957770000"})).json()
    assert sorted(c["name"] for c in found["items"]) == ["Анна Сидорова", "Пётр Сидоров"]


async def test_numbers_are_stored_as_entered_beside_e164(api):
    sup = await api.login("sup", "supervisor")
    data = 'ФИО;Телефон\nИван Петров;"8 (916) 123-45-67, +7 495 123  45 67"\n'.encode()
    report = await (await sup.post("/api/import/clients?dry_run=0", data=upload(data))).json()
    assert report["created"] == 1
    (item,) = (await (await sup.get("/api/clients", params={"q": "Петров"})).json())["items"]
    card = await (await sup.get(f"/api/clients/{item['id']}")).json()
    assert [(p["number"], p["e164"]) for p in card["phones"]] == [
        ("8 (916) 123-45-67", "+79161234567"), ("+7 495 123 45 67", "+74951234567")]


async def test_the_report_says_how_the_file_was_read(api):
    sup = await api.login("sup", "supervisor")
    data = "Имя\tТелефон\nПётр\t89161112233\n".encode("utf-16")
    report = await (await sup.post("/api/import/clients?dry_run=1", data=upload(data))).json()
    assert (report["encoding"], report["delimiter"], report["created"]) == ("utf-16", "\t", 1)
