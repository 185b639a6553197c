"""Asterisk's configuration file format, read the way Asterisk's config.c reads it.

Sections (``[name]``, ``[name](template,...)``, ``[name](!)`` templates, ``[name](+)``
additions), ``key = value`` / ``key => value`` options, ``;`` comments and nesting ``;-- --;``
block comments, ``\\;`` escapes, and ``#include`` / ``#tryinclude`` resolved against the
directory the shipped files are copied into (``/etc/asterisk``: asterisk/ and dialplan/ flat).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIALPLAN_DIR = ROOT / "dialplan"
ASTERISK_DIR = ROOT / "asterisk"
TRACES_DIR = ROOT / "tests" / "traces"
SAMPLES_DIR = ROOT / "tests" / "samples"

# Where the folders end up on a PBX: both are copied flat into /etc/asterisk,
# against which Asterisk resolves relative #include paths.
CONFIG_SEARCH_PATH = (ASTERISK_DIR, DIALPLAN_DIR)

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



def config_files() -> list[Path]:
    """Every shipped configuration file (asterisk/ and dialplan/), without the docs."""
    files = sorted(p for d in (DIALPLAN_DIR, ASTERISK_DIR) for p in d.iterdir() if p.is_file())
    return [p for p in files if p.suffix != ".md" and p.name != ".gitignore"]
