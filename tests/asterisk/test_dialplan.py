"""The shipped dialplan: every line loads, every jump lands, and calls do what the CRM expects.

Numbers are matched with Asterisk's own matching and best-match order (extension_patterns.py,
checked against Asterisk's documentation in test_extension_patterns.py), and followed through
the dialplan up to its Dial() by dialplan_run.py.
"""

from __future__ import annotations

import re

import phonenumbers
import pytest

from callcenter.config import SETTINGS_BY_NAME
from callcenter.domain.click_to_call import ClickToCall, originate_params
from callcenter.domain.phones import normalise_phone

from .ami_filters import trace_actions, trace_events
from .asterisk_conf import ASTERISK_DIR, DIALPLAN_DIR, ConfigError, parse_config
from .dialplan_model import (
    PRIORITY_HINT, all_dialplan_contexts, build_dialplan, load_dialplan, matching_extensions,
    pjsip_endpoints,
)
from .dialplan_run import run
from .dialplan_scanner import JUMP_CALL, calls, split_top_level

SHOP_CID = "74951234567"  # the lab's DID, CALLCENTER_SHOP_CID in asterisk/extensions.conf
REC = "${STRFTIME(${EPOCH},,%Y/%m/%d)}/${UNIQUEID}"


# --- every line loads --------------------------------------------------------------------------


def test_every_dialplan_file_loads_line_by_line():
    for path in sorted(DIALPLAN_DIR.glob("*.conf")) + [ASTERISK_DIR / "extensions.conf"]:
        contexts = build_dialplan(parse_config(path.read_text(encoding="utf-8"), path.name))
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                 if re.match(r"^\s*(exten|same)\s*=>", ln)]
        steps = [s for c in contexts.values() for s in c.steps if s.file == path.name]
        assert len(steps) == len(lines), path.name  # no line silently dropped
    for ctx in all_dialplan_contexts().values():
        for exten in ctx.extensions:
            numbers = [s.number for s in ctx.steps_of(exten)]
            # priority 1 exists and there is no gap (a gap ends the call, or falls through)
            assert numbers == list(range(1, len(numbers) + 1)), (ctx.name, exten, numbers)
            assert ctx.steps_of(exten)[-1].app.lower() in ("hangup", "goto"), (ctx.name, exten)


@pytest.mark.parametrize("text, error", [
    ("[c]\nexten => 1,n,NoOp()\n", "first entry"),
    ("[c]\nsame => n,NoOp()\n", "before any 'exten'"),
    ("[c]\nexten => 1,1,NoOp()\n same => n(open,NoOp()\n", "trailing ')'"),
    ("[c]\nexten => 1,1,NoOp()\n same => nope,NoOp()\n", "invalid priority"),
    ("[c]\nexten => 1,0,NoOp()\n", "invalid priority"),
    ("[c]\nexten => 1,1,NoOp()\nexten => 1,1,Hangup()\n", "already used"),
    ("[c]\nexten => 1,1(a),NoOp()\n same => n(a),Hangup()\n", "twice"),
    ("[c]\nfoo => 1\n", "unexpected"),
])  # fmt: skip
def test_lines_asterisk_would_reject_are_rejected(text, error):
    with pytest.raises(ConfigError, match=re.escape(error)):
        build_dialplan(parse_config(text, "t.conf", resolve=None))


def test_priorities_resolve_as_pbx_config_does():
    ctx = build_dialplan(parse_config(
        "[c]\nexten => 1,1,NoOp(a)\n same => n(two),NoOp(b)\n same => n+2,NoOp(c)\n"
        "exten => 4,s,NoOp(d)\nexten => 2,hint,PJSIP/2\nexten => 2,1,NoOp(e)\n"
        "exten => 3,1,NoOp()\nexten => 3,5(five),NoOp()\nexten => 3,five+1,NoOp()\n",
        "t.conf", resolve=None))["c"]
    assert [(s.data, s.number, s.label) for s in ctx.steps if s.exten == "1"] == [
        ("a", 1, None), ("b", 2, "two"), ("c", 5, None)]
    assert [s.number for s in ctx.steps if s.exten == "4"] == [5]  # 's': the last one written
    assert [s.number for s in ctx.steps if s.exten == "2"] == [PRIORITY_HINT, 1]
    assert [s.number for s in ctx.steps if s.exten == "3"] == [1, 5, 6]


def test_every_jump_lands_on_a_label_or_priority_that_exists():
    contexts = all_dialplan_contexts()
    jumps = 0
    for ctx in contexts.values():
        for step in ctx.steps:
            for name, args in calls(JUMP_CALL, step.text):
                targets = [args]
                if name.lower() in ("gotoif", "gotoiftime", "gosubif"):
                    targets = split_top_level(args.split("?", 1)[1] if "?" in args else "", ":")
                for target in (t.strip() for t in targets if t.strip()):
                    parts = split_top_level(target)
                    context, exten = ctx.name, step.exten
                    if len(parts) == 3:
                        context, exten, label = parts
                    elif len(parts) == 2:
                        exten, label = parts
                    else:
                        (label,) = parts
                    assert context in contexts, f"{step.file}:{step.line}: no context {context!r}"
                    target_ctx = contexts[context]
                    assert exten in target_ctx.extensions, f"{step.file}:{step.line}: no {exten}@{context}"
                    ok = label in target_ctx.labels_of(exten) or (
                        label.isdigit() and int(label) in {s.number for s in target_ctx.steps_of(exten)})
                    assert ok, f"{step.file}:{step.line}: no priority/label {label!r} in {exten}@{context}"
                    jumps += 1
    assert jumps >= 8


def test_every_context_referenced_exists():
    contexts = all_dialplan_contexts()
    for ctx in contexts.values():
        for inc in ctx.includes:
            assert inc in contexts, f"[{ctx.name}] includes missing [{inc}]"
    for name, ep in pjsip_endpoints().items():
        assert ep.get("context") in contexts, f"endpoint {name}: context {ep.get('context')}"
    assert SETTINGS_BY_NAME["ami_context"].default in contexts
    assert contexts["from-trunk"].includes == ["callcenter-inbound"]
    assert contexts["operators"].includes == ["callcenter-operators"]


def test_contexts_used_by_the_traces_exist():
    contexts = load_dialplan()
    originates = [a for a in trace_actions() if a["Action"] == "Originate"]
    dialplan_originates = [a for a in originates if "Context" in a]
    assert dialplan_originates
    for action in dialplan_originates:
        assert action["Context"] in contexts
        assert action.get("Priority", "1") == "1"
        found = matching_extensions(contexts, action["Context"], action["Exten"])
        assert found, f"Originate to {action['Exten']}@{action['Context']} would fail: extension does not exist"
    # the supervisors' listen-in runs an application, no dialplan
    spies = [a for a in originates if "Context" not in a]
    assert spies and all(a["Application"] == "ChanSpy" for a in spies)
    inbound = [e for e in trace_events() if e.event == "Newchannel" and e.headers["Context"] == "from-trunk" and e.headers["Exten"] != "s"]
    assert inbound
    for e in inbound:
        assert matching_extensions(contexts, "from-trunk", e.headers["Exten"]), e.headers["Exten"]
    manual = [e for e in trace_events() if e.event == "Newchannel" and e.headers["Context"] == "operators"
              and e.headers["Exten"] != "s"]
    for e in manual:  # operators dialling on their phones
        assert run(contexts, "operators", e.headers["Exten"]).dial, e.headers["Exten"]


def test_the_readme_names_the_context_mapping():
    readme = (ASTERISK_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("from-trunk", "operators", "callcenter-inbound", "callcenter-operators"):
        assert name in readme


# --- inbound -----------------------------------------------------------------------------------


def test_inbound_sets_did_records_and_queues():
    contexts = load_dialplan()
    ctx = contexts["callcenter-inbound"]
    (exten,) = ctx.extensions
    apps = [(s.app, s.data) for s in ctx.steps_of(exten)]
    sets = [d for a, d in apps if a == "Set"]
    assert any(d.startswith("__CRM_DID=") and "${EXTEN}" in d for d in sets)
    assert f"CRM_REC={REC}" in sets
    names = [a for a, _ in apps]
    assert names.index("MixMonitor") < names.index("Queue")
    assert ("Queue", "shop,t,,,40") in apps
    # on the customer's channel: r() what the customer says, t() what they hear
    assert ("MixMonitor", "${CRM_REC}.wav,br(${CRM_REC}-customer.wav)t(${CRM_REC}-operator.wav)") in apps


def test_recordings_match_the_lab_dialplan():
    """The shipped MixMonitor lines are the ones that recorded tests/samples/recordings."""
    lab = build_dialplan(parse_config(
        (ASTERISK_DIR.parent / "tests" / "samples" / "recordings" / "extensions.conf").read_text(encoding="utf-8"),
        "lab.conf", resolve=None))
    shipped = all_dialplan_contexts()
    lab_mix = {c: [s.data for s in lab[c].steps if s.app == "MixMonitor"] for c in ("from-trunk", "operators")}
    assert set(lab_mix["from-trunk"]) == {s.data for s in shipped["callcenter-inbound"].steps if s.app == "MixMonitor"}
    assert set(lab_mix["operators"]) == {s.data for s in shipped["callcenter-operators"].steps if s.app == "MixMonitor"}


def test_every_recording_uses_the_safe_file_name():
    contexts = all_dialplan_contexts()
    mixes = [s for c in contexts.values() for s in c.steps if s.app.lower() == "mixmonitor"]
    assert len(mixes) >= 4
    for s in mixes:
        ctx = contexts[s.context]
        steps = ctx.steps_of(s.exten)
        # CRM_REC is set just before, from the date and Asterisk's uniqueid only
        before = steps[steps.index(s) - 1]
        assert (before.app, before.data) == ("Set", f"CRM_REC={REC}"), s
        args = split_top_level(s.data)
        assert len(args) == 2 and args[0] == "${CRM_REC}.wav", s
        options = re.fullmatch(r"b(r|t)\(\$\{CRM_REC\}-(customer|operator)\.wav\)(r|t)\(\$\{CRM_REC\}-(customer|operator)\.wav\)", args[1])
        assert options and {options.group(1), options.group(3)} == {"r", "t"}, s
        assert {options.group(2), options.group(4)} == {"customer", "operator"}, s
    # the traces' MIXMONITOR_FILENAME values have that shape
    names = [e for e in trace_events() if e.event == "VarSet" and e.headers["Variable"] == "MIXMONITOR_FILENAME"]
    assert names
    for e in names:
        assert re.fullmatch(
            r"/var/spool/asterisk/monitor/\d{4}/\d{2}/\d{2}/" + re.escape(e.headers["Uniqueid"]) + r"\.wav",
            e.headers["Value"],
        )


def test_outbound_recording_directions_are_the_operators_view():
    contexts = load_dialplan()
    outcome = run(contexts, "operators", "+79161234567")
    assert outcome.recordings == [
        "2026/12/01/1796155415.27.wav,br(2026/12/01/1796155415.27-operator.wav)"
        "t(2026/12/01/1796155415.27-customer.wav)"]
    assert outcome.variables["CRM_REC"] == "2026/12/01/1796155415.27"


# --- outbound: every country -------------------------------------------------------------------


def _example_numbers() -> list[str]:
    types = [t for name, t in vars(phonenumbers.PhoneNumberType).items() if name.isupper()
             and name not in ("UNKNOWN", "FIXED_LINE_OR_MOBILE")]
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in types:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


EXAMPLES = _example_numbers()
COUNTRIES = {
    # as a person types them, and the E.164 form
    "RU": ("8 (916) 123-45-67", "+79161234567"),
    "UA": ("+380 44 123 4567", "+380441234567"),
    "KZ": ("+7 701 123 4567", "+77011234567"),
    "BY": ("+375 29 123-45-67", "+375291234567"),
    "DE": ("+49 30 1234567", "+49301234567"),
    "US": ("+1 (201) 555-0123", "+12015550123"),
    "GB": ("+44 20 7946 0958", "+442079460958"),
    "NU": ("+683 4002", "+6834002"),              # Niue: 4-digit numbers, 7 in E.164
    "TK": ("+690 3101", "+6903101"),              # Tokelau
    "SH": ("+290 22158", "+29022158"),            # Saint Helena: 5-digit numbers
    "FK": ("+500 31234", "+50031234"),            # Falklands: 5-digit numbers
    "IR": ("+98 9601", "+989601"),                # the shortest example phonenumbers has: 6 digits
    "DE-15": ("+49 800 1234567890", "+498001234567890"),  # 15 digits, E.164's maximum
}  # fmt: skip


def _originate(raw: str, region: str = "RU"):
    request = ClickToCall(channel="PJSIP/101", number=normalise_phone(raw, region), user_id=7)
    return originate_params(request, client_name="Иван Петров", shop_cid="+74951234567")


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_click_to_call_reaches_the_trunk_for_every_country(country):
    raw, e164 = COUNTRIES[country]
    params = _originate(raw)
    assert params.exten == e164
    assert params.caller_id == f'"Иван Петров" <{e164}>'
    contexts = load_dialplan()
    outcome = run(contexts, "operators", params.exten, params.variables)
    assert outcome.context == "callcenter-operators" and outcome.exten == "_+Z."
    assert outcome.dial == f"PJSIP/{e164[1:]}@trunk,30,f(+74951234567)"
    assert outcome.recordings and outcome.hangup_cause is None


def test_every_example_number_of_every_country_is_dialled():
    """All example numbers phonenumbers has (every region, every type), as the CRM originates."""
    assert len(EXAMPLES) > 900
    contexts = load_dialplan()
    lengths = set()
    for e164 in EXAMPLES:
        params = _originate(e164)
        outcome = run(contexts, "operators", params.exten, params.variables)
        assert outcome.dial_target == f"PJSIP/{e164[1:]}@trunk", (e164, outcome)
        lengths.add(len(e164) - 1)
    assert min(lengths) == 6 and max(lengths) == 15


@pytest.mark.parametrize("number, expected", [
    ("79161234567", "79161234567"),  # as the CRM originated before (the traces)
    ("89265550101", "79265550101"),  # dialled on a softphone
    ("+79161234567", "79161234567"),
    ("0079161234567", "79161234567"),
    ("+4930123456789", "4930123456789"),
    ("004930123456789", "4930123456789"),
    ("+380441234567", "380441234567"),
    ("00380441234567", "380441234567"),
    ("+6834002", "6834002"),
])  # fmt: skip
def test_operator_numbers_reach_the_trunk(number, expected):
    contexts = load_dialplan()
    found = matching_extensions(contexts, "operators", number)
    assert len(found) == 1, found  # no two patterns compete for a number
    outcome = run(contexts, "operators", number, {"CRM_TASK_ID": "42"})
    assert outcome.dial_target == f"PJSIP/{expected}@trunk"
    # the trunk leg inherits CRM_TASK_ID; the recording starts before the dial
    assert outcome.variables["__CRM_TASK_ID"] == "42"
    assert outcome.recordings
    # a softphone's own call shows the shop's number too (the global)
    assert outcome.dial_options == f"f({SHOP_CID})" or "CALLCENTER_SHOP_CID" not in outcome.variables


def test_the_customer_sees_the_shops_number():
    contexts = load_dialplan()
    globals_ = {o.key: o.value for s in parse_config((ASTERISK_DIR / "extensions.conf").read_text(encoding="utf-8"),
                                                     "extensions.conf") if s.name == "globals" for o in s.options}
    assert globals_["CALLCENTER_SHOP_CID"] == SHOP_CID
    shop = {"CALLCENTER_SHOP_CID": SHOP_CID}
    # the CRM's value wins; the global serves the softphones; neither: no f(), the operator's own
    assert run(contexts, "operators", "+79161234567", {**shop, "CRM_OUTBOUND_CID": "+74959876543"}).dial_options == "f(+74959876543)"
    assert run(contexts, "operators", "89161234567", shop).dial_options == f"f({SHOP_CID})"
    assert run(contexts, "operators", "89161234567", {}).dial_options == ""
    # whatever the CRM passes, only '+' and digits reach Dial()'s options
    odd = run(contexts, "operators", "+79161234567", {"CRM_OUTBOUND_CID": "7495)&PJSIP/x,1"})
    assert odd.dial_options == "f(74951)" and odd.dial_target == "PJSIP/79161234567@trunk"
    # every outbound extension ends the same way
    ctx = contexts["callcenter-operators"]
    tails = {tuple((s.app, s.data) for s in ctx.steps_of(e) if s.app != "Hangup")[-5:]
             for e in ctx.extensions if e != "_1XX"}
    assert len(tails) == 1, tails


@pytest.mark.parametrize("number", [
    "7916123456", "791612345678", "79161234567&PJSIP/evil", "7916,1234567", "+7916)x", "00", "+",
    "12", "999", "+79161234567&PJSIP/evil", "+7916-123", "+0123456789", "+12345", "+1234567890123456",
    "0012345", "+7916123456a", "+791612345,67",
])  # fmt: skip
def test_operators_cannot_dial_odd_strings(number):
    outcome = run(load_dialplan(), "operators", number)
    assert outcome.dial is None, (number, outcome)
    assert outcome.context is None or outcome.hangup_cause == "28", (number, outcome)


def test_internal_calls_between_operators():
    contexts = load_dialplan()
    assert matching_extensions(contexts, "operators", "102") == [("callcenter-operators", "_1XX")]
    assert run(contexts, "operators", "102").dial == "PJSIP/102,20"


def test_dial_targets_exist():
    endpoints = pjsip_endpoints()
    dials = 0
    for ctx in load_dialplan().values():
        for s in ctx.steps:
            if s.app == "Dial":
                m = re.match(r"PJSIP/[^@,]+@([\w-]+)", s.data)
                if m:
                    assert m.group(1) in endpoints, s
                    dials += 1
    assert dials == 3
