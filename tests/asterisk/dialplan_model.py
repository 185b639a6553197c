"""The dialplan as pbx_config loads it: contexts, extensions, priorities, labels, includes.

``build_dialplan`` reads ``exten =>`` / ``same =>`` lines as pbx_config.c does (priority
numbers, ``n``/``next``, ``s``/``same``, ``+offset``, ``hint``, ``(label)``, a priority given
as a label) and raises ``ConfigError`` where Asterisk would log a warning and drop the line
(``n`` on the first line of a context, a label without its ``)``, an invalid priority, a
priority used twice in one extension). Lookups use Asterisk's own matching and best-match
order (extension_patterns.py): a context's own extensions first, best first, then its
``include``s in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .asterisk_conf import DIALPLAN_DIR, ConfigError, Section, load_config, parse_config, resolve_sections
from .extension_patterns import best_match

PRIORITY_HINT = -1


@dataclass
class Step:
    """One priority of an extension: ``app(data)``."""

    context: str
    exten: str
    priority: str  # as written: "1", "n", "s", "n+2", ...
    label: str | None
    app: str
    data: str
    file: str
    line: int
    number: int = 0  # the priority number it resolves to

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
        """The steps of one extension in priority order (hints left out)."""
        return sorted((s for s in self.steps if s.exten == exten and s.number > 0), key=lambda s: s.number)

    def labels_of(self, exten: str) -> dict[str, int]:
        return {s.label: s.number for s in self.steps if s.exten == exten and s.label}


NON_CONTEXT_SECTIONS = {"general", "globals"}


def split_app(call: str) -> tuple[str, str]:
    """``App(data)`` -> (App, data), as pbx_config splits it (the data ends at the last ')')."""
    call = call.strip()
    i = call.find("(")
    if i < 0:
        return call, ""
    j = call.rfind(")")
    if j < i:
        raise ConfigError(f"unbalanced application call {call!r}")
    return call[:i].strip(), call[i + 1 : j]


def _priority(prio: str, last: int, labels: dict[str, int], where: str) -> tuple[int, str | None]:
    """pbx_config's priority rules: the number a written priority stands for, and its label."""
    label = None
    if "(" in prio:
        prio, _, rest = prio.partition("(")
        if ")" not in rest:
            raise ConfigError(f"{where}: label missing trailing ')'")
        label = rest.split(")", 1)[0]
        if not re.fullmatch(r"[A-Za-z0-9_-]+", label):
            raise ConfigError(f"{where}: odd label {label!r}")
    prio = prio.strip()
    plus = 0
    if "+" in prio:
        prio, _, offset = prio.partition("+")
        plus = int(offset) if re.fullmatch(r"\d+", offset) else 0
    if prio == "hint":
        return PRIORITY_HINT, label
    if prio in ("n", "next"):
        if last < 1:
            raise ConfigError(f"{where}: can't use 'next' priority on the first entry")
        number = last + 1
    elif prio in ("s", "same"):
        if last < 1:
            raise ConfigError(f"{where}: can't use 'same' priority on the first entry")
        number = last
    elif re.match(r"^-?\d+", prio):
        number = int(re.match(r"^-?\d+", prio).group(0))  # sscanf("%30d")
        if number < 1:
            raise ConfigError(f"{where}: invalid priority {prio!r}")
    elif prio in labels:
        number = labels[prio]
    else:
        raise ConfigError(f"{where}: invalid priority/label {prio!r}")
    return number + plus, label


def build_dialplan(sections: list[Section]) -> dict[str, Context]:
    contexts: dict[str, Context] = {}
    for sec in sections:
        if sec.name.lower() in NON_CONTEXT_SECTIONS:
            continue
        ctx = contexts.setdefault(sec.name, Context(sec.name))
        last_exten: str | None = None
        last_priority = -2
        for opt in sec.options:
            key = opt.key.lower()
            where = f"{opt.file}:{opt.line}"
            if key == "include":
                ctx.includes.append(opt.value.split(",")[0].strip())
                continue
            if key in ("switch", "ignorepat", "lswitch", "eswitch"):
                continue
            if key == "exten":
                if "," not in opt.value:
                    raise ConfigError(f"{where}: exten without a priority")
                exten, rest = opt.value.split(",", 1)
                exten = exten.strip().split("/")[0]  # drop the caller-id match
                if not exten:
                    raise ConfigError(f"{where}: empty extension name")
                last_exten = exten
            elif key == "same":
                if last_exten is None:
                    raise ConfigError(f"{where}: 'same' before any 'exten' in [{sec.name}]")
                exten, rest = last_exten, opt.value
            else:
                raise ConfigError(f"{where}: unexpected {opt.key!r} in context [{sec.name}]")
            prio, _, call = rest.partition(",")
            number, label = _priority(prio, last_priority, ctx.labels_of(exten), where)
            if number != PRIORITY_HINT:
                taken = [s for s in ctx.steps if s.exten == exten and s.number == number]
                if taken:
                    raise ConfigError(f"{where}: priority {number} of {exten} already used at line {taken[0].line}")
                if label and label in ctx.labels_of(exten):
                    raise ConfigError(f"{where}: label {label!r} used twice in {exten}")
                last_priority = number
            app, data = split_app(call)
            if not app:
                raise ConfigError(f"{where}: no application")
            ctx.steps.append(Step(sec.name, exten, prio.strip(), label, app, data, opt.file, opt.line, number))
    return contexts


def load_dialplan() -> dict[str, Context]:
    return build_dialplan(load_config("extensions.conf"))


def all_dialplan_contexts() -> dict[str, Context]:
    """The dialplan extensions.conf loads, plus any dialplan/ file it does not include."""
    contexts = load_dialplan()
    for path in sorted(DIALPLAN_DIR.glob("*.conf")):
        for name, ctx in build_dialplan(parse_config(path.read_text(encoding="utf-8"), path.name)).items():
            contexts.setdefault(name, ctx)
    return contexts


def matching_extensions(contexts: dict[str, Context], context: str, number: str, _seen=None) -> list[tuple[str, str]]:
    """(context, extension) pairs that match ``number`` dialled in ``context``, best first.

    As pbx_find_extension searches: the context's own extensions (in Asterisk's sort order),
    and only when none matches, its includes in order. The first pair is the one that runs.
    """
    seen = set() if _seen is None else _seen
    if context in seen or context not in contexts:
        return []
    seen.add(context)
    ctx = contexts[context]
    found = [(context, e) for e in best_match(ctx.extensions, number)]
    if found:
        return found
    for inc in ctx.includes:
        found = matching_extensions(contexts, inc, number, seen)
        if found:
            return found
    return []


def find_step(contexts: dict[str, Context], context: str, number: str, priority: int, _seen=None) -> Step | None:
    """The step Asterisk runs for ``number`` at ``priority``: the best matching extension that
    has that priority (auto-fallthrough to a less specific match), searching includes in order."""
    seen = set() if _seen is None else _seen
    if context in seen or context not in contexts:
        return None
    seen.add(context)
    ctx = contexts[context]
    for exten in best_match(ctx.extensions, number):
        step = next((s for s in ctx.steps_of(exten) if s.number == priority), None)
        if step is not None:
            return step
    for inc in ctx.includes:
        step = find_step(contexts, inc, number, priority, seen)
        if step is not None:
            return step
    return None


def pjsip_endpoints() -> dict[str, Section]:
    return {s.name: s for s in resolve_sections(load_config("pjsip.conf")) if (s.get("type") or "").lower() == "endpoint"}
