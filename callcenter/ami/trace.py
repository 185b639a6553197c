"""Recorded AMI traces (``tests/traces/*.jsonl``) as replayable event streams. Pure, no I/O
beyond reading the file.

A ``.jsonl`` trace has one line per TCP read/write: ``{"t": seconds, "dir": "in"|"out",
"data": text}``. :func:`load_trace` keeps what a PBX would *broadcast* to any AMI client — the
events — and leaves out what belonged to the recorded client's own session: the banner, every
``Response:``, ``FullyBooted``, and events answering its actions (``CoreShowChannel``,
``QueueMember``... carrying its ActionIDs). ``OriginateResponse`` is kept: its ActionID can be
rewritten to the ActionID of a new Originate (see :meth:`Trace.fresh_texts`).
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .framing import AmiFramer
from .message_text import parse_message

_ID_KEYS = ("uniqueid", "linkedid")
_NUMERIC_ID = re.compile(r"^\d+\.\d+$")
_CHANNEL_WITH_SEQ = re.compile(r"^(?P<base>.+-)[0-9a-f]{8}(?:;\d)?$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Trace:
    """The broadcast events of one recorded scenario, with their times (seconds, from 0)."""

    name: str
    messages: list[tuple[float, str]]
    originate_action_ids: list[str] = field(default_factory=list)
    call_ids: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    bridges: set[str] = field(default_factory=set)

    def fresh_texts(self, ids: FreshIds | None,
                    action_ids: Mapping[str, str] | None = None) -> list[tuple[float, str]]:
        """The messages with Uniqueid/Linkedid, channel sequence numbers and bridge ids
        replaced by fresh ones from ``ids`` (consistently, also inside values such as the
        MixMonitor file name), and ActionIDs replaced per ``action_ids``."""
        mapping: dict[str, str] = dict(action_ids or {})
        if ids is not None:
            for old in sorted(self.call_ids):
                mapping[old] = ids.call_id()
            for old in sorted(self.channels):
                base = _CHANNEL_WITH_SEQ.match(old)
                if base:
                    mapping[old.split(";")[0]] = base["base"] + ids.channel_seq()
            for old in sorted(self.bridges):
                mapping[old] = ids.bridge_id()
        if not mapping:
            return list(self.messages)
        alternatives = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w.\-])(?:{alternatives})(?![\w\-])")

        def replace(match: re.Match[str]) -> str:
            return mapping[match.group(0)]

        return [(t, pattern.sub(replace, text)) for t, text in self.messages]


class FreshIds:
    """Sources of new, never-repeating ids for replays (deterministic for a given start)."""

    def __init__(self, epoch: int, new_uuid: Callable[[], str] | None = None) -> None:
        self.epoch = epoch
        self._seq = itertools.count(1)
        self._new_uuid = new_uuid or (lambda: str(uuid.uuid4()))

    def call_id(self) -> str:
        return f"{self.epoch}.{next(self._seq)}"

    def channel_seq(self) -> str:
        return f"{next(self._seq) & 0xFFFFFFFF:08x}"

    def bridge_id(self) -> str:
        return self._new_uuid()


def iter_records(path: str | Path) -> Iterator[dict[str, object]]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_trace(path: str | Path) -> Trace:
    """Read a ``.jsonl`` trace; see the module docstring for what is kept."""
    framer = AmiFramer()
    own_action_ids: set[str] = set()
    originate_ids: list[str] = []
    kept: list[tuple[float, dict[str, str], str]] = []
    for record in iter_records(path):
        data, t = str(record["data"]), float(record["t"])  # type: ignore[arg-type]
        if record["dir"] == "out":
            fields = parse_message(data) or {}
            if "ActionID" in fields:
                own_action_ids.add(fields["ActionID"])
                if fields.get("Action", "").lower() == "originate":
                    originate_ids.append(fields["ActionID"])
            continue
        if data.startswith("Asterisk Call Manager/"):
            framer = AmiFramer()  # a new connection in the recording
        for text in framer.feed(data.encode("utf-8")):
            fields = parse_message(text)
            if fields is not None and "Event" in fields:
                kept.append((t, fields, text))
    trace = Trace(Path(path).stem, [], originate_ids)
    for t, fields, text in kept:
        event = fields["Event"]
        if event == "FullyBooted":
            continue
        if fields.get("ActionID") in own_action_ids and event != "OriginateResponse":
            continue
        trace.messages.append((t, text))
        _collect_ids(trace, fields)
    if trace.messages:
        t0 = trace.messages[0][0]
        trace.messages = [(round(t - t0, 6), text) for t, text in trace.messages]
    return trace


def _collect_ids(trace: Trace, fields: dict[str, str]) -> None:
    for key, value in fields.items():
        lower = key.lower()
        if lower.endswith(_ID_KEYS) and _NUMERIC_ID.match(value):
            trace.call_ids.add(value)
        elif lower.endswith("channel") and _CHANNEL_WITH_SEQ.match(value):
            trace.channels.add(value)
        elif lower.endswith(("bridgeuniqueid", "bridgeid")) and _UUID.match(value):
            trace.bridges.add(value)
