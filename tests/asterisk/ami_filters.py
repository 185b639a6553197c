"""manager.conf's users and event filters, evaluated the way Asterisk's manager.c does.

Legacy ``eventfilter`` lines are POSIX extended regexes run (regexec, no REG_NEWLINE) over the
whole event text; with include and ``!`` lines present, an event is sent if it matches at
least one include line and no ``!`` line; and only if the user's ``read`` classes hold all the
event's classes. The real traces in tests/traces are read as the events Asterisk would filter.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from .asterisk_conf import SAMPLES_DIR, TRACES_DIR, ConfigError, Section, load_config, resolve_sections

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


def trace_files() -> list[Path]:
    """Every real trace: tests/traces and the recordings' traces in tests/samples."""
    files = sorted(TRACES_DIR.glob("*.jsonl")) + sorted(SAMPLES_DIR.glob("*/*/*.jsonl"))
    assert len(files) >= 17, files
    return files


def read_trace(path: Path) -> list[AmiMessage]:
    """The messages Asterisk sent in one trace (the ``in`` records of a .jsonl, or a .ami)."""
    if path.suffix == ".jsonl":
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        data = "".join(r["data"] for r in records if r["dir"] == "in")
    else:
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
    for path in trace_files():
        events.extend(m for m in read_trace(path) if m.event)
    assert events, "no traces found"
    return events


def trace_actions() -> list[dict[str, str]]:
    actions = []
    for path in trace_files():
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
    # operators' state (pause, ready, ringing unanswered, busy on a phone) and listen-in
    "QueueMemberPause", "QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved",
    "AgentRingNoAnswer", "ChanSpyStart", "ChanSpyStop",
}  # fmt: skip
# DeviceStateChange is needed for phones only (PJSIP/...), not Asterisk's own Queue:... devices.
NEEDED_DEVICE = re.compile(r"^PJSIP/")
REPLY_EVENTS = {
    "CoreShowChannel", "CoreShowChannelsComplete", "QueueParams", "QueueMember",
    "QueueEntry", "QueueStatusComplete",
}  # fmt: skip
NEEDED_VARIABLE = re.compile(r"^(_{0,2}CRM_\w+|MIXMONITOR_FILENAME)$")
NOISE_EVENTS = {
    "Newexten", "RTCPSent", "RTCPReceived", "Cdr", "CEL", "DialState", "NewCallerid",
    "NewConnectedLine", "BridgeCreate", "BridgeDestroy",
}  # fmt: skip

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
    if event.event == "DeviceStateChange":
        return bool(NEEDED_DEVICE.match(event.headers.get("Device", "")))
    return False


def synthetic_event(name: str, privilege: str, **headers: str) -> AmiMessage:
    lines = [f"Event: {name}", f"Privilege: {privilege}", "Channel: PJSIP/101-00000001", "Uniqueid: 1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    text = "\r\n".join(lines) + "\r\n\r\n"
    return AmiMessage("synthetic", text, {k: v for k, _, v in (line.partition(": ") for line in lines)})


def filter_stats() -> dict[str, int]:
    """Per-event-type counts of what the filters keep (for the README)."""
    user = ami_user()
    stats: dict[str, int] = {}
    for e in trace_events():
        key = ("kept " if user.delivers(e) else "dropped ") + (e.event or "?")
        stats[key] = stats.get(key, 0) + 1
    return stats

