"""Run a call through the shipped dialplan, as far as the static checks can: up to its Dial().

A small interpreter for exactly the applications and functions the CRM's dialplan uses
(NoOp, Set, GotoIf, Goto, MixMonitor, Dial, ChanSpy, Hangup; ${VAR}, ${VAR:offset:length}, LEN,
REGEX, FILTER, IF, STRFTIME, EPOCH, UNIQUEID), with Asterisk's semantics for each: variable
substitution innermost first, IF/GotoIf conditions true unless empty or "0", REGEX as a
POSIX extended regex search, FILTER keeping the listed characters and ranges. Anything else
raises ``Unsupported``, so a dialplan change the interpreter cannot follow fails loudly
instead of passing unchecked. The extension that runs is chosen by Asterisk's own matching
(dialplan_model.matching_extensions / find_step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .ami_filters import posix_search
from .dialplan_model import Context, find_step, matching_extensions
from .dialplan_scanner import split_top_level


class Unsupported(Exception):
    pass


@dataclass
class Outcome:
    context: str | None  # where the extension was found (None: "Extension does not exist")
    exten: str | None
    dial: str | None = None  # Dial()'s arguments, substituted
    hangup_cause: str | None = None
    recordings: list[str] = field(default_factory=list)  # MixMonitor's arguments, substituted
    spy: str | None = None  # ChanSpy()'s arguments, substituted (it runs until the spy leaves)
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def dial_target(self) -> str | None:
        return split_top_level(self.dial)[0] if self.dial is not None else None

    @property
    def dial_options(self) -> str:
        parts = split_top_level(self.dial or "")
        return parts[2] if len(parts) > 2 else ""


def _filter(allowed: str, text: str) -> str:
    chars = set()
    i = 0
    while i < len(allowed):
        if i + 2 < len(allowed) and allowed[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(allowed[i]), ord(allowed[i + 2]) + 1))
            i += 3
        else:
            chars.add(allowed[i])
            i += 1
    return "".join(c for c in text if c in chars)


def _true(value: str) -> bool:
    # pbx_checkcondition: empty is false, an integer is its value, any other text is true
    value = value.strip()
    if not value:
        return False
    return int(value) != 0 if re.fullmatch(r"-?\d+", value) else True


class Channel:
    def __init__(self, exten: str, variables: dict[str, str], now: tuple[str, str] = ("2026/12/01", "1796155415.27")):
        self.vars = {"EXTEN": exten, **variables}
        self.day, self.uniqueid = now

    def var(self, name: str) -> str:
        return self.vars.get(name, self.vars.get("_" + name, self.vars.get("__" + name, "")))

    def substitute(self, text: str) -> str:
        """Replace every ${...}: the braces matched by counting, the inside substituted first
        (pbx_substitute_variables_helper_full)."""
        out, i = [], 0
        while i < len(text):
            if text.startswith("$[", i):
                raise Unsupported(f"expression in {text!r}")
            if not text.startswith("${", i):
                out.append(text[i])
                i += 1
                continue
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise Unsupported(f"unbalanced ${{ in {text!r}")
            out.append(self._expand(self.substitute(text[i + 2 : j - 1])))
            i = j
        return "".join(out)

    def _expand(self, inner: str) -> str:
        m = re.fullmatch(r"([A-Z_]+)\((.*)\)", inner, re.S)
        if m:
            return self._function(m.group(1), m.group(2))
        m = re.fullmatch(r"([A-Za-z0-9_]+)(?::(-?\d+)(?::(-?\d+))?)?", inner)
        if not m:
            raise Unsupported(f"${{{inner}}}")
        name, offset, length = m.groups()
        value = {"EPOCH": "1796155415", "UNIQUEID": self.uniqueid}.get(name) or self.var(name)
        if offset is not None:
            value = value[int(offset) :]
            if length is not None:
                value = value[: int(length)]
        return value

    def _function(self, name: str, args: str) -> str:
        if name == "LEN":
            return str(len(args))
        if name == "FILTER":
            allowed, _, text = args.partition(",")
            return _filter(allowed, text)
        if name == "REGEX":
            m = re.fullmatch(r'\s*"(.*)"\s?(.*)', args, re.S)
            if not m:
                raise Unsupported(f"REGEX({args})")
            return "1" if posix_search(m.group(1), m.group(2)) else "0"
        if name == "IF":
            cond, _, branches = args.partition("?")
            parts = split_top_level(branches, ":")
            yes, no = parts[0], (parts[1] if len(parts) > 1 else "")
            return yes if _true(cond) else no
        if name == "STRFTIME":
            if split_top_level(args)[-1] != "%Y/%m/%d":
                raise Unsupported(f"STRFTIME({args})")
            return self.day
        raise Unsupported(f"function {name}")


def run(contexts: dict[str, Context], context: str, exten: str, variables: dict[str, str] | None = None,
        max_steps: int = 100) -> Outcome:
    """Follow the dialplan for a channel entering ``context`` at ``exten``, priority 1."""
    found = matching_extensions(contexts, context, exten)
    if not found:
        return Outcome(None, None)
    chan = Channel(exten, dict(variables or {}))
    out = Outcome(found[0][0], found[0][1])
    priority = 1
    for _ in range(max_steps):
        step = find_step(contexts, context, exten, priority)
        if step is None:
            return out  # ran off the end: Asterisk hangs up
        ctx = contexts[step.context]
        labels = ctx.labels_of(step.exten)
        app = step.app.lower()
        priority += 1
        if app == "noop":
            continue
        if app == "set":
            name, _, value = step.data.partition("=")
            chan.vars[name.strip()] = chan.substitute(value)
            out.variables[name.strip()] = chan.vars[name.strip()]
        elif app in ("gotoif", "goto"):
            target = step.data
            if app == "gotoif":
                cond, _, branches = step.data.partition("?")
                parts = split_top_level(branches, ":")
                target = (parts[0] if _true(chan.substitute(cond)) else (parts[1] if len(parts) > 1 else "")).strip()
                if not target:
                    continue
            if "," in target or target not in labels:
                raise Unsupported(f"jump to {target!r} at {step.file}:{step.line}")
            priority = labels[target]
        elif app == "mixmonitor":
            out.recordings.append(chan.substitute(step.data))
        elif app == "dial":
            out.dial = chan.substitute(step.data)
            return out
        elif app == "chanspy":
            out.spy = chan.substitute(step.data)
        elif app == "hangup":
            out.hangup_cause = chan.substitute(step.data) or "16"
            return out
        else:
            raise Unsupported(f"application {step.app} at {step.file}:{step.line}")
    raise Unsupported("dialplan loops")
