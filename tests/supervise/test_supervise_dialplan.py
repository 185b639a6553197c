"""The listen-in context of dialplan/callcenter.conf, as extensions.conf loads it: each mode's
extension checks CRM_SPY before ChanSpy, runs the options the CRM documents, and nothing but the
CRM's Originate reaches it.  Followed with Asterisk's matching (tests/asterisk/)."""

from __future__ import annotations

import re

import pytest

from callcenter.config import SETTINGS_BY_NAME
from callcenter.domain.supervise import CHANSPY_OPTIONS, SPY_ENDPOINT, spy_originate
from tests.asterisk.dialplan_model import (
    all_dialplan_contexts, load_dialplan, matching_extensions, pjsip_endpoints,
)
from tests.asterisk.dialplan_run import run
from tests.asterisk.dialplan_scanner import JUMP_CALL, calls, split_top_level

CONTEXT = SETTINGS_BY_NAME["supervise_context"].default
CHECK = '${REGEX("^PJSIP/[A-Za-z0-9_.-]{1,64}$" ${CRM_SPY})}'


def test_the_context_has_one_extension_per_mode_and_nothing_else():
    ctx = load_dialplan()[CONTEXT]
    assert sorted(ctx.extensions) == sorted(CHANSPY_OPTIONS)
    assert ctx.includes == []


@pytest.mark.parametrize("mode", sorted(CHANSPY_OPTIONS))
def test_each_mode_checks_crm_spy_then_spies_with_its_own_options(mode):
    steps = load_dialplan()[CONTEXT].steps_of(mode)
    apps = [s.app for s in steps]
    assert apps.count("ChanSpy") == 1
    spy = steps[apps.index("ChanSpy")]
    # the options are written in the dialplan, never taken from a variable
    assert spy.data == f"${{CRM_SPY}}-,{CHANSPY_OPTIONS[mode]}"
    target, options = split_top_level(spy.data)
    assert "$" not in options
    # the step right before jumps away unless CRM_SPY has the endpoint's shape
    check = steps[apps.index("ChanSpy") - 1]
    assert (check.app, check.data) == ("GotoIf", f"{CHECK}?:invalid")
    # the same shape the CRM allows (domain/supervise.py)
    assert SPY_ENDPOINT.pattern == re.search(r'"(.*)"', CHECK).group(1)
    # CRM_SPY is read nowhere else but in the check, the ChanSpy and the NoOp log line
    for s in steps:
        if "CRM_SPY" in s.data:
            assert s in (check, spy) or s.app == "NoOp", s
    assert steps[-1].app == "Hangup" and steps[apps.index("ChanSpy") + 1].app == "Hangup"


@pytest.mark.parametrize("mode", sorted(CHANSPY_OPTIONS))
def test_the_crms_originate_runs_chanspy_on_the_operators_channels(mode):
    spy = spy_originate(supervisor_extension="PJSIP/201", supervisor_id=4,
                        operator_extension="PJSIP/101", operator_name="Анна", mode=mode,
                        context=CONTEXT)
    assert matching_extensions(load_dialplan(), spy.context, spy.exten) == [(CONTEXT, mode)]
    outcome = run(load_dialplan(), spy.context, spy.exten, spy.variables)
    assert outcome.spy == f"PJSIP/101-,{CHANSPY_OPTIONS[mode]}"
    assert outcome.hangup_cause == "16" and outcome.dial is None


@pytest.mark.parametrize("value", [
    "", "PJSIP/", "PJSIP/101,qB", "PJSIP/101)", "PJSIP/101&PJSIP/102", "SIP/101", "pjsip/101",
    "PJSIP/101 x", "PJSIP/101|x", "PJSIP/" + "1" * 65, "Local/101@operators", "PJSIP/10${X}",
    "PJSIP/101/evil", "DAHDI/1", "PJSIP/101,qEB",
])  # fmt: skip
@pytest.mark.parametrize("mode", sorted(CHANSPY_OPTIONS))
def test_an_odd_crm_spy_never_reaches_chanspy(mode, value):
    outcome = run(load_dialplan(), CONTEXT, mode, {"CRM_SPY": value})
    assert outcome.spy is None, (mode, value, outcome)
    assert outcome.hangup_cause == "21"


def test_a_mode_that_is_not_an_extension_does_not_exist():
    contexts = load_dialplan()
    for exten in ("listen,qB", "Listen", "spy", "s", "101", "_X.", "barge2"):
        assert matching_extensions(contexts, CONTEXT, exten) == [], exten


def test_only_an_originate_reaches_the_context():
    contexts = all_dialplan_contexts()
    for ctx in contexts.values():
        assert CONTEXT not in ctx.includes, ctx.name
        for step in ctx.steps:
            for _name, args in calls(JUMP_CALL, step.text):
                assert CONTEXT not in args, step
    for name, endpoint in pjsip_endpoints().items():
        assert endpoint.get("context") != CONTEXT, name
