"""JSON the product reads and writes: table tests, no event loop, no database."""

import json

import pytest

from callcenter.domain.json_text import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    JsonRejected,
    dumps,
    dumps_strict,
    parse_json,
)

REFUSED = [
    ("NaN", "NaN"),
    ('{"qty": NaN}', "NaN"),
    ('[Infinity]', "Infinity"),
    ('[-Infinity]', "-Infinity"),
    ('{"qty": 1e400}', "out of range"),
    ("9" * 5000, "too large"),
    (str(MAX_SAFE_INTEGER + 1), "too large"),
    (str(-MAX_SAFE_INTEGER - 1), "too large"),
    ("1" + "0" * 30, "too large"),
    ("[" * 100_000 + "]" * 100_000, "nested"),
    ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "nested"),
    ('{"name": "\\ud800"}', "surrogate"),
    ('{"\\udfff": 1}', "surrogate"),
    ('{"name": "a\\u0000b"}', "NUL"),
    (b'{"name": "\xed\xa0\x80"}', "UTF-8"),
    (b"\xff\xfe", "UTF-8"),
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
]


@pytest.mark.parametrize("text,why", REFUSED)
def test_refused(text, why):
    with pytest.raises(JsonRejected, match=why):
        parse_json(text)


ACCEPTED = [
    ('{"qty": 1.5, "n": -3}', {"qty": 1.5, "n": -3}),
    (str(MAX_SAFE_INTEGER), MAX_SAFE_INTEGER),
    ('{"note": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{"}',
     {"note": "[" * 40 + "{" * 8}),
    ('"\\ud83d\\ude00"', "\U0001F600"),  # a surrogate *pair* is one real character
    ('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH, None),
    ("null", None),
    ('"Иван \\"Ваня\\" Петров"', 'Иван "Ваня" Петров'),
]


@pytest.mark.parametrize("text,value", ACCEPTED)
def test_accepted(text, value):
    parsed = parse_json(text)
    if value is not None:
        assert parsed == value


@pytest.mark.parametrize("value,text", [
    ({"qty": float("nan")}, '{"qty": null}'),
    ([float("inf"), float("-inf"), 1.5], "[null, null, 1.5]"),
    ({"name": "Иван"}, '{"name": "Иван"}'),
])
def test_dumps_never_writes_non_finite_numbers(value, text):
    assert dumps(value) == text
    json.loads(dumps(value), parse_constant=lambda c: pytest.fail(f"{c} written"))


def test_stored_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        dumps_strict({"items": [{"qty": float("nan")}]})
    assert dumps_strict({"a": ["б"]}) == '{"a": ["б"]}'
