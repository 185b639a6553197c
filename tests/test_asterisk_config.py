"""Checks of the PBX configuration shipped in dialplan/ and asterisk/.

Pure file reading, no Asterisk needed:

(a) a scanner for sinks -- shells (System, TrySystem, SHELL, MixMonitor's
    command argument, MONITOR_EXEC), recording file names, and text that is
    evaluated again (EVAL, Exec, $[...] expressions, which may call any
    function) -- fed with caller-controlled text (CALLERID, CONNECTEDLINE,
    REDIRECTING, SIP headers, DTMF read from the caller, the ${EXTEN} of any
    context the carrier can reach, and variables derived from them). It runs
    over the dialplan in dialplan/ as extensions.conf loads it and is itself
    tested on bad snippets; every .conf file is also checked to use no shell.
(b) manager.conf: AMI on 127.0.0.1 only, no secret committed, least-privilege
    classes, and its legacy eventfilters -- evaluated the way Asterisk does
    (POSIX extended regexes over the whole event text; include lines, then '!'
    lines) -- replayed over every event of the real traces in tests/traces.
(c) the contexts, extensions, queue and endpoints the traces rely on exist.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIALPLAN_DIR = ROOT / "dialplan"
ASTERISK_DIR = ROOT / "asterisk"
TRACES_DIR = ROOT / "tests" / "traces"

# Where the folders end up on a PBX: both are copied flat into /etc/asterisk,
# against which Asterisk resolves relative #include paths.
CONFIG_SEARCH_PATH = (ASTERISK_DIR, DIALPLAN_DIR)


# ---------------------------------------------------------------------------
# A small parser for Asterisk's config format
# ---------------------------------------------------------------------------


@dataclass
class Option:
    key: str
    value: str
    file: str
    line: int


@dataclass
class Section:
    name: str
    templates: list[str]
    is_template: bool
    additive: bool
    file: str
    line: int
    options: list[Option] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        for opt in reversed(self.options):
            if opt.key.lower() == key.lower():
                return opt.value
        return default

    def get_all(self, key: str) -> list[str]:
        return [o.value for o in self.options if o.key.lower() == key.lower()]


class ConfigError(Exception):
    pass


def strip_comments(text: str) -> list[str]:
    """Return the lines of ``text`` with ';' comments and ';-- --;' blocks removed.

    A backslash escapes ';' (``\\;``), as in Asterisk. Line numbers are kept.
    """
    out: list[str] = []
    depth = 0  # block comments nest
    for raw in text.splitlines():
        buf = []
        i = 0
        while i < len(raw):
            if depth:
                if raw.startswith("--;", i):
                    depth -= 1
                    i += 3
                elif raw.startswith(";--", i):
                    depth += 1
                    i += 3
                else:
                    i += 1
                continue
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw) and raw[i + 1] == ";":
                buf.append(";")
                i += 2
                continue
            if ch == ";":
                if raw.startswith(";--", i):
                    depth += 1
                    i += 3
                    continue
                break
            buf.append(ch)
            i += 1
        out.append("".join(buf).strip())
    return out


_SECTION_RE = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?\s*$")
_INCLUDE_RE = re.compile(r'^#(include|tryinclude)\s+"?([^"]+?)"?\s*$')


def _find_config(name: str) -> Path | None:
    for base in CONFIG_SEARCH_PATH:
        candidate = base / name
        if candidate.is_file():
            return candidate
    return None


def parse_config(
    text: str,
    filename: str = "<text>",
    resolve=_find_config,
    _sections: list[Section] | None = None,
    _depth: int = 0,
) -> list[Section]:
    """Parse Asterisk config text into a list of sections (names may repeat)."""
    sections: list[Section] = [] if _sections is None else _sections
    if _depth > 10:
        raise ConfigError(f"#include nesting too deep at {filename}")
    for lineno, line in enumerate(strip_comments(text), start=1):
        if not line:
            continue
        m = _INCLUDE_RE.match(line)
        if m:
            kind, name = m.groups()
            if resolve is None:  # not following includes
                continue
            path = resolve(name)
            if path is None:
                if kind == "include":
                    raise ConfigError(f"{filename}:{lineno}: #include {name!r} not found")
                continue
            parse_config(path.read_text(encoding="utf-8"), path.name, resolve, sections, _depth + 1)
            continue
        if line.startswith("#"):
            raise ConfigError(f"{filename}:{lineno}: unknown directive {line!r}")
        m = _SECTION_RE.match(line)
        if m:
            name, flags = m.group(1).strip(), m.group(2)
            templates, is_template, additive = [], False, False
            for flag in (f.strip() for f in (flags or "").split(",") if f.strip()):
                if flag == "!":
                    is_template = True
                elif flag == "+":
                    additive = True
                else:
                    templates.append(flag)
            sections.append(Section(name, templates, is_template, additive, filename, lineno))
            continue
        m = re.match(r"^([^=]+?)\s*=>?\s*(.*)$", line)
        if not m:
            raise ConfigError(f"{filename}:{lineno}: cannot parse {line!r}")
        if not sections:
            raise ConfigError(f"{filename}:{lineno}: option outside of any section")
        sections[-1].options.append(Option(m.group(1).strip(), m.group(2).strip(), filename, lineno))
    return sections


def load_config(name: str) -> list[Section]:
    path = _find_config(name)
    assert path is not None, f"{name} not found in {[str(p) for p in CONFIG_SEARCH_PATH]}"
    return parse_config(path.read_text(encoding="utf-8"), path.name)


def resolve_sections(sections: list[Section]) -> list[Section]:
    """Apply (+) additions and template inheritance; drop templates."""
    merged: list[Section] = []
    for sec in sections:
        if sec.additive:
            target = next((s for s in reversed(merged) if s.name == sec.name), None)
            if target is None:
                raise ConfigError(f"{sec.file}:{sec.line}: [{sec.name}](+) without an earlier [{sec.name}]")
            target.options.extend(sec.options)
        else:
            merged.append(Section(sec.name, list(sec.templates), sec.is_template, False, sec.file, sec.line, list(sec.options)))

    templates = {s.name: s for s in merged if s.is_template}

    def expand(sec: Section, seen: tuple[str, ...] = ()) -> list[Option]:
        opts: list[Option] = []
        for tname in sec.templates:
            if tname in seen:
                raise ConfigError(f"template loop at {tname}")
            tmpl = templates.get(tname) or next((s for s in merged if s.name == tname), None)
            if tmpl is None:
                raise ConfigError(f"{sec.file}:{sec.line}: unknown template {tname!r}")
            opts.extend(expand(tmpl, seen + (tname,)))
        opts.extend(sec.options)
        return opts

    return [
        Section(s.name, s.templates, False, False, s.file, s.line, expand(s))
        for s in merged
        if not s.is_template
    ]


# ---------------------------------------------------------------------------
# The dialplan model
# ---------------------------------------------------------------------------


@dataclass
class Step:
    """One priority of an extension: ``app(data)``."""

    context: str
    exten: str
    priority: str
    label: str | None
    app: str
    data: str
    file: str
    line: int

    @property
    def text(self) -> str:
        return f"{self.app}({self.data})"


@dataclass
class Context:
    name: str
    includes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def extensions(self) -> list[str]:
        seen: list[str] = []
        for s in self.steps:
            if s.exten not in seen:
                seen.append(s.exten)
        return seen

    def steps_of(self, exten: str) -> list[Step]:
        return [s for s in self.steps if s.exten == exten]


NON_CONTEXT_SECTIONS = {"general", "globals"}


def split_app(call: str) -> tuple[str, str]:
    call = call.strip()
    i = call.find("(")
    if i < 0:
        return call, ""
    j = call.rfind(")")
    if j < i:
        raise ConfigError(f"unbalanced application call {call!r}")
    return call[:i].strip(), call[i + 1 : j]


def build_dialplan(sections: list[Section]) -> dict[str, Context]:
    contexts: dict[str, Context] = {}
    for sec in sections:
        if sec.name.lower() in NON_CONTEXT_SECTIONS:
            continue
        ctx = contexts.setdefault(sec.name, Context(sec.name))
        last_exten: str | None = None
        for opt in sec.options:
            key = opt.key.lower()
            if key == "include":
                ctx.includes.append(opt.value.split(",")[0].strip())
                continue
            if key in ("switch", "ignorepat", "lswitch", "eswitch"):
                continue
            if key == "exten":
                exten, rest = opt.value.split(",", 1)
                exten = exten.strip().split("/")[0]  # drop caller-id match
                last_exten = exten
            elif key == "same":
                if last_exten is None:
                    raise ConfigError(f"{opt.file}:{opt.line}: 'same' before any 'exten'")
                exten, rest = last_exten, opt.value
            else:
                raise ConfigError(f"{opt.file}:{opt.line}: unexpected {opt.key!r} in context [{sec.name}]")
            prio, call = rest.split(",", 1)
            prio = prio.strip()
            label = None
            m = re.match(r"^([^()]+)\((\w+)\)$", prio)
            if m:
                prio, label = m.group(1), m.group(2)
            app, data = split_app(call)
            ctx.steps.append(Step(sec.name, exten, prio, label, app, data, opt.file, opt.line))
    return contexts


def load_dialplan() -> dict[str, Context]:
    return build_dialplan(load_config("extensions.conf"))


def extension_regex(pattern: str) -> re.Pattern[str]:
    """Asterisk extension pattern -> Python regex (anchored)."""
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern) + r"\Z")
    out = []
    p = pattern[1:]
    i = 0
    while i < len(p):
        ch = p[i]
        if ch in "xX":
            out.append("[0-9]")
        elif ch in "zZ":
            out.append("[1-9]")
        elif ch in "nN":
            out.append("[2-9]")
        elif ch == ".":
            out.append(".+")
        elif ch == "!":
            out.append(".*")
        elif ch == "-":
            pass  # dashes are ignored in patterns
        elif ch == "[":
            j = p.index("]", i)
            body = p[i + 1 : j]
            cls = []
            k = 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == "-":
                    cls.append(f"{re.escape(body[k])}-{re.escape(body[k + 2])}")
                    k += 3
                else:
                    cls.append(re.escape(body[k]))
                    k += 1
            out.append("[" + "".join(cls) + "]")
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def matching_extensions(contexts: dict[str, Context], context: str, number: str, _seen=None) -> list[tuple[str, str]]:
    """(context, pattern) pairs that would take ``number`` dialled in ``context``.

    The context's own extensions come first, then its includes in order, as
    Asterisk searches them.
    """
    seen = set() if _seen is None else _seen
    if context in seen or context not in contexts:
        return []
    seen.add(context)
    ctx = contexts[context]
    found = [(context, e) for e in ctx.extensions if extension_regex(e).match(number)]
    if found:
        return found
    for inc in ctx.includes:
        found = matching_extensions(contexts, inc, number, seen)
        if found:
            return found
    return []


# ---------------------------------------------------------------------------
# (a) The shell-sink scanner
# ---------------------------------------------------------------------------

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


def pjsip_endpoints() -> dict[str, Section]:
    return {s.name: s for s in resolve_sections(load_config("pjsip.conf")) if (s.get("type") or "").lower() == "endpoint"}


def trunk_roots(endpoints: dict[str, Section]) -> set[str]:
    """Contexts the carrier's calls start in: every non-operator endpoint's."""
    roots = {"from-trunk", "callcenter-inbound"}
    for name, ep in endpoints.items():
        if not name.isdigit() and ep.get("context"):
            roots.add(ep.get("context"))
    return roots


def scan_snippet(text: str, roots=frozenset({"from-trunk"})) -> list[Finding]:
    return scan_dialplan(build_dialplan(parse_config(text, "snippet.conf", resolve=None)), set(roots))


def config_files() -> list[Path]:
    files = sorted(p for d in (DIALPLAN_DIR, ASTERISK_DIR) for p in d.iterdir() if p.is_file())
    return [p for p in files if p.suffix != ".md" and p.name != ".gitignore"]


# --- (a) tests ---------------------------------------------------------------


def test_config_files_exist_and_parse():
    names = {p.name for p in config_files()}
    for required in (
        "callcenter.conf",
        "callcenter-aliases.conf",
        "extensions.conf",
        "manager.conf",
        "pjsip.conf",
        "queues.conf",
        "modules.conf",
    ):
        assert required in names
    for path in config_files():
        parse_config(path.read_text(encoding="utf-8"), path.name, resolve=None)
    assert (ASTERISK_DIR / "README.md").is_file()


def all_dialplan_contexts() -> dict[str, Context]:
    """The dialplan extensions.conf loads, plus any dialplan/ file it does not include."""
    contexts = load_dialplan()
    for path in sorted(DIALPLAN_DIR.glob("*.conf")):
        for name, ctx in build_dialplan(parse_config(path.read_text(encoding="utf-8"), path.name)).items():
            contexts.setdefault(name, ctx)
    return contexts


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


def test_parser_handles_comments_and_templates():
    text = """
;-- a block
comment --;
[t](!)
type = endpoint ; trailing comment
context = a\\;b
[x](t)
aors = x
[x](+)
auth = x
"""
    secs = resolve_sections(parse_config(text, "t.conf", resolve=None))
    assert len(secs) == 1 and secs[0].name == "x"
    assert secs[0].get("type") == "endpoint"
    assert secs[0].get("context") == "a;b"
    assert secs[0].get("auth") == "x"


def test_extension_patterns():
    assert extension_regex("_[78]XXXXXXXXXX").match("89265550101")
    assert not extension_regex("_[78]XXXXXXXXXX").match("69265550101")
    assert extension_regex("_+Z.").match("+79161234567")
    assert not extension_regex("_+Z.").match("+0123")
    assert extension_regex("_1XX").match("101")
    assert not extension_regex("_1XX").match("1011")
    assert extension_regex("s").match("s")


# ---------------------------------------------------------------------------
# (b) manager.conf and its event filters
# ---------------------------------------------------------------------------

# POSIX classes used in the filters, as Python character-class bodies.
_POSIX_CLASSES = {
    "space": r"\s",
    "digit": "0-9",
    "alpha": "A-Za-z",
    "alnum": "A-Za-z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "cntrl": r"\x00-\x1f\x7f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
}


def posix_ere_to_python(pattern: str) -> str:
    """Translate the POSIX ERE subset used in eventfilters to Python's re."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch != "[":
            out.append(ch)
            i += 1
            continue
        j = i + 1
        body = ["["]
        if j < len(pattern) and pattern[j] == "^":
            body.append("^")
            j += 1
        if j < len(pattern) and pattern[j] == "]":
            body.append(r"\]")
            j += 1
        while j < len(pattern) and pattern[j] != "]":
            m = re.match(r"\[:(\w+):\]", pattern[j:])
            if m:
                body.append(_POSIX_CLASSES[m.group(1)])
                j += m.end()
                continue
            c = pattern[j]
            body.append("\\" + c if c in "\\[" else c)
            j += 1
        body.append("]")
        out.append("".join(body))
        i = j + 1
    return "".join(out)


class _GlibcRegex:
    """POSIX regcomp/regexec from the C library: what Asterisk itself calls."""

    REG_EXTENDED = 1
    REG_NOSUB = 8

    def __init__(self):
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self.libc.regcomp.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.libc.regexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int]
        self.libc.regfree.argtypes = [ctypes.c_void_p]
        self._compiled: dict[str, ctypes.Array] = {}

    def compile(self, pattern: str):
        if pattern not in self._compiled:
            buf = ctypes.create_string_buffer(1024)  # >= sizeof(regex_t)
            rc = self.libc.regcomp(buf, pattern.encode("utf-8"), self.REG_EXTENDED | self.REG_NOSUB)
            if rc != 0:
                raise ConfigError(f"regcomp failed ({rc}) for {pattern!r}")
            self._compiled[pattern] = buf
        return self._compiled[pattern]

    def search(self, pattern: str, data: str) -> bool:
        return self.libc.regexec(self.compile(pattern), data.encode("utf-8"), 0, None, 0) == 0


GLIBC = _GlibcRegex() if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc" else None


def python_search(pattern: str, data: str) -> bool:
    # No REG_NEWLINE in Asterisk: '.' matches CR/LF, '^' is the start of the event.
    return re.search(posix_ere_to_python(pattern), data, re.DOTALL) is not None


def posix_search(pattern: str, data: str) -> bool:
    if GLIBC is not None:
        return GLIBC.search(pattern, data)
    return python_search(pattern, data)


@dataclass
class AmiUser:
    name: str
    read: set[str]
    write: set[str]
    include_filters: list[str]
    exclude_filters: list[str]

    def filter_passes(self, event_text: str, search=posix_search) -> bool:
        """Asterisk's legacy eventfilter semantics (manager.c should_send_event)."""
        if not self.include_filters and not self.exclude_filters:
            return True
        if self.include_filters and not any(search(p, event_text) for p in self.include_filters):
            return False
        return not any(search(p, event_text) for p in self.exclude_filters)

    def delivers(self, event: "AmiMessage") -> bool:
        privilege = event.headers.get("Privilege")
        if privilege is None:
            # An action's reply list (CoreShowChannel, QueueMember, ...): manager.c
            # writes those straight to the session, no class or filter applies.
            # We still require them to pass the filters (see the test below).
            return True
        classes = {c.strip() for c in privilege.split(",")} - {"all"}
        if not classes <= self.read:  # (readperm & category) == category
            return False
        return self.filter_passes(event.text)


def classes(value: str | None) -> set[str]:
    return {c.strip().lower() for c in (value or "").split(",") if c.strip()}


def manager_sections() -> list[Section]:
    return resolve_sections(load_config("manager.conf"))


def ami_user() -> AmiUser:
    users = [s for s in manager_sections() if s.name != "general"]
    assert len(users) == 1, f"expected one AMI user, got {[u.name for u in users]}"
    user = users[0]
    filters = user.get_all("eventfilter")
    return AmiUser(
        user.name,
        classes(user.get("read")),
        classes(user.get("write")),
        [f for f in filters if not f.startswith("!")],
        [f[1:] for f in filters if f.startswith("!")],
    )


@dataclass
class AmiMessage:
    scenario: str
    text: str  # as manager.c holds it: headers, CRLF each, plus the final CRLF
    headers: dict[str, str]

    @property
    def event(self) -> str | None:
        return self.headers.get("Event")


def read_trace(path: Path) -> list[AmiMessage]:
    data = path.read_bytes().decode("utf-8")
    if data.startswith("Asterisk Call Manager/"):
        data = data.split("\r\n", 1)[1]
    messages = []
    for block in data.split("\r\n\r\n"):
        # a reconnect's greeting line precedes the next message
        lines = [ln for ln in block.strip("\r\n").split("\r\n") if ln and not ln.startswith("Asterisk Call Manager/")]
        if not lines:
            continue
        headers: dict[str, str] = {}
        for line in lines:
            key, _, value = line.partition(": ")
            headers.setdefault(key, value)
        messages.append(AmiMessage(path.stem, "\r\n".join(lines) + "\r\n\r\n", headers))
    return messages


def trace_events() -> list[AmiMessage]:
    events = []
    for path in sorted(TRACES_DIR.glob("*.ami")):
        events.extend(m for m in read_trace(path) if m.event)
    assert events, "no traces found"
    return events


def trace_actions() -> list[dict[str, str]]:
    actions = []
    for path in sorted(TRACES_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec["dir"] != "out" or not rec["data"].startswith("Action:"):
                continue
            headers = {}
            for hline in rec["data"].strip("\r\n").split("\r\n"):
                key, _, value = hline.partition(": ")
                headers.setdefault(key, value)
            actions.append(headers)
    return actions


# The events the CRM needs, and the replies to its CoreShowChannels/QueueStatus.
NEEDED_EVENTS = {
    "Newchannel", "Newstate", "DialBegin", "DialEnd", "Hangup", "HangupRequest",
    "SoftHangupRequest", "BridgeEnter", "BridgeLeave", "QueueCallerJoin",
    "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
    "AgentComplete", "MixMonitorStart", "OriginateResponse", "BlindTransfer",
    "AttendedTransfer",
}  # fmt: skip
REPLY_EVENTS = {
    "CoreShowChannel", "CoreShowChannelsComplete", "QueueParams", "QueueMember",
    "QueueEntry", "QueueStatusComplete",
}  # fmt: skip
NEEDED_VARIABLE = re.compile(r"^(_{0,2}CRM_\w+|MIXMONITOR_FILENAME)$")
NOISE_EVENTS = {"Newexten", "RTCPSent", "RTCPReceived", "Cdr", "DeviceStateChange", "QueueMemberStatus"}

# Authority of the AMI actions the CRM uses (manager.c / app_queue.c
# registrations: a user may run an action if it holds ANY of these classes;
# an empty set means any logged-in user).
ACTION_CLASSES = {
    "Login": set(),
    "Logoff": set(),
    "Ping": set(),
    "Events": set(),
    "Originate": {"originate"},
    "CoreShowChannels": {"system", "reporting"},
    "QueueStatus": set(),
    "QueueSummary": set(),
    "Hangup": {"system", "call"},
    "Redirect": {"call"},
    "Getvar": {"call", "reporting"},
    "Setvar": {"call"},
    "Status": {"system", "call", "reporting"},
    "QueuePause": {"agent"},
}


def is_needed(event: AmiMessage) -> bool:
    if event.event in NEEDED_EVENTS or event.event in REPLY_EVENTS:
        return True
    if event.event == "VarSet":
        return bool(NEEDED_VARIABLE.match(event.headers.get("Variable", "")))
    return False


def synthetic_event(name: str, privilege: str, **headers: str) -> AmiMessage:
    lines = [f"Event: {name}", f"Privilege: {privilege}", "Channel: PJSIP/101-00000001", "Uniqueid: 1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    text = "\r\n".join(lines) + "\r\n\r\n"
    return AmiMessage("synthetic", text, {k: v for k, _, v in (line.partition(": ") for line in lines)})


# --- (b) tests ---------------------------------------------------------------


def test_ami_listens_on_loopback_only():
    general = next(s for s in manager_sections() if s.name == "general")
    assert general.get("enabled", "").lower() in ("yes", "true", "1")
    assert general.get("bindaddr") == "127.0.0.1"
    assert general.get("port") == "5038"
    assert general.get("webenabled", "no").lower() in ("no", "false", "0")
    assert general.get("tlsenable", "no").lower() in ("no", "false", "0")


def test_ami_user_is_the_only_one_and_local():
    user = next(s for s in manager_sections() if s.name != "general")
    assert user.name == "callcenter"
    acl = [(o.key.lower(), o.value) for o in user.options if o.key.lower() in ("deny", "permit", "acl")]
    assert acl[0] == ("deny", "0.0.0.0/0.0.0.0"), "deny everything first"
    assert [v for k, v in acl if k == "permit"] == ["127.0.0.1/255.255.255.255"]


def test_no_real_secret_is_committed():
    manager = load_config("manager.conf")  # #tryinclude of the real secret: absent here
    assert not any(o.key.lower() == "secret" for s in manager for o in s.options), "secret belongs in manager_secret.conf"
    text = (ASTERISK_DIR / "manager.conf").read_text(encoding="utf-8")
    assert re.search(r'^#tryinclude\s+"manager_secret\.conf"\s*$', text, re.M)
    assert not (ASTERISK_DIR / "manager_secret.conf").exists(), "never commit the real secret file"
    assert "manager_secret.conf" in (ASTERISK_DIR / ".gitignore").read_text(encoding="utf-8").split()
    # Whatever secret or password the repo holds is a placeholder.
    for path in config_files():
        for sec in parse_config(path.read_text(encoding="utf-8"), path.name, resolve=None):
            for opt in sec.options:
                if opt.key.lower() in ("secret", "password", "md5_cred"):
                    assert "CHANGE_ME" in opt.value, f"{path.name}:{opt.line}: {opt.key} looks real"


def test_example_secret_file_adds_to_the_user():
    secs = parse_config((ASTERISK_DIR / "manager_secret.conf.example").read_text(encoding="utf-8"), "example", resolve=None)
    assert [(s.name, s.additive) for s in secs] == [("callcenter", True)]
    merged = resolve_sections(parse_config((ASTERISK_DIR / "manager.conf").read_text(encoding="utf-8"), "manager.conf", resolve=None) + secs)
    user = next(s for s in merged if s.name == "callcenter")
    assert user.get("secret") == "CHANGE_ME"
    assert user.get("read") and user.get_all("eventfilter")


def test_filters_use_the_legacy_form():
    user = next(s for s in manager_sections() if s.name != "general")
    keys = {o.key for o in user.options if o.key.lower().startswith("eventfilter")}
    assert keys == {"eventfilter"}, f"only legacy 'eventfilter=' lines (Asterisk 20 and 22): {keys}"
    for pattern in ami_user().include_filters + ami_user().exclude_filters:
        posix_ere_to_python(pattern)
        if GLIBC:
            GLIBC.compile(pattern)  # regcomp accepts it, as Asterisk would


def test_read_classes_are_exactly_what_the_needed_events_use():
    user = ami_user()
    needed = set()
    for ev in trace_events():
        if is_needed(ev) or ev.event == "FullyBooted":
            needed |= classes(ev.headers.get("Privilege")) - {"all"}
    needed |= {"call"}  # BlindTransfer/AttendedTransfer (not in the traces) are call-class
    assert user.read == needed, f"read={sorted(user.read)}, needed={sorted(needed)}"
    assert not user.read & {"cdr", "reporting", "dtmf", "user", "security", "command", "config", "all"}


def test_write_classes_allow_the_crm_actions_and_nothing_dangerous():
    user = ami_user()
    assert not user.write & {"system", "command", "config", "agi", "user", "all"}
    used = {a["Action"] for a in trace_actions()} | {"Ping", "QueueStatus", "CoreShowChannels", "Originate"}
    for action in sorted(used):
        need = ACTION_CLASSES[action]
        assert not need or need & user.write, f"{action} needs one of {need}"
    for action in ("Hangup", "Redirect", "QueuePause", "Getvar"):
        assert ACTION_CLASSES[action] & user.write, action


def test_filters_keep_what_the_crm_needs_and_drop_the_flood():
    user = ami_user()
    events = trace_events()
    delivered = [e for e in events if user.delivers(e)]
    dropped = [e for e in events if not user.delivers(e)]

    missing = [f"{e.scenario}: {e.event} {e.headers.get('Variable', '')}" for e in events if is_needed(e) and not user.delivers(e)]
    assert not missing, "needed events dropped:\n" + "\n".join(missing)

    leaked = [f"{e.scenario}: {e.event} {e.headers.get('Variable', '')}" for e in delivered if not is_needed(e) and e.event != "FullyBooted"]
    assert not leaked, "noise let through:\n" + "\n".join(leaked)

    for e in events:
        if e.event in NOISE_EVENTS or (e.event == "VarSet" and not is_needed(e)):
            assert e in dropped

    ratio = len(dropped) / len(events)
    assert ratio >= 0.6, f"drops only {len(dropped)}/{len(events)} = {ratio:.0%}"
    # every needed event type seen in the traces really arrives
    seen = {e.event for e in delivered}
    assert {"Newchannel", "DialBegin", "Hangup", "QueueCallerJoin", "AgentConnect", "MixMonitorStart", "OriginateResponse", "VarSet"} <= seen


def test_reply_lists_pass_the_filters_too():
    # Asterisk does not filter an action's reply list, but should a version do
    # so, the CRM's CoreShowChannels / QueueStatus after a reconnect still work.
    user = ami_user()
    replies = [e for e in trace_events() if e.event in REPLY_EVENTS]
    assert {e.event for e in replies} >= {"CoreShowChannel", "CoreShowChannelsComplete", "QueueParams", "QueueMember", "QueueStatusComplete"}
    for e in replies:
        assert user.filter_passes(e.text), e.event
    assert user.filter_passes(synthetic_event("QueueEntry", "agent,all").text)


def test_filters_on_events_missing_from_the_traces():
    user = ami_user()
    for name in ("BlindTransfer", "AttendedTransfer"):
        assert user.delivers(synthetic_event(name, "call,all")), name
    assert user.delivers(synthetic_event("VarSet", "dialplan,all", Variable="__CRM_TASK_ID", Value="42"))
    assert user.delivers(synthetic_event("VarSet", "dialplan,all", Variable="CRM_AFTER_HOURS", Value="1"))
    for name, priv, extra in (
        ("HangupHandlerRun", "dialplan,all", {}),
        ("QueueMemberAdded", "agent,all", {}),
        ("NewCallerid", "call,all", {}),
        ("DTMFBegin", "dtmf,all", {}),
        ("Cdr", "cdr,all", {}),
        ("VarSet", "dialplan,all", {"Variable": "MYCRM_ID"}),
        ("VarSet", "dialplan,all", {"Variable": "DIALSTATUS", "Value": "CRM_LIKE"}),
        ("Newexten", "dialplan,all", {"AppData": "Event: Hangup"}),
    ):
        assert not user.delivers(synthetic_event(name, priv, **extra)), (name, extra)


@pytest.mark.skipif(GLIBC is None, reason="needs the C library's POSIX regex")
def test_python_regex_translation_agrees_with_libc():
    user = ami_user()
    patterns = user.include_filters + user.exclude_filters
    for event in trace_events():
        for pattern in patterns:
            assert python_search(pattern, event.text) == GLIBC.search(pattern, event.text), (pattern, event.event)


def test_filter_semantics_emulation():
    u = AmiUser("t", {"call"}, set(), ["^Event: A[[:space:]]", "^Event: B[[:space:]]"], ["X: 1"])
    assert u.filter_passes("Event: A\r\nX: 2\r\n\r\n")
    assert not u.filter_passes("Event: AB\r\n\r\n")
    assert not u.filter_passes("Event: B\r\nX: 1\r\n\r\n")
    assert AmiUser("t", set(), set(), [], ["^Event: A"]).filter_passes("Event: C\r\n\r\n")
    assert not AmiUser("t", set(), set(), [], ["^Event: A"]).filter_passes("Event: A\r\n\r\n")
    assert not AmiUser("t", set(), set(), ["^Event: A"], []).filter_passes("Event: C\r\n\r\n")


def filter_stats() -> dict[str, int]:
    """Per-event-type counts of what the filters keep (for the README)."""
    user = ami_user()
    stats: dict[str, int] = {}
    for e in trace_events():
        key = ("kept " if user.delivers(e) else "dropped ") + (e.event or "?")
        stats[key] = stats.get(key, 0) + 1
    return stats


# ---------------------------------------------------------------------------
# (c) contexts, extensions, queue, endpoints
# ---------------------------------------------------------------------------

MIXMONITOR_FILE = "${STRFTIME(${EPOCH},,%Y/%m/%d)}/${UNIQUEID}.wav"


def test_contexts_used_by_the_traces_exist():
    contexts = load_dialplan()
    originates = [a for a in trace_actions() if a["Action"] == "Originate"]
    assert originates
    for action in originates:
        assert action["Context"] in contexts
        assert action.get("Priority", "1") == "1"
        found = matching_extensions(contexts, action["Context"], action["Exten"])
        assert found, f"Originate to {action['Exten']}@{action['Context']} would fail: extension does not exist"
    inbound = [e for e in trace_events() if e.event == "Newchannel" and e.headers["Context"] == "from-trunk" and e.headers["Exten"] != "s"]
    assert inbound
    for e in inbound:
        assert matching_extensions(contexts, "from-trunk", e.headers["Exten"]), e.headers["Exten"]
    assert contexts["from-trunk"].includes == ["callcenter-inbound"]
    assert contexts["operators"].includes == ["callcenter-operators"]


def test_the_readme_names_the_context_mapping():
    readme = (ASTERISK_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("from-trunk", "operators", "callcenter-inbound", "callcenter-operators"):
        assert name in readme


def test_inbound_sets_did_records_and_queues():
    ctx = load_dialplan()["callcenter-inbound"]
    (exten,) = ctx.extensions
    apps = [(s.app, s.data) for s in ctx.steps_of(exten)]
    sets = [d for a, d in apps if a == "Set"]
    assert any(d.startswith("__CRM_DID=") and "${EXTEN}" in d for d in sets)
    names = [a for a, _ in apps]
    assert names.index("MixMonitor") < names.index("Queue")
    assert ("Queue", "shop,t,,,40") in apps


@pytest.mark.parametrize(
    "number, expected",
    [
        ("79161234567", "79161234567"),  # as the CRM originates in the traces
        ("89265550101", "79265550101"),
        ("+79161234567", "79161234567"),
        ("0079161234567", "79161234567"),
        ("+4930123456789", "4930123456789"),
        ("004930123456789", "4930123456789"),
    ],
)
def test_operator_numbers_reach_the_trunk(number, expected):
    contexts = load_dialplan()
    found = matching_extensions(contexts, "operators", number)
    assert len(found) == 1, found
    ctx_name, pattern = found[0]
    steps = contexts[ctx_name].steps_of(pattern)
    apps = [s.app for s in steps]
    # records before dialling, the trunk leg inherits CRM_TASK_ID
    assert apps.index("MixMonitor") < apps.index("Dial")
    assert any(s.app == "Set" and s.data == "__CRM_TASK_ID=${CRM_TASK_ID}" for s in steps)
    (dial,) = [s for s in steps if s.app == "Dial"]
    assert dial.data == "PJSIP/${CALLCENTER_DIALNUM}@trunk,30"
    (normalise,) = [s for s in steps if s.app == "Set" and s.data.startswith("CALLCENTER_DIALNUM=")]
    value = normalise.data.split("=", 1)[1]
    m = re.fullmatch(r"(\d*)\$\{EXTEN:(\d+)\}", value)
    assert m and m.group(1) + number[int(m.group(2)) :] == expected
    # every non fixed-length pattern validates the digits before dialling
    if "." in pattern or "!" in pattern:
        (check,) = [s for s in steps if "REGEX(" in s.data]
        assert steps.index(check) < steps.index(dial)
        regex = re.search(r'REGEX\("([^"]+)"', check.data).group(1)
        assert re.fullmatch(regex.strip("^$"), expected)


@pytest.mark.parametrize(
    "number",
    ["7916123456", "791612345678", "79161234567&PJSIP/evil", "7916,1234567", "+7916)x", "00", "+", "12", "999"],
)
def test_operators_cannot_dial_odd_strings(number):
    contexts = load_dialplan()
    found = matching_extensions(contexts, "operators", number)
    for ctx_name, pattern in found:
        # only the validated '+'/'00' patterns may match; their REGEX rejects it
        assert pattern in ("_+Z.", "_00Z."), (number, pattern)
        steps = contexts[ctx_name].steps_of(pattern)
        check = next(s for s in steps if "REGEX(" in s.data)
        regex = re.search(r'REGEX\("([^"]+)"', check.data).group(1)
        assert not re.search(regex, number[1:] if pattern == "_+Z." else number[2:])


def test_internal_calls_between_operators():
    contexts = load_dialplan()
    assert matching_extensions(contexts, "operators", "102") == [("callcenter-operators", "_1XX")]


def test_every_recording_uses_the_safe_file_name():
    contexts = load_dialplan()
    mixes = [s for c in contexts.values() for s in c.steps if s.app.lower() == "mixmonitor"]
    assert len(mixes) >= 4
    for s in mixes:
        args = split_top_level(s.data)
        assert args[0] == MIXMONITOR_FILE, s
        assert args[1] == "b", s
        assert len(args) == 2, s
    # the traces' MIXMONITOR_FILENAME values have that shape
    for e in trace_events():
        if e.event == "VarSet" and e.headers["Variable"] == "MIXMONITOR_FILENAME":
            assert re.fullmatch(
                r"/var/spool/asterisk/monitor/\d{4}/\d{2}/\d{2}/" + re.escape(e.headers["Uniqueid"]) + r"\.wav",
                e.headers["Value"],
            )


def test_queue_shop():
    queues = {s.name: s for s in resolve_sections(load_config("queues.conf"))}
    shop = queues["shop"]
    assert shop.get("strategy") == "ringall"
    assert shop.get_all("member") == ["PJSIP/101", "PJSIP/102"]
    assert int(shop.get("timeout")) > 0


def test_pjsip_endpoints():
    sections = resolve_sections(load_config("pjsip.conf"))
    endpoints = pjsip_endpoints()
    contexts = load_dialplan()
    by_type: dict[str, set[str]] = {}
    for s in sections:
        by_type.setdefault((s.get("type") or "").lower(), set()).add(s.name)
    for op in ("101", "102"):
        ep = endpoints[op]
        assert ep.get("context") == "operators"
        assert ep.get("auth") in by_type["auth"] and ep.get("aors") in by_type["aor"]
    assert endpoints["trunk"].get("context") == "from-trunk"
    for name, ep in endpoints.items():
        assert ep.get("context") in contexts, name
    transports = [s for s in sections if (s.get("type") or "").lower() == "transport"]
    assert transports and all(t.get("protocol") == "udp" for t in transports)
    acl = next(s for s in sections if (s.get("type") or "").lower() == "acl")
    assert acl.options[[o.key for o in acl.options].index("deny")].value == "0.0.0.0/0.0.0.0"
    # the queue's members are real endpoints
    queues = {s.name: s for s in resolve_sections(load_config("queues.conf"))}
    for member in queues["shop"].get_all("member"):
        assert member.split("/", 1)[1] in endpoints


def test_dial_targets_exist():
    endpoints = pjsip_endpoints()
    for ctx in load_dialplan().values():
        for s in ctx.steps:
            if s.app == "Dial":
                m = re.match(r"PJSIP/[^@,]+@([\w-]+)", s.data)
                if m:
                    assert m.group(1) in endpoints, s
