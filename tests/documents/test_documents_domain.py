"""Invoice arithmetic, the amount in Russian words, requisites checks and numbers — tables only."""

from decimal import Decimal as D

import pytest

from callcenter.domain import documents as d
from callcenter.domain.field_codes import field_code


@pytest.mark.parametrize("amount, words", [
    ("0", "Ноль рублей 00 копеек"),
    ("1", "Один рубль 00 копеек"),
    ("2", "Два рубля 00 копеек"),
    ("5", "Пять рублей 00 копеек"),
    ("11", "Одиннадцать рублей 00 копеек"),
    ("12.01", "Двенадцать рублей 01 копейка"),
    ("14.02", "Четырнадцать рублей 02 копейки"),
    ("19.11", "Девятнадцать рублей 11 копеек"),
    ("21.21", "Двадцать один рубль 21 копейка"),
    ("22.22", "Двадцать два рубля 22 копейки"),
    ("111", "Сто одиннадцать рублей 00 копеек"),
    ("1000", "Одна тысяча рублей 00 копеек"),
    ("1001", "Одна тысяча один рубль 00 копеек"),
    ("1234.50", "Одна тысяча двести тридцать четыре рубля 50 копеек"),
    ("2000", "Две тысячи рублей 00 копеек"),
    ("5000", "Пять тысяч рублей 00 копеек"),
    ("11000", "Одиннадцать тысяч рублей 00 копеек"),
    ("21000", "Двадцать одна тысяча рублей 00 копеек"),
    ("22000", "Двадцать две тысячи рублей 00 копеек"),
    ("112000", "Сто двенадцать тысяч рублей 00 копеек"),
    ("1000000", "Один миллион рублей 00 копеек"),
    ("2002002", "Два миллиона две тысячи два рубля 00 копеек"),
    ("5000000000", "Пять миллиардов рублей 00 копеек"),
    ("999999.99", "Девятьсот девяносто девять тысяч девятьсот девяносто девять рублей "
                  "99 копеек"),
    ("0.005", "Ноль рублей 01 копейка"),  # half up to a kopeck
])
def test_amount_in_words(amount, words):
    assert d.amount_in_words(D(amount)) == words


@pytest.mark.parametrize("n, form", [(0, "рублей"), (1, "рубль"), (2, "рубля"), (4, "рубля"),
                                     (5, "рублей"), (11, "рублей"), (12, "рублей"),
                                     (14, "рублей"), (21, "рубль"), (101, "рубль"),
                                     (111, "рублей"), (112, "рублей"), (122, "рубля")])
def test_plural(n, form):
    assert d.plural(n, d.RUBLES) == form


@pytest.mark.parametrize("total, rate, vat", [
    ("120.00", "20", "20.00"),
    ("1234.50", "20", "205.75"),
    ("110.00", "10", "10.00"),
    ("100.00", "0", "0.00"),
    ("100.00", "none", None),
    ("0.05", "20", "0.01"),
])
def test_vat_included(total, rate, vat):
    result = d.vat_included(D(total), rate)
    assert result == (None if vat is None else D(vat))


def test_unknown_vat_rate_is_refused():
    with pytest.raises(ValueError):
        d.vat_included(D("1"), "18")


def test_lines_and_totals():
    lines = d.invoice_lines([{"name": "Чайник", "qty": 2, "price": "999.99"},
                             {"name": "Кружка", "qty": 1.5, "price": "100"}], "0", "x")
    assert [line.amount for line in lines] == [D("1999.98"), D("150.00")]
    t = d.totals(lines, "20")
    assert t.total == D("2149.98") and t.vat == D("358.33")
    only = d.invoice_lines([], "500.5", "Заказ 7")
    assert only == [d.Line("Заказ 7", D(1), D("500.50"), D("500.50"))]


@pytest.mark.parametrize("amount, text", [("1234567.5", "1\u00a0234\u00a0567,50"),
                                          ("0", "0,00"), ("999", "999,00"),
                                          ("1000", "1\u00a0000,00")])
def test_format_money(amount, text):
    assert d.format_money(D(amount)) == text


@pytest.mark.parametrize("inn, ok", [
    ("7707083893", True),      # Sberbank
    ("7707083894", False),     # last digit wrong
    ("500100732259", True),    # a person's INN
    ("500100732258", False),
    ("500100732269", False),
    ("77070838", False),
    ("770708389a", False),
    ("", False),
])
def test_inn(inn, ok):
    assert d.inn_valid(inn) is ok


@pytest.mark.parametrize("account, bik, ok", [
    ("40702810938000000001", "044525225", True),
    ("40702810938000000002", "044525225", False),
    ("40702810938000000001", "044525226", False),
    ("4070281093800000000", "044525225", False),
])
def test_settlement_account_key(account, bik, ok):
    assert d.account_valid(account, bik) is ok


@pytest.mark.parametrize("corr, bik, ok", [
    ("30101810400000000225", "044525225", True),
    ("30101810400000000226", "044525225", False),
    ("40101810400000000225", "044525225", False),
])
def test_corr_account_key(corr, bik, ok):
    assert d.corr_account_valid(corr, bik) is ok


GOOD = {"legal_name": " ООО «Ромашка» ", "inn": "7707083893", "kpp": "773601001",
        "ogrn": "1027700132195", "bik": "044525225", "account": "40702810938000000001",
        "corr_account": "30101810400000000225", "email": "shop@example.ru", "vat_rate": "20",
        "invoice_prefix": "СЧ"}


@pytest.mark.parametrize("change, errors", [
    ({}, {}),
    ({"inn": "7707083894"}, {"inn": "bad_inn"}),
    ({"kpp": "77360100"}, {"kpp": "bad_kpp"}),
    ({"ogrn": "1027700132196"}, {"ogrn": "bad_ogrn"}),
    ({"bik": "04452522"}, {"bik": "bad_bik"}),
    ({"account": "40702810938000000002"}, {"account": "account_key"}),
    ({"account": "4070281093800000000x"}, {"account": "bad_account"}),
    ({"corr_account": "30101810400000000226"}, {"corr_account": "account_key"}),
    ({"email": "not an address"}, {"email": "bad_email"}),
    ({"vat_rate": "18"}, {"vat_rate": "bad_vat_rate"}),
    ({"invoice_prefix": "../x"}, {"invoice_prefix": "bad_prefix"}),
    ({"legal_name": "x" * 301}, {"legal_name": "too_long"}),
    ({"director": 5}, {"director": "not_text"}),
    ({"inn": "", "kpp": "", "bik": "", "account": ""}, {}),
])
def test_clean_requisites(change, errors):
    values, found = d.clean_requisites({**GOOD, **change})
    # each message is a sentence whose machine code the pages translate
    assert {k: field_code(v)[0] for k, v in found.items()} == {
        k: {"bad_email": "bad_email_plain", "bad_vat_rate": "one_of",
            "bad_prefix": "bad_invoice_prefix"}.get(v, v) for k, v in errors.items()}
    if not errors:
        assert values["legal_name"] == "ООО «Ромашка»"


def test_empty_form_gets_defaults():
    values, errors = d.clean_requisites({})
    assert errors == {} and values["vat_rate"] == "none" and values["invoice_prefix"] == "INV"


@pytest.mark.parametrize("numbers, year, expected", [
    ([], 2026, 1),
    (["INV-2026-0001", "INV-2026-0007"], 2026, 8),
    (["INV-2025-0009"], 2026, 1),
    (["OTHER-2026-0004", "INV-2026-0002"], 2026, 3),
    (["INV-2026-12345"], 2026, 12346),
])
def test_next_sequence(numbers, year, expected):
    assert d.next_sequence("INV", year, numbers) == expected


def test_number_and_file_name():
    assert d.document_number("INV", 2026, 1) == "INV-2026-0001"
    assert d.pdf_file_name("invoice", "СЧ-2026-0001") == "invoice-_-2026-0001.pdf"
    assert d.pdf_file_name("offer", "KP-2026-0002") == "offer-KP-2026-0002.pdf"
