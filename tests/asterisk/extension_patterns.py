"""Asterisk's extension matching and best-match order, ported line by line from main/pbx.c.

Not a matcher of our own: ``extension_match`` is ``_extension_match_core`` in ``E_MATCH`` mode
and ``extension_cmp`` is ``ext_cmp`` (with ``ext_cmp_pattern_pos``), the functions Asterisk 20/22
use to decide whether a dialled string matches an extension and which of several matching
extensions of a context sorts (and therefore runs) first. tests/asterisk/test_extension_patterns.py
checks the port against every example of Asterisk's "Pattern Matching" documentation page.

Semantics, as the C code has them:
* a name not starting with ``_`` matches only the same string; ``-`` is ignored everywhere
  (in names, patterns and the dialled string) except inside a ``[...]`` set;
* ``X`` 0-9, ``Z`` 1-9, ``N`` 2-9 (either case); ``[...]`` a set of characters and ``a-b``
  ranges, taken literally (X/N/Z mean nothing there; a reversed range matches nothing);
* ``.`` one or more of *any* character, ``!`` zero or more; both end the pattern;
* sorting: names before patterns (ASCII order), patterns position by position, the smaller
  set first, equal-size sets by their characters, then ``.``, then ``!``, then the end.
"""

from __future__ import annotations

import functools

__all__ = ["extension_match", "extension_cmp", "sort_extensions", "best_match"]


def _at(s: str, i: int) -> str:
    return s[i] if i < len(s) else "\0"


def extension_match(pattern: str, data: str) -> int:
    """0: no match, 1: match, 2: early match (a ``!``) -- ``ast_extension_match``."""
    if not pattern.startswith("_"):
        lp, ld = len(pattern.replace("-", "")), len(data.replace("-", ""))
        if lp < ld:
            return 0
        return 1 if _cmp_exten(pattern, data) == 0 else 0
    if data.startswith("_") and _cmp_pattern(pattern[1:], data[1:]) == 0:
        return 1  # the pattern itself, compared as a pattern
    p, d = 1, 0
    while True:
        while _at(data, d) == "-":
            d += 1
        while _at(pattern, p) == "-":
            p += 1
        pc, dc = _at(pattern, p), _at(data, d)
        if dc == "\0" or pc == "\0" or pc == "/":
            break
        if pc == "[":
            p += 1
            end = pattern.find("]", p)
            if end < 0:
                return 0  # "Wrong usage of [] in the extension"
            if p == end:  # an empty set is ignored
                p += 1
                continue
            while p < end:
                if p + 2 < end and pattern[p + 1] == "-":
                    if pattern[p] <= dc <= pattern[p + 2]:
                        break
                    p += 3
                    continue
                if dc == pattern[p]:
                    break
                p += 1
            if p >= end:
                return 0
            p = end
        elif pc in "nN":
            if not "2" <= dc <= "9":
                return 0
        elif pc in "xX":
            if not "0" <= dc <= "9":
                return 0
        elif pc in "zZ":
            if not "1" <= dc <= "9":
                return 0
        elif pc == ".":
            return 1
        elif pc == "!":
            return 2
        elif dc != pc:
            return 0
        d += 1
        p += 1
    if _at(data, d) != "\0":
        return 0  # the dialled string is longer than the pattern
    pc = _at(pattern, p)
    if pc in ("\0", "/"):
        return 1
    if pc == "!":
        return 2
    return 0  # the pattern wants more characters


def _cmp_exten(left: str, right: str) -> int:
    a, b = left.replace("-", ""), right.replace("-", "")
    return (a > b) - (a < b)


def _pattern_pos(s: str, i: int, bitwise: list[int]) -> tuple[int, int | None]:
    """``ext_cmp_pattern_pos``: the sort value of the position at ``i`` and the next index."""
    while True:
        c = _at(s, i)
        i += 1
        while c == "-":
            c = _at(s, i)
            i += 1
        if c in "nN" and c != "\0":
            bitwise[6], bitwise[7] = 0x3F, 0xC0
            return 0x0800 | ord("2"), i
        if c in "xX" and c != "\0":
            bitwise[6], bitwise[7] = 0xFF, 0xC0
            return 0x0A00 | ord("0"), i
        if c in "zZ" and c != "\0":
            bitwise[6], bitwise[7] = 0x7F, 0xC0
            return 0x0900 | ord("1"), i
        if c == ".":
            return 0x18000, i
        if c == "!":
            return 0x28000, i
        if c == "\0":
            return 0x30000, None
        if c != "[":
            o = ord(c)
            bitwise[o // 8] = 1 << (7 - o % 8)
            return 0x0100 | o, i
        end = s.find("]", i)
        if end < 0:
            return 0x40000, i
        count, cmin = 0, 0xFF
        while i < end:
            c1 = ord(s[i])
            if i + 2 < end and s[i + 1] == "-":
                c2 = ord(s[i + 2])
                i += 2
            else:
                c2 = c1
            cmin = min(cmin, c1)
            for c in range(c1, c2 + 1):
                mask = 1 << (7 - c % 8)
                if not bitwise[c // 8] & mask:
                    bitwise[c // 8] |= mask
                    count += 0x100
            i += 1
        i += 1
        if count:  # an empty set is skipped: the next position counts
            return count | cmin, i


def _cmp_pattern(left: str, right: str) -> int:
    li: int | None = 0
    ri: int | None = 0
    while True:
        lb, rb = [0] * 32, [0] * 32
        lpos, li = _pattern_pos(left, li, lb)
        rpos, ri = _pattern_pos(right, ri, rb)
        cmp = lpos - rpos
        if not cmp:
            # same score, different sets: the set with the lower characters first
            cmp = (rb > lb) - (rb < lb)
        if cmp or li is None:
            return cmp


def extension_cmp(left: str, right: str) -> int:
    """``ext_cmp``: negative when ``left`` sorts (and is tried) before ``right``."""
    if not left.startswith("_"):
        return -1 if right.startswith("_") else _cmp_exten(left, right)
    if not right.startswith("_"):
        return 1
    return _cmp_pattern(left[1:], right[1:])


def sort_extensions(names) -> list[str]:
    """The order of ``dialplan show``: the order in which a context's extensions are tried."""
    return sorted(names, key=functools.cmp_to_key(extension_cmp))


def best_match(names, data: str) -> list[str]:
    """The extensions among ``names`` that match ``data``, best first (the first one runs)."""
    return [n for n in sort_extensions(names) if extension_match(n, data)]
