"""domain/outcomes.py: what became of an unanswered call, from SIP code, Q.850 cause and
DIALSTATUS.  Table-driven: input -> expected outcome."""

from __future__ import annotations

import pytest

from callcenter.domain.call_records import OUTCOMES
from callcenter.domain.outcomes import (
    CAUSE_OUTCOMES, DIAL_STATUS_OUTCOMES, SIP_OUTCOMES, UNINFORMATIVE_CAUSES, unanswered_outcome,
)

CAUSES = [
    (1, "invalid_number"),   # unallocated number
    (2, "unavailable"),
    (3, "invalid_number"),   # no route to destination
    (5, "invalid_number"),
    (17, "busy"),
    (18, "no_answer"),
    (19, "no_answer"),
    (20, "unavailable"),     # subscriber absent
    (21, "busy"),            # call rejected
    (22, "invalid_number"),  # number changed
    (27, "unavailable"),     # destination out of order
    (28, "invalid_number"),  # invalid number format
    (34, "failed"),          # congestion
    (38, "failed"),
    (41, "failed"),
    (42, "failed"),
    (44, "failed"),
    (47, "failed"),
    (52, "failed"),          # outgoing calls barred
    (58, "failed"),
    (102, "no_answer"),
]


@pytest.mark.parametrize("cause, outcome", CAUSES)
def test_the_cause_beats_the_dial_status(cause: int, outcome: str) -> None:
    for status in ("NOANSWER", "CHANUNAVAIL", "CONGESTION", None):
        assert unanswered_outcome(status, cause) == outcome, status


SIP = [
    (404, "invalid_number"), (410, "invalid_number"), (484, "invalid_number"), (485, "invalid_number"),
    (604, "invalid_number"), (486, "busy"), (600, "busy"), (603, "busy"), (403, "busy"),
    (480, "unavailable"), (502, "unavailable"), (408, "no_answer"), (487, "no_answer"), (504, "no_answer"),
    (503, "failed"), (488, "failed"),
]


@pytest.mark.parametrize("code, outcome", SIP)
def test_the_sip_response_beats_cause_and_status(code: int, outcome: str) -> None:
    # Asterisk's own reading of the response (cause 16 or 127) adds nothing
    for cause in (16, 127, None):
        assert unanswered_outcome("CONGESTION", cause, code) == outcome


def test_a_dead_number_is_invalid_not_no_answer() -> None:
    """The click-to-call issue: SIP 404 / cause 1, whatever DIALSTATUS says."""
    for status in ("NOANSWER", "CHANUNAVAIL", "CONGESTION", ""):
        assert unanswered_outcome(status, 1, 404) == "invalid_number"
        assert unanswered_outcome(status, 1) == "invalid_number"


DIAL_STATUSES = [
    ("ANSWER", "failed"),  # a status that says answered, for a call nobody answered: no guess
    ("BUSY", "busy"), ("NOANSWER", "no_answer"), ("CANCEL", "no_answer"), ("CONGESTION", "failed"),
    ("CHANUNAVAIL", "unavailable"), ("DONTCALL", "busy"), ("TORTURE", "busy"), ("INVALIDARGS", "failed"),
    (" noanswer ", "no_answer"), ("SOMETHINGNEW", "failed"), ("", "failed"), (None, "failed"),
]


@pytest.mark.parametrize("status, outcome", DIAL_STATUSES)
def test_the_dial_status_when_the_cause_says_nothing(status, outcome) -> None:
    for cause in (None, *sorted(UNINFORMATIVE_CAUSES), 999):
        assert unanswered_outcome(status, cause) == outcome, cause


def test_unknown_sip_codes_fall_back_to_the_cause() -> None:
    assert unanswered_outcome("NOANSWER", 17, 401) == "busy"
    assert unanswered_outcome("NOANSWER", 16, 499) == "no_answer"


def test_every_mapped_outcome_is_a_known_outcome() -> None:
    values = {*CAUSE_OUTCOMES.values(), *SIP_OUTCOMES.values(), *DIAL_STATUS_OUTCOMES.values()}
    assert values <= set(OUTCOMES)
    assert not UNINFORMATIVE_CAUSES & set(CAUSE_OUTCOMES)
