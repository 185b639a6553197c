"""The machine code of every field message the server writes, so that pages can say it in the
user's language. Pure.

A field error stays a sentence for people reading the API (``{"phones.0": "'abc' is not a
usable phone number: ..."}``); :func:`field_code` reads that sentence back into a code and the
values it quotes (``("bad_phone", {"value": "abc"})``), and the error's JSON carries both
(``details.field_codes``). The web catalogue has a text for each code (``field_error.<code>``),
which a test checks, and a test reads every field message in the code and checks it has a code
here, so a new message cannot go out untranslated unnoticed.
"""

from __future__ import annotations

import re
from typing import Mapping

_V = r"'(?P<value>.*)'"

#: (code, pattern): the first pattern that matches the whole message names its code; named
#: groups are the message's parameters.
FIELD_CODES: tuple[tuple[str, str], ...] = (
    ("required", r"is required|required|must be non-empty text|is required: \{.*\}"
                 r"|login and password are required"),
    ("required_up_to", r"is required \(up to (?P<limit>\d+) characters\)"),
    ("required_datetime", r"required: an ISO 8601 date-time with offset"),
    ("required_client", r"required: the client to call"),
    ("unknown_field", r"unknown field"),
    ("not_an_object", r"must be a JSON object"),
    ("no_body", r"this endpoint takes no body"),
    ("not_boolean", r"(?:must be )?true or false"),
    ("not_text", r"must be text(?: or null)?"),
    ("too_long", r"is longer than (?P<limit>\d+) characters|(?:text of )?up to (?P<limit2>\d+)"
                 r" characters|at most (?P<limit3>\d+) characters"),
    ("text_length", r"(?:a note|text) of 1 to (?P<limit>\d+) characters"),
    ("too_short", r"at least (?P<limit>\d+) characters"),
    ("password_is_login", r"must not be the login"),
    ("login_too_long", r"a login has at most (?P<limit>\d+) characters and a password at most "
                       r"(?P<limit2>\d+)"),
    ("bad_login", r"1-64 letters, digits, _ \. @ -"),
    ("bad_slug", r"lower-case letters, digits, - and _ \(up to 64\)"),
    ("bad_code", r"(?:a kind of )?1 to 32 of a-z, 0-9, _"),
    ("bad_extension", r"a softphone endpoint such as PJSIP/101"),
    ("not_set", r"not set"),
    ("one_of", r"(?:must be )?one of:? (?P<choices>.+)|unknown role " + _V
               + r"; one of: (?P<choices2>.+)"),
    ("not_an_id", r"must be a user id or null|an id or null|a call id or null|a client id"
                  r"|must be a positive integer id"),
    ("no_such_user", r"no (?:active )?user with id (?P<id>\d+)"),
    ("no_such_shop", r"no shop (?P<id>.+)"),
    ("no_such_call", r"no call with id (?P<id>\d+)"),
    ("no_such_order", r"no such order of this client"),
    ("assign_only_self", r"operators may assign clients only to themselves"),
    ("assign_only_self_or_anyone", r"operators may give tasks only to themselves or anyone"),
    ("bad_timezone", _V + r" is not an IANA time zone such as Europe/Moscow"),
    ("bad_date", _V + r" is not a date \(YYYY-MM-DD\)"),
    ("out_of_range", _V + r" is out of range|out of range"),
    ("bad_phone", _V + r" is not a usable phone number: .*|" + _V.replace("value", "value2")
                  + r" is not a phone number"),
    ("internal_extension", _V + r" is an internal extension, not a client's phone"),
    ("bad_email", _V + r" is not an e-mail address"),
    ("bad_tags", r"must be a list of text tags"),
    ("too_many_tags", r"at most (?P<limit>\d+) tags of up to 64 characters"),
    ("bad_phone_entry", r"must be (?:a list of )?\{number, label\}"),
    ("too_many_phones", r"at most (?P<limit>\d+) phones"),
    ("bad_email_entry", r"must be (?:a list of )?\{email, label\}"),
    ("phone_or_email_required", r"a phone or an e-mail is required"),
    ("bad_amount", r"must be a number such as 1234\.50|" + _V + r" is not an amount"),
    ("bad_currency", r"must be an ISO currency code such as RUB"),
    ("too_many_items", r"must be a list of at most (?P<limit>\d+) items"),
    ("item_needs_name", r"item (?P<index>\d+) needs at least a name"),
    ("bad_item_qty", r"item (?P<index>\d+): qty must be a positive number up to (?P<limit>\d+)"),
    ("bad_item_sku", r"item (?P<index>\d+): sku must be text of up to (?P<limit>\d+) characters"),
    ("item_name_too_long", r"item (?P<index>\d+): the name is longer than (?P<limit>\d+) "
                           r"characters"),
    ("bad_datetime", r"must be an ISO 8601 date-time|" + _V + r" is not an ISO 8601 date-time"
                     r"|an ISO 8601 date-time with offset, e\.g\. .*"),
    ("needs_offset", r"needs its UTC offset \(Z or \+03:00\): whose time is it\?"),
    ("in_past", r"is in the past"),
    ("number_range", r"a whole number from (?P<min>-?\d+) to (?P<max>-?\d+)"),
    ("outcome_flags", r"at most one of final, failed_attempt, archives, requires_next_at: each "
                      r"says what becomes of the task"),
    ("bad_hotkey", r"a key of up to (?P<limit>\d+) characters, or null"),
    ("needs_next_at", r"this outcome needs the time to call back"),
    ("unknown_outcome", _V + r" is not an outcome \(see GET /api/outcomes\)"),
    ("unknown_task_kind", _V + r" is not a task kind"),
    ("invalid", r"is invalid"),
    # mailings
    ("unknown_placeholder", _V + r" is not a known placeholder"),
    ("no_such_segment", r"no segment (?P<id>\d+)"),
    # documents: a shop's requisites
    ("bad_inn", r"not a valid INN: 10 or 12 digits with right check digits"),
    ("bad_kpp", r"not a valid KPP: 9 characters"),
    ("bad_ogrn", r"not a valid OGRN: 13 or 15 digits with a right check digit"),
    ("bad_bik", r"not a valid BIK: 9 digits"),
    ("bad_account", r"not a valid account: 20 digits"),
    ("account_key", r"the account does not match the BIK \(check key\)"),
    ("bad_email_plain", r"not a valid e-mail address"),
    ("bad_invoice_prefix", r"letters and digits only, up to 16"),
    # pipeline: order stages and moves
    ("bad_stage_code", r"must be a stage code such as (?P<choices>.+)"),
    ("unknown_stage", r"unknown stage " + _V + r"; one of (?P<choices>.*)"),
    ("bad_tracking", r"letters, digits, spaces and - _ / \. \(up to 64\)"),
    ("no_open_stage", r"at least one active open stage is needed"),
    ("bad_stage_slug", r"a slug: a-z first, then a-z, 0-9, _ or - \(up to 32\)"),
    ("bad_stage_roles", r"a non-empty list of (?P<choices>.+)"),
    ("null_or_one_of", r"must be null or one of (?P<choices>.+)"),
    ("bad_next_task", r'must be null or \{"title", "in_days"\}'),
    ("bad_days", r"a whole number of days, (?P<min>\d+) to (?P<max>\d+)"),
    ("used_twice", _V + r" is used twice"),
    ("bad_move", r'give \{"stage", "tracking_number"\?\}'),
)

_COMPILED = tuple((code, re.compile(pattern, re.DOTALL)) for code, pattern in FIELD_CODES)


def field_code(message: str) -> tuple[str, dict[str, str]] | None:
    """The code of a field message and the values it quotes, or None for a message no pattern
    knows (pages then show it as written)."""
    for code, pattern in _COMPILED:
        found = pattern.fullmatch(message)
        if found:
            params = {}
            for name, value in found.groupdict().items():
                if value is not None:
                    params[name.rstrip("0123456789")] = value
            return code, params
    return None


def field_codes(fields: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """``details.field_codes`` of a field error: ``{field: {"code", "params"}}`` for each
    message with a code."""
    out: dict[str, dict[str, object]] = {}
    for name, message in fields.items():
        known = field_code(str(message))
        if known:
            out[name] = {"code": known[0], "params": known[1]}
    return out


def all_codes() -> list[str]:
    return [code for code, _ in FIELD_CODES]
