"""The port of Asterisk's matching and best-match order, checked against Asterisk's documentation.

Every example below is from docs.asterisk.org, Configuration > Dialplan > Pattern Matching
(asterisk/documentation: docs/Configuration/Dialplan/Pattern-Matching.md), or from the comment
above ``_extension_match_core`` in main/pbx.c. If the port disagreed with Asterisk, these fail.
"""

from __future__ import annotations

import pytest

from .asterisk_conf import parse_config
from .dialplan_model import build_dialplan, find_step, matching_extensions
from .extension_patterns import best_match, extension_cmp, extension_match, sort_extensions

# "Basic Example": _64XX matches 6400, 6401, 6450, 6499.
# "Complex Examples", "Character Sets", "Other Special Characters", the tip on [.] and [!].
DOCUMENTED = [
    ("_64XX", "6400", True), ("_64XX", "6401", True), ("_64XX", "6450", True),
    ("_64XX", "6499", True), ("_64XX", "640", False), ("_64XX", "64000", False),
    ("_64XX", "6500", False),
    # the first digit six, the second four, the third anything, the fourth four to nine
    ("_64X[4-9]", "6404", True), ("_64X[4-9]", "6499", True), ("_64X[4-9]", "6403", False),
    # "the third digit can be anything at all (including letters)", one or more
    ("_64.", "645", True), ("_64.", "64a", True), ("_64.", "64123456", True), ("_64.", "64", False),
    # _6[34]XX: the second digit a three or a four
    ("_6[34]XX", "6300", True), ("_6[34]XX", "6499", True), ("_6[34]XX", "6500", False),
    # [1-468] "matches a single digit from one through four or six or eight"
    *[("_[1-468]", d, d in "123468") for d in "0123456789"],
    ("_[1-468]", "468", False),
    # X, N and Z "have no special meaning within a set"
    ("_[X]", "X", True), ("_[X]", "5", False), ("_[NZ]", "N", True),
    # X any digit, Z one to nine, N two to nine (either case)
    *[("_X", d, True) for d in "0123456789"],
    ("_Z", "0", False), ("_Z", "1", True), ("_z", "9", True),
    ("_N", "1", False), ("_N", "2", True), ("_n", "9", True), ("_x", "a", False),
    # _9876. "any number that began with 9876 and had at least one more character or digit"
    ("_9876.", "98761", True), ("_9876.", "9876a", True), ("_9876.", "9876", False),
    # _9876! "would match any number that began with 9876 including 9876"
    ("_9876!", "9876", True), ("_9876!", "987654", True), ("_9876!", "987", False),
    # "a period or exclamation mark ... as a plain character ... put it into a character set"
    ("_12[.]3", "12.3", True), ("_12[.]3", "1243", False), ("_1[!]", "1!", True),
    # rule 1: "The dash (-) character is ignored in extensions and patterns except when it
    # is used in a pattern to specify a range in a character set"
    ("_NXX-XXXX", "5551234", True), ("_NXX-XXXX", "555-1234", True), ("555-1234", "5551234", True),
    ("_[1-3]", "-", False), ("_[-]", "-", False),
    # pbx.c: a name without '_' is compared literally
    ("_X", "_X", True), ("5551234", "5551235", False), ("s", "s", True), ("XXX", "123", False),
    # the '/' ends the pattern (the caller id part)
    ("_1X/100", "12", True),
]  # fmt: skip


@pytest.mark.parametrize("pattern, dialled, matches", DOCUMENTED)
def test_documented_matches(pattern, dialled, matches):
    assert bool(extension_match(pattern, dialled)) is matches


def test_early_match_is_reported():
    # pbx.c: "In the core routine, ! causes a match with a return code of 2"
    assert extension_match("_9876!", "9876") == 2
    assert extension_match("_9876.", "98765") == 1


def test_reversed_range_matches_nothing():
    # The page's "_[6-4]4[4-9]" reads "between six and four"; pbx.c compares
    # '6' <= digit <= '4', which nothing satisfies, and sorts the set as empty.
    for digit in "0123456789":
        assert not extension_match("_[6-4]4[4-9]", f"{digit}45")


# "Order of Pattern Matching": Alice's seven patterns, as written and as Asterisk sorts them.
ALICE = ["_6XX1", "_64XX", "_640X", "_6.", "_64NX", "_6[45]NX", "_6[34]NX"]
ALICE_SORTED = ["_640X", "_64NX", "_64XX", "_6[34]NX", "_6[45]NX", "_6XX1", "_6."]


def test_documented_sort_order():
    assert sort_extensions(ALICE) == ALICE_SORTED
    assert sort_extensions(list(reversed(ALICE))) == ALICE_SORTED


def test_documented_best_match():
    # "When Alice dials 6421 ... In this case _64NX is found", and `dialplan show 6421@users`
    assert best_match(ALICE, "6421") == ["_64NX", "_64XX", "_6[34]NX", "_6[45]NX", "_6XX1", "_6."]


@pytest.mark.parametrize("first, second", [
    ("6421", "_6XX1"),          # rule 2: non-pattern extensions before patterns
    ("100", "101"),             # ... in ASCII order
    ("_N", "_X"),               # rule 3: N (8 digits) before X (10)
    ("_Z", "_X"),
    ("_NXX", "_XXX"),
    ("_X", "_[a-j]"),           # rule 4: equal size: X is 0123456789, [a-j] abcdefghij
    ("_[0-4]", "_[4-8]"),       # "important if the character sets overlap"
    ("_X", "_."),               # rule 5: '.' after character sets
    ("_.", "_!"),               # rule 6: '!' after '.'
    ("_6-4-X", "_6[34]X"),      # rule 1: the dash "has no effect in ... sorting"
])  # fmt: skip
def test_documented_sort_rules(first, second):
    assert extension_cmp(first, second) < 0 < extension_cmp(second, first)
    assert extension_cmp("_6-4-X", "_64X") == 0


def test_documented_fallthrough():
    # "If you were to dial extension 6410, you'd hear nine eight seven five four three two one"
    contexts = build_dialplan(parse_config(
        "[users]\n"
        "exten => 6410,1,SayDigits(987)\n"
        "exten => _641X,1,SayDigits(12345)\n"
        "exten => _641X,n,SayDigits(54321)\n", "doc.conf", resolve=None))
    assert find_step(contexts, "users", "6410", 1).data == "987"
    assert find_step(contexts, "users", "6410", 2).data == "54321"
    assert find_step(contexts, "users", "6410", 3) is None
    assert find_step(contexts, "users", "6411", 1).data == "12345"


def test_includes_are_searched_after_the_context_itself():
    contexts = build_dialplan(parse_config(
        "[a]\ninclude => b\nexten => _X.,1,NoOp(a)\n[b]\nexten => 123,1,NoOp(b)\n"
        "exten => _1XX,1,NoOp(b)\n", "inc.conf", resolve=None))
    # the including context's own (less specific) pattern wins over the included exact name
    assert matching_extensions(contexts, "a", "123") == [("a", "_X.")]
    assert matching_extensions(contexts, "b", "123") == [("b", "123"), ("b", "_1XX")]


def test_extension_patterns():
    """The shipped dialplan's own patterns."""
    assert extension_match("_[78]XXXXXXXXXX", "89265550101")
    assert not extension_match("_[78]XXXXXXXXXX", "69265550101")
    assert extension_match("_+Z.", "+79161234567")
    assert not extension_match("_+Z.", "+0123")
    assert extension_match("_1XX", "101")
    assert not extension_match("_1XX", "1011")
    assert extension_match("s", "s")
    # the '+' and '00' forms never compete with the 11-digit Russian one, nor with 1XX
    assert best_match(["_1XX", "_[78]XXXXXXXXXX", "_+Z.", "_00Z."], "79161234567") == ["_[78]XXXXXXXXXX"]
    assert best_match(["_1XX", "_[78]XXXXXXXXXX", "_+Z.", "_00Z."], "+79161234567") == ["_+Z."]
