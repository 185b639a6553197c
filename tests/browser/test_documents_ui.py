"""Documents in a real Chromium against the real app: from the client card an operator makes an
invoice of an order and the PDF arrives; an admin fills the requisites in Settings (a wrong INN
is shown at its field, then saved) and uploads a stamp that shows as a preview."""

import base64

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgG"
                       "AWjR9awAAAABJRU5ErkJggg==")


def make_order(server, client_id, shop_id):
    from callcenter.services.context import Actor

    return server.call(server.services.orders.create(Actor.system("test"), {
        "client_id": client_id, "shop_id": shop_id, "number": "UI-501", "status": "new",
        "total": "2490.00", "currency": "RUB",
        "items": [{"name": "Чайник электрический", "qty": 1, "price": "2490"}]}))


@pytest.fixture
def documents_dir(live_server, tmp_path):
    live_server.services.documents.root = tmp_path / "documents"
    return tmp_path / "documents"


def test_an_invoice_made_from_the_card_opens_as_pdf(page, live_server, sign_in, documents_dir):
    shop = live_server.create_shop("uyut-docs", "Домашний уют")
    client = live_server.create_client(name="Ольга Ёлкина",
                                       phones=[{"number": "+79265551234", "label": "mobile"}])
    make_order(live_server, client["id"], shop["id"])
    sign_in("operator")
    page.goto(f"{live_server.url}/#/clients/{client['id']}")
    section = page.get_by_test_id("client-documents")
    expect(section.get_by_test_id("client-documents-empty")).to_be_visible()
    section.get_by_test_id("make-invoice").click()
    row = section.get_by_test_id("document-row")
    expect(row).to_have_count(1, timeout=30000)  # WeasyPrint's first layout loads the fonts
    expect(row.get_by_test_id("document-open")).to_have_text("INV-2026-0001")
    href = row.get_by_test_id("document-open").get_attribute("href")
    resp = page.request.get(live_server.url + href)
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.body().startswith(b"%PDF")


def test_an_admin_fills_the_requisites_and_uploads_a_stamp(page, live_server, sign_in,
                                                            documents_dir, tmp_path):
    live_server.create_shop("uyut-req", "Уют и точка")
    sign_in("admin", name="Администратор")
    page.goto(f"{live_server.url}/#/settings/requisites")
    form = page.get_by_test_id("req-form")
    expect(form).to_be_visible()
    page.get_by_test_id("req-shop").select_option(label="Уют и точка")
    form = page.get_by_test_id("req-form")
    form.get_by_test_id("req-legal_name").fill("ООО «Уют»")
    form.get_by_test_id("req-inn").fill("7707083894")
    form.get_by_test_id("req-save").click()
    expect(form.get_by_test_id("error-inn")).to_contain_text("ИНН")
    form.get_by_test_id("req-inn").fill("7707083893")
    form.get_by_test_id("req-save").click()
    expect(page.get_by_test_id("req-form").get_by_test_id("error-inn")).to_have_count(0)
    expect(page.get_by_test_id("req-form").get_by_test_id("req-inn")).to_have_value("7707083893")
    stamp = tmp_path / "stamp.png"
    stamp.write_bytes(PNG)
    page.get_by_test_id("req-upload-stamp").set_input_files(str(stamp))
    expect(page.locator("img[data-testid=req-preview-stamp]")).to_be_visible()
