"""AMI message text <-> flat ``dict[str, str]``: pure functions, no I/O.

An AMI message is a block of ``Key: Value`` lines (CRLF; a bare LF is tolerated) ended by a
blank line. :func:`parse_message` turns the text of one message (without its blank line) into
a dict; :func:`render_message` is its inverse, used by the simulator and the tests.

Contract of :func:`parse_message`:

* Keys and values are kept exactly as sent (case included); the value is everything after the
  first ``": "`` up to the line end (``\\r\\n`` or ``\\n``). ``"AccountCode: "`` gives ``""``.
* Lines without ``": "`` (the banner, junk, a body line) and lines with an empty key are skipped.
* **Repeated keys are collected**, not overwritten: their values are joined with ``"\\n"`` in
  arrival order (``ChanVariable: A=1`` + ``ChanVariable: B=2`` -> ``"A=1\\nB=2"``). A value can
  never contain ``"\\n"`` itself (lines are split on it), so this is lossless; use
  :func:`split_repeated` to get the list back and :func:`chan_variables` for ``ChanVariable``.
* Returns ``None`` when the text holds no ``Key: Value`` line at all. It never raises for any
  ``str`` input; it does not check that the message is an Event or a Response (the caller does).
"""

from __future__ import annotations

from collections.abc import Mapping

REPEAT_SEPARATOR = "\n"


def parse_message(text: str) -> dict[str, str] | None:
    """Parse the text of one AMI message into ``{key: value}``; see the module contract."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        if sep and key:
            if key in fields:
                fields[key] += REPEAT_SEPARATOR + value
            else:
                fields[key] = value
    return fields or None


def split_repeated(value: str) -> list[str]:
    """The values of a (possibly) repeated key, in arrival order."""
    return value.split(REPEAT_SEPARATOR)


def chan_variables(fields: Mapping[str, str], key: str = "ChanVariable") -> dict[str, str]:
    """``ChanVariable: NAME=value`` lines (set by ``channelvars`` in manager.conf) as a dict.

    Asterisk 12+ may also send ``ChanVariable(NAME): value``; both spellings are read.
    """
    result: dict[str, str] = {}
    raw = fields.get(key)
    if raw:
        for item in split_repeated(raw):
            name, _, value = item.partition("=")
            if name:
                result[name] = value
    prefix = key + "("
    for name, value in fields.items():
        if name.startswith(prefix) and name.endswith(")"):
            result[name[len(prefix):-1]] = value
    return result


def render_message(fields: Mapping[str, str]) -> str:
    """AMI wire text for ``fields``, blank line included (CRLF line ends).

    A value holding ``"\\n"`` is written as one line per part (the inverse of the collection
    of repeated keys), so ``parse_message(render_message(d)) == d`` for ordinary keys. Carriage
    returns inside values are dropped so that a value can never inject extra header lines.
    """
    out: list[str] = []
    for key, value in fields.items():
        for part in str(value).replace("\r", "").split(REPEAT_SEPARATOR):
            out.append(f"{key}: {part}\r\n")
    out.append("\r\n")
    return "".join(out)
