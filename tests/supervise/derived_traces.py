"""The dialplan variant of the real supervisor_whisper trace, derived from it by a fixed edit.

The lab originated ``Application: ChanSpy`` directly; the CRM originates into the
``callcenter-supervise`` context instead (dialplan/callcenter.conf).  Everything Asterisk does
before the supervisor's phone answers is the same either way (the channel sits in its
endpoint's context, ``operators``/``s``, while it rings); from the answer on, the channel
runs the context's ``whisper`` extension.  So the edit, and nothing else:

* the Originate: ``Context``/``Exten``/``Priority`` instead of ``Application``/``Data``, the
  CRM's caller ID and its three variables (``CRM_SPY=PJSIP/101``, ``CRM_SPY_MODE``,
  ``CRM_SUPERVISOR``);
* the spy channel's ``VarSet CRM_SPY`` says ``PJSIP/101``, followed by the VarSets of the two
  other variables (Asterisk reports one per Originate variable, in order);
* its caller ID name reads ``Whisper: Operator Anna`` (what the CRM sends) for ``Listen: 101``;
* ``OriginateResponse`` names ``Context``/``Exten`` (as Asterisk does for a dialplan
  Originate, compare outbound_click_to_call) instead of ``Application``/``Data``;
* after the answer: three ``Newexten`` (NoOp, GotoIf, ChanSpy ``PJSIP/101-,qEw``) before
  ``ChanSpyStart``, and the channel's ``Context``/``Exten``/``Priority`` (and the
  ``Spyer*`` ones) read ``callcenter-supervise``/``whisper``/``3`` where they read
  ``operators``/``s``/``1``; its Cdr names that destination and ChanSpy's data.

``python -m tests.supervise.derived_traces`` writes the files; a test checks that the stored
ones are exactly what this edit gives, so the derived trace cannot drift from the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

TRACES = Path(__file__).resolve().parents[1] / "traces"
REAL = TRACES / "supervisor_whisper.jsonl"
DERIVED = TRACES / "derived" / "supervisor_whisper_dialplan.jsonl"

SPY_UID = "1796155277.10"
CONTEXT, EXTEN, MODE = "callcenter-supervise", "whisper", "whisper"
SUPERVISOR_ID = "4"
NAME = "Whisper: Operator Anna"
CHANSPY_DATA = "PJSIP/101-,qEw"
ANSWER_AT = 10.1273  # the OriginateResponse: the channel starts its dialplan

ORIGINATE = "\r\n".join([
    "Action: Originate", "ActionID: supervisor_whisper-1", "Channel: PJSIP/102",
    f"Context: {CONTEXT}", f"Exten: {EXTEN}", "Priority: 1",
    f'CallerID: "{NAME}" <101>', "Timeout: 30000", "Async: true",
    "Variable: CRM_SPY=PJSIP/101", f"Variable: CRM_SPY_MODE={MODE}",
    f"Variable: CRM_SUPERVISOR={SUPERVISOR_ID}"]) + "\r\n\r\n"


def _header(block: str, name: str) -> str | None:
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep and key == name:
            return value
    return None


def _replace_header(block: str, name: str, value: str) -> str:
    return "\r\n".join(f"{name}: {value}" if line.partition(": ")[0] == name else line
                       for line in block.split("\r\n"))


def _in_dialplan(block: str, prefix: str = "") -> str:
    for name, value in (("Context", CONTEXT), ("Exten", EXTEN), ("Priority", "3")):
        block = _replace_header(block, prefix + name, value)
    return block


def _newexten(template: str, priority: int, app: str, data: str) -> str:
    block = _in_dialplan(template)
    block = _replace_header(block, "Priority", str(priority))
    lines = [ln for ln in block.split("\r\n") if ln.partition(": ")[0] not in ("Variable", "Value")]
    lines[0] = "Event: Newexten"
    lines[1] = "Privilege: dialplan,all"
    return "\r\n".join(lines + [f"Extension: {EXTEN}", f"Application: {app}", f"AppData: {data}"])


def _edit_block(block: str, t: float) -> list[str]:
    event = _header(block, "Event")
    if not event or SPY_UID not in block:
        return [block]
    block = block.replace("Listen: 101", NAME)
    if event == "OriginateResponse":
        lines = []
        for line in block.split("\r\n"):
            key = line.partition(": ")[0]
            if key == "Application":
                lines.append(f"Context: {CONTEXT}")
            elif key == "Data":
                lines.append(f"Exten: {EXTEN}")
            else:
                lines.append(line)
        return ["\r\n".join(lines)]
    if event == "VarSet" and _header(block, "Variable") == "CRM_SPY":
        spy = _replace_header(block, "Value", "PJSIP/101")
        mode = _replace_header(_replace_header(spy, "Variable", "CRM_SPY_MODE"), "Value", MODE)
        sup = _replace_header(_replace_header(spy, "Variable", "CRM_SUPERVISOR"), "Value",
                              SUPERVISOR_ID)
        return [spy, mode, sup]
    if t < ANSWER_AT:
        return [block]
    if event == "Cdr":
        block = _replace_header(block, "Destination", EXTEN)
        block = _replace_header(block, "DestinationContext", CONTEXT)
        return [_replace_header(block, "LastData", CHANSPY_DATA)]
    if event.startswith("ChanSpy"):
        block = _in_dialplan(block, "Spyer")
        if event == "ChanSpyStart":
            spyer = "\r\n".join(line[len("Spyer"):] for line in block.split("\r\n")
                                if line.startswith("Spyer"))
            template = f"Event: Newexten\r\nPrivilege: dialplan,all\r\n{spyer}"
            return [_newexten(template, 1, "NoOp", "callcenter: supervisor whispers to PJSIP/101"),
                    _newexten(template, 2, "GotoIf", "1?:invalid"),
                    _newexten(template, 3, "ChanSpy", CHANSPY_DATA), block]
        return [block]
    return [_in_dialplan(block)]


def derive(real: Path = REAL) -> list[dict]:
    """The records of the derived trace (see the module docstring)."""
    out = []
    for line in real.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        data = record["data"]
        if record["dir"] == "out" and data.startswith("Action: Originate"):
            record = {**record, "data": ORIGINATE}
        elif record["dir"] == "in":
            blocks = data.split("\r\n\r\n")
            edited = [b for block in blocks[:-1] for b in _edit_block(block, record["t"])]
            record = {**record, "data": "".join(b + "\r\n\r\n" for b in edited) + blocks[-1]}
        out.append(record)
    return out


def render(records: list[dict]) -> tuple[str, str]:
    """(the .jsonl text, the .ami text) of ``records``."""
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    ami = "".join(r["data"] for r in records if r["dir"] == "in")
    return jsonl, ami


def write() -> None:
    jsonl, ami = render(derive())
    DERIVED.write_text(jsonl, encoding="utf-8")
    DERIVED.with_suffix(".ami").write_bytes(ami.encode("utf-8"))


if __name__ == "__main__":
    write()
