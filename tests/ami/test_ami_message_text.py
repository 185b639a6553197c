"""Pure parsing: message text -> dict, bytes -> whole messages. Tables, then Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from panoramisk.message import Message

from callcenter.ami.backoff import backoff_delay
from callcenter.ami.framing import AmiFramer
from callcenter.ami.message_text import (chan_variables, parse_message, render_message,
                                         split_repeated)
from callcenter.ami.protocol import to_panoramisk_message

from .conftest import AMI_TRACES, whole_messages

PARSE_TABLE = [
    ("Event: Newchannel\r\nCallerIDName: Иван Петров",
     {"Event": "Newchannel", "CallerIDName": "Иван Петров"}),
    ("Event: X\nBare: lf", {"Event": "X", "Bare": "lf"}),
    ("AccountCode: \r\nEvent: X", {"AccountCode": "", "Event": "X"}),
    ("Event: X\r\nAppData: a: b: c", {"Event": "X", "AppData": "a: b: c"}),
    ("Asterisk Call Manager/11.0.0\r\nResponse: Success", {"Response": "Success"}),
    ("Event: X\r\nno colon here\r\nKey:nospace\r\n: empty key", {"Event": "X"}),
    ("Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2=3",
     {"Event": "VarSet", "ChanVariable": "A=1\nB=2=3"}),
    ("Event: X\r\nValue: a\rb", {"Event": "X", "Value": "a\rb"}),
    ("\r\n\r\nEvent: Leading", {"Event": "Leading"}),
    ("", None),
    ("just junk \x00\ufffd", None),
    ("Foo: bar", {"Foo": "bar"}),
]


@pytest.mark.parametrize("text, expected", PARSE_TABLE)
def test_parse_message_table(text, expected):
    assert parse_message(text) == expected


def test_repeated_keys_helpers():
    fields = parse_message("Event: X\r\nChanVariable: CRM_TASK_ID=42\r\nChanVariable: B=\r\n"
                           "ChanVariable(CRM_CALL): 7")
    assert split_repeated(fields["ChanVariable"]) == ["CRM_TASK_ID=42", "B="]
    assert chan_variables(fields) == {"CRM_TASK_ID": "42", "B": "", "CRM_CALL": "7"}
    assert chan_variables({"Event": "X"}) == {}


def test_render_is_the_inverse_of_parse():
    fields = {"Event": "X", "CallerIDName": "Иван Петров", "Variable": "A=1\nB=2", "Empty": ""}
    text = render_message(fields)
    assert text.endswith("\r\n\r\n") and "Variable: A=1\r\nVariable: B=2\r\n" in text
    assert parse_message(text) == fields
    assert render_message({"Event": "X", "Evil": "a\r\nAction: Hangup"}).count("\r\n") == 4


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.stem)
def test_panoramisk_message_equals_from_line(path):
    """The Message the protocol builds is what panoramisk would build from the same text."""
    for fields in whole_messages(path.read_bytes()):
        text = render_message(fields)[:-2]
        expected = Message.from_line(text)
        built = to_panoramisk_message(fields)
        assert dict(built.items()) == dict(expected.items())
        assert built.fields is fields and built.manager is None
    multi = to_panoramisk_message({"Response": "Success", "Variable": "a=1\nb=2", "Result": "%20x"})
    assert multi["variable"] == ["a=1", "b=2"] and multi.getdict("variable") == {"a": "1", "b": "2"}
    assert multi["result"] == "x"


FRAMING_TABLE = [
    ([b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n"], ["Response: Success"]),
    ([b"Asterisk Call", b" Manager/6.0\r", b"\nEvent: A\r\n\r", b"\nEvent: B\n\n"],
     ["Event: A", "Event: B"]),
    ([b"Event: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n"], ["Event: A", "Event: B"]),
    ([b"Event: A\r\n", b"\r\n"], ["Event: A"]),
    ([b"Event: A\n", b"\n"], ["Event: A"]),
    ([b"Event: A\r\nName: \xd0", b"\x98\xd0\xb2\r\n\r\n"], ["Event: A\r\nName: Ив"]),
    ([b"Event: A\r\nName: \xd0\r\n\r\n"], ["Event: A\r\nName: \ufffd"]),
    ([b"Event: incomplete"], []),
]


@pytest.mark.parametrize("reads, texts", FRAMING_TABLE)
def test_framer_table(reads, texts):
    framer = AmiFramer()
    out = [text for data in reads for text in framer.feed(data)]
    assert out == texts


def test_framer_version_and_no_banner():
    framer = AmiFramer()
    framer.feed(b"Asterisk Call Manager/11.0.0\r\n")
    assert framer.version == "11.0.0"
    plain = AmiFramer()
    assert plain.feed(b"Event: A\r\n\r\n") == ["Event: A"] and plain.version == ""


def test_framer_drops_oversized_message_and_resyncs(caplog):
    framer = AmiFramer(max_message_bytes=1000, expect_banner=False)
    huge = b"Event: Huge\r\nValue: " + b"A" * 5000 + b"\r\n\r\n"
    out = []
    for i in range(0, len(huge), 700):
        out += framer.feed(huge[i:i + 700])
        assert framer.buffered <= 1000 + 700
    out += framer.feed(b"Event: After\r\n\r\n" + b"Event: Whole\r\nV: " + b"B" * 2000 +
                       b"\r\n\r\nEvent: Last\r\n\r\n")
    assert out == ["Event: After", "Event: Last"]
    assert framer.dropped == 2
    assert "dropped" in caplog.text


@pytest.mark.parametrize("attempt, rand, expected", [
    (0, 0.0, 1.0), (1, 0.0, 2.0), (3, 0.0, 8.0), (5, 0.0, 30.0), (500, 0.0, 30.0),
    (0, 0.999, 0.7003), (5, 0.5, 25.5),
])
def test_backoff_delay_table(attempt, rand, expected):
    delay = backoff_delay(attempt, initial=1.0, cap=30.0, jitter=0.3, rand=rand)
    assert delay == pytest.approx(expected, abs=1e-3)


# -- Hypothesis: real trace messages, damaged and split at random --------------------------

TRACE_BLOCKS = [
    [block for block in p.read_bytes().split(b"\r\n", 1)[1].split(b"\r\n\r\n") if block]
    for p in AMI_TRACES if p.stat().st_size > 1000
]
CAP = 4096
junk_bytes = st.binary(min_size=1, max_size=300).map(
    lambda b: b.replace(b":", b"").rstrip(b"\r\n") or b"\xff")


@st.composite
def damaged_streams(draw):
    blocks = draw(st.sampled_from(TRACE_BLOCKS))
    start = draw(st.integers(0, len(blocks) - 1))
    chosen = blocks[start:start + draw(st.integers(1, 40))]
    stream, expected, huge = [b"Asterisk Call Manager/11.0.0\r\n"], [], 0
    for block in chosen:
        kind = draw(st.sampled_from(["valid"] * 6 + ["junk", "truncated", "huge"]))
        if kind == "junk":
            stream.append(draw(junk_bytes) + b"\r\n\r\n")
        if kind == "truncated":
            cut = block[:draw(st.integers(0, len(block)))].rstrip(b"\r\n")
            if cut:
                stream.append(cut + b"\r\n\r\n")
                fields = parse_message(cut.decode("utf-8", "replace"))
                if fields is not None:
                    expected.append(fields)
            continue
        if kind == "huge":
            stream.append(block + b"\r\nHuge: " + b"\xd0\x98" * CAP + b"\r\n\r\n")
            huge += 1
            continue
        stream.append(block + b"\r\n\r\n")
        expected.append(parse_message(block.decode("utf-8")))
    data = b"".join(stream)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=60)))
    return data, cuts, expected, huge


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_streams())
def test_framer_and_parser_survive_damage_and_random_splits(case):
    data, cuts, expected, huge = case
    framer = AmiFramer(max_message_bytes=CAP)
    texts = []
    for a, b in zip([0, *cuts], [*cuts, len(data)]):
        texts += framer.feed(data[a:b])
    parsed = [fields for fields in map(parse_message, texts) if fields is not None]
    assert parsed == expected
    assert framer.dropped == huge
    assert framer.version == "11.0.0"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=20))
def test_arbitrary_bytes_never_raise(data, cuts):
    framer = AmiFramer(max_message_bytes=256)
    for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)]):
        for text in framer.feed(data[a:b]):
            fields = parse_message(text)
            assert fields is None or all("\n" not in k for k in fields)
    assert framer.buffered <= 256 + 2000


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_parse_message_is_total(text):
    fields = parse_message(text)
    if fields is not None:
        assert all(key and "\n" not in key for key in fields)
