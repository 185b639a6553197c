"""Listen, whisper, barge: how a supervisor's phone joins an operator's call.  Pure.

The CRM sends one AMI ``Originate``: it rings the supervisor's own phone (``Channel``) and,
once answered, runs the dialplan context ``supervise_context`` (``callcenter-supervise`` in
``dialplan/callcenter.conf``) at the extension named after the mode, priority 1.  That
extension checks ``CRM_SPY`` (the operator's endpoint) and runs ``ChanSpy`` on it with the
mode's options, fixed in the dialplan -- the CRM never sends ChanSpy options, so no value it
passes can turn listening into barging:

========  ========  ==========================================================================
mode      options   who hears whom
========  ========  ==========================================================================
listen    ``qE``    the supervisor hears both parties; nobody hears the supervisor
whisper   ``qEw``   as listen, and the operator (only) hears the supervisor: coaching
barge     ``qEB``   as listen, and both parties hear the supervisor
========  ========  ==========================================================================

``q``: no beep and no channel name read out when spying starts (the parties are not told);
``E``: leave (and hang up the supervisor's phone) when the spied-on channel hangs up, instead
of waiting for the next call of that phone; ``w``: whisper, the supervisor talks to the spied
channel only; ``B``: barge, the supervisor talks to both sides of the bridge.

The Originate's ``Variable``\\ s: ``CRM_SPY`` = the operator's endpoint (``PJSIP/101``),
``CRM_SPY_MODE`` = the mode (for the records only: the extension decides), ``CRM_SUPERVISOR``
= the supervisor's user id.  ``CallerID`` is what the supervisor's phone shows while it rings:
``"Listen: Anna" <101>``.

The spy leg is never a customer call.  The call tracker (domain/call_tracker.py) knows it
before it rings: the Originate it was told about carries ``CRM_SPY``, and so does the
channel's first ``VarSet`` (Asterisk sets the Originate's variables as it creates the channel,
and manager.conf's filter lets ``CRM_*`` VarSets through); later signs -- the ``ChanSpy``
application, ``ChanSpyStart`` -- are checked too.  From then on the leg causes no effect: no
call row, no card, nothing on the spied call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.domain.call_records import CallRecord
from callcenter.domain.click_to_call import caller_id
from callcenter.domain.clients import MAX_ID

__all__ = ["CHANSPY_OPTIONS", "MODES", "SPY_ENDPOINT", "SpyOriginate", "SuperviseRequest",
           "operator_call", "parse_request", "spy_originate"]

#: mode -> ChanSpy options, as dialplan/callcenter.conf runs them (a test compares the two)
CHANSPY_OPTIONS: dict[str, str] = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}
MODES: tuple[str, ...] = tuple(CHANSPY_OPTIONS)
#: the endpoints ChanSpy may be pointed at; the dialplan checks ``CRM_SPY`` with the same REGEX
SPY_ENDPOINT = re.compile(r"^PJSIP/[A-Za-z0-9_.-]{1,64}$")
#: the labels the supervisor's phone shows while it rings
_LABELS = {"listen": "Listen", "whisper": "Whisper", "barge": "Barge"}
_FIELDS = ("operator_id", "mode")


@dataclass(frozen=True, slots=True)
class SuperviseRequest:
    operator_id: int
    mode: str


@dataclass(frozen=True, slots=True)
class SpyOriginate:
    """The AMI Originate of one listen-in (see the module docstring)."""

    channel: str
    context: str
    exten: str
    caller_id: str
    variables: dict[str, str] = field(default_factory=dict)
    priority: int = 1


def parse_request(body: Mapping[str, Any]) -> tuple[SuperviseRequest | None, dict[str, str]]:
    """``{"operator_id": int, "mode": "listen"|"whisper"|"barge"}`` -> (the request, {}), or
    (None, field errors).  Booleans, floats, strings of digits, ids past the database's
    (``MAX_ID``) and unknown fields are refused."""
    errors: dict[str, str] = {}
    operator_id = body.get("operator_id")
    if (not isinstance(operator_id, int) or isinstance(operator_id, bool)
            or not 0 < operator_id <= MAX_ID):
        errors["operator_id"] = "must be a positive integer id"
    mode = body.get("mode")
    if not isinstance(mode, str) or mode not in CHANSPY_OPTIONS:
        errors["mode"] = "one of: " + ", ".join(MODES)
    for name in sorted(set(body) - set(_FIELDS)):
        errors[str(name)[:64]] = "unknown field"
    if errors:
        return None, errors
    return SuperviseRequest(operator_id, mode), {}  # type: ignore[arg-type]


def spy_originate(*, supervisor_extension: str, supervisor_id: int, operator_extension: str,
                  operator_name: str | None, mode: str, context: str) -> SpyOriginate:
    """The Originate that rings ``supervisor_extension`` and spies on ``operator_extension``.

    ValueError for a mode that is none of :data:`MODES` or an operator endpoint the dialplan
    would refuse (not ``PJSIP/<name>``): such a request must not reach the PBX."""
    if mode not in CHANSPY_OPTIONS:
        raise ValueError(f"unknown mode {mode!r}")
    if not SPY_ENDPOINT.fullmatch(operator_extension):
        raise ValueError(f"not an endpoint ChanSpy may spy on: {operator_extension!r}")
    number = operator_extension.partition("/")[2]
    label = f"{_LABELS[mode]}: {operator_name or number}"
    return SpyOriginate(
        channel=supervisor_extension, context=context, exten=mode,
        caller_id=caller_id(label, number),
        variables={"CRM_SPY": operator_extension, "CRM_SPY_MODE": mode,
                   "CRM_SUPERVISOR": str(supervisor_id)})


def operator_call(live: Iterable[CallRecord], endpoint: str) -> CallRecord | None:
    """The call ``endpoint`` (an operator's phone) is talking on right now, or None: answered
    by that phone and not ended.  The newest when there are several (a consultation call)."""
    found = None
    for call in live:
        if call.answered_by == endpoint and call.answered_at is not None and call.ended_at is None:
            if found is None or call.answered_at >= found.answered_at:  # type: ignore[operator]
                found = call
    return found

