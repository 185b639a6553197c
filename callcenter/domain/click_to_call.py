"""Click-to-call: what the CRM asks Asterisk for when an operator clicks a number.  Pure.

The AMI ``Originate`` first rings the operator's own phone (``Channel``), then runs the dialplan
(``Context``/``Exten``/priority 1) on that channel, which dials the customer through the trunk.

* ``Exten`` is the number in E.164 with its ``+`` (``+380441234567``): one form for every
  country, the one ``dialplan/callcenter.conf`` takes (pattern ``_+Z.``, 6 to 15 digits),
  dialled to the carrier without the ``+``.  An internal number (an operator's ``102``) is sent
  as its digits.
* ``CallerID`` is what the operator's phone shows while it rings: the client's name and the
  number, so the operator sees whom the call is for (``"Иван Петров" <+79161234567>``), or the
  number alone.  It is *not* what the customer sees.
* ``CRM_OUTBOUND_CID`` (when the shop's number is configured) is what the customer sees: the
  dialplan presents it on the trunk leg (Dial's ``f()`` option) instead of the operator's
  extension.  ``CRM_NUMBER``, ``CRM_CLIENT_ID``, ``CRM_TASK_ID``, ``CRM_USER_ID`` travel with
  the call so the CRM knows what it was for, even when it fails.

Every value goes into an AMI header: none may hold a line break (it would inject headers), and
the caller ID name loses the characters that would end its quoting (``"``, ``<``, ``>``, ``\\``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from callcenter.domain.phones import PhoneNumber

__all__ = ["ClickToCall", "OriginateParams", "caller_id", "dial_exten", "originate_params",
           "refusal", "shop_caller_id"]

#: Longest caller ID name sent: softphones show about 20-30 characters, SIP allows more.
MAX_NAME = 64
_SHOP_CID = re.compile(r"^\+?[0-9]{3,15}$")


@dataclass(frozen=True, slots=True)
class ClickToCall:
    """An operator's request: ring ``channel`` (their softphone), then dial ``number``."""

    channel: str
    number: PhoneNumber
    user_id: int | None = None
    task_id: int | None = None
    client_id: int | None = None


@dataclass(frozen=True, slots=True)
class OriginateParams:
    channel: str
    exten: str
    caller_id: str
    variables: dict[str, str] = field(default_factory=dict)


def dial_exten(number: PhoneNumber) -> str:
    """The ``Exten`` to originate to: ``+`` and the E.164 digits, or an internal number."""
    if number.e164 is not None:
        return number.e164
    return number.internal  # type: ignore[return-value]


def _clean_name(name: str | None) -> str:
    if not name:
        return ""
    kept = []
    for ch in unicodedata.normalize("NFC", name):
        if ch in '"<>\\' or unicodedata.category(ch)[0] == "C":
            kept.append(" ")  # control, format, surrogate, private use: never in a header
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())[:MAX_NAME].strip()


def caller_id(name: str | None, number: str) -> str:
    """``"Name" <number>`` as AMI's CallerID header takes it, or ``<number>`` with no name."""
    clean = _clean_name(name)
    return f'"{clean}" <{number}>' if clean else f"<{number}>"


def shop_caller_id(value: str) -> str:
    """The shop's number as presented to customers: '+' and digits; ValueError otherwise.

    An empty value means "not configured" and is returned as is.
    """
    compact = re.sub(r"[\s()-]", "", value or "")
    if compact and not _SHOP_CID.match(compact):
        raise ValueError(f"expected the shop's phone number (digits, optional '+'), got {value!r}")
    return compact


def originate_params(request: ClickToCall, *, client_name: str | None,
                     shop_cid: str = "") -> OriginateParams:
    """The Originate for ``request``: see the module docstring for each field."""
    exten = dial_exten(request.number)
    number = request.number.e164 or exten
    variables = {"CRM_NUMBER": number}
    if request.user_id is not None:
        variables["CRM_USER_ID"] = str(request.user_id)
    if request.task_id is not None:
        variables["CRM_TASK_ID"] = str(request.task_id)
    if request.client_id is not None:
        variables["CRM_CLIENT_ID"] = str(request.client_id)
    if shop_cid:
        variables["CRM_OUTBOUND_CID"] = shop_cid
    return OriginateParams(channel=request.channel, exten=exten,
                           caller_id=caller_id(client_name, number), variables=variables)


def refusal(request: ClickToCall, clients: list[dict]) -> dict[str, Any] | None:
    """Why the call must not be placed, or None: the client asked for is do-not-call, or the
    number belongs to a do-not-call client (also when others share it). ``clients`` are the
    client asked for and the number's holders (rows with ``id`` and ``do_not_call``)."""
    for client in sorted(clients, key=lambda c: (c["id"] != request.client_id, c["id"])):
        if client["do_not_call"]:
            return {"reason": "do_not_call", "client_id": client["id"],
                    "number": request.number.e164 or dial_exten(request.number),
                    "by": "client" if client["id"] == request.client_id else "number"}
    return None
