"""Texts from the server in the user's language: every error code the API can answer, every
field-error code and every import reason has its text in web/i18n.js, in Russian and in
English; and in the browser a bad form shows the Russian field error, not the server's
English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "callcenter"
CATALOGUE = ROOT / "web" / "i18n.js"


def catalogue(lang: str) -> dict[str, str]:
    """The keys and texts of one language, read from the JS source."""
    text = CATALOGUE.read_text(encoding="utf-8")
    start = re.search(rf"^  {lang}: \{{$", text, re.MULTILINE)
    assert start, f"no {lang} catalogue in web/i18n.js"
    end = text.index("\n  },", start.end())
    body = text[start.end():end]
    return {m.group(1): m.group(2) for m in re.finditer(
        r'^\s*"((?:[^"\\]|\\.)+)":\s*"((?:[^"\\]|\\.)*)",?\s*$', body, re.MULTILINE)}


def error_codes() -> set[str]:
    """Every machine code the API can answer with: the named errors (all modules loaded) and
    the HTTP errors the middleware names."""
    import callcenter.app  # noqa: F401  (every handler, service and its errors)
    from callcenter.errors import AppError
    from callcenter.http import middleware

    codes, todo = set(), [AppError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    codes |= set(middleware._HTTP_CODES.values()) | {"method_not_allowed"}
    # started or refused before any page exists: never shown in the browser
    return codes - {"database_not_migrated", "cannot_listen"}


def import_reasons() -> set[str]:
    """The reasons a CSV row is rejected for (the first argument of every ``_Rejected``)."""
    tree = ast.parse((PACKAGE / "domain" / "client_csv.py").read_text(encoding="utf-8"))
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "_Rejected" and isinstance(node.args[0], ast.Constant)}


def _sample(node) -> str | None:
    """A message as it would be written, with a stand-in for every value an f-string puts in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant)
                       else ("'x'" if v.conversion == ord("r") else "7") for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sample(node.left), _sample(node.right)
        if left is not None:
            return left + (right if right is not None else "7")
    return None


#: where field messages come from besides ``errors[...] = ...`` and ``...fields({...})``: the
#: validators whose ValueError becomes the field's message
_VALIDATORS = ("domain/clients.py", "domain/orders.py", "domain/tasks.py",
               "domain/passwords.py", "domain/access.py")


def field_messages() -> list[tuple[str, str]]:
    """(where, message) for every field message in the code."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Subscript) \
                    and isinstance(node.targets[0].value, ast.Name) \
                    and node.targets[0].value.id == "errors":
                values = [node.value]
            elif isinstance(node, ast.Call) and node.args and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "fields")
                    or (isinstance(node.func, ast.Name) and node.func.id == "FieldErrors")):
                arg = node.args[0]
                values = arg.values if isinstance(arg, ast.Dict) else \
                    [arg.value] if isinstance(arg, ast.DictComp) else []
            elif rel in _VALIDATORS and isinstance(node, ast.Raise) \
                    and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
                    and node.exc.func.id == "ValueError" and node.exc.args:
                values = [node.exc.args[0]]
            elif rel == "domain/passwords.py" and isinstance(node, ast.Return):
                values = [node.value] if node.value is not None else []
            for value in values:
                message = _sample(value)
                if message is not None and not message.startswith("unknown InvalidPhone"):
                    found.append((f"{rel}:{node.lineno}", message))
    return found


def test_every_field_message_in_the_code_has_a_machine_code():
    from callcenter.domain.field_codes import field_code

    messages = field_messages()
    assert len(messages) > 50  # the scan sees the validators
    unknown = [(where, m) for where, m in messages if field_code(m) is None]
    assert unknown == [], "field messages without a code in domain/field_codes.py"


@pytest.mark.parametrize("message,code,params", [
    ("is required", "required", {}),
    ("'abc' is not a usable phone number: too short", "bad_phone", {"value": "abc"}),
    ("'8 800' is an internal extension, not a client's phone", "internal_extension",
     {"value": "8 800"}),
    ("is longer than 300 characters", "too_long", {"limit": "300"}),
    ("text of up to 20000 characters", "too_long", {"limit": "20000"}),
    ("at least 10 characters", "too_short", {"limit": "10"}),
    ("one of resolved, callback", "one_of", {"choices": "resolved, callback"}),
    ("'Mars/Base' is not an IANA time zone such as Europe/Moscow", "bad_timezone",
     {"value": "Mars/Base"}),
    ("no user with id 42", "no_such_user", {"id": "42"}),
    ("item 2: qty must be a positive number up to 10000", "bad_item_qty",
     {"index": "2", "limit": "10000"}),
    ("something nobody wrote a code for", None, None),
])
def test_field_messages_read_back_into_codes_and_values(message, code, params):
    from callcenter.domain.field_codes import field_code

    assert field_code(message) == (None if code is None else (code, params))


def test_the_real_validators_give_messages_with_codes():
    from callcenter.domain.clients import FieldErrors, validate_client
    from callcenter.domain.field_codes import field_codes

    with pytest.raises(FieldErrors) as caught:
        validate_client({"name": "", "phones": ["abc", "101"], "emails": ["nope"],
                         "timezone": "Mars/Base", "birthday": "31.02", "tags": [1],
                         "do_not_call": "yes", "colour": "red"}, region="RU", partial=False)
    fields = caught.value.fields
    assert set(field_codes(fields)) == set(fields), fields


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_catalogue_has_a_text_for_every_server_code(lang):
    from callcenter.domain.client_csv import CsvFormatError
    from callcenter.domain.field_codes import all_codes

    keys = set(catalogue(lang))
    wanted = {f"error.code.{c}" for c in error_codes()}
    wanted |= {f"field_error.{c}" for c in all_codes()}
    wanted |= {f"import.reason.{c}" for c in import_reasons()}
    wanted |= {f"import.file.{c}" for c in CsvFormatError.CODES}
    assert import_reasons() >= {"missing_name", "no_contact", "bad_phone", "bad_email",
                                "bad_birthday", "bad_timezone"}
    assert sorted(wanted - keys) == []


def test_russian_and_english_have_the_same_keys_and_placeholders():
    ru, en = catalogue("ru"), catalogue("en")
    assert sorted(set(ru) ^ set(en)) == []
    for key in ru:
        assert set(re.findall(r"\{(\w+)\}", ru[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


def test_ukrainian_is_a_subset_with_the_same_placeholders_and_says_every_server_code():
    from callcenter.domain.client_csv import CsvFormatError
    from callcenter.domain.field_codes import all_codes

    ru, uk = catalogue("ru"), catalogue("uk")
    assert len(uk) > 250
    assert sorted(set(uk) - set(ru)) == []
    for key in uk:
        assert set(re.findall(r"\{(\w+)\}", uk[key])) == set(re.findall(r"\{(\w+)\}", ru[key])), key
    wanted = {f"error.code.{c}" for c in error_codes()} | {f"field_error.{c}" for c in all_codes()}
    wanted |= {f"import.reason.{c}" for c in import_reasons()}
    wanted |= {f"import.file.{c}" for c in CsvFormatError.CODES}
    assert sorted(wanted - set(uk)) == []


# ---- in the browser ------------------------------------------------------------------------


def test_a_bad_client_form_shows_the_russian_field_errors(page, live_server, sign_in):
    from playwright.sync_api import expect

    sign_in("operator")  # the interface starts in Russian
    page.goto(live_server.url + "/#/clients/new")
    page.get_by_test_id("field-name").fill("Проверка Телефона")
    page.get_by_test_id("field-phones.0").fill("abc")
    if page.get_by_test_id("field-emails.0").count() == 0:
        page.get_by_test_id("add-emails").click()
    page.get_by_test_id("field-emails.0").fill("не-почта")
    page.get_by_test_id("save-client").click()
    phone = page.locator("[data-testid^='error-phones']")
    expect(phone).to_have_text("«abc» не похоже на номер телефона")
    expect(page.locator("[data-testid^='error-emails']")).to_have_text(
        "«не-почта» — это не адрес электронной почты")
    expect(page.get_by_test_id("form-error")).to_have_count(0)

    page.get_by_test_id("lang-switch").select_option("en")
    page.goto(live_server.url + "/#/clients/new")
    page.get_by_test_id("field-name").fill("Phone Check")
    page.get_by_test_id("field-phones.0").fill("abc")
    page.get_by_test_id("save-client").click()
    expect(page.locator("[data-testid^='error-phones']")).to_have_text(
        "“abc” does not look like a phone number")


def test_an_error_code_is_shown_in_the_users_language(page, live_server, sign_in, page_api):
    from playwright.sync_api import expect

    sign_in("operator")
    page.goto(live_server.url + "/#/clients/new")
    # the server answers in English; the page says it in Russian
    result = page.evaluate("""async () => {
        const { api } = await import('/static/api.js');
        try { await api('GET', '/clients', { query: { limit: 'abc' } }); return null; }
        catch (err) { return { code: err.code, message: err.message, server: err.serverMessage }; }
    }""")
    assert result["code"] == "bad_request"
    assert result["message"] == "Неверный запрос."
    assert "limit" in result["server"]


def test_ukrainian_falls_back_to_russian_and_says_field_errors_in_ukrainian(
        page, live_server, sign_in):
    from playwright.sync_api import expect

    sign_in("operator")
    page.get_by_test_id("lang-switch").select_option("uk")
    expect(page.get_by_test_id("nav-clients")).to_have_text("Клієнти")
    expect(page.locator("html")).to_have_attribute("lang", "uk")
    page.goto(live_server.url + "/#/calls")
    # not translated yet: Russian, not English and not the key
    expect(page.locator(".filter").first).to_contain_text("Период")
    page.goto(live_server.url + "/#/clients/new")
    page.get_by_test_id("field-name").fill("Перевірка")
    page.get_by_test_id("field-phones.0").fill("abc")
    page.get_by_test_id("save-client").click()
    expect(page.locator("[data-testid^='error-phones']")).to_have_text(
        "«abc» не схоже на номер телефону")
    page.reload()
    expect(page.get_by_test_id("nav-clients")).to_have_text("Клієнти")  # the choice is kept
