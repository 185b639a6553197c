"""The do-not-call rule of click-to-call (``domain.click_to_call.refusal``), table-tested."""

from __future__ import annotations

import pytest

from callcenter.domain.click_to_call import ClickToCall, refusal
from callcenter.domain.phones import normalise_phone

NUMBER = normalise_phone("+74953330003", "RU")
OK, NO = {"do_not_call": False}, {"do_not_call": True}

CASES = [
    # client asked for, the clients (asked for + the number's holders), expected refusal
    (None, [], None),
    (None, [dict(OK, id=1)], None),
    (1, [dict(OK, id=1)], None),
    (1, [dict(NO, id=1)], {"client_id": 1, "by": "client"}),
    (None, [dict(NO, id=2)], {"client_id": 2, "by": "number"}),
    # a shared number: one holder not to be called is enough
    (None, [dict(OK, id=1), dict(NO, id=2)], {"client_id": 2, "by": "number"}),
    (1, [dict(OK, id=1), dict(NO, id=2)], {"client_id": 2, "by": "number"}),
    # the client asked for is named first when both are
    (3, [dict(NO, id=2), dict(NO, id=3)], {"client_id": 3, "by": "client"}),
]


@pytest.mark.parametrize("client_id, clients, expected", CASES)
def test_refusal(client_id, clients, expected):
    request = ClickToCall(channel="PJSIP/101", number=NUMBER, user_id=7, client_id=client_id)
    got = refusal(request, clients)
    if expected is None:
        assert got is None
    else:
        assert got == {"reason": "do_not_call", "number": "+74953330003", **expected}
