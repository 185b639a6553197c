"""JSON as the product reads and writes it. Pure.

Python's ``json`` accepts and emits ``NaN`` and ``Infinity``, which no browser or PostgreSQL
``json`` parser takes: one such value stored in a client's order makes the whole card
unreadable. It also turns ``1e400`` into ``inf``, refuses integers of more than 4,300 digits
with a bare ValueError, recurses on nesting until RecursionError, and passes lone surrogates
(``"\\ud800"``) and NUL characters through, which neither UTF-8 nor PostgreSQL text can hold.
``parse_json`` refuses all of these with one exception that says what was wrong;
``dumps`` never writes a non-finite number.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Deepest nesting of arrays and objects accepted (the richest payload, an order with items,
#: is four levels deep).
MAX_DEPTH = 32
#: Integers beyond this are refused: they lose precision in JavaScript (and I-JSON, RFC 7493).
MAX_SAFE_INTEGER = 2**53 - 1
_INT_DIGITS = len(str(MAX_SAFE_INTEGER))
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class JsonRejected(ValueError):
    """The text is not JSON this product accepts; the message says why, for the user."""


def _constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(f"the number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    # checked on the digits first: int() of a 5,000-digit literal raises a bare ValueError
    value = int(text) if len(text.lstrip("-")) <= _INT_DIGITS else None
    if value is None or abs(value) > MAX_SAFE_INTEGER:
        raise JsonRejected(f"the integer {text[:20]}{'…' if len(text) > 20 else ''} is too large")
    return value


def bad_text(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a NUL or a lone surrogate), or None."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    return "a NUL character" if found.group() == "\x00" else "a lone surrogate (not UTF-8)"


def check_value(value: Any, depth: int = 0) -> None:
    """Raise JsonRejected if a parsed value nests too deep or holds text that cannot be stored."""
    if isinstance(value, str):
        reason = bad_text(value)
        if reason:
            raise JsonRejected(f"text holds {reason}")
    elif isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            raise JsonRejected(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                check_value(key, depth + 1)
                check_value(item, depth + 1)
        else:
            for item in value:
                check_value(item, depth + 1)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _nesting(text: str) -> int:
    # The nesting, measured before parsing: the parser itself recurses, and a 100,000-deep
    # array would exhaust the stack before any check could run. Brackets inside strings
    # do not count.
    depth = deepest = 0
    for char in _BRACKETS.findall(_STRING.sub("", text)):
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def parse_json(text: str | bytes) -> Any:
    """The value of a JSON document, or JsonRejected saying what is wrong with it.

    Refuses: invalid JSON or UTF-8, NaN/Infinity and numbers out of float range, integers
    beyond ±(2**53 - 1), nesting deeper than MAX_DEPTH, NUL characters and lone surrogates.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRejected("the body is not UTF-8") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting(text) > MAX_DEPTH:
        raise JsonRejected(f"nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except JsonRejected:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
                           ) from None
    except (ValueError, RecursionError) as exc:
        raise JsonRejected(f"not valid JSON: {exc}") from None
    check_value(value)
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON text that every parser reads: non-finite numbers (which a row stored before they
    were refused may still hold) are written as null, never as NaN or Infinity. Dates and other
    objects are written as their text."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=str)


def dumps_strict(value: Any) -> str:
    """JSON text for storage: a non-finite number raises ValueError rather than being kept."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)
