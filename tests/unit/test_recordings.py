"""Which recording a call keeps: table-tested over the real MixMonitor files."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from callcenter.domain.call_records import CallRecord
from callcenter.domain.recordings import (
    RecordingFile, StoredRecording, direction_files, stored_recording,
)
from callcenter.services.recordings import RecordingProbe

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "recordings"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
CALL = CallRecord(key="1.1", linkedid="1.1", direction="inbound", started_at=T0, ended_at=T0,
                  outcome="answered", recording="2026/12/01/1796155319.15.wav")


@pytest.mark.parametrize("outcome, file, expected", [
    ("answered", RecordingFile(222764), StoredRecording(CALL.recording, True)),
    ("answered", RecordingFile(44), StoredRecording(None, False)),       # a header, no samples
    ("answered", RecordingFile(0), StoredRecording(None, False)),
    ("answered", RecordingFile(None), StoredRecording(CALL.recording, False)),  # not there (yet)
    ("answered", None, StoredRecording(CALL.recording, False)),          # cannot look: unverified
    ("missed", RecordingFile(44), StoredRecording(None, False)),
    ("missed", None, StoredRecording(None, False)),                      # 'b': nothing bridged
    ("busy", None, StoredRecording(None, False)),
    ("no_answer", RecordingFile(222764), StoredRecording(None, False)),
    (None, None, StoredRecording(CALL.recording, False)),                # still in progress
])  # fmt: skip
def test_stored_recording(outcome, file, expected):
    assert stored_recording(replace(CALL, outcome=outcome), file) == expected


def test_no_recording_no_name():
    assert stored_recording(replace(CALL, recording=None), RecordingFile(1000)) == StoredRecording(None, False)


@pytest.mark.parametrize("folder, name, audio", [
    ("rec_two_way", "2026/12/01/1796155319.15.wav", True),
    ("rec_one_way_operator_silent", "2026/12/01/1796155345.18.wav", True),
    ("rec_both_silent", "2026/12/01/1796155371.21.wav", True),   # silence is audio: kept
    ("abandoned_header_only", "2026/12/01/1796155397.24.wav", False),
])  # fmt: skip
def test_real_recordings(folder, name, audio):
    probe = RecordingProbe(SAMPLES / folder)
    for file in (name, *direction_files(name)):
        seen = probe(file)
        assert seen is not None and seen.size is not None, file
        result = stored_recording(replace(CALL, recording=file), seen)
        assert (result.name is not None, result.verified) == (audio, audio), file


def test_probe_stays_in_its_folder(tmp_path):
    (tmp_path / "inside").mkdir()
    (tmp_path / "secret.wav").write_bytes(b"x" * 1000)
    probe = RecordingProbe(tmp_path / "inside")
    assert probe("../secret.wav") == RecordingFile(None)
    assert probe(str(tmp_path / "secret.wav")) == RecordingFile(None)
    assert probe("2026/01/01/none.wav") == RecordingFile(None)
    assert RecordingProbe(tmp_path / "not-mounted")("2026/01/01/x.wav") is None


def test_direction_files():
    assert direction_files("2026/12/01/1.15.wav") == ("2026/12/01/1.15-customer.wav",
                                                       "2026/12/01/1.15-operator.wav")
