"""CSV import of clients and leads: file bytes in, an import plan out.  Pure.

The plan says what *would* be imported; a service shows it to the user and
stores it.  Problems with the whole file raise :class:`CsvFormatError` and
nothing is imported.  Problems with one row reject that row only, with a
machine code and a message quoting the value, so nothing is dropped silently.

Files come from Excel as often as from other CRMs, so the parser accepts
UTF-8 (with or without BOM), UTF-16 with BOM ("Unicode text" in Excel) and
cp1251 (Excel's "CSV" on Russian Windows); ``,`` ``;`` or tab delimiters; and
column names in English or Russian (see ``COLUMN_ALIASES``).

Quoting is read strictly: a broken quote rejects the whole file, naming the line
where the quoted cell starts, rather than letting one cell swallow the rows after it.
Two rows sharing a phone or e-mail are one person only when their names agree
(or one row has no name); otherwise both are kept and the clash is reported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from zoneinfo import available_timezones

from callcenter.domain.phones import InvalidPhone, PhoneNumber, guess_timezone, normalise_phone

__all__ = ["COLUMN_ALIASES", "ClientRow", "CsvFormatError", "CsvImportPlan", "MergedRow", "NameConflict",
           "RejectedRow", "names_agree", "parse_clients_csv"]

#: Field -> header names that mean it (compared case-insensitively, "ё" as "е",
#: ignoring a trailing number so "Телефон 2" is another phone column).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "fullname", "client", "client name", "customer", "first name",
             "фио", "ф.и.о.", "имя", "клиент", "имя клиента", "покупатель", "контактное лицо"),
    "surname": ("surname", "last name", "фамилия"),
    "patronymic": ("patronymic", "middle name", "отчество"),
    "phone": ("phone", "phones", "telephone", "tel", "tel.", "mobile", "phone number",
              "телефон", "телефоны", "тел", "тел.", "мобильный", "мобильный телефон", "номер телефона"),
    "email": ("email", "e-mail", "emails", "e-mails", "mail", "email address",
              "почта", "эл. почта", "электронная почта", "e-mail адрес"),
    "company": ("company", "organisation", "organization", "компания", "организация", "фирма"),
    "city": ("city", "town", "город", "населенный пункт"),
    "timezone": ("timezone", "time zone", "tz", "часовой пояс"),
    "tags": ("tags", "tag", "labels", "теги", "тег", "метки", "метка"),
    "notes": ("notes", "note", "comment", "comments", "заметки", "заметка", "комментарий", "комментарии",
              "примечание", "примечания"),
    "birthday": ("birthday", "birth date", "date of birth", "дата рождения", "день рождения"),
}
_FIELD_OF_HEADER = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
DELIMITERS = (",", ";", "\t")

# Russian people and documents give time zones as offsets from Moscow.  Russia
# has had no daylight saving time since 2014, so each offset is one real zone.
_MSK_OFFSETS = {-1: "Europe/Kaliningrad", 0: "Europe/Moscow", 1: "Europe/Samara", 2: "Asia/Yekaterinburg",
                3: "Asia/Omsk", 4: "Asia/Krasnoyarsk", 5: "Asia/Irkutsk", 6: "Asia/Yakutsk",
                7: "Asia/Vladivostok", 8: "Asia/Magadan", 9: "Asia/Kamchatka"}
_MSK = re.compile(r"^(?:мск|msk)\s*(?:([+-])\s*(\d{1,2}))?$", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"[,;/\n]")
_EXTENSION_PIECE = re.compile(r"^\s*(?:доб|ext|x|вн|внутр|доп|дод|#)", re.IGNORECASE)
# Excel shows long numbers in scientific notation and may save them that way:
# the digits are gone and only the user can bring them back.
_EXCEL_SCIENTIFIC = re.compile(r"^\d[.,]\d+e\+\d+$", re.IGNORECASE)
_EXCEL_FLOAT = re.compile(r"^\+?\d+\.0$")
_EMAIL = re.compile(r"^[^@\s,;<>\"()\[\]]+@[^@\s,;<>\"()\[\]]+\.[^@\s,;<>\"()\[\]]+$")
_CONTROLS = {c: " " for c in [*range(32), *range(127, 160)] if chr(c) not in "\t\r\n"}
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_BINARY_MAGIC = {b"PK\x03\x04": "an Excel workbook (.xlsx) or another zip file",
                 b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)", b"%PDF": "a PDF document"}


class CsvFormatError(ValueError):
    """The file as a whole cannot be imported; ``code`` is one of ``CODES``
    (``"malformed"``: broken quoting, e.g. an unclosed quote eating the file)."""

    CODES = ("empty_file", "not_text", "no_header", "missing_columns", "too_many_rows", "malformed")

    def __init__(self, code: str, message: str) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown CsvFormatError code {code!r}")
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class ClientRow:
    """One client to import.  ``line`` is where its first row starts in the
    file (header = line 1 unless blank lines precede it); phones are E.164 and
    ``phones_entered`` the same numbers as the file wrote them (one for one);
    emails lower-case; ``timezone`` is always a valid IANA name."""

    line: int
    name: str
    company: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    city: str | None
    timezone: str
    tags: tuple[str, ...]
    notes: str | None
    birthday: date | None
    phones_entered: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergedRow:
    """Row ``line`` was folded into the client of row ``into_line`` (same phone or e-mail,
    names agreeing or ``line`` without a name)."""

    line: int
    into_line: int
    shared: str


@dataclass(frozen=True)
class NameConflict:
    """Rows ``line`` and ``other_line`` share ``shared`` (a phone in E.164, or an e-mail) but
    name different people: both are imported as separate clients, and this says so."""

    line: int
    other_line: int
    shared: str
    name: str
    other_name: str


@dataclass(frozen=True)
class RejectedRow:
    """A row not imported: ``reason`` is a machine code (``missing_name``,
    ``no_contact``, ``bad_phone``, ``bad_email``, ``bad_birthday``,
    ``bad_timezone``), ``message`` quotes the offending value, ``raw`` maps the
    file's header names to the row's cells."""

    line: int
    reason: str
    message: str
    raw: dict[str, str]


@dataclass
class CsvImportPlan:
    """``merges`` lists rows folded into an earlier row that shares a phone or e-mail
    (``merged_in_file`` counts them); ``conflicts`` rows that share one with an earlier
    row but name someone else; ``encoding`` and ``delimiter`` say how the file was read."""

    rows: list[ClientRow]
    rejected: list[RejectedRow]
    merges: list[MergedRow] = field(default_factory=list)
    conflicts: list[NameConflict] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def merged_in_file(self) -> int:
        return len(self.merges)


class _Rejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class _Draft:
    line: int
    name: str
    company: str | None
    phones: list[str]
    emails: list[str]
    city: str | None
    timezone: str | None  # only if the file gave one
    tags: list[str]
    notes: list[str]
    birthday: date | None
    keys: list[str] = field(default_factory=list)
    entered: dict[str, str] = field(default_factory=dict)  # E.164 -> as written


def parse_clients_csv(
    data: bytes, *, region: str = "RU", default_timezone: str = "Europe/Moscow", max_rows: int = 100_000
) -> CsvImportPlan:
    """Read a clients CSV file into an import plan.

    Required columns: a name (or surname) and a phone or e-mail column.  Phone
    and e-mail cells may hold several values separated by ``,`` ``;`` or
    ``/``.  A row with any bad value is rejected whole.  A row sharing a phone
    or e-mail with earlier rows is merged into the earliest of them whose name
    agrees (:func:`names_agree`), or into the earliest if the row has no name:
    phones, e-mails and tags are unioned, notes appended, other fields kept from
    the earlier row and filled in where it had none.  When no earlier row's name
    agrees, the row stays a client of its own and a :class:`NameConflict` names
    both lines.  A row without a name that shares nothing is rejected
    (``missing_name``).  Blank rows are skipped.  Time zone: the
    file's (IANA name in any case, or "МСК+N"), else guessed from the first
    phone, else ``default_timezone``.  Raises :class:`CsvFormatError` if the
    file is unusable, ``ValueError`` if ``default_timezone`` is not a zone.
    """
    if _zone(default_timezone) != default_timezone:
        raise ValueError(f"default_timezone {default_timezone!r} is not an IANA time zone name")
    text, encoding = _decode(data)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    plan = CsvImportPlan(rows=[], rejected=[], encoding=encoding, delimiter=delimiter)
    drafts: list[_Draft] = []
    owners_of_key: dict[str, list[int]] = {}
    header: list[str] | None = None
    columns: list[tuple[int, str]] = []
    seen_rows = 0
    last_line = 0
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header, columns = _read_header(cells)
                continue
            if last_line > line:
                _check_no_swallowed_rows(line, cells, delimiter, len(header))
            seen_rows += 1
            if seen_rows > max_rows:
                raise CsvFormatError("too_many_rows", f"the file has more than {max_rows} rows; split it into parts")
            try:
                draft = _parse_row(line, columns, cells, region)
                owners = sorted({i for key in draft.keys for i in owners_of_key.get(key, ())})
                if not draft.name and not owners:
                    raise _Rejected("missing_name", _no_name_message(draft))
            except _Rejected as exc:
                plan.rejected.append(RejectedRow(line, exc.reason, str(exc), _raw_row(header, cells)))
                continue
            into = next((i for i in owners if not draft.name or names_agree(drafts[i].name, draft.name)), None)
            if into is not None:
                plan.merges.append(MergedRow(line, drafts[into].line, _shared(drafts[into], draft)))
                _merge(drafts[into], draft)
            else:
                for i in owners:
                    plan.conflicts.append(NameConflict(line, drafts[i].line, _shared(drafts[i], draft),
                                                       draft.name, drafts[i].name))
                drafts.append(draft)
                into = len(drafts) - 1
            for key in draft.keys:
                if into not in owners_of_key.setdefault(key, []):
                    owners_of_key[key].append(into)
    except csv.Error as exc:
        raise CsvFormatError(
            "malformed", f"line {last_line + 1}: broken quoting ({exc}); a quote opened on line "
                         f"{last_line + 1} is never closed, or text follows a closing quote") from None
    if header is None:
        raise CsvFormatError("empty_file", "the file has no content")
    plan.rows = [_freeze(draft, default_timezone) for draft in drafts]
    return plan


def _check_no_swallowed_rows(line: int, cells: list[str], delimiter: str, width: int) -> None:
    """A quoted cell running over several lines is fine for notes, but one whose inner lines
    hold a whole row's worth of delimiters is a stray quote that swallowed the rows after it."""
    if width < 2:
        return
    for cell in cells:
        for inner in cell.splitlines()[1:]:
            if inner.count(delimiter) >= width - 1 and any(
                    _looks_like_contact(piece) for piece in inner.split(delimiter)):
                raise CsvFormatError(
                    "malformed", f"line {line}: a quoted cell runs over the next lines and takes in "
                                 f"what look like rows ({inner.strip()[:40]!r}); check the quotes on line {line}")


def _looks_like_contact(piece: str) -> bool:
    """A whole cell that is a phone number or an e-mail address (words around it: a note)."""
    piece = piece.strip().strip('"')
    if _EMAIL.match(piece):
        return True
    if not re.fullmatch(r"[+\d][\d\s()\-.]{5,}", piece):
        return False
    try:
        return not normalise_phone(piece).is_internal
    except InvalidPhone:
        return False


_NAME_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _name_words(name: str) -> list[str]:
    return _NAME_WORD.findall(name.casefold().replace("ё", "е"))


def names_agree(a: str, b: str) -> bool:
    """Whether two names can be one person: every word of the shorter appears in the longer
    (any order, any case, "ё" as "е"), an initial standing for any word it begins.  "Иван" and
    "Петров Иван" agree, "Ольга С." and "Ольга Смирнова" too; "Иван" and "Мария" do not."""
    wa, wb = _name_words(a), _name_words(b)
    if not wa or not wb:
        return False
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    pool = list(long)
    for word in sorted(short, key=len, reverse=True):  # whole words claim their match first
        match = next((w for w in pool if w == word), None) or next(
            (w for w in pool if (len(word) == 1 and w.startswith(word)) or (len(w) == 1 and word.startswith(w))),
            None)
        if match is None:
            return False
        pool.remove(match)
    return True


def _shared(a: _Draft, b: _Draft) -> str:
    key = next(k for k in b.keys if k in a.keys)
    return key.removeprefix("email:")


def _no_name_message(draft: _Draft) -> str:
    contacts = ", ".join([draft.entered.get(p, p) for p in draft.phones] + draft.emails)
    return f"the row with {contacts!r} has no name" if contacts else "the row has no name"


def _decode(data: bytes) -> tuple[str, str]:
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise CsvFormatError("empty_file", "the file is empty")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise CsvFormatError("not_text", f"the file is {what}, not CSV; save it as CSV (UTF-8) and try again")
    encodings = [name for bom, name in _BOMS if data.startswith(bom)][:1] or ["utf-8", "cp1251"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CsvFormatError("not_text", "the file is not text in UTF-8 or Windows-1251")
    text = text.lstrip("\ufeff").rstrip("\x1a")  # \x1a: DOS end-of-file marker
    controls = sum(1 for ch in text if ord(ch) in _CONTROLS)
    # A stray control character in a cell is a typo; many, or any NUL, mean binary data.
    if "\x00" in text or controls > max(2, len(text) // 100):
        raise CsvFormatError("not_text", "the file contains binary data, not text")
    text = text.translate(_CONTROLS) if controls else text
    if not text.strip():
        raise CsvFormatError("empty_file", "the file has no content")
    return text, encoding


def _sniff_delimiter(text: str) -> str:
    """The candidate occurring most often outside quotes on the first
    non-blank line (the header: column names rarely contain delimiters)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier, "," first


def _header_key(cell: str) -> str:
    key = " ".join(cell.replace("\ufeff", "").strip().strip("\"'").lower().replace("ё", "е").replace("_", " ").split())
    key = key.rstrip(":*").strip()
    return re.sub(r"\s*#?\s*\d+$", "", key) if key not in _FIELD_OF_HEADER else key


def _read_header(cells: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    header = [cell.strip() for cell in cells]
    keys = [_header_key(cell) for cell in header]
    columns = [(i, _FIELD_OF_HEADER[key]) for i, key in enumerate(keys) if key in _FIELD_OF_HEADER]
    found = {name for _, name in columns}
    if not found:
        raise CsvFormatError("no_header", f"the first line {', '.join(repr(c) for c in header[:5])} is not a header: "
                                          "name the columns, e.g. ФИО;Телефон;Email")
    missing = [what for fields, what in (({"name", "surname"}, "name (ФИО)"),
                                         ({"phone", "email"}, "phone or email (телефон или почта)"))
               if not found & fields]
    if missing:
        raise CsvFormatError("missing_columns", f"required columns are missing: {', '.join(missing)}")
    return header, columns


def _raw_row(header: list[str], cells: list[str]) -> dict[str, str]:
    raw: dict[str, str] = {}
    for i, cell in enumerate(cells):
        name = header[i] if i < len(header) and header[i] else f"column {i + 1}"
        while name in raw:
            name += "'"
        raw[name] = cell
    return raw


def _parse_row(line: int, columns: list[tuple[int, str]], cells: list[str], region: str) -> _Draft:
    values: dict[str, list[str]] = {}
    for index, name in columns:
        cell = cells[index].strip() if index < len(cells) else ""
        if cell:
            values.setdefault(name, []).append(cell)

    def one(name: str) -> str | None:
        return " ".join(values[name][0].split()) if name in values else None

    name_parts = values.get("surname", []) + values.get("name", []) + values.get("patronymic", [])
    full_name = " ".join(" ".join(name_parts).split())
    if not full_name and not values.get("phone") and not values.get("email"):
        raise _Rejected("missing_name", "the row has no name")
    notes = list(values.get("notes", []))
    phones: list[str] = []
    entered: dict[str, str] = {}
    for cell in values.get("phone", []):
        for piece in _split_phones(cell):
            phone = _parse_phone(piece, region)
            if phone.e164 not in phones:
                phones.append(phone.e164)
                # Excel's "79161234567.0" was never what anybody typed
                written = piece[:-2] if _EXCEL_FLOAT.match(piece) else piece
                entered[phone.e164] = " ".join(written.split())
            if phone.extension:
                notes.append(f"{phone.e164} доб. {phone.extension}")
    emails: list[str] = []
    for cell in values.get("email", []):
        for piece in re.split(r"[,;/\s]+", cell):
            if piece and (email := _parse_email(piece)) not in emails:
                emails.append(email)
    if not phones and not emails:
        raise _Rejected("no_contact", f"{full_name!r} has neither a phone nor an e-mail")
    given_zone = one("timezone")
    timezone = _zone(given_zone) if given_zone else None
    if given_zone and timezone is None:
        raise _Rejected("bad_timezone", f"{given_zone!r} is not a time zone; use e.g. Europe/Moscow or МСК+2")
    birthday = one("birthday")
    tags: list[str] = []
    for cell in values.get("tags", []):
        _union(tags, [t.strip() for t in re.split(r"[,;]", cell) if t.strip()])
    return _Draft(
        line=line, name=full_name, company=one("company"), phones=phones, emails=emails, city=one("city"),
        timezone=timezone, tags=tags, notes=notes, birthday=_parse_birthday(birthday) if birthday else None,
        keys=phones + ["email:" + e for e in emails], entered=entered,
    )


def _split_phones(cell: str) -> list[str]:
    pieces: list[str] = []
    for piece in _LIST_SPLIT.split(cell):
        if not piece.strip():
            continue
        if pieces and _EXTENSION_PIECE.match(piece):
            pieces[-1] += " " + piece  # "8 495 123-45-67, доб. 12" is one number
        else:
            pieces.append(piece.strip())
    return pieces


def _parse_phone(piece: str, region: str) -> PhoneNumber:
    if _EXCEL_SCIENTIFIC.match(piece.replace(" ", "")):
        raise _Rejected("bad_phone", f"{piece!r}: Excel turned the phone into a rounded number; "
                                     "format the column as text and export again")
    if _EXCEL_FLOAT.match(piece):
        piece = piece[:-2]
    try:
        phone = normalise_phone(piece, region)
    except InvalidPhone as exc:
        raise _Rejected("bad_phone", str(exc)) from None
    if phone.is_internal:
        raise _Rejected("bad_phone", f"{piece!r} is an internal extension, not a client's phone")
    return phone


def _parse_email(value: str) -> str:
    email = value.strip().removeprefix("mailto:").lower()
    local, _, domain = email.rpartition("@")
    if (not _EMAIL.match(email) or len(email) > 254 or ".." in email
            or domain.startswith((".", "-")) or domain.endswith((".", "-")) or local.startswith(".")):
        raise _Rejected("bad_email", f"{value!r} is not an e-mail address")
    return email


def _parse_birthday(value: str) -> date:
    text = re.sub(r"\s+0?0:00(:00)?$", "", value)  # Excel appends midnight to dates
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            parsed = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if parsed.year >= 1900:
            return parsed
    raise _Rejected("bad_birthday", f"{value!r} is not a birth date; use ДД.ММ.ГГГГ or YYYY-MM-DD")


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _zone(value: str) -> str | None:
    """The canonical IANA name for ``value`` (any case, or "МСК+N"), or None."""
    msk = _MSK.match(value.strip())
    if msk:
        offset = int(msk.group(2) or 0) * (-1 if msk.group(1) == "-" else 1)
        return _MSK_OFFSETS.get(offset)
    return _zones_by_lower_name().get(value.strip().lower())


def _union(into: list[str], items: list[str]) -> None:
    seen = {item.casefold() for item in into}
    for item in items:
        if item.casefold() not in seen:
            into.append(item)
            seen.add(item.casefold())


def _merge(into: _Draft, other: _Draft) -> None:
    for name in ("phones", "emails", "tags", "notes", "keys"):
        _union(getattr(into, name), getattr(other, name))
    for e164, written in other.entered.items():
        into.entered.setdefault(e164, written)
    for name in ("company", "city", "timezone", "birthday"):
        setattr(into, name, getattr(into, name) or getattr(other, name))


def _freeze(draft: _Draft, default_timezone: str) -> ClientRow:
    timezone = draft.timezone or default_timezone
    if not draft.timezone and draft.phones:
        timezone = guess_timezone(draft.phones[0], default_timezone)
    return ClientRow(
        line=draft.line, name=draft.name, company=draft.company, phones=tuple(draft.phones),
        emails=tuple(draft.emails), city=draft.city, timezone=timezone, tags=tuple(draft.tags),
        notes="\n".join(draft.notes) or None, birthday=draft.birthday,
        phones_entered=tuple(draft.entered.get(p, p) for p in draft.phones),
    )
