"""The operator's web app in a real headless Chromium against the real server."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WEB = Path(__file__).resolve().parents[2] / "web"
CARD_SCREENSHOT = "/tmp/ui-card.png"


def client_id(client):
    return client["id"] if isinstance(client, dict) else client.id


def wall_clock_candidates(zone):
    """HH:MM in `zone` a minute either side of now: the page ticks on its own."""
    now = datetime.now(ZoneInfo(zone))
    return {(now + timedelta(minutes=delta)).strftime("%H:%M") for delta in (-1, 0, 1)}


def open_card_by_search(page, query, name):
    page.keyboard.press("/")
    expect(page.get_by_test_id("search-input")).to_be_focused()
    page.keyboard.type(query)
    result = page.get_by_test_id("search-result").filter(has_text=name)
    expect(result).to_have_count(1)
    result.click()
    expect(page.get_by_test_id("client-name")).to_have_text(name)


def test_operator_finds_client_by_phone_edits_city_sees_history_and_logs_out(page, live_server, sign_in):
    client = live_server.create_client(
        name="Иван Петров",
        company="ООО «Ромашка»",
        city="Москва",
        timezone="Asia/Novosibirsk",
        phones=[{"number": "+79161234567", "label": "mobile"}],
        emails=[{"email": "ivan.petrov@example.ru", "label": "work"}],
    )
    sign_in("operator", name="Ольга Смирнова")

    # The same number typed the way people say it on the phone.
    page.keyboard.press("/")
    page.keyboard.type("8 (916) 123-45-67")
    results = page.get_by_test_id("search-result")
    expect(results.first).to_contain_text("Иван Петров")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"#/clients/{client_id(client)}$"))
    card = page.get_by_test_id("client-card")
    expect(card).to_be_visible()
    expect(page.get_by_test_id("client-name")).to_have_text("Иван Петров")
    expect(page.get_by_test_id("client-phones")).to_contain_text("916")
    expect(page.get_by_test_id("client-phones").locator("[data-action=call]")).to_have_count(1)
    expect(page.get_by_test_id("client-phones").locator("a[href^='tel:']")).to_have_count(1)

    local_time = page.get_by_test_id("client-local-time")
    expect(local_time).to_contain_text("Asia/Novosibirsk")
    shown = re.search(r"\b(\d{2}:\d{2})\b", local_time.inner_text()).group(1)
    assert shown in wall_clock_candidates("Asia/Novosibirsk"), f"card shows {shown}"

    page.get_by_test_id("edit-client").click()
    form = page.get_by_test_id("client-form")
    expect(form).to_be_visible()
    expect(page.get_by_test_id("field-name")).to_have_value("Иван Петров")
    page.get_by_test_id("field-city").fill("Санкт-Петербург")
    page.get_by_test_id("save-client").click()

    expect(page.get_by_test_id("client-card")).to_be_visible()
    expect(card).to_contain_text("Санкт-Петербург")
    entry = page.get_by_test_id("history-entry").filter(has_text="Санкт-Петербург")
    expect(entry).to_have_count(1)
    expect(entry.get_by_test_id("history-old")).to_have_text("Москва")
    expect(entry.get_by_test_id("history-new")).to_have_text("Санкт-Петербург")
    expect(entry).to_contain_text("Ольга Смирнова")
    page.mouse.move(0, 0)
    page.screenshot(path=CARD_SCREENSHOT, full_page=True)

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
    # The session is really gone: a reload does not bring the app back.
    page.reload()
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_wrong_password_shows_the_servers_message(page, live_server):
    live_server.create_user("petrova", "correct-horse", "operator", "Анна Петрова")
    page.goto(live_server.url + "/")
    expect(page.get_by_test_id("login-error")).to_be_hidden()
    page.get_by_test_id("login-input").fill("petrova")
    page.get_by_test_id("password-input").fill("wrong")
    page.get_by_test_id("password-input").press("Enter")
    error = page.get_by_test_id("login-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.get_by_test_id("search-input")).to_have_count(0)


def test_language_switch_changes_labels_and_is_remembered(page, live_server, sign_in):
    live_server.create_client(name="Мария Кузнецова", timezone="Europe/Moscow", phones=[{"number": "+79035550101", "label": "mobile"}])
    sign_in("operator")
    expect(page.get_by_test_id("logout")).to_have_text("Выйти")
    expect(page.get_by_test_id("search-input")).to_have_attribute("placeholder", re.compile("телефон"))

    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.get_by_test_id("logout")).to_have_text("Log out")
    expect(page.get_by_test_id("search-input")).to_have_attribute("placeholder", re.compile("phone"))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    open_card_by_search(page, "Кузнецова", "Мария Кузнецова")
    expect(page.get_by_test_id("client-history")).to_contain_text("Edit history")

    page.reload()
    expect(page.get_by_test_id("client-history")).to_contain_text("Edit history")
    page.get_by_test_id("lang-switch").select_option("ru")
    expect(page.get_by_test_id("client-history")).to_contain_text("История изменений")
    expect(page.get_by_test_id("logout")).to_have_text("Выйти")


def test_every_ui_string_is_in_both_catalogues(page, live_server):
    page.goto(live_server.url + "/")
    keys = page.evaluate(
        """async () => {
            const i18n = await import('/static/i18n.js');
            return {ru: i18n.catalogueKeys('ru'), en: i18n.catalogueKeys('en')};
        }"""
    )
    ru, en = set(keys["ru"]), set(keys["en"])
    assert ru == en, f"only in ru: {sorted(ru - en)}; only in en: {sorted(en - ru)}"
    used, prefixes = set(), set()
    for source in WEB.rglob("*.js"):
        text = source.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", text))
        prefixes |= set(re.findall(r"""\b(?:t|translatedOr)\(\s*["']([\w.]+\.)["']\s*\+""", text))
    assert used and prefixes, "no t('…') calls found: the scan is broken"
    assert used <= ru, f"keys used but missing from the catalogue: {sorted(used - ru)}"
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in ru), f"no catalogue keys for t('{prefix}' + …)"


def test_search_is_keyboard_driven(page, live_server, sign_in):
    first = live_server.create_client(name="Сергей Волков", timezone="Europe/Moscow", phones=[{"number": "+79261110001", "label": "mobile"}])
    second = live_server.create_client(name="Сергей Волконский", timezone="Europe/Moscow", phones=[{"number": "+79261110002", "label": "mobile"}])
    sign_in("operator")
    page.keyboard.press("/")
    search = page.get_by_test_id("search-input")
    expect(search).to_be_focused()
    page.keyboard.type("Волко")
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(2)
    names = results.locator(".result-name").all_inner_texts()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    opened = client_id(second) if names[1] == "Сергей Волконский" else client_id(first)
    expect(page).to_have_url(re.compile(rf"#/clients/{opened}$"))
    expect(page.get_by_test_id("client-name")).to_have_text(names[1])

    search.focus()
    page.keyboard.press("Escape")
    expect(search).to_have_value("")
    expect(results).to_have_count(0)


def test_search_by_email_and_no_results(page, live_server, sign_in):
    live_server.create_client(
        name="Олена Шевченко", timezone="Europe/Kyiv",
        phones=[{"number": "+380501234567", "label": "mobile"}],
        emails=[{"email": "olena@example.ua", "label": "personal"}],
    )
    sign_in("operator")
    search = page.get_by_test_id("search-input")
    search.fill("olena@example.ua")
    expect(page.get_by_test_id("search-result")).to_have_count(1)
    expect(page.get_by_test_id("search-result")).to_contain_text("Олена Шевченко")
    search.fill("zzzz-nobody-zzzz")
    expect(page.get_by_test_id("search-empty")).to_be_visible()


def test_new_client_duplicate_phone_warns_and_can_open_existing_or_force(page, live_server, sign_in):
    existing = live_server.create_client(name="Андрей Соколов", timezone="Europe/Moscow", phones=[{"number": "+79167770011", "label": "mobile"}])
    sign_in("operator")
    page.get_by_test_id("new-client").click()
    expect(page.get_by_test_id("client-form")).to_be_visible()
    page.get_by_test_id("field-name").fill("Андрей Соколов-второй")
    page.get_by_test_id("field-phones.0").fill("8 916 777-00-11")
    page.get_by_test_id("field-city").press("Control+Enter")

    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning.get_by_test_id("duplicate-match")).to_contain_text("Андрей Соколов")
    expect(warning.get_by_test_id("open-existing")).to_have_attribute("href", f"#/clients/{client_id(existing)}")

    warning.get_by_test_id("create-anyway").click()
    expect(page.get_by_test_id("client-name")).to_have_text("Андрей Соколов-второй")
    assert not page.url.endswith(f"#/clients/{client_id(existing)}")


def test_server_field_errors_are_shown_next_to_the_field(page, live_server, sign_in):
    sign_in("operator")
    page.goto(live_server.url + "/#/clients/new")
    page.get_by_test_id("field-name").fill("Проверка Телефона")
    page.get_by_test_id("field-phones.0").fill("12")
    page.get_by_test_id("save-client").click()
    error = page.locator("[data-testid^='error-phones']")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.get_by_test_id("field-phones.0")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("client-form")).to_be_visible()


def test_notes_are_added_with_ctrl_enter(page, live_server, sign_in):
    client = live_server.create_client(name="Елена Морозова", timezone="Europe/Samara", phones=[{"number": "+79270000001", "label": "mobile"}])
    sign_in("operator", name="Ольга Смирнова")
    page.goto(f"{live_server.url}/#/clients/{client_id(client)}")
    page.get_by_test_id("note-input").fill("Перезвонить после 18:00, уточнить адрес доставки")
    page.get_by_test_id("note-input").press("Control+Enter")
    note = page.get_by_test_id("note-entry").first
    expect(note).to_contain_text("Перезвонить после 18:00")
    expect(note).to_contain_text("Ольга Смирнова")
    expect(page.get_by_test_id("note-input")).to_have_value("")
    page.reload()
    expect(page.get_by_test_id("note-entry").first).to_contain_text("Перезвонить после 18:00")


def test_data_is_shown_as_text_never_as_markup(page, live_server, sign_in):
    hostile = '<img src=x onerror="window.__pwned=1">Хакер'
    client = live_server.create_client(name=hostile, timezone="Europe/Moscow", phones=[{"number": "+79990001122", "label": "mobile"}])
    sign_in("operator")
    page.get_by_test_id("search-input").fill("Хакер")
    expect(page.get_by_test_id("search-result")).to_contain_text(hostile)
    page.goto(f"{live_server.url}/#/clients/{client_id(client)}")
    expect(page.get_by_test_id("client-name")).to_have_text(hostile)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0


def test_expired_session_returns_to_login(page, live_server, sign_in):
    client = live_server.create_client(name="Ольга Новикова", timezone="Europe/Moscow", phones=[{"number": "+79161112233", "label": "mobile"}])
    sign_in("operator")
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/#/clients/{client_id(client)}")
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_order_is_created_from_the_card_and_items_expand(page, live_server, sign_in, page_api):
    client = live_server.create_client(name="Дмитрий Орлов", timezone="Europe/Moscow", phones=[{"number": "+79031234500", "label": "mobile"}])
    sign_in("admin")
    shop = page_api(page, "POST", "/shops", {"slug": "kettles", "name": "Чайники.ру"})
    assert shop["status"] == 201, shop
    page.goto(f"{live_server.url}/#/clients/{client_id(client)}")
    expect(page.get_by_test_id("orders-empty")).to_be_visible()
    page.get_by_test_id("new-order").click()
    dialog = page.get_by_test_id("order-dialog")
    expect(dialog).to_be_visible()
    shop_select = dialog.get_by_test_id("field-shop_id")
    expect(shop_select).to_have_value(str(shop["body"]["id"]))
    dialog.get_by_test_id("field-number").fill("UI-1001")
    dialog.get_by_test_id("field-status").select_option("paid")
    dialog.get_by_test_id("field-items.0.sku").fill("SKU-1")
    dialog.get_by_test_id("field-items.0.name").fill("Чайник")
    dialog.get_by_test_id("field-items.0.qty").fill("2")
    dialog.get_by_test_id("field-items.0.price").fill("1499,50")
    dialog.get_by_role("button", name="Σ").click()
    expect(dialog.get_by_test_id("field-total")).to_have_value("2999.00")
    dialog.get_by_test_id("field-number").press("Control+Enter")
    expect(dialog).to_have_count(0)

    row = page.get_by_test_id("order-row").filter(has_text="UI-1001")
    expect(row).to_have_count(1)
    expect(row.locator("[data-status=paid]")).to_be_visible()
    expect(row.get_by_test_id("order-items")).to_be_hidden()
    row.get_by_test_id("order-toggle").click()
    expect(row.get_by_test_id("order-items")).to_contain_text("Чайник")


def test_dialog_closes_with_escape(page, live_server, sign_in):
    client = live_server.create_client(name="Ирина Белова", timezone="Europe/Moscow", phones=[{"number": "+79031234511", "label": "mobile"}])
    sign_in("operator")
    page.goto(f"{live_server.url}/#/clients/{client_id(client)}")
    page.get_by_test_id("new-order").click()
    expect(page.get_by_test_id("order-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("order-dialog")).to_have_count(0)


def test_admin_adds_and_deactivates_a_user(page, live_server, sign_in):
    sign_in("admin", name="Главный Админ")
    page.get_by_test_id("nav-users").click()
    expect(page.get_by_test_id("users-table")).to_be_visible()
    page.get_by_test_id("add-user").click()
    dialog = page.get_by_test_id("user-dialog")
    dialog.get_by_test_id("field-login").fill("kolya")
    dialog.get_by_test_id("field-name").fill("Николай Зайцев")
    dialog.get_by_test_id("field-role").select_option("operator")
    dialog.get_by_test_id("field-extension").fill("PJSIP/105")
    dialog.get_by_test_id("field-password").fill("kolya-secret-1")
    dialog.get_by_test_id("save-user").click()
    row = page.get_by_test_id("user-row").filter(has_text="kolya")
    expect(row).to_contain_text("Николай Зайцев")
    expect(row).to_contain_text("PJSIP/105")
    row.get_by_test_id("deactivate-user").click()
    expect(row.get_by_test_id("activate-user")).to_be_visible()


def test_operator_does_not_see_admin_pages(page, live_server, sign_in):
    sign_in("operator")
    expect(page.get_by_test_id("nav-users")).to_have_count(0)
    page.goto(live_server.url + "/#/users")
    expect(page.get_by_test_id("page-error")).to_be_visible()


def test_csv_import_previews_then_applies(page, live_server, sign_in, tmp_path):
    live_server.create_client(name="Уже Есть", timezone="Europe/Moscow", phones=[{"number": "+79160000001", "label": "mobile"}])
    csv_file = tmp_path / "clients.csv"
    csv_file.write_text(
        "ФИО;Телефон;Город\n"
        "Новый Клиент;+7 916 000-00-02;Казань\n"
        "Уже Есть;8 916 000 00 01;Москва\n"
        "Без Телефона;не номер;Омск\n",
        encoding="utf-8",
    )
    sign_in("supervisor")
    page.get_by_test_id("nav-import").click()
    page.get_by_test_id("import-file").set_input_files(str(csv_file))
    expect(page.get_by_test_id("import-apply")).to_be_disabled()
    page.get_by_test_id("import-check").click()

    report = page.get_by_test_id("import-report")
    expect(report.get_by_test_id("import-stat-total")).to_contain_text("3")
    expect(report.get_by_test_id("import-stat-created")).to_contain_text("1")
    expect(report.get_by_test_id("import-stat-merged")).to_contain_text("1")
    rejected = report.get_by_test_id("import-rejected-row")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text("4")
    expect(report.get_by_test_id("import-merged-rows")).to_contain_text("Уже Есть")
    # A dry run writes nothing.
    page.get_by_test_id("search-input").fill("Новый Клиент")
    expect(page.get_by_test_id("search-empty")).to_be_visible()

    page.get_by_test_id("import-apply").click()
    expect(report).not_to_contain_text(re.compile("Предварительный|Preview"))
    page.get_by_test_id("search-input").fill("")
    page.get_by_test_id("search-input").fill("Новый Клиент")
    expect(page.get_by_test_id("search-result")).to_contain_text("Казань")


def test_csv_import_shows_people_who_share_a_phone(page, live_server, sign_in, tmp_path):
    existing = live_server.create_client(name="Пётр Сидоров", timezone="Europe/Moscow",
                                         phones=[{"number": "+74957770000", "label": "home"}])
    csv_file = tmp_path / "family.csv"
    csv_file.write_text("ФИО;Телефон\nАнна Сидорова;8 495 777-00-00\n", encoding="utf-8")
    sign_in("supervisor")
    page.get_by_test_id("nav-import").click()
    page.get_by_test_id("import-file").set_input_files(str(csv_file))
    page.get_by_test_id("import-check").click()
    report = page.get_by_test_id("import-report")
    expect(report.get_by_test_id("import-stat-conflicts")).to_contain_text("1")
    expect(report.get_by_test_id("import-stat-merged")).to_contain_text("0")
    row = report.get_by_test_id("import-conflict-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Анна Сидорова")
    expect(row).to_contain_text("+74957770000")
    expect(row.get_by_role("link", name="Пётр Сидоров")).to_have_attribute(
        "href", f"#/clients/{client_id(existing)}")


def test_repeated_wrong_passwords_lock_the_login_and_say_until_when(page, live_server):
    live_server.create_user("locked_out", "right-password-1", "operator", "Пётр Замков")
    page.goto(live_server.url + "/")
    statuses = []
    for _ in range(20):
        with page.expect_response("**/api/login") as answer:
            page.get_by_test_id("login-input").fill("locked_out")
            page.get_by_test_id("password-input").fill("wrong-password")
            page.get_by_test_id("login-submit").click()
        statuses.append(answer.value.status)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, f"never locked: {statuses}"
    error = page.get_by_test_id("login-error")
    # The server says until when (details.locked_until); the page shows that time.
    expect(error).to_contain_text(re.compile(r"заблокирован до \d{2}:\d{2}"))
    # Even the right password is refused while locked.
    page.get_by_test_id("password-input").fill("right-password-1")
    with page.expect_response("**/api/login") as answer:
        page.get_by_test_id("login-submit").click()
    assert answer.value.status == 429
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("search-input")).to_have_count(0)
