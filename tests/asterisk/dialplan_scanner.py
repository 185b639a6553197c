"""A scanner for dialplan sinks fed with caller-controlled text.

Sinks: shells (System, TrySystem, SHELL, MixMonitor's command argument, MONITOR_EXEC),
recording file names (MixMonitor's file and its r()/t() files), and text evaluated again
(EVAL, Exec, ``$[...]`` expressions, which may call any function). Caller-controlled text:
CALLERID, CONNECTEDLINE, REDIRECTING, SIP headers, DTMF read from the caller, the ``${EXTEN}``
of any context the carrier can reach (through include, Goto, Gosub, Local channels), and the
variables derived from them, followed to a fixed point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .asterisk_conf import Section, parse_config
from .dialplan_model import Context, Step, build_dialplan

# Functions/variables whose value the caller (or the carrier, on the caller's
# behalf) chooses.
CALLER_CONTROLLED = re.compile(
    r"(?<![A-Za-z0-9_])(CALLERID|CONNECTEDLINE|REDIRECTING|PJSIP_HEADER|SIP_HEADER|"
    r"PJSIP_PARSE_URI|CALLERPRES|DNID|RDNIS)",
    re.IGNORECASE,
)
EXTEN_REF = re.compile(r"\$\{EXTEN(?=[}:])")
SHELL_SINKS = re.compile(r"(?<![A-Za-z0-9_])(TrySystem|System|SHELL)\(", re.IGNORECASE)
MIXMONITOR = re.compile(r"(?<![A-Za-z0-9_])MixMonitor\(", re.IGNORECASE)
SET_CALL = re.compile(r"(?<![A-Za-z0-9_])(MSet|Set)\(", re.IGNORECASE)
READ_CALL = re.compile(r"(?<![A-Za-z0-9_])(Read|ReadExten)\(", re.IGNORECASE)
# EVAL() substitutes its argument again; Exec() runs the application it is given.
REEVALUATING = re.compile(r"(?<![A-Za-z0-9_])(EVAL|Exec)\(", re.IGNORECASE)
GOSUB_CALL = re.compile(r"(?<![A-Za-z0-9_])(Gosub|GosubIf)\(", re.IGNORECASE)
JUMP_CALL = re.compile(r"(?<![A-Za-z0-9_])(Goto|GotoIf|GotoIfTime|Gosub|GosubIf)\(", re.IGNORECASE)
OPTION_GOSUB = re.compile(r"(?<![A-Za-z0-9_])[bBUFG]\(([^()]*)\)")
LOCAL_CHANNEL = re.compile(r"Local/[^@,&()\s]*@([^,&/()\s]+)", re.IGNORECASE)


def balanced_args(text: str, open_paren: int) -> str:
    """Text between text[open_paren] == '(' and its matching ')'."""
    depth = 0
    for i in range(open_paren, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1 : i]
    return text[open_paren + 1 :]


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside (), ${} and $[]."""
    parts, buf, depth = [], [], 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def calls(regex: re.Pattern[str], text: str) -> list[tuple[str, str]]:
    """(name, args) of every call matched by ``regex`` (ending in '(') in text."""
    return [(m.group(1) if m.groups() else m.group(0)[:-1], balanced_args(text, m.end() - 1)) for m in regex.finditer(text)]


@dataclass
class Finding:
    file: str
    line: int
    context: str
    sink: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} [{self.context}] {self.sink}: {self.text}"


def jump_targets(step: Step, all_contexts: set[str]) -> set[str]:
    """Contexts a step may send the channel (or a new channel) to."""
    text = step.text
    targets: set[str] = set()
    for name, args in calls(JUMP_CALL, text):
        lname = name.lower()
        labels = [args]
        if lname in ("gotoif", "gotoiftime", "gosubif"):
            labels = split_top_level(args.split("?", 1)[1] if "?" in args else "", ":")
        for label in labels:
            label = re.sub(r"\(.*\)$", "", label.strip())  # Gosub arguments
            parts = split_top_level(label)
            if len(parts) == 3:
                targets.add(parts[0].strip())
    for args in OPTION_GOSUB.findall(text):
        parts = args.split("^")
        if len(parts) >= 3:
            targets.add(parts[0].strip())
    targets.update(LOCAL_CHANNEL.findall(text))
    if any("${" in t or "$[" in t for t in targets):
        return set(all_contexts)  # computed context: assume it can be any
    return targets


def trunk_reachable(contexts: dict[str, Context], roots: set[str]) -> set[str]:
    names = set(contexts)
    reachable: set[str] = set()
    todo = [r for r in roots]
    while todo:
        name = todo.pop()
        if name in reachable or name not in contexts:
            continue
        reachable.add(name)
        ctx = contexts[name]
        todo.extend(ctx.includes)
        for step in ctx.steps:
            todo.extend(jump_targets(step, names))
    return reachable


def is_tainted(text: str, exten_tainted: bool, tainted_vars: set[str]) -> bool:
    if CALLER_CONTROLLED.search(text):
        return True
    if exten_tainted and EXTEN_REF.search(text):
        return True
    for var in tainted_vars:
        if re.search(r"\$\{_{0,2}" + re.escape(var) + r"(?=[}:])", text):
            return True
    return False


def scan_dialplan(contexts: dict[str, Context], trunk_roots: set[str]) -> list[Finding]:
    """Sinks (shell, recording file name, re-evaluated text) that may get caller-controlled text."""
    reachable = trunk_reachable(contexts, trunk_roots)
    steps = [s for c in contexts.values() for s in c.steps]

    # Taint propagation through variables, to a fixed point.
    tainted_vars: set[str] = set()
    changed = True
    while changed:
        changed = False
        for step in steps:
            exten_tainted = step.context in reachable
            text = step.text
            new: set[str] = set()
            for name, args in calls(SET_CALL, text):
                pairs = split_top_level(args) if name.lower() == "mset" else [args]
                for pair in pairs:
                    if "=" in pair:
                        var, value = pair.split("=", 1)
                        if is_tainted(value, exten_tainted, tainted_vars):
                            new.add(var.strip().lstrip("_"))
            for _name, args in calls(READ_CALL, text):  # DTMF typed by the caller
                new.add(split_top_level(args)[0].strip().lstrip("_"))
            for _name, args in calls(GOSUB_CALL, text):
                if is_tainted(args, exten_tainted, tainted_vars):
                    new.update(f"ARG{i}" for i in range(1, 10))
            new = {v for v in new if v and "${" not in v}
            if not new <= tainted_vars:
                tainted_vars |= new
                changed = True

    findings: list[Finding] = []
    for step in steps:
        exten_tainted = step.context in reachable
        text = step.text
        sinks: list[tuple[str, str]] = []
        for name, args in calls(SHELL_SINKS, text):
            sinks.append((name, args))
        for _name, args in calls(MIXMONITOR, text):
            # the command runs in a shell; the file name must not be the caller's either
            parts = split_top_level(args)
            sinks.append(("MixMonitor file name/options", ",".join(parts[:2])))
            if len(parts) > 2:
                sinks.append(("MixMonitor command", ",".join(parts[2:])))
        for name, args in calls(REEVALUATING, text):  # text run as dialplan
            sinks.append((name, args))
        for expression in expressions(text):  # $[...] can call any function
            sinks.append(("$[...] expression", expression))
        for _name, args in calls(SET_CALL, text):
            var, _, value = args.partition("=")
            if var.strip().lstrip("_").upper().startswith("MONITOR_EXEC"):
                sinks.append(("MONITOR_EXEC", value))
        for sink, payload in sinks:
            if is_tainted(payload, exten_tainted, tainted_vars):
                findings.append(Finding(step.file, step.line, step.context, sink, text))
    return findings


def expressions(text: str) -> list[str]:
    """Contents of every $[...] in text."""
    out = []
    for m in re.finditer(r"\$\[", text):
        depth = 0
        for i in range(m.end() - 1, len(text)):
            if text[i] == "[":
                depth += 1
            elif text[i] == "]":
                depth -= 1
                if depth == 0:
                    out.append(text[m.end() : i])
                    break
    return out


def shell_uses(contexts: dict[str, Context]) -> list[Step]:
    """Every step that runs a shell at all, tainted or not."""
    out = []
    for ctx in contexts.values():
        for step in ctx.steps:
            mix_command = any(len(split_top_level(a)) > 2 and ",".join(split_top_level(a)[2:]).strip() for _n, a in calls(MIXMONITOR, step.text))
            if SHELL_SINKS.search(step.text) or mix_command:
                out.append(step)
    return out


def trunk_roots(endpoints: dict[str, Section]) -> set[str]:
    """Contexts the carrier's calls start in: every non-operator endpoint's."""
    roots = {"from-trunk", "callcenter-inbound"}
    for name, ep in endpoints.items():
        if not name.isdigit() and ep.get("context"):
            roots.add(ep.get("context"))
    return roots


def scan_snippet(text: str, roots=frozenset({"from-trunk"})) -> list[Finding]:
    return scan_dialplan(build_dialplan(parse_config(text, "snippet.conf", resolve=None)), set(roots))


