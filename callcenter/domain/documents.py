"""Invoices and offers, pure: lines and totals, VAT, the amount in Russian words, requisites checks
and invoice numbers.

Money is Decimal end to end, rounded half up to kopecks.  Prices include VAT ("в том числе
НДС"), as Russian shops quote them; with ``vat_rate`` "none" the invoice says "Без НДС".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

KINDS = ("invoice", "offer")
VAT_RATES = ("none", "0", "10", "20")
IMAGE_KINDS = ("logo", "stamp", "signature")
KOPECK = Decimal("0.01")
NBSP = "\u00a0"

REQUISITE_FIELDS = ("legal_name", "inn", "kpp", "ogrn", "address", "phone", "email", "bank_name",
                    "bik", "account", "corr_account", "director", "accountant", "vat_rate",
                    "invoice_prefix")
#: the longest text each field keeps (matches the table)
FIELD_LIMITS = {"legal_name": 300, "inn": 12, "kpp": 9, "ogrn": 15, "address": 500, "phone": 64,
                "email": 320, "bank_name": 300, "bik": 9, "account": 20, "corr_account": 20,
                "director": 200, "accountant": 200, "vat_rate": 8, "invoice_prefix": 16}


def money(value: Any) -> Decimal:
    """A Decimal of kopecks from a number or numeric text; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError("not an amount") from None
    if not amount.is_finite():
        raise ValueError("not an amount")
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    name: str
    qty: Decimal
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    lines: tuple[Line, ...]
    total: Decimal
    vat_rate: str
    vat: Decimal | None      # None: "Без НДС"


def invoice_lines(items: Sequence[Mapping[str, Any]], order_total: Any,
                  fallback_name: str) -> list[Line]:
    """The order's items as lines; an order without items is one line of its total."""
    lines = []
    for item in items:
        qty = Decimal(str(item.get("qty", 1)))
        price = money(item.get("price", 0))
        lines.append(Line(str(item.get("name", "")), qty, price, money(qty * price)))
    if not lines:
        total = money(order_total)
        lines.append(Line(fallback_name, Decimal(1), total, total))
    return lines


def vat_included(total: Decimal, rate: str) -> Decimal | None:
    """The VAT inside a VAT-inclusive total: total × rate / (100 + rate); None for "none"."""
    if rate not in VAT_RATES:
        raise ValueError(f"unknown VAT rate {rate!r}")
    if rate == "none":
        return None
    r = Decimal(rate)
    return (total * r / (Decimal(100) + r)).quantize(KOPECK, rounding=ROUND_HALF_UP)


def totals(lines: Sequence[Line], vat_rate: str) -> Totals:
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return Totals(tuple(lines), total, vat_rate, vat_included(total, vat_rate))


def format_money(amount: Decimal) -> str:
    """1234567.5 → "1 234 567,50" (a no-break space between thousands, as Russian invoices do)."""
    sign = "-" if amount < 0 else ""
    whole, frac = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + NBSP.join(groups) + "," + frac


def format_qty(qty: Decimal) -> str:
    text = f"{qty.normalize():f}"
    return text.replace(".", ",")


# ---- сумма прописью ----------------------------------------------------------------------------

_UNITS_M = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_UNITS_F = ("", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_TEENS = ("десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
          "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать")
_TENS = ("", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
         "восемьдесят", "девяносто")
_HUNDREDS = ("", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
             "восемьсот", "девятьсот")
#: (forms for 1 / 2-4 / 5-20, feminine?) of each power of a thousand
_SCALES = ((("", "", ""), False), (("тысяча", "тысячи", "тысяч"), True),
           (("миллион", "миллиона", "миллионов"), False),
           (("миллиард", "миллиарда", "миллиардов"), False),
           (("триллион", "триллиона", "триллионов"), False))


def plural(n: int, forms: tuple[str, str, str]) -> str:
    """The Russian form for n: 1 рубль, 2 рубля, 5 рублей; 11-14 take the third form."""
    n = abs(n) % 100
    if 11 <= n <= 19:
        return forms[2]
    n %= 10
    if n == 1:
        return forms[0]
    if 2 <= n <= 4:
        return forms[1]
    return forms[2]


def _triad(n: int, feminine: bool) -> list[str]:
    words = [_HUNDREDS[n // 100]]
    rest = n % 100
    if 10 <= rest <= 19:
        words.append(_TEENS[rest - 10])
    else:
        words.append(_TENS[rest // 10])
        words.append((_UNITS_F if feminine else _UNITS_M)[rest % 10])
    return [w for w in words if w]


def number_in_words(n: int, feminine: bool = False) -> str:
    """A whole number in Russian words: 1234 → "одна тысяча двести тридцать четыре"."""
    if n < 0:
        raise ValueError("negative")
    if n == 0:
        return "ноль"
    words: list[str] = []
    scale = 0
    while n:
        n, triad = divmod(n, 1000)
        if scale >= len(_SCALES):
            raise ValueError("too large")
        forms, fem = _SCALES[scale]
        if triad:
            part = _triad(triad, fem if scale else feminine)
            if scale:
                part.append(plural(triad, forms))
            words[:0] = part
        scale += 1
    return " ".join(words)


RUBLES = ("рубль", "рубля", "рублей")
KOPECKS = ("копейка", "копейки", "копеек")


def amount_in_words(amount: Decimal) -> str:
    """"Одна тысяча двести тридцать четыре рубля 50 копеек" — the line under an invoice's total."""
    amount = money(amount)
    if amount < 0:
        raise ValueError("negative amount")
    rubles = int(amount)
    kopecks = int((amount - rubles) * 100)
    text = f"{number_in_words(rubles)} {plural(rubles, RUBLES)} {kopecks:02d} " \
           f"{plural(kopecks, KOPECKS)}"
    return text[0].upper() + text[1:]


# ---- requisites --------------------------------------------------------------------------------

def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights))


def inn_valid(inn: str) -> bool:
    """A legal entity's 10-digit or a person's 12-digit INN with right check digits."""
    if not re.fullmatch(r"\d{10}|\d{12}", inn):
        return False
    if len(inn) == 10:
        return _weighted(inn, (2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10 == int(inn[9])
    n11 = _weighted(inn, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
    n12 = _weighted(inn, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
    return n11 == int(inn[10]) and n12 == int(inn[11])


def _account_key_valid(prefix3: str, account: str) -> bool:
    # the Bank of Russia's key: 23 digits × 7,1,3,…; the sum of the products' last digits ends in 0
    digits = prefix3 + account
    weights = (7, 1, 3) * 8
    return sum(int(d) * w % 10 for d, w in zip(digits, weights)) % 10 == 0


def account_valid(account: str, bik: str) -> bool:
    """A settlement account checked against the bank's BIK (its last three digits)."""
    return bool(re.fullmatch(r"\d{20}", account) and re.fullmatch(r"\d{9}", bik)) \
        and _account_key_valid(bik[-3:], account)


def corr_account_valid(corr: str, bik: str) -> bool:
    """A correspondent account: "0" and BIK digits 5-6 lead the key."""
    return bool(re.fullmatch(r"301\d{17}", corr) and re.fullmatch(r"\d{9}", bik)) \
        and _account_key_valid("0" + bik[4:6], corr)


_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
_PREFIX = re.compile(r"[A-Za-zА-Яа-яЁё0-9]{1,16}")


def clean_requisites(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(values, field errors) of a requisites form: text trimmed, codes checked.

    Empty fields are allowed (a shop fills what it has); a filled INN, KPP, OGRN, BIK or account
    must be right.  Each error is a sentence that domain.field_codes names by a code.
    """
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in REQUISITE_FIELDS:
        raw = data.get(field, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            errors[field] = "must be text"
            continue
        value = raw.strip()
        if len(value) > FIELD_LIMITS[field]:
            errors[field] = f"is longer than {FIELD_LIMITS[field]} characters"
            continue
        values[field] = value
    v = values
    if v.get("inn") and not inn_valid(v["inn"]):
        errors["inn"] = "not a valid INN: 10 or 12 digits with right check digits"
    if v.get("kpp") and not re.fullmatch(r"\d{4}[\dA-Z]{2}\d{3}", v["kpp"]):
        errors["kpp"] = "not a valid KPP: 9 characters"
    if v.get("ogrn") and not _ogrn_valid(v["ogrn"]):
        errors["ogrn"] = "not a valid OGRN: 13 or 15 digits with a right check digit"
    if v.get("bik") and not re.fullmatch(r"\d{9}", v["bik"]):
        errors["bik"] = "not a valid BIK: 9 digits"
    if v.get("account"):
        if not re.fullmatch(r"\d{20}", v["account"]):
            errors["account"] = "not a valid account: 20 digits"
        elif v.get("bik") and "bik" not in errors and not account_valid(v["account"], v["bik"]):
            errors["account"] = "the account does not match the BIK (check key)"
    if v.get("corr_account"):
        if not re.fullmatch(r"\d{20}", v["corr_account"]):
            errors["corr_account"] = "not a valid account: 20 digits"
        elif v.get("bik") and "bik" not in errors \
                and not corr_account_valid(v["corr_account"], v["bik"]):
            errors["corr_account"] = "the account does not match the BIK (check key)"
    if v.get("email") and not _EMAIL.fullmatch(v["email"]):
        errors["email"] = "not a valid e-mail address"
    if "vat_rate" in v:
        v["vat_rate"] = v["vat_rate"] or "none"
        if v["vat_rate"] not in VAT_RATES:
            errors["vat_rate"] = "must be one of: none, 0, 10, 20"
    if "invoice_prefix" in v:
        v["invoice_prefix"] = v["invoice_prefix"] or "INV"
        if not _PREFIX.fullmatch(v["invoice_prefix"]):
            errors["invoice_prefix"] = "letters and digits only, up to 16"
    return values, errors


def _ogrn_valid(ogrn: str) -> bool:
    # ОГРН (13): the first 12 digits mod 11, last digit; ОГРНИП (15): the first 14 mod 13
    if re.fullmatch(r"\d{13}", ogrn):
        return int(ogrn[:12]) % 11 % 10 == int(ogrn[12])
    if re.fullmatch(r"\d{15}", ogrn):
        return int(ogrn[:14]) % 13 % 10 == int(ogrn[14])
    return False


# ---- numbers -----------------------------------------------------------------------------------

DEFAULT_PREFIX = {"invoice": "INV", "offer": "KP"}


def document_number(prefix: str, year: int, sequence: int) -> str:
    """("INV", 2026, 1) → "INV-2026-0001"; the sequence runs per shop, kind and year."""
    return f"{prefix}-{year}-{sequence:04d}"


def next_sequence(prefix: str, year: int, numbers: Sequence[str]) -> int:
    """One past the highest sequence among the year's existing numbers with that prefix."""
    pattern = re.compile(re.escape(f"{prefix}-{year}-") + r"(\d+)$")
    found = [int(m.group(1)) for m in map(pattern.match, numbers) if m]
    return max(found, default=0) + 1


def pdf_file_name(kind: str, number: str) -> str:
    """The name the PDF is downloaded and attached under: "invoice-INV-2026-0001.pdf"."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", number)
    return f"{'invoice' if kind == 'invoice' else 'offer'}-{safe}.pdf"
