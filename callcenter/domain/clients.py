"""Client data: validation of what a user or a shop sends, and field-level change lists. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.domain.phones import InvalidPhone, normalise_phone

EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_NAME = 300
MAX_TEXT = 20_000
MAX_PHONES = 20
MAX_TAGS = 50
#: Largest id of any stored row: ids are 32-bit integers in PostgreSQL.
MAX_ID = 2**31 - 1

CLIENT_FIELDS = (
    "name", "company", "notes", "timezone", "city", "region", "tags",
    "assigned_operator_id", "birthday", "do_not_call",
)


class FieldErrors(ValueError):
    """Several fields are invalid: ``fields`` maps a field path (``phones.0``) to a message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class PhoneInput:
    number: str
    e164: str
    extension: str | None
    label: str | None


@dataclass(frozen=True)
class EmailInput:
    email: str
    label: str | None


@dataclass
class ClientInput:
    """Validated client fields; ``values`` holds only the fields that were given."""

    values: dict[str, Any] = field(default_factory=dict)
    phones: list[PhoneInput] | None = None
    emails: list[EmailInput] | None = None


def casefold_name(name: str) -> str:
    return " ".join(name.casefold().split())


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise ValueError(f"{value!r} is not an e-mail address")
    return email


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be text")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"is longer than {limit} characters")
    return value or None


def validate_client(
    data: Mapping[str, Any], *, region: str, partial: bool
) -> ClientInput:
    """Check a client payload; raise FieldErrors listing every bad field at once.

    With ``partial`` (PATCH) only given fields are checked and the name may be absent.
    """
    if not isinstance(data, Mapping):
        raise FieldErrors({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    out = ClientInput()
    unknown = set(data) - set(CLIENT_FIELDS) - {"phones", "emails", "force"}
    for name in sorted(unknown):
        errors[name] = "unknown field"

    def take(name: str, check) -> None:
        if name not in data:
            return
        try:
            out.values[name] = check(data[name])
        except (ValueError, TypeError) as exc:
            errors[name] = str(exc)

    take("name", lambda v: _text(v, MAX_NAME))
    if not partial or "name" in data:
        if not out.values.get("name") and "name" not in errors:
            errors["name"] = "is required"
    take("company", lambda v: _text(v, MAX_NAME))
    take("notes", lambda v: _text(v, MAX_TEXT))
    take("city", lambda v: _text(v, 200))
    take("region", lambda v: _text(v, 200))
    take("timezone", _check_timezone)
    take("tags", _check_tags)
    take("assigned_operator_id", _check_optional_id)
    take("birthday", _check_birthday)
    take("do_not_call", _check_bool)
    if "force" in data and not isinstance(data["force"], bool):
        errors["force"] = "must be true or false"

    if "phones" in data:
        out.phones = _check_phones(data["phones"], region, errors)
    if "emails" in data:
        out.emails = _check_emails(data["emails"], errors)
    if not partial:
        out.values.setdefault("tags", [])
        out.values.setdefault("do_not_call", False)
    if errors:
        raise FieldErrors(errors)
    return out


def _check_timezone(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Moscow") from None
    return str(value)


def _check_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError("must be a list of text tags")
    tags = list(dict.fromkeys(t.strip() for t in value if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > 64 for t in tags):
        raise ValueError(f"at most {MAX_TAGS} tags of up to 64 characters")
    return tags


def _check_optional_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValueError("must be a user id or null")
    return value


def _check_birthday(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not 1900 <= day.year <= 2100:
        raise ValueError(f"{value!r} is out of range")
    return day


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _check_phones(value: Any, region: str, errors: dict[str, str]) -> list[PhoneInput]:
    if not isinstance(value, list):
        errors["phones"] = "must be a list of {number, label}"
        return []
    if len(value) > MAX_PHONES:
        errors["phones"] = f"at most {MAX_PHONES} phones"
        return []
    phones: list[PhoneInput] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"number": item}
        if not isinstance(item, Mapping) or not isinstance(item.get("number"), str):
            errors[f"phones.{i}"] = "must be {number, label}"
            continue
        try:
            phone = normalise_phone(item["number"], region)
        except InvalidPhone as exc:
            errors[f"phones.{i}"] = str(exc)
            continue
        if phone.e164 is None:
            errors[f"phones.{i}"] = f"{item['number']!r} is an internal extension, not a client's phone"
            continue
        if phone.e164 in seen:
            continue
        seen.add(phone.e164)
        label = item.get("label")
        phones.append(PhoneInput(item["number"].strip(), phone.e164, phone.extension,
                                 label if isinstance(label, str) and label else None))
    return phones


def _check_emails(value: Any, errors: dict[str, str]) -> list[EmailInput]:
    if not isinstance(value, list):
        errors["emails"] = "must be a list of {email, label}"
        return []
    emails: list[EmailInput] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"email": item}
        if not isinstance(item, Mapping) or not isinstance(item.get("email"), str):
            errors[f"emails.{i}"] = "must be {email, label}"
            continue
        try:
            email = normalise_email(item["email"])
        except ValueError as exc:
            errors[f"emails.{i}"] = str(exc)
            continue
        if email not in seen:
            seen.add(email)
            label = item.get("label")
            emails.append(EmailInput(email, label if isinstance(label, str) and label else None))
    return emails


def diff_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The (field, old, new) triples for fields in ``new`` whose value differs from ``old``."""
    return [(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]
