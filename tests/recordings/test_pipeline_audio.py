"""services.audio over the real MixMonitor files of Asterisk 22, and generated calls: the
converted file's codec (ffprobe), duration and health flag; damaged files refused."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from callcenter.services.audio import (
    AudioProblem, PartFiles, convert_call, probe, read_wav, window_levels,
)
from tests.recordings.conftest import CALLS, SAMPLES, speech_like, write_call, write_wav


def part(folder: Path, name: str) -> PartFiles:
    stem = folder / name[:-4]
    return PartFiles(folder / name, Path(f"{stem}-customer.wav"), Path(f"{stem}-operator.wav"))


@pytest.mark.parametrize("sample, health", [
    ("rec_two_way", "ok"),
    ("rec_one_way_operator_silent", "operator_silent"),
    ("rec_both_silent", "both_silent"),
])  # fmt: skip
@pytest.mark.parametrize("fmt, codec, suffix", [("opus", "opus", "ogg"), ("mp3", "mp3", "mp3")])
def test_real_samples_convert_with_their_health(monitor, tmp_path, sample, health, fmt, codec,
                                                suffix):
    target = tmp_path / "out" / f"call-1.{suffix}"
    result = convert_call([part(monitor, CALLS[sample])], target, fmt, -45.0)
    assert result.health == health
    assert target.is_file() and result.bytes == target.stat().st_size > 0
    got_codec, seconds = probe(target)
    assert got_codec == codec
    assert abs(seconds - 13.92) <= 0.25 and abs(result.duration_seconds - 13.92) <= 0.25
    assert not target.with_name(target.name + ".partial").exists()
    # the originals are the caller's to remove, after the row is stored
    assert all(p.is_file() for p in part(monitor, CALLS[sample]).existing())


def test_two_way_levels_match_sox(monitor, tmp_path):
    result = convert_call([part(monitor, CALLS["rec_two_way"])], tmp_path / "a.ogg", "opus",
                          -45.0)
    operator = result.details["operator_dbfs"]
    customer = result.details["customer_dbfs"]
    # README: operator 0.084 0.076 then zeros; customer zeros, 0.003 (start), 0.057 0.064 0.028
    assert len(operator) == len(customer) == 7
    assert operator[2:] == [None] * 5 and -23 < operator[0] < -20
    assert customer[:3] == [None] * 3 and -51 < customer[3] < -49 and -26 < customer[4] < -23
    # a voice call of 14 s in Opus at 24 kbit/s: tens of kilobytes, not the WAV's 222 kB
    assert result.bytes < 60_000


def test_header_only_is_empty(monitor, tmp_path):
    with pytest.raises(AudioProblem) as info:
        convert_call([part(monitor, CALLS["abandoned_header_only"])], tmp_path / "x.ogg",
                     "opus", -45.0)
    assert info.value.kind == "empty"
    assert not (tmp_path / "x.ogg").exists()


def test_mixed_file_only_gives_unknown_direction(monitor, tmp_path):
    p = part(monitor, CALLS["rec_two_way"])
    result = convert_call([PartFiles(p.mixed)], tmp_path / "m.ogg", "opus", -45.0)
    assert result.health == "unknown" and "mixed_dbfs" in result.details
    silent = part(monitor, CALLS["rec_both_silent"])
    assert convert_call([PartFiles(silent.mixed)], tmp_path / "s.ogg", "opus",
                        -45.0).health == "both_silent"


def test_several_parts_are_joined_in_order(monitor, tmp_path):
    parts = [part(monitor, CALLS["rec_two_way"]), part(monitor, CALLS["rec_both_silent"])]
    result = convert_call(parts, tmp_path / "j.mp3", "mp3", -45.0)
    assert abs(result.duration_seconds - (13.92 + 13.94)) <= 0.25
    assert result.details["parts"] == 2
    # the second leg was silent, the first was not: speech was heard in both directions
    assert result.health == "ok"
    assert result.details["operator_dbfs"][:2] != [None, None]


def test_a_generated_long_call_with_line_noise(tmp_path):
    # 75 s: the operator greets, the customer talks, both over a -60 dBFS noise floor
    customer = speech_like(75, bursts=[(8, 20), (40, 60)], noise=0.001, seed=1)
    operator = speech_like(75, bursts=[(0, 6), (25, 35), (65, 72)], noise=0.001, seed=2)
    write_call(tmp_path, "2026/12/02/9.1.wav", customer, operator)
    result = convert_call([part(tmp_path, "2026/12/02/9.1.wav")], tmp_path / "long.ogg",
                          "opus", -45.0)
    assert result.health == "ok"
    assert abs(result.duration_seconds - 75.0) <= 0.25
    assert probe(tmp_path / "long.ogg")[0] == "opus"
    # the operator's phone sends only noise: one-way audio despite a non-zero signal
    quiet = speech_like(75, bursts=[], noise=0.001, seed=3)
    write_call(tmp_path, "2026/12/02/9.2.wav", customer, quiet)
    assert convert_call([part(tmp_path, "2026/12/02/9.2.wav")], tmp_path / "q.ogg", "opus",
                        -45.0).health == "operator_silent"


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(50_000))


def _wrong_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, 20, 0x55)  # the format tag of an MP3-in-WAV, not PCM
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, words", [
    (_truncated, "truncated"),
    (_random_bytes, "not a PCM WAV"),
    (_wrong_header, "not a PCM WAV"),
])  # fmt: skip
def test_damaged_files_fail_clearly_and_stay(monitor, tmp_path, damage, words):
    p = part(monitor, CALLS["rec_two_way"])
    damage(p.customer)
    before = {f: f.read_bytes() for f in p.existing()}
    with pytest.raises(AudioProblem) as info:
        convert_call([p], tmp_path / "d.ogg", "opus", -45.0)
    assert info.value.kind == "failed" and words in info.value.message
    assert {f: f.read_bytes() for f in p.existing()} == before
    assert not list(tmp_path.glob("d.ogg*"))


def test_window_levels_of_a_short_file(tmp_path):
    write_wav(tmp_path / "s.wav", speech_like(1.3, bursts=[(0, 1.3)]))
    segment = read_wav(tmp_path / "s.wav")
    levels = window_levels(segment)
    assert len(levels) == 1 and levels[0] > -30


def test_unreadable_file(tmp_path):
    missing = tmp_path / "gone.wav"
    with pytest.raises(AudioProblem) as info:
        read_wav(missing)
    assert info.value.kind == "failed"


def test_samples_are_untouched():
    # the fixtures work on copies; the real files stay as Asterisk wrote them
    assert (SAMPLES / "rec_two_way" / CALLS["rec_two_way"]).stat().st_size == 222764
    assert shutil.which("ffmpeg") and shutil.which("ffprobe")
