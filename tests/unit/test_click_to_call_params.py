"""The Originate a click-to-call sends: table-tested, no event loop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.domain.click_to_call import (
    ClickToCall, caller_id, dial_exten, originate_params, shop_caller_id,
)
from callcenter.domain.phones import normalise_phone


@pytest.mark.parametrize("raw, region, exten", [
    ("8 (916) 123-45-67", "RU", "+79161234567"),
    ("+7 916 123 45 67", "RU", "+79161234567"),
    ("+380 44 123 4567", "RU", "+380441234567"),   # the '+' is kept: 12 digits would not match 7/8
    ("044 123 4567", "UA", "+380441234567"),
    ("+1 201 555 0123", "RU", "+12015550123"),
    ("+683 4002", "RU", "+6834002"),
    ("102", "RU", "102"),                           # an operator's extension
])  # fmt: skip
def test_dial_exten_is_e164_with_its_plus(raw, region, exten):
    assert dial_exten(normalise_phone(raw, region)) == exten


@pytest.mark.parametrize("name, number, expected", [
    ("Иван Петров", "+79161234567", '"Иван Петров" <+79161234567>'),
    (None, "+79161234567", "<+79161234567>"),
    ("", "+79161234567", "<+79161234567>"),
    ('Ivan "The" <Boss>', "+7", '"Ivan The Boss" <+7>'),
    ("a\r\nAction: Hangup", "+7", '"a Action: Hangup" <+7>'),
    ("back\\slash\x00", "+7", '"back slash" <+7>'),
    ("x" * 100, "+7", '"' + "x" * 64 + '" <+7>'),
])  # fmt: skip
def test_caller_id_shows_whom_the_call_is_for(name, number, expected):
    assert caller_id(name, number) == expected


@given(st.text())
def test_caller_id_never_breaks_the_header(name):
    value = caller_id(name, "+79161234567")
    assert "\r" not in value and "\n" not in value
    assert value.endswith("<+79161234567>")
    assert value.count('"') in (0, 2) and value.count("<") == 1


@pytest.mark.parametrize("value, expected", [
    ("", ""), ("74951234567", "74951234567"), ("+7 (495) 123-45-67", "+74951234567"),
])
def test_shop_caller_id(value, expected):
    assert shop_caller_id(value) == expected


@pytest.mark.parametrize("value", ["shop", "7495,1", "7495/1", "+", "12"])
def test_shop_caller_id_rejects_what_is_not_a_number(value):
    with pytest.raises(ValueError):
        shop_caller_id(value)


def test_originate_params():
    request = ClickToCall(channel="PJSIP/101", number=normalise_phone("+380441234567"),
                          user_id=3, task_id=42, client_id=7)
    params = originate_params(request, client_name="Олена Коваль", shop_cid="74951234567")
    assert (params.channel, params.exten, params.caller_id) == (
        "PJSIP/101", "+380441234567", '"Олена Коваль" <+380441234567>')
    assert params.variables == {"CRM_NUMBER": "+380441234567", "CRM_USER_ID": "3",
                                "CRM_TASK_ID": "42", "CRM_CLIENT_ID": "7",
                                "CRM_OUTBOUND_CID": "74951234567"}
    bare = originate_params(ClickToCall(channel="PJSIP/101", number=normalise_phone("102")),
                            client_name=None)
    assert (bare.exten, bare.caller_id, bare.variables) == ("102", "<102>", {"CRM_NUMBER": "102"})
