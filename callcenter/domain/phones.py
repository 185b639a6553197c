"""Phone numbers: normalise what people type to E.164 match keys.

Everything here is pure: no I/O beyond the metadata tables bundled with the
``phonenumbers`` library (Google's libphonenumber).  All country knowledge comes
from that library; this module only decides policy:

* **Acceptance is "possible", not "valid".**  A number is accepted when
  ``phonenumbers`` says it has a possible length for its country
  (``is_possible_number_with_reason`` returns ``IS_POSSIBLE``).  We do not
  require ``is_valid_number``: operators open new ranges faster than library
  releases ship, and refusing a real customer's number costs more than storing
  an odd one.  Impossible numbers (wrong length, unknown country code, a local
  number without its area code) are rejected.  Validity is still used to choose
  between two readings of the same digits (see below).
* **Digits without "+"** are read as a national number of ``region`` first.  If
  that reading is not *valid* and the input has 11+ digits, the digits are also
  read as international (``380671234567`` -> ``+380671234567``); a valid reading
  beats a merely possible one, and national beats international on a tie.
* **Short digit strings** (2-6 digits and nothing else, not even inner
  spaces) are internal PBX extensions, kept as ASCII digits in
  ``PhoneNumber.internal``.
* **Letters never become digits.**  ``phonenumbers`` reads ``1-800-FLOWERS``
  style vanity numbers; in a Russian call centre letters are notes or typos,
  so any reading whose digits were not actually typed is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from phonenumbers import timezone as pn_timezone

__all__ = [
    "InvalidPhone",
    "PhoneNumber",
    "digits_only",
    "format_display",
    "guess_timezone",
    "normalise_phone",
    "search_keys",
    "try_normalise",
]

INTERNAL_MIN_DIGITS = 2
INTERNAL_MAX_DIGITS = 6
MAX_DIGITS = 20
#: Fewest digits that make a search-box query look like a phone number.
SEARCH_MIN_DIGITS = 5
# ITU-T E.164 numbers are at least 8 digits long with the country code, so a
# shorter digit run cannot be an international number typed without "+".
_INTERNATIONAL_RETRY_MIN_DIGITS = 11

# libphonenumber understands "доб." and "ext", but not the other words Russian
# and Ukrainian speakers use for an extension; rewrite them to one it knows.
_EXTENSION_WORDS = re.compile(r"(?<![^\W\d_])(?:внутр|вн|доп|дод)\.?(?![^\W\d_])", re.IGNORECASE)
_TEL_PREFIX = re.compile(r"^\s*tel:", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")

# libphonenumber's time zones come from CLDR metazones; when CLDR has no
# country-specific zone it falls back to Europe/Bucharest for "Eastern European
# Time" (google/libphonenumber#1763, "working as intended").  For Russia that
# means Kaliningrad landlines, and Bucharest's DST would shift calling windows
# by an hour every summer.
_METAZONE_FALLBACKS = frozenset({"Europe/Bucharest"})
_METAZONE_FIXES = {("RU", "Europe/Bucharest"): "Europe/Kaliningrad"}


class InvalidPhone(ValueError):
    """The input cannot be read as a phone number.

    ``code`` is one of ``"empty"``, ``"not_a_number"``, ``"too_short"``,
    ``"too_long"``, ``"invalid"``; ``raw`` is the input as given; ``str()`` is a
    sentence for humans that quotes the input.
    """

    CODES = ("empty", "not_a_number", "too_short", "too_long", "invalid")

    def __init__(self, code: str, raw: str, detail: str) -> None:
        if code not in self.CODES:
            raise ValueError(f"unknown InvalidPhone code {code!r}")
        self.code = code
        self.raw = raw
        self.detail = detail
        super().__init__(f"{raw!r} is not a usable phone number: {detail}")


@dataclass(frozen=True)
class PhoneNumber:
    """A normalised phone number.

    Exactly one of ``e164`` (external number, ``"+79161234567"``) and
    ``internal`` (PBX extension, ``"101"``) is set.  ``extension`` is the
    "доб. 12" part of an external number, kept separately because it is dialled
    after the call connects and must not take part in matching.
    """

    raw: str
    e164: str | None = None
    internal: str | None = None
    extension: str | None = None

    def __post_init__(self) -> None:
        if (self.e164 is None) == (self.internal is None):
            raise ValueError("PhoneNumber needs exactly one of e164 and internal")

    @property
    def is_internal(self) -> bool:
        return self.internal is not None

    @property
    def key(self) -> str:
        """The value to index and match on: ``e164`` or ``internal``."""
        return self.e164 if self.e164 is not None else self.internal  # type: ignore[return-value]


def digits_only(query: str) -> str:
    """All decimal digits of ``query`` as ASCII, in order (full-width and other
    Unicode decimal digits included): ``"+7 (９１６)"`` -> ``"7916"``."""
    return "".join(str(unicodedata.decimal(ch)) for ch in query if ch.isdecimal())


def normalise_phone(raw: str, region: str = "RU") -> PhoneNumber:
    """Read ``raw`` as typed by a person or sent by a PBX/shop and normalise it.

    ``region`` (ISO 3166 code such as ``"RU"`` or ``"UA"``) says how to read
    numbers written without a country code.  Returns an internal extension for
    2-6 bare digits, otherwise an E.164 number with any extension split off.
    Raises :class:`InvalidPhone` for anything else, and plain ``ValueError``
    for an unknown ``region`` (a configuration error, not bad input).
    See the module docstring for the acceptance policy.
    """
    region = _check_region(region)
    if not isinstance(raw, str):
        raise InvalidPhone("not_a_number", str(raw), f"expected text, got {type(raw).__name__}")
    if not raw.strip():
        raise InvalidPhone("empty", raw, "nothing was entered")
    digits = digits_only(raw)
    if not digits:
        raise InvalidPhone("not_a_number", raw, "it contains no digits")
    if len(digits) == 1:
        raise InvalidPhone("too_short", raw, "a single digit")

    compact = _TEL_PREFIX.sub("", raw).strip()
    if compact.isdecimal() and INTERNAL_MIN_DIGITS <= len(compact) <= INTERNAL_MAX_DIGITS:
        return PhoneNumber(raw=raw, internal=digits_only(compact))
    if compact.isdecimal() and len(digits) > MAX_DIGITS:
        raise InvalidPhone("too_long", raw, f"{len(digits)} digits, at most {MAX_DIGITS} allowed")

    text = _EXTENSION_WORDS.sub(" доб. ", raw)
    readings: list[phonenumbers.PhoneNumber] = []
    first_error: InvalidPhone | None = None
    try:
        readings.append(_parse(raw, text, region, digits))
    except InvalidPhone as exc:
        first_error = exc

    national = readings[0] if readings else None
    if national is not None and phonenumbers.is_valid_number(national):
        chosen: phonenumbers.PhoneNumber | None = national
    else:
        if not compact.startswith(("+", "\uff0b")):
            readings.extend(_international_readings(region, digits, national))
        chosen = _best_reading(readings)
    if chosen is None:
        raise first_error or _impossible(raw, national or readings[0])
    e164 = phonenumbers.format_number(chosen, PhoneNumberFormat.E164)
    return PhoneNumber(raw=raw, e164=e164, extension=chosen.extension or None)


def try_normalise(raw: str, region: str = "RU") -> PhoneNumber | None:
    """Like :func:`normalise_phone` but returns ``None`` instead of raising
    :class:`InvalidPhone` (an unknown ``region`` still raises ``ValueError``)."""
    try:
        return normalise_phone(raw, region)
    except InvalidPhone:
        return None


def search_keys(query: str, region: str = "RU") -> list[str]:
    """E.164 numbers, or E.164 prefixes, that a search-box query could mean.

    Every key starts with "+" and is meant for a prefix match on stored
    ``e164`` values (a complete number is a prefix of itself).  A query "looks
    like a phone number" when it has at least ``SEARCH_MIN_DIGITS`` digits and
    digits make up most of its non-space characters; anything else gives
    ``[]``.  Keys come best first, without duplicates:

    * a *valid* complete number gives its acceptable complete readings only
      (``"8 916 123-45-67"`` -> ``["+79161234567"]``);
    * otherwise the query may be unfinished (search as you type), so after any
      merely possible reading come prefixes: the national reading with the
      region's trunk prefix dropped (``"8 916 123"`` -> ``"+7916123"``) and,
      if the digits start with a country calling code, the international one
      (``"380 67"`` -> ``"+38067"``).
    """
    region = _check_region(region)
    digits = digits_only(query)
    significant = _WHITESPACE.sub("", _TEL_PREFIX.sub("", query))
    if len(digits) < SEARCH_MIN_DIGITS or len(digits) * 2 <= len(significant):
        return []
    has_plus = significant.startswith(("+", "\uff0b"))
    readings = [query] if has_plus else [query, "+" + digits]
    keys: list[str] = []
    complete = False
    for candidate in readings:
        try:
            number = phonenumbers.parse(_EXTENSION_WORDS.sub(" доб. ", candidate), region)
        except NumberParseException:
            continue
        if _reason(number) == ValidationResult.IS_POSSIBLE and _typed(number, digits):
            _add(keys, phonenumbers.format_number(number, PhoneNumberFormat.E164))
            complete = complete or phonenumbers.is_valid_number(number)
    if complete:
        return keys
    if has_plus:
        _add(keys, "+" + digits)
        return keys
    trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
    national = digits[len(trunk):] if trunk and digits.startswith(trunk) else digits
    _add(keys, f"+{phonenumbers.country_code_for_region(region)}{national}")
    if not digits.startswith("0") and any(
        int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for size in (1, 2, 3)
    ):
        _add(keys, "+" + digits)
    return keys


def _add(keys: list[str], key: str) -> None:
    if key not in keys:
        keys.append(key)


def guess_timezone(e164: str, default: str) -> str:
    """IANA time zone of ``e164`` if the numbering plan pins it to exactly one
    zone (landlines mostly; Russian mobiles span the country), else ``default``.
    Never raises for bad input: it returns ``default``."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return default
    zones = pn_timezone.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == pn_timezone.UNKNOWN_TIMEZONE:
        return default
    zone = zones[0]
    if zone in _METAZONE_FALLBACKS:
        country = phonenumbers.region_code_for_number(number)
        if country != "RO":
            return _METAZONE_FIXES.get((country, zone), default)
    return zone


def format_display(e164: str) -> str:
    """International format for people: ``"+79161234567"`` -> ``"+7 916 123-45-67"``.
    Input that is not an E.164 number (an internal ``"101"``, junk) comes back
    unchanged, so a screen never fails over a number it cannot prettify."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _check_region(region: str) -> str:
    upper = region.upper() if isinstance(region, str) else region
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}; expected an ISO code such as 'RU' or 'UA'")
    return upper


def _parse(raw: str, text: str, region: str, digits: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise _parse_error(raw, exc, digits) from None
    if not _typed(number, digits):
        raise InvalidPhone("not_a_number", raw, "it mixes letters into the digits")
    return number


def _typed(number: phonenumbers.PhoneNumber, digits: str) -> bool:
    """Whether the number's digits were really typed (not letters read as a
    phone keypad would)."""
    return phonenumbers.national_significant_number(number) in digits


def _international_readings(
    region: str, digits: str, national: phonenumbers.PhoneNumber | None
) -> list[phonenumbers.PhoneNumber]:
    extension = national.extension if national is not None else None
    main = digits[: -len(extension)] if extension and digits.endswith(extension) else digits
    if len(main) < _INTERNATIONAL_RETRY_MIN_DIGITS:
        return []
    # "00" is the ITU-recommended international prefix; "810" (Russia's) is
    # already understood by phonenumbers for region RU.
    candidates = ["+" + main] + (["+" + main[2:]] if main.startswith("00") else [])
    readings = []
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException:
            continue
        number.extension = extension
        readings.append(number)
    return readings


def _best_reading(readings: list[phonenumbers.PhoneNumber]) -> phonenumbers.PhoneNumber | None:
    possible = [n for n in readings if _reason(n) == ValidationResult.IS_POSSIBLE]
    for number in possible:
        if phonenumbers.is_valid_number(number):
            return number
    return possible[0] if possible else None


def _reason(number: phonenumbers.PhoneNumber) -> int:
    return phonenumbers.is_possible_number_with_reason(number)


def _parse_error(raw: str, exc: NumberParseException, digits: str) -> InvalidPhone:
    kind = exc.error_type
    if kind == NumberParseException.TOO_LONG:
        return InvalidPhone("too_long", raw, "too many digits")
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return InvalidPhone("too_short", raw, "too few digits")
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        return InvalidPhone("invalid", raw, "unknown country code")
    if any(ch.isalpha() for ch in raw):
        return InvalidPhone("not_a_number", raw, "it contains text that is not part of a phone number")
    return InvalidPhone("too_short", raw, f"only {len(digits)} digits")


def _impossible(raw: str, number: phonenumbers.PhoneNumber) -> InvalidPhone:
    reason = _reason(number)
    country = f"+{number.country_code}"
    if reason == ValidationResult.TOO_SHORT:
        return InvalidPhone("too_short", raw, f"too few digits for {country}")
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return InvalidPhone("too_short", raw, f"too few digits for {country} (a local number needs its area code)")
    if reason == ValidationResult.TOO_LONG:
        return InvalidPhone("too_long", raw, f"too many digits for {country}")
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return InvalidPhone("invalid", raw, "unknown country code")
    return InvalidPhone("invalid", raw, f"wrong number of digits for {country}")
