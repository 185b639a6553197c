"""The demo PBX leaves MixMonitor files for the calls it answers, which the pipeline turns into
playable recordings with the health flag the demo meant."""

from __future__ import annotations

import random

from callcenter.ami.demo_pbx import _answered_recording, write_recording
from callcenter.ami.synthetic import SyntheticCalls
from callcenter.ami.trace import FreshIds
from callcenter.services.audio import PartFiles, convert_call, probe

EXPECTED = {"both": "ok", "customer": "operator_silent", "nobody": "both_silent"}


def test_answered_synthetic_calls_name_their_recording():
    calls = SyntheticCalls(random.Random(4), FreshIds(1796155319), abandon_ratio=0.3)
    found = [_answered_recording(calls.next_call()) for _ in range(40)]
    answered = [f for f in found if f is not None]
    assert 0 < len(answered) < 40  # abandoned calls leave no recording to write
    for name, seconds in answered:
        assert name.endswith(".wav") and not name.startswith("/") and 5 <= seconds <= 91


def test_demo_recordings_convert_with_their_health(tmp_path):
    seen = set()
    for seed in range(40):
        name = f"2026/12/02/{seed}.wav"
        speaks = write_recording(tmp_path, name, 12.0, random.Random(seed))
        if speaks in seen:
            continue
        seen.add(speaks)
        stem = tmp_path / name[:-4]
        part = PartFiles(tmp_path / name, tmp_path / f"{stem}-customer.wav",
                         tmp_path / f"{stem}-operator.wav")
        result = convert_call([part], tmp_path / f"{seed}.ogg", "opus", -45.0)
        assert result.health == EXPECTED[speaks]
        assert abs(result.duration_seconds - 12.0) <= 0.25 and probe(result.path)[0] == "opus"
    assert seen == set(EXPECTED)  # the demo shows every flag
