"""CSV import of clients: files as Excel and other CRMs really write them."""

import csv
import dataclasses
import io
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callcenter.domain.client_csv import (
    ClientRow, CsvFormatError, MergedRow, NameConflict, names_agree, parse_clients_csv,
)


def row(line, name, phones=(), emails=(), **extra):
    fields = dict(company=None, city=None, timezone="Europe/Moscow", tags=(), notes=None, birthday=None)
    fields.update(extra)
    return ClientRow(line=line, name=name, phones=tuple(phones), emails=tuple(emails), **fields)


EXCEL_RU = (
    "ФИО;Телефон;E-mail;Компания;Город;Теги;Комментарий;Дата рождения;Часовой пояс\r\n"
    "Иван Петров;8 916 123-45-67;Ivan.Petrov@Mail.RU;;Москва;VIP, опт;Звонить после 18:00;01.02.1985;\r\n"
    "Ольга Смирнова;+7 (926) 555-01-01;;ООО «Ромашка»;Екатеринбург;;;1990-12-31;Asia/Yekaterinburg\r\n"
)
EXCEL_RU_ROWS = [
    row(2, "Иван Петров", ["+79161234567"], ["ivan.petrov@mail.ru"], city="Москва", tags=("VIP", "опт"),
        notes="Звонить после 18:00", birthday=date(1985, 2, 1)),
    row(3, "Ольга Смирнова", ["+79265550101"], company="ООО «Ромашка»", city="Екатеринбург",
        timezone="Asia/Yekaterinburg", birthday=date(1990, 12, 31)),
]

# (id, file bytes, expected rows, expected rejected (line, reason), merged, encoding, delimiter)
FILES = [
    ("excel-cp1251-semicolon", EXCEL_RU.encode("cp1251"), EXCEL_RU_ROWS, [], 0, "cp1251", ";"),
    ("utf-8-sig-semicolon", EXCEL_RU.encode("utf-8-sig"), EXCEL_RU_ROWS, [], 0, "utf-8-sig", ";"),
    ("utf-8-no-bom", EXCEL_RU.encode("utf-8"), EXCEL_RU_ROWS, [], 0, "utf-8", ";"),
    ("utf-16-excel-unicode-text", EXCEL_RU.replace(";", "\t").encode("utf-16"), EXCEL_RU_ROWS, [], 0, "utf-16", "\t"),
    (
        "english-comma-quoted-multiline",
        b'name,phone,email,notes\n"Petrov, Ivan","+7 916 123-45-67; 8 495 123-45-67",,"line one\nline two"\n'
        b"Olga,,olga@example.com,\n",
        [row(2, "Petrov, Ivan", ["+79161234567", "+74951234567"], notes="line one\nline two"),
         row(4, "Olga", emails=["olga@example.com"])],
        [], 0, "utf-8", ",",
    ),
    (
        "tab-delimited-case-insensitive-headers",
        "Клиент\tТЕЛЕФОНЫ\tПочта\nАнна Кузнецова\t+380 44 123 4567\t\n".encode(),
        [row(2, "Анна Кузнецова", ["+380441234567"], timezone="Europe/Kyiv")], [], 0, "utf-8", "\t",
    ),
    (
        "several-phones-and-emails-in-a-cell",
        "имя,телефон,email\nИван,8 916 123-45-67 / 8 495 123-45-67,a@b.ru; c@d.ru\n".encode(),
        [row(2, "Иван", ["+79161234567", "+74951234567"], ["a@b.ru", "c@d.ru"])], [], 0, "utf-8", ",",
    ),
    (
        "extension-is-kept-in-notes",
        "ФИО;Телефон\nОфис;+7 495 123-45-67, доб. 12\n".encode(),
        [row(2, "Офис", ["+74951234567"], notes="+74951234567 доб. 12")], [], 0, "utf-8", ";",
    ),
    (
        "separate-surname-name-patronymic-columns",
        "Фамилия;Имя;Отчество;Телефон 1;Телефон 2\nПетрова;Мария;Ивановна;89161234567;89265550101\n".encode(),
        [row(2, "Петрова Мария Ивановна", ["+79161234567", "+79265550101"])], [], 0, "utf-8", ";",
    ),
    (
        "timezone-from-landline-else-default",
        "name;phone;tz\nA;8 343 212-34-56;\nB;8 916 123-45-67;\n"
        "C;8 916 123-45-68;msk+7\nD;8 916 123-45-69;europe/samara\n".encode(),
        [row(2, "A", ["+73432123456"], timezone="Asia/Yekaterinburg"), row(3, "B", ["+79161234567"]),
         row(4, "C", ["+79161234568"], timezone="Asia/Vladivostok"),
         row(5, "D", ["+79161234569"], timezone="Europe/Samara")],
        [], 0, "utf-8", ";",
    ),
    (
        "rejections",
        "ФИО;Телефон;Почта;Дата рождения;Часовой пояс\n"
        ";89161234567;;;\n"  # 2 missing_name
        "Без контактов;;;;\n"  # 3 no_contact
        "Один плохой;89161234567, 12-34;;;\n"  # 4 bad_phone: never drop the good one silently
        "Плохая почта;;ivan@@mail;;\n"  # 5 bad_email
        "Плохая дата;89161234500;;31.02.1990;\n"  # 6 bad_birthday
        "Плохой пояс;89161234501;;;Moscow\n"  # 7 bad_timezone
        "Внутренний;101;;;\n"  # 8 bad_phone: an extension is not a client's phone
        "Excel;7,91612E+10;;;\n"  # 9 bad_phone: Excel rounded it
        "Хороший;89161234502;;;\n".encode(),
        [row(10, "Хороший", ["+79161234502"])],
        [(2, "missing_name"), (3, "no_contact"), (4, "bad_phone"), (5, "bad_email"), (6, "bad_birthday"),
         (7, "bad_timezone"), (8, "bad_phone"), (9, "bad_phone")],
        0, "utf-8", ";",
    ),
    (
        "merge-rows-sharing-phone-or-email",
        "ФИО;Телефон;Email;Теги;Город\n"
        "Иван Петров;89161234567;;VIP;\n"
        "Иван;+7 916 123 45 67;ivan@mail.ru;опт;Москва\n"  # same phone -> merged into line 2
        ";84951234567;IVAN@mail.ru;vip;\n"  # no name, same email (any case) -> merged, tag unioned case-insensitively
        "Ольга;89265550101;;;\n".encode(),
        [row(2, "Иван Петров", ["+79161234567", "+74951234567"], ["ivan@mail.ru"], tags=("VIP", "опт"), city="Москва"),
         row(5, "Ольга", ["+79265550101"])],
        [], 2, "utf-8", ";",
    ),
    (
        "blank-lines-header-not-first-excel-floats",
        "\n\nname,phone,birthday\n\n,,\nИван,79161234567.0,1985-02-01 00:00:00\n".encode(),
        [row(6, "Иван", ["+79161234567"], birthday=date(1985, 2, 1))], [], 0, "utf-8", ",",
    ),
    ("header-only", "ФИО;Телефон\r\n".encode("cp1251"), [], [], 0, "cp1251", ";"),
    (
        "unknown-columns-ignored-and-short-rows",
        "ID;ФИО;Менеджер;Телефон\n17;Иван\n18;Ольга;Маша;89265550101;лишнее\n".encode(),
        [row(3, "Ольга", ["+79265550101"])], [(2, "no_contact")], 0, "utf-8", ";",
    ),
]


@pytest.mark.parametrize(("data", "rows", "rejected", "merged", "encoding", "delimiter"),
                         [case[1:] for case in FILES], ids=[case[0] for case in FILES])
def test_parse_files(data, rows, rejected, merged, encoding, delimiter):
    plan = parse_clients_csv(data)
    # the numbers as written are checked on their own below
    assert [dataclasses.replace(r, phones_entered=()) for r in plan.rows] == rows
    assert all(len(r.phones_entered) == len(r.phones) for r in plan.rows)
    assert [(r.line, r.reason) for r in plan.rejected] == rejected
    assert (plan.merged_in_file, plan.encoding, plan.delimiter) == (merged, encoding, delimiter)


def test_rejected_rows_carry_the_value_and_the_raw_cells():
    data = "ФИО;Телефон;Почта\nИван;89161234567, абв;\nОля;;oля@@\n;89161234567;\n".encode("cp1251")
    bad_phone, bad_email, no_name = parse_clients_csv(data).rejected
    assert "'абв'" in bad_phone.message
    assert "89161234567" in no_name.message
    assert bad_phone.raw == {"ФИО": "Иван", "Телефон": "89161234567, абв", "Почта": ""}
    assert "oля@@" in bad_email.message


def test_region_and_default_timezone_are_used():
    data = "name,phone\nОксана,067 123 45 67\n".encode()
    (client,) = parse_clients_csv(data, region="UA", default_timezone="Europe/Kyiv").rows
    assert (client.phones, client.timezone) == (("+380671234567",), "Europe/Kyiv")
    with pytest.raises(ValueError):
        parse_clients_csv(data, default_timezone="Moscow")


# (id, file bytes, max_rows, error code)
BROKEN = [
    ("empty", b"", 10, "empty_file"),
    ("whitespace-only", b"  \r\n\r\n\t", 10, "empty_file"),
    ("bom-only", b"\xef\xbb\xbf", 10, "empty_file"),
    ("binary-junk", bytes(range(256)) * 4, 10, "not_text"),
    ("nul-bytes", b"name,phone\n\x00\x00\x00", 10, "not_text"),
    ("xlsx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50, 10, "not_text"),
    ("old-xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, 10, "not_text"),
    ("undecodable-cp1251", b"name,phone\n\x98\x98", 10, "not_text"),
    ("data-without-header", "Иван Петров;89161234567\n".encode(), 10, "no_header"),
    ("no-name-column", "Телефон;Email\n89161234567;a@b.ru\n".encode(), 10, "missing_columns"),
    ("no-contact-column", "ФИО;Город\nИван;Москва\n".encode(), 10, "missing_columns"),
    ("too-many-rows", ("name,phone\n" + "".join(f"N{i},8916123450{i}\n" for i in range(4))).encode(), 3,
     "too_many_rows"),
    ("unclosed-quote-over-field-limit", b'name,phone\n"x' + b"a" * 200_000, 10, "malformed"),
]

# (id, file text, line the message must name)
BROKEN_QUOTES = [
    ("unclosed-quote-eats-the-rest", 'ФИО;Телефон\nИван;89161234567\n"Мария;89265550101\nОльга;89031112233\n', 3),
    ("text-after-closing-quote", 'name,phone\nIvan,89161234567\n"Maria" Petrova,89265550101\n', 3),
    ("stray-quote-closed-rows-later",
     'ФИО;Телефон;Город\nИван;89161234567;"Москва\nМария;89265550101;Тула\nОльга;89031112233;Тула"\n', 2),
]


@pytest.mark.parametrize(("text", "line"), [c[1:] for c in BROKEN_QUOTES], ids=[c[0] for c in BROKEN_QUOTES])
def test_a_broken_quote_rejects_the_whole_file_and_names_the_line(text, line):
    with pytest.raises(CsvFormatError) as info:
        parse_clients_csv(text.encode())
    assert info.value.code == "malformed"
    assert f"line {line}" in str(info.value)


def test_quotes_that_are_not_broken_still_read():
    data = ('ФИО;Телефон;Заметки\nИван "Ваня" Петров;89161234567;"звонить; после 18\nи не в выходные"\n'
            '"Мария ""Маша""";89265550101;\n').encode()
    plan = parse_clients_csv(data)
    assert [(r.line, r.name, r.notes) for r in plan.rows] == [
        (2, 'Иван "Ваня" Петров', "звонить; после 18\nи не в выходные"), (4, 'Мария "Маша"', None)]
    # a note over several lines whose lines hold delimiters, but no row's contacts
    note = "call after 6, ask for Ivan, or Maria\nsecond line, more, commas"
    (client,) = parse_clients_csv(f'name,phone,notes\nIvan,89161234567,"{note}"\n'.encode()).rows
    assert client.notes == note


# (id, file text, clients as (line, name, phones), merges, conflicts)
SHARED_CONTACTS = [
    ("same-person-merged", "ФИО;Телефон\nИван Петров;89161234567\nпетров иван;+7 916 123-45-67\n",
     [(2, "Иван Петров", ("+79161234567",))], [MergedRow(3, 2, "+79161234567")], []),
    ("initial-and-shorter-name-agree", "ФИО;Телефон\nОльга Смирнова;89265550101\nОльга С.;89265550101\n"
     "Ольга;89265550101, 84951234567\n",
     [(2, "Ольга Смирнова", ("+79265550101", "+74951234567"))],
     [MergedRow(3, 2, "+79265550101"), MergedRow(4, 2, "+79265550101")], []),
    ("row-without-name-merged", "ФИО;Телефон;Email\nИван;89161234567;\n;89161234567;ivan@mail.ru\n",
     [(2, "Иван", ("+79161234567",))], [MergedRow(3, 2, "+79161234567")], []),
    ("two-people-one-landline-kept-apart", "ФИО;Телефон\nИван Петров;84951234567\nМария Петрова;8 495 123-45-67\n",
     [(2, "Иван Петров", ("+74951234567",)), (3, "Мария Петрова", ("+74951234567",))], [],
     [NameConflict(3, 2, "+74951234567", "Мария Петрова", "Иван Петров")]),
    ("shared-email-conflict-then-merge-into-the-agreeing-one",
     "ФИО;Email\nИван;family@mail.ru\nМария;FAMILY@mail.ru\nМария Ивановна;family@mail.ru\n",
     [(2, "Иван", ()), (3, "Мария", ())], [MergedRow(4, 3, "family@mail.ru")],
     [NameConflict(3, 2, "family@mail.ru", "Мария", "Иван")]),
]


@pytest.mark.parametrize(("text", "clients", "merges", "conflicts"), [c[1:] for c in SHARED_CONTACTS],
                         ids=[c[0] for c in SHARED_CONTACTS])
def test_rows_sharing_a_contact_merge_only_when_the_names_agree(text, clients, merges, conflicts):
    plan = parse_clients_csv(text.encode())
    assert [(r.line, r.name, r.phones) for r in plan.rows] == clients
    assert (plan.merges, plan.conflicts, plan.rejected) == (merges, conflicts, [])
    assert plan.merged_in_file == len(merges)


@pytest.mark.parametrize(("a", "b", "agree"), [
    ("Иван Петров", "Петров Иван", True), ("Иван", "Иван Петров", True), ("Ольга С.", "Ольга Смирнова", True),
    ("Пётр", "ПЕТР", True), ("И. Петров", "Иван Петров", True), ("Иван", "Мария", False),
    ("Иван Петров", "Иван Сидоров", False), ("Иван Иван", "Иван", True), ("Иван", "Иван Иван", True),
    ("Иван Иван", "Иван Петров", False), ("!!!", "Иван", False),
])
def test_names_agree(a, b, agree):
    assert names_agree(a, b) is agree
    assert names_agree(b, a) is agree


@pytest.mark.parametrize(("cell", "entered", "e164"), [
    ("8 916 123-45-67", ("8 916 123-45-67",), ("+79161234567",)),
    ("+7 (916) 123-45-67;  8  495 123 45 67", ("+7 (916) 123-45-67", "8 495 123 45 67"),
     ("+79161234567", "+74951234567")),
    ("+7 495 123-45-67, доб. 12", ("+7 495 123-45-67 доб. 12",), ("+74951234567",)),
    ("79161234567.0", ("79161234567",), ("+79161234567",)),
])
def test_numbers_are_kept_as_entered_beside_e164(cell, entered, e164):
    (client,) = parse_clients_csv(f'ФИО;Телефон\nИван;"{cell}"\n'.encode()).rows
    assert (client.phones_entered, client.phones) == (entered, e164)


@pytest.mark.parametrize(("data", "max_rows", "code"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_files(data, max_rows, code):
    with pytest.raises(CsvFormatError) as info:
        parse_clients_csv(data, max_rows=max_rows)
    assert info.value.code == code
    assert str(info.value)


def test_a_stray_control_character_is_a_typo_not_binary_data():
    (client,) = parse_clients_csv("ФИО;Телефон\nИван\x0bПетров;89161234567\n".encode()).rows
    assert client.name == "Иван Петров"


def test_max_rows_is_inclusive():
    data = ("name,phone\n" + "".join(f"N{i},8916123450{i}\n" for i in range(3))).encode()
    assert len(parse_clients_csv(data, max_rows=3).rows) == 3


# deadline=None: the first example loads phonenumbers' metadata and the zone list lazily.
@given(st.binary(max_size=400))
@example(b"name,phone\n\xff\xfe")
@example(b"\xff\xfeX")
@example(b'name;phone\n"')
@example("ФИО,Телефон\nИван,8916\n".encode("cp1251"))
@settings(max_examples=400, deadline=None)
def test_arbitrary_bytes_parse_or_raise_csv_format_error(data):
    try:
        plan = parse_clients_csv(data)
    except CsvFormatError as exc:
        assert exc.code in CsvFormatError.CODES
    else:
        assert all(r.phones or r.emails for r in plan.rows)


printable_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)


@given(st.lists(st.one_of(printable_text, st.sampled_from(["89161234567", "a@b.ru", "01.02.1985", "МСК+1"])),
                min_size=1, max_size=6))
@settings(deadline=None)
def test_arbitrary_cells_under_a_valid_header_never_crash(cells):
    out = io.StringIO()
    header = ["ФИО", "Телефон", "Email", "Дата рождения", "Часовой пояс", "Теги"]
    csv.writer(out, delimiter=";").writerows([header, cells])
    plan = parse_clients_csv(out.getvalue().encode())
    assert len(plan.rows) + len(plan.rejected) <= 1


cyrillic_names = st.lists(
    st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ", min_size=1, max_size=12),
    min_size=1, max_size=3,
).map(" ".join)


@given(
    st.lists(cyrillic_names, min_size=1, max_size=8),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
    st.sampled_from([",", ";", "\t"]),
)
@settings(deadline=None)
def test_round_trip_any_encoding_and_delimiter(names, encoding, delimiter):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["ФИО", "Телефон"])
    for i, name in enumerate(names):
        writer.writerow([name, f"8 916 {i:03d}-45-67"])
    plan = parse_clients_csv(out.getvalue().encode(encoding))
    assert [(r.name, r.phones) for r in plan.rows] == [(n, (f"+7916{i:03d}4567",)) for i, n in enumerate(names)]
    assert (plan.encoding, plan.delimiter) == (encoding, delimiter)


@given(cyrillic_names, cyrillic_names)
@settings(deadline=None)
def test_names_agree_is_symmetric_and_reflexive(a, b):
    assert names_agree(a, b) is names_agree(b, a)
    assert names_agree(a, a) and names_agree(a, a.upper())
    assert names_agree(a, f"{a} {b}")  # a longer name that holds it
