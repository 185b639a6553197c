"""Phone normalisation: table of real-world inputs, then properties."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callcenter.domain.phones import (
    InvalidPhone,
    PhoneNumber,
    digits_only,
    format_display,
    guess_timezone,
    normalise_phone,
    search_keys,
    try_normalise,
)

# (input, region, expected e164, expected extension)
EXTERNAL = [
    ("8 916 123-45-67", "RU", "+79161234567", None),
    ("+7 (916) 123-45-67", "RU", "+79161234567", None),
    ("79161234567", "RU", "+79161234567", None),
    ("9161234567", "RU", "+79161234567", None),
    ("916 123 45 67", "RU", "+79161234567", None),
    ("8(916)1234567", "RU", "+79161234567", None),
    ("+7-916-123-45-67 доб. 12", "RU", "+79161234567", "12"),
    ("+7 916 123 45 67 ext 5", "RU", "+79161234567", "5"),
    ("+7 916 123 45 67 x5", "RU", "+79161234567", "5"),
    ("8 916 123 45 67 доб 5", "RU", "+79161234567", "5"),
    ("+7 (916) 1234567 вн. 12", "RU", "+79161234567", "12"),
    ("+7 (916) 1234567 внутр. 345", "RU", "+79161234567", "345"),
    ("+38 044 123 45 67 дод. 7", "UA", "+380441234567", "7"),
    ("+79031112233", "RU", "+79031112233", None),
    ("89265550101", "RU", "+79265550101", None),
    ("8 495 123-45-67", "RU", "+74951234567", None),
    ("8 800 555-35-35", "RU", "+78005553535", None),
    ("+380 44 123 4567", "RU", "+380441234567", None),
    ("044 123 4567", "UA", "+380441234567", None),
    ("067 123 45 67", "UA", "+380671234567", None),
    ("380671234567", "RU", "+380671234567", None),
    ("380671234567", "UA", "+380671234567", None),
    ("810 380 67 123 45 67", "RU", "+380671234567", None),
    ("4915112345678", "RU", "+4915112345678", None),
    ("0049 151 12345678", "RU", "+4915112345678", None),
    ("+1 650 253 0000", "RU", "+16502530000", None),
    ("tel:+7-916-123-45-67", "RU", "+79161234567", None),
    ("tel:+7-916-123-45-67;ext=12", "RU", "+79161234567", "12"),
    ("tel:89161234567", "RU", "+79161234567", None),
    ("8\u00a0916\u00a0123\u201345\u201467", "RU", "+79161234567", None),  # NBSP, en and em dashes
    ("８ ９１６ １２３ ４５ ６７", "RU", "+79161234567", None),  # full-width digits
    ("＋７ ９１６ １２３ ４５ ６７", "RU", "+79161234567", None),  # full-width plus
    ("  +7 916 123 45 67\n", "RU", "+79161234567", None),
    ("8 916 123-45-67", "ru", "+79161234567", None),  # region case does not matter
    # Possible but not (yet) valid: accepted by policy, new ranges appear first.
    ("+7 123 456 78 90", "RU", "+71234567890", None),
]

# (input, region, expected error code)
INVALID = [
    ("", "RU", "empty"),
    ("   ", "RU", "empty"),
    ("\u00a0", "RU", "empty"),
    ("abc", "RU", "not_a_number"),
    ("Иван Петров", "RU", "not_a_number"),
    ("нет телефона", "RU", "not_a_number"),
    ("---", "RU", "not_a_number"),
    ("+7 (916) 123-45-67 abc", "RU", "not_a_number"),  # letters are not a keypad
    ("1-800-FLOWERS", "RU", "not_a_number"),
    ("1", "RU", "too_short"),
    ("+7", "RU", "too_short"),
    ("+7 916 123", "RU", "too_short"),
    ("123-45-67", "RU", "too_short"),  # local number without area code
    ("1234567", "RU", "too_short"),
    ("1" * 21, "RU", "too_long"),
    ("+7 916 123 45 67 89 01 23 45 67", "RU", "too_long"),
    ("+000 123", "RU", "invalid"),
    ("+7 916 123 45 67 8", "RU", "invalid"),  # 11 national digits for +7
    ("+7 916 123 45 6", "RU", "too_short"),
    ("+380 67 123 45", "RU", "too_short"),
    ("916 123", "RU", "too_short"),  # inner spaces: not an internal extension
]

INTERNAL = [
    ("101", "101"), ("1001", "1001"), ("12", "12"), ("123456", "123456"), (" 101 ", "101"), ("tel:101", "101"),
    ("１０１", "101"),
]


@pytest.mark.parametrize(("raw", "region", "e164", "extension"), EXTERNAL)
def test_normalise_external(raw, region, e164, extension):
    phone = normalise_phone(raw, region)
    assert phone == PhoneNumber(raw=raw, e164=e164, internal=None, extension=extension)
    assert phone.key == e164
    assert not phone.is_internal


@pytest.mark.parametrize(("raw", "region", "code"), INVALID)
def test_normalise_rejects(raw, region, code):
    with pytest.raises(InvalidPhone) as info:
        normalise_phone(raw, region)
    assert info.value.code == code
    assert info.value.raw == raw
    assert repr(raw) in str(info.value)
    assert try_normalise(raw, region) is None


@pytest.mark.parametrize(("raw", "internal"), INTERNAL)
def test_short_numbers_are_internal_extensions(raw, internal):
    phone = normalise_phone(raw)
    assert (phone.internal, phone.e164, phone.key, phone.is_internal) == (internal, None, internal, True)


def test_unknown_region_is_a_configuration_error_not_bad_input():
    with pytest.raises(ValueError) as info:
        normalise_phone("8 916 123-45-67", "XX")
    assert not isinstance(info.value, InvalidPhone)


def test_phone_number_needs_exactly_one_form():
    with pytest.raises(ValueError):
        PhoneNumber(raw="x")
    with pytest.raises(ValueError):
        PhoneNumber(raw="x", e164="+79161234567", internal="101")


def test_invalid_phone_code_is_checked():
    with pytest.raises(ValueError):
        InvalidPhone("nope", "x", "y")


@pytest.mark.parametrize(
    ("query", "region", "expected"),
    [
        # Valid complete numbers: just the number.
        ("8 916 123-45-67", "RU", ["+79161234567"]),
        ("+7 (916) 123 45 67", "RU", ["+79161234567"]),
        ("+7 916 123 45 67 доб. 12", "RU", ["+79161234567"]),
        ("79161234567", "RU", ["+79161234567"]),
        ("380671234567", "RU", ["+380671234567"]),
        ("tel:+380441234567", "RU", ["+380441234567"]),
        ("12125551234", "RU", ["+12125551234"]),
        # Unfinished numbers (search as you type): prefixes of what they could become.
        ("8 916 123", "RU", ["+7916123"]),
        ("916 123", "RU", ["+7916123", "+916123"]),  # 91 is India
        ("067 123 45", "UA", ["+3806712345"]),  # trunk "0", and no country code starts with 0
        ("+380 67", "RU", ["+38067"]),
        ("12345", "RU", ["+712345", "+12345"]),
        # Possible but not valid: that reading first, then the prefix reading.
        ("8 916 123 45 6", "RU", ["+78916123456", "+7916123456"]),
        # Not a phone number.
        ("1234", "RU", []),
        ("Петров", "RU", []),
        ("Петров 916", "RU", []),
        ("заказ TM-10234", "RU", []),
        ("ivan@mail.ru", "RU", []),
        ("", "RU", []),
    ],
)
def test_search_keys(query, region, expected):
    assert search_keys(query, region) == expected


@given(st.text(max_size=40))
@settings(deadline=None)
def test_search_keys_are_plus_prefixed_and_distinct(query):
    keys = search_keys(query)
    assert all(key.startswith("+") and key[1:].isdigit() and key[1:].isascii() for key in keys)
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("query", "expected"),
    [("+7 (916) 123-45-67", "79161234567"), ("８９１６", "8916"), ("abc", ""), ("доб. 12", "12"), ("", "")],
)
def test_digits_only(query, expected):
    assert digits_only(query) == expected


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+74951234567", "Europe/Moscow"),
        ("+78121234567", "Europe/Moscow"),
        ("+73432123456", "Asia/Yekaterinburg"),
        ("+73832123456", "Asia/Novosibirsk"),
        ("+74232123456", "Asia/Vladivostok"),
        ("+74012123456", "Europe/Kaliningrad"),  # library says Europe/Bucharest (CLDR fallback)
        ("+380441234567", "Europe/Kyiv"),
        ("+79161234567", "DEFAULT"),  # Russian mobiles span eleven zones
        ("+12125551234", "America/New_York"),
        ("101", "DEFAULT"),
        ("garbage", "DEFAULT"),
        ("", "DEFAULT"),
    ],
)
def test_guess_timezone(e164, expected):
    assert guess_timezone(e164, "DEFAULT") == expected


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+79161234567", "+7 916 123-45-67"),
        ("+74951234567", "+7 495 123-45-67"),
        ("+380441234567", "+380 44 123 4567"),
        ("101", "101"),
        ("", ""),
    ],
)
def test_format_display(e164, expected):
    assert format_display(e164) == expected


# --- properties -------------------------------------------------------------
# deadline=None throughout: the first example loads phonenumbers' metadata lazily,
# which on a loaded machine can overrun Hypothesis' deadline and report a flake.

RU_MOBILE_PREFIXES = ["903", "905", "909", "915", "916", "925", "926", "977", "985", "999", "912", "923", "950"]
SEPARATORS = st.sampled_from(["", " ", "-", "\u00a0", "\u2013", ".", "  "])


@st.composite
def formatted_russian_mobiles(draw):
    national = draw(st.sampled_from(RU_MOBILE_PREFIXES)) + draw(st.text("0123456789", min_size=7, max_size=7))
    prefix = draw(st.sampled_from(["+7", "8", "7", "", "+7 ", "8 ", "tel:+7"]))
    groups = [national[:3], national[3:6], national[6:8], national[8:]]
    if draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    text = prefix
    for group in groups:
        text += draw(SEPARATORS) + group
    if draw(st.booleans()):
        text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return text, "+7" + national


@given(formatted_russian_mobiles())
@settings(deadline=None)
def test_any_formatting_of_a_russian_mobile_gives_the_same_e164(case):
    text, expected = case
    assert normalise_phone(text).e164 == expected


phone_like_text = st.text(alphabet="0123456789+-() .xдоб#\u00a0\u2013", max_size=30)


@given(st.one_of(phone_like_text, formatted_russian_mobiles().map(lambda c: c[0])), st.sampled_from(["RU", "UA", "DE"]))
@example("380671234567", "RU")
@example("0049 151 12345678", "RU")
@settings(max_examples=300, deadline=None)
def test_normalise_is_idempotent(text, region):
    phone = try_normalise(text, region)
    if phone is None:
        return
    again = normalise_phone(phone.key, region)
    assert again.key == phone.key
    if phone.e164 is not None:
        assert normalise_phone(phone.e164, "RU").e164 == phone.e164  # E.164 does not depend on region


@given(st.text(max_size=60), st.sampled_from(["RU", "UA"]))
@example("\x00", "RU")
@example("+" * 300, "RU")
@example("1" * 300, "RU")
@example("tel:", "RU")
@settings(max_examples=500, deadline=None)
def test_arbitrary_text_only_ever_raises_invalid_phone(text, region):
    try:
        phone = normalise_phone(text, region)
    except InvalidPhone as exc:
        assert exc.code in InvalidPhone.CODES
    else:
        assert (phone.e164 or "").startswith("+") or phone.internal.isdigit()
    search_keys(text, region)
    format_display(text)
    guess_timezone(text, "Europe/Moscow")
