"""No caller-controlled text reaches a shell, a recording's file name or re-evaluated text.

The scanner (dialplan_scanner.py) runs over the dialplan as extensions.conf loads it, and is
itself tested on bad snippets, so that a scanner that finds nothing cannot pass.
"""

from __future__ import annotations

import pytest

from .asterisk_conf import config_files, parse_config, strip_comments
from .dialplan_model import all_dialplan_contexts, build_dialplan, load_dialplan, pjsip_endpoints
from .dialplan_scanner import (
    MIXMONITOR, SHELL_SINKS, calls, scan_dialplan, scan_snippet, shell_uses, split_top_level,
    trunk_reachable, trunk_roots,
)


def test_no_shell_sink_gets_caller_controlled_text():
    endpoints = pjsip_endpoints()
    findings = scan_dialplan(all_dialplan_contexts(), trunk_roots(endpoints))
    assert not findings, "caller-controlled text reaches a sink:\n" + "\n".join(map(str, findings))


def test_no_shell_at_all_in_shipped_config():
    # Stronger than the scanner: the shipped dialplan runs no shell, and no
    # file (comments aside) so much as mentions a shell sink.
    assert not shell_uses(all_dialplan_contexts())
    for path in config_files():
        for lineno, line in enumerate(strip_comments(path.read_text(encoding="utf-8")), 1):
            assert not SHELL_SINKS.search(line), f"{path.name}:{lineno}: {line}"
            for _n, args in calls(MIXMONITOR, line):
                assert len(split_top_level(args)) <= 2, f"{path.name}:{lineno}: MixMonitor command: {line}"


def test_the_carrier_reaches_only_the_inbound_context():
    contexts = load_dialplan()
    reachable = trunk_reachable(contexts, trunk_roots(pjsip_endpoints()))
    assert reachable == {"from-trunk", "callcenter-inbound"}
    assert "operators" not in reachable and "callcenter-operators" not in reachable


BAD_SNIPPETS = {
    "System with CALLERID(num)": """
[from-trunk]
exten => _X.,1,System(/usr/local/bin/notify ${CALLERID(num)})
""",
    "TrySystem with the caller's name via a variable": """
[from-trunk]
exten => _X.,1,Set(WHO=${CALLERID(name)})
 same => n,Set(MSG=call from ${WHO})
 same => n,TrySystem(echo "${MSG}" >> /tmp/log)
""",
    "SHELL() with CONNECTEDLINE": """
[operators]
exten => _X.,1,Set(X=${SHELL(logger ${CONNECTEDLINE(num)})})
""",
    "MixMonitor command with the inbound EXTEN": """
[from-trunk]
exten => _X.,1,MixMonitor(${UNIQUEID}.wav,b,/usr/bin/post.sh ${EXTEN})
""",
    "MixMonitor command with a derived variable": """
[from-trunk]
exten => _X.,1,Set(__DID=${EXTEN:1})
 same => n,MixMonitor(${UNIQUEID}.wav,b,/usr/bin/post.sh ${DID} ^{MIXMONITOR_FILENAME})
""",
    "EXTEN in a context the inbound context jumps to": """
[from-trunk]
exten => _X.,1,Goto(handle-did,${EXTEN},1)
[handle-did]
exten => _X.,1,System(/usr/bin/route ${EXTEN})
""",
    "EXTEN in a context the inbound context includes": """
[from-trunk]
include => more-inbound
[more-inbound]
exten => _X.,1,System(/usr/bin/route ${EXTEN})
""",
    "ExecIf wrapping System with REDIRECTING": """
[operators]
exten => 1,1,ExecIf($[1]?System(echo ${REDIRECTING(from-num)}))
""",
    "DTMF read from the caller": """
[from-trunk]
exten => s,1,Read(ORDER,enter-order,10)
 same => n,System(/usr/bin/lookup ${ORDER})
""",
    "a SIP header": """
[from-trunk]
exten => s,1,System(/usr/bin/x ${PJSIP_HEADER(read,X-Order)})
""",
    "Gosub argument": """
[from-trunk]
exten => s,1,Gosub(helper,s,1(${CALLERID(num)}))
[helper]
exten => s,1,System(/usr/bin/x ${ARG1})
 same => n,Return()
""",
    "MixMonitor file name from the caller ID": """
[from-trunk]
exten => _X.,1,MixMonitor(${CALLERID(num)}-${UNIQUEID}.wav,b)
""",
    "expression with the caller's name (functions run inside $[])": """
[from-trunk]
exten => _X.,1,GotoIf($["${CALLERID(name)}" = "VIP"]?vip)
""",
    "EVAL of the DID": """
[from-trunk]
exten => _X.,1,Set(X=${EVAL(${EXTEN})})
""",
    "Exec of a connected-line derived variable": """
[from-trunk]
exten => _X.,1,Set(APP=${CONNECTEDLINE(name)})
 same => n,Exec(${APP})
""",
    "MixMonitor direction file from the caller ID": """
[from-trunk]
exten => _X.,1,MixMonitor(${UNIQUEID}.wav,br(${CALLERID(num)}-customer.wav))
""",
    "recording name variable derived from the DID": """
[from-trunk]
exten => _X.,1,Set(CRM_REC=${STRFTIME(${EPOCH},,%Y/%m/%d)}/${EXTEN})
 same => n,MixMonitor(${CRM_REC}.wav,bt(${CRM_REC}-operator.wav))
""",
    "MONITOR_EXEC": """
[from-trunk]
exten => s,1,Set(MONITOR_EXEC=/usr/bin/x ${CALLERID(num)})
""",
}


@pytest.mark.parametrize("name", sorted(BAD_SNIPPETS))
def test_scanner_flags_bad_snippet(name):
    findings = scan_snippet(BAD_SNIPPETS[name])
    assert findings, f"scanner missed: {name}"


def test_scanner_accepts_safe_snippets():
    safe = """
[from-trunk]
exten => _X.,1,NoOp(Inbound call from ${CALLERID(num)} to ${EXTEN})
 same => n,Set(__CRM_DID=${EXTEN})
 same => n,MixMonitor(${STRFTIME(${EPOCH},,%Y/%m/%d)}/${UNIQUEID}.wav,b)
 same => n,Queue(shop,t,,,40)
[operators]
exten => _X.,1,MixMonitor(${UNIQUEID}.wav,b)
 same => n,Dial(PJSIP/${EXTEN}@trunk,30)
; operators' EXTEN is not caller-controlled in the brief's sense
exten => 1,1,System(/usr/bin/sync-op ${EXTEN})
"""
    assert scan_snippet(safe) == []
    # ...but the stricter check still sees the shell use.
    assert len(shell_uses(build_dialplan(parse_config(safe, "s.conf", resolve=None)))) == 1

