"""What became of a call that nobody answered: the far end's hang-up cause and SIP response
first, Asterisk's ``DIALSTATUS`` only when those say nothing.  Pure, table-tested.

Why the cause beats the dial status: ``DIALSTATUS`` is app_dial's summary of the last control
frame it saw, and it folds very different endings together.  A number that does not exist
(SIP ``404 Not Found``, Q.850 cause 1 "Unallocated number") reaches the dialplan as
``CHANUNAVAIL`` or ``CONGESTION`` depending on the carrier, sometimes even ``NOANSWER``; logged
like that, the redial ladder would keep calling a dead number.  The cause (``Cause`` of the
dialled channel's ``Hangup``/``HangupRequest``) and, on PJSIP, the SIP response itself
(``TechCause``) say what the far end really answered.

Precedence, most specific first:

1. the SIP response of the dialled channel (:data:`SIP_OUTCOMES`);
2. its Q.850 cause (:data:`CAUSE_OUTCOMES`), unless the cause is one that says nothing about the
   far end (:data:`UNINFORMATIVE_CAUSES`: 0 unknown, 16 normal clearing, 26 answered elsewhere,
   31 normal unspecified, 127 interworking; Asterisk puts those on channels it hangs up itself,
   e.g. at the dial timeout or when the caller cancels);
3. the dial status (:data:`DIAL_STATUS_OUTCOMES`);
4. ``failed``.
"""

from __future__ import annotations

from callcenter.domain.call_records import Outcome

__all__ = [
    "CAUSE_OUTCOMES",
    "DIAL_STATUS_OUTCOMES",
    "INVALID_NUMBER",
    "SIP_OUTCOMES",
    "UNINFORMATIVE_CAUSES",
    "unanswered_outcome",
]

INVALID_NUMBER: Outcome = "invalid_number"

#: Q.850 cause -> outcome of an unanswered call.  ``invalid_number``: the number does not exist
#: or cannot be dialled as written (redialling is pointless); ``unavailable``: the number exists
#: but cannot be reached now (phone off, out of order, no route right now); ``failed``: the
#: network or the PBX failed (congestion, temporary failure, barred, resources).
CAUSE_OUTCOMES: dict[int, Outcome] = {
    1: INVALID_NUMBER,    # unallocated (unassigned) number
    2: "unavailable",     # no route to specified transit network
    3: INVALID_NUMBER,    # no route to destination
    4: "unavailable",     # send special information tone
    5: INVALID_NUMBER,    # misdialled trunk prefix
    6: "failed",          # channel unacceptable
    7: "failed",          # call awarded and delivered in an established channel
    8: "failed",          # preemption
    9: "failed",          # preemption, circuit reserved for reuse
    17: "busy",           # user busy
    18: "no_answer",      # no user responding
    19: "no_answer",      # no answer from user (user alerted)
    20: "unavailable",    # subscriber absent
    21: "busy",           # call rejected: the customer declined, like busy for the redial ladder
    22: INVALID_NUMBER,   # number changed: this number is no longer the customer's
    23: "unavailable",    # redirection to new destination
    25: "failed",         # exchange routing error
    27: "unavailable",    # destination out of order
    28: INVALID_NUMBER,   # invalid number format (address incomplete)
    29: "failed",         # facility rejected
    30: "failed",         # response to STATUS ENQUIRY
    34: "failed",         # no circuit/channel available (congestion)
    38: "failed",         # network out of order
    41: "failed",         # temporary failure
    42: "failed",         # switching equipment congestion
    43: "failed",         # access information discarded
    44: "failed",         # requested circuit/channel not available
    47: "failed",         # resource unavailable, unspecified
    50: "failed",         # requested facility not subscribed
    52: "failed",         # outgoing calls barred
    53: "failed",         # outgoing calls barred within closed user group
    54: "unavailable",    # incoming calls barred (at the customer's side)
    55: "unavailable",    # incoming calls barred within closed user group
    57: "failed",         # bearer capability not authorised
    58: "failed",         # bearer capability not presently available
    63: "failed",         # service or option not available
    65: "failed",         # bearer capability not implemented
    66: "failed",         # channel type not implemented
    69: "failed",         # requested facility not implemented
    79: "failed",         # service or option not implemented
    81: "failed",         # invalid call reference value
    88: "failed",         # incompatible destination
    95: "failed",         # invalid message, unspecified
    96: "failed",         # mandatory information element missing
    97: "failed",         # message type non-existent
    98: "failed",         # message not compatible with call state
    99: "failed",         # information element non-existent
    100: "failed",        # invalid information element contents
    101: "failed",        # message not compatible with call state
    102: "no_answer",     # recovery on timer expiry: the far end never answered in time
    111: "failed",        # protocol error, unspecified
}

#: Causes that tell nothing about why the far end did not answer.
UNINFORMATIVE_CAUSES = frozenset({0, 16, 26, 31, 127})

#: SIP final response of the dialled channel (PJSIP's ``TechCause``) -> outcome.  Codes not
#: listed (e.g. 401/407 auth challenges, 500 on the carrier) fall back to the Q.850 cause.
SIP_OUTCOMES: dict[int, Outcome] = {
    403: "busy",            # Forbidden: many carriers' answer to a declined call
    404: INVALID_NUMBER,    # Not Found: the number does not exist
    408: "no_answer",       # Request Timeout
    410: INVALID_NUMBER,    # Gone: the number was disconnected
    480: "unavailable",     # Temporarily Unavailable: phone off, out of coverage
    484: INVALID_NUMBER,    # Address Incomplete
    485: INVALID_NUMBER,    # Ambiguous
    486: "busy",            # Busy Here
    487: "no_answer",       # Request Terminated: we cancelled while it rang
    488: "failed",          # Not Acceptable Here (codecs)
    502: "unavailable",     # Bad Gateway
    503: "failed",          # Service Unavailable (carrier congestion)
    504: "no_answer",       # Server Time-out
    600: "busy",            # Busy Everywhere
    603: "busy",            # Decline
    604: INVALID_NUMBER,    # Does Not Exist Anywhere
}

#: ``DialStatus`` (DialEnd) / ``DIALSTATUS`` -> outcome, when neither cause nor SIP code tells.
DIAL_STATUS_OUTCOMES: dict[str, Outcome] = {
    "ANSWER": "answered",
    "BUSY": "busy",
    "NOANSWER": "no_answer",
    "CANCEL": "no_answer",      # the caller (operator) gave up while it rang
    "CONGESTION": "failed",
    "CHANUNAVAIL": "unavailable",
    "DONTCALL": "busy",         # privacy manager: the callee refused the call
    "TORTURE": "busy",          # privacy manager: the callee sent it to the torture menu
    "INVALIDARGS": "failed",    # the dialplan's Dial() had bad arguments
}


def unanswered_outcome(dial_status: str | None = None, cause: int | None = None,
                       sip_code: int | None = None) -> Outcome:
    """The outcome of a call that was dialled and not answered; see the module docstring.

    ``dial_status`` as Asterisk writes it (``NOANSWER``...; case and spaces ignored), ``cause``
    the dialled channel's Q.850 hang-up cause, ``sip_code`` its SIP final response (``TechCause``);
    each may be ``None``.  ``ANSWER`` without an answer (a status that arrived but a party that
    never connected to an operator) is ``failed``.
    """
    if sip_code is not None and sip_code in SIP_OUTCOMES:
        return SIP_OUTCOMES[sip_code]
    if cause is not None and cause not in UNINFORMATIVE_CAUSES and cause in CAUSE_OUTCOMES:
        return CAUSE_OUTCOMES[cause]
    status = (dial_status or "").strip().upper()
    outcome = DIAL_STATUS_OUTCOMES.get(status)
    if outcome is not None and outcome != "answered":
        return outcome
    return "failed"
