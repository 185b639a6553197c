"""Placeholders in message templates: ``{order_number}`` is replaced by its value. Pure.

Only names in the given context are replaced; ``{{`` and ``}}`` stand for literal braces. A
template naming a placeholder the context does not know is reported by ``unknown_names`` (the
editor shows it) and left as written when rendered, so a typo is visible, never a crash."""

from __future__ import annotations

import re
from typing import Any, Mapping

_NAME = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]{0,40})\}")


def render(template: str, context: Mapping[str, Any], *, escape=None) -> str:
    """``template`` with each known ``{name}`` replaced by ``str(context[name])`` (passed
    through ``escape`` first when given, e.g. html.escape for an HTML body); None is ''."""
    def one(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in context:
            return token
        value = context[name]
        text = "" if value is None else str(value)
        return escape(text) if escape else text
    return _NAME.sub(one, template)


def names_in(template: str) -> list[str]:
    return sorted({m.group(1) for m in _NAME.finditer(template) if m.group(1)})


def unknown_names(template: str, known: set[str] | frozenset[str]) -> list[str]:
    return [n for n in names_in(template) if n not in known]
