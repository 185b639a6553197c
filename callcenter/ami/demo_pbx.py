"""A pretend PBX for the demo: the AMI simulator in-process, sending calls from demo clients.

It lets a newcomer see cards pop without an Asterisk: the first call arrives a few seconds after
the CRM connects, then one every ~25 seconds; some callers are unknown numbers.  Queue calls ring
the operators who are not paused (``QueuePause``, sent when one pauses in the CRM); when both are,
the caller gives up and the call is a missed one.

Click-to-call is answered with a real recorded outbound call, one of :data:`SCRIPTS` in turn:
the client is busy (about 8 s), answers and talks (about 12 s), does not answer (rings 30 s),
and round again.  Each is played as the call the Originate asked for: the operator's phone, the
number, the name and the ``CRM_*`` variables are the Originate's, and Asterisk's echo of
``CRM_TASK_ID`` carries the task's id, so the PBX's busy or no-answer moves that task's ladder.
``QueuePause`` (ready / pause in the top bar) is answered by the simulator as Asterisk 22 does.
A supervisor's listen-in (an Originate into the supervise context) is answered by the simulator
with a spy leg (``sim_spy.py``): the supervisor's phone rings, answers, and ChanSpy joins the
operator's call until it ends -- never a scripted customer call.

For each queue call it answers, the demo PBX writes what MixMonitor would into the monitor
directory (``start_demo_pbx(monitor_dir=...)``): the mixed file and the customer's and
operator's directions, three aligned 8 kHz mono WAVs of speech-like bursts taking turns (the
operator greets first); about one call in six has one-way audio (a silent direction) and one
in twelve nobody speaking, so the recordings' health flag shows in the demo.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import itertools
import logging
import math
import random
import secrets
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from callcenter.ami.message_text import parse_message, split_repeated
from callcenter.ami.sim import AmiSimulator
from callcenter.ami.synthetic import SyntheticCalls
from callcenter.ami.trace import Trace, iter_records, load_trace
from callcenter.domain.originates import originate_variables

log = logging.getLogger("callcenter.demo")
TRACES = Path(__file__).with_name("traces")
ORIGINATE_TRACE = TRACES / "outbound_click_to_call.jsonl"
#: (the outcome the CRM will log, the recorded outbound call played for it), in turn
SCRIPTS = (("busy", TRACES / "outbound_rejected.jsonl"),
           ("answered", ORIGINATE_TRACE),
           ("no_answer", TRACES / "outbound_no_answer.jsonl"))
UNKNOWN_CALLERS = ("+79031112233", "79057770011", "89998887766")


@dataclass(frozen=True)
class _Recorded:
    """A recorded outbound call and what its Originate asked for."""

    trace: Trace
    channel: str         # PJSIP/101
    number: str          # 79161234567
    name: str            # Иван Петров
    variables: dict[str, str]


def _recorded(path: Path) -> _Recorded:
    action = next(fields for record in iter_records(path) if record["dir"] == "out"
                  and (fields := parse_message(str(record["data"])) or {}).get("Action") == "Originate")
    return _Recorded(load_trace(path), action["Channel"], action["Exten"].lstrip("+"),
                     _caller_name(action.get("CallerID", "")),
                     originate_variables(split_repeated(action.get("Variable", ""))))


def _caller_name(caller_id: str) -> str:
    """``"Иван Петров" <79161234567>`` -> ``Иван Петров``; '' when there is no name."""
    name, sep, _ = caller_id.partition("<")
    return name.strip().strip('"').strip() if sep else ""


def _rewriter(recorded: _Recorded, action: Mapping[str, str]) -> Callable[[dict[str, str]], dict | None]:
    """Turns the recorded call's events into those of the call ``action`` asked for; None for an
    event to leave out (the echo of a variable the Originate did not set)."""
    channel = action.get("Channel") or recorded.channel
    number = (action.get("Exten") or recorded.number).lstrip("+")
    name = _caller_name(action.get("CallerID", "")) or number
    variables = originate_variables(split_repeated(action.get("Variable", "")))
    old_ext, new_ext = recorded.channel.partition("/")[2], channel.partition("/")[2]

    def value(text: str) -> str:
        if text == recorded.channel:
            return channel
        if text.startswith(recorded.channel + "-"):
            return channel + text[len(recorded.channel):]
        if text == old_ext:
            return new_ext
        return text.replace(recorded.number, number).replace(recorded.name, name)

    def rewrite(fields: dict[str, str]) -> dict[str, str] | None:
        var = fields.get("Variable", "").lstrip("_")
        if fields.get("Event") == "VarSet" and var in recorded.variables:
            if var not in variables:
                return None
            return {**{k: value(v) for k, v in fields.items()}, "Value": variables[var]}
        return {k: value(v) for k, v in fields.items()}

    return rewrite


class ScriptedOriginates:
    """The simulator's ``originate_script``: each Originate gets the next of ``scripts`` (see the
    module docstring), played at ``speed`` (1 = as recorded, 0 = as fast as possible)."""

    def __init__(self, sim: AmiSimulator, speed: float = 1.0,
                 scripts: Sequence[tuple[str, Path]] = SCRIPTS) -> None:
        self.sim, self.speed = sim, speed
        self.scripts = [(outcome, _recorded(path)) for outcome, path in scripts]
        self._turn = itertools.count()
        #: the outcome each Originate was given, in order
        self.played: list[str] = []

    async def __call__(self, action: dict[str, str]) -> None:
        outcome, recorded = self.scripts[next(self._turn) % len(self.scripts)]
        self.played.append(outcome)
        log.info("demo PBX: the call to %s will be %s", action.get("Exten"), outcome)
        rewrite = _rewriter(recorded, action)
        action_ids = {old: action.get("ActionID", "") for old in recorded.trace.originate_action_ids}
        loop = asyncio.get_running_loop()
        start = loop.time()
        for t, group in itertools.groupby(recorded.trace.fresh_texts(self.sim.ids, action_ids),
                                          key=lambda item: item[0]):
            if self.speed > 0 and (delay := start + t / self.speed - loop.time()) > 0:
                await asyncio.sleep(delay)
            events = [e for _, text in group if (e := rewrite(parse_message(text) or {}))]
            await self.sim.broadcast(events)


@dataclass
class DemoPbx:
    sim: AmiSimulator
    port: int
    username: str
    secret: str
    tasks: list[asyncio.Task] = field(default_factory=list)

    def settings(self) -> dict[str, object]:
        return {"ami_host": "127.0.0.1", "ami_port": self.port, "ami_username": self.username,
                "ami_secret": self.secret}

    async def stop(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sim.stop()

    def keep(self, task: asyncio.Task) -> None:
        """Hold a task until it ends; ``stop`` cancels it."""
        self.tasks.append(task)
        task.add_done_callback(lambda done: done in self.tasks and self.tasks.remove(done))


async def start_demo_pbx(known_callers: Sequence[str], *, every_seconds: float = 25.0,
                         first_after: float = 5.0, speed: float = 1.0,
                         monitor_dir: str | Path | None = None) -> DemoPbx:
    """Start the simulator on a free loopback port; calls begin once the CRM has logged in.
    ``speed`` is the pace of the click-to-call scripts (see :class:`ScriptedOriginates`);
    answered queue calls leave MixMonitor files in ``monitor_dir`` when it is given."""
    secret = secrets.token_urlsafe(16)
    sim = AmiSimulator("callcenter-demo", secret)
    sim.originate_script = ScriptedOriginates(sim, speed)
    port = await sim.start("127.0.0.1", 0)
    pbx = DemoPbx(sim, port, "callcenter-demo", secret)
    callers = [n.lstrip("+") for n in known_callers] + list(UNKNOWN_CALLERS)

    async def calls() -> None:
        await sim.wait_for_clients(1)
        await asyncio.sleep(first_after)
        log.info("demo PBX: inbound calls start now, one every ~%.0f s", every_seconds)
        synthetic = SyntheticCalls(sim.rng, sim.ids, callers=callers)
        while True:
            pbx.keep(asyncio.get_running_loop().create_task(_play(sim, synthetic, monitor_dir)))
            await asyncio.sleep(sim.rng.expovariate(1.0 / every_seconds))

    pbx.keep(asyncio.get_running_loop().create_task(calls(), name="demo-calls"))
    return pbx


async def _play(sim: AmiSimulator, synthetic: SyntheticCalls,
                monitor_dir: str | Path | None = None) -> None:
    """One generated call, its events at their offsets.  As on Asterisk, a paused operator's
    phone does not ring for queue calls; with everyone paused the caller gives up (missed)."""
    synthetic.operators = [m for m in sim.pbx.members if m not in sim.pbx.paused]
    events = synthetic.next_call()
    if monitor_dir is not None:
        recording = _answered_recording(events)
        if recording is not None:
            name, seconds = recording
            try:  # off the loop: the files are there before the call ends, as with MixMonitor
                await asyncio.to_thread(write_recording, Path(monitor_dir), name, seconds,
                                        random.Random(name))
            except OSError as exc:
                log.warning("demo PBX: the recording %s could not be written: %s", name, exc)
    start = asyncio.get_running_loop().time()
    for t, group in itertools.groupby(events, key=lambda item: item[0]):
        if (delay := start + t - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(delay)
        await sim.broadcast([fields for _, fields in group])


SPOOL = "/var/spool/asterisk/monitor/"
RATE = 8000


def _answered_recording(events: Sequence[tuple[float, Mapping[str, str]]]
                        ) -> tuple[str, float] | None:
    """(name relative to the monitor directory, bridged seconds) of an answered call."""
    name = answered = ended = None
    for t, fields in events:
        if fields.get("Event") == "VarSet" and fields.get("Variable") == "MIXMONITOR_FILENAME":
            value = fields.get("Value", "")
            name = value[len(SPOOL):] if value.startswith(SPOOL) else None
        elif fields.get("Event") == "BridgeEnter" and answered is None:
            answered = t
        elif fields.get("Event") == "Hangup":
            ended = t
    if name is None or answered is None or ended is None or ended <= answered:
        return None
    return name, ended - answered


def _syllable(pitch: float, seconds: float = 0.22) -> array.array:
    count = int(seconds * RATE)
    out = array.array("h", bytes(2 * count))
    for i in range(count):
        t = i / RATE
        envelope = math.sin(math.pi * i / count)
        voice = sum(math.sin(2 * math.pi * pitch * k * t) / k for k in (1, 2, 3, 5))
        out[i] = int(5000 * envelope * voice)
    return out


_SYLLABLES: dict[float, list[array.array]] = {}


def _speaker(pitch: float) -> list[array.array]:
    if pitch not in _SYLLABLES:
        _SYLLABLES[pitch] = [_syllable(pitch * f) for f in (0.9, 1.0, 1.1, 1.25)]
    return _SYLLABLES[pitch]


def _talk(track: array.array, start: float, end: float, syllables: list[array.array],
          rng: random.Random) -> None:
    at = int(start * RATE)
    stop = min(int(end * RATE), len(track))
    while at < stop:
        syllable = rng.choice(syllables)
        piece = syllable[:max(0, stop - at)]
        track[at:at + len(piece)] = piece
        at += len(piece) + int(rng.uniform(0.03, 0.25) * RATE)


def write_recording(folder: Path, name: str, seconds: float, rng: random.Random) -> str:
    """Write a call's three MixMonitor files under ``folder`` (see the module docstring);
    returns which directions speak: ``both``, ``customer`` (the operator's is silent),
    ``nobody``."""
    frames = int(seconds * RATE)
    customer = array.array("h", bytes(2 * frames))
    operator = array.array("h", bytes(2 * frames))
    roll = rng.random()
    speaks = "nobody" if roll < 1 / 12 else "customer" if roll < 1 / 12 + 1 / 6 else "both"
    turn, at, operator_turn = 0, 0.0, True
    while at < seconds:
        length = 3.0 if turn == 0 else rng.uniform(1.5, 6.0)
        if speaks == "both" and operator_turn:
            _talk(operator, at, at + length, _speaker(210.0), rng)
        elif speaks != "nobody" and not operator_turn:
            _talk(customer, at, at + length, _speaker(120.0), rng)
        at += length + rng.uniform(0.3, 1.0)
        operator_turn, turn = not operator_turn, turn + 1
    from pydub import AudioSegment  # its overlay mixes in C (audioop), clipping like Asterisk

    def segment(track: array.array) -> AudioSegment:
        return AudioSegment(data=track.tobytes(), sample_width=2, frame_rate=RATE, channels=1)

    mixed = segment(customer).overlay(segment(operator)).raw_data
    stem = name[:-4] if name.endswith(".wav") else name
    for suffix, track in (("", mixed), ("-customer", customer.tobytes()),
                          ("-operator", operator.tobytes())):
        path = folder / f"{stem}{suffix}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(track)
        partial.replace(path)
    return speaks
