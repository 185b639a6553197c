"""Audio I/O for the recordings pipeline: read MixMonitor WAVs, measure, mix, convert, verify.

Everything here blocks (file reads, ffmpeg) and is meant to run in a worker thread
(services.recording_pipeline runs it with ``asyncio.to_thread``/an executor), never on the
event loop.

``convert_call(parts, target, fmt, silence_dbfs)``:

1. reads every part's files (a call with several legs or a transfer has several MixMonitor
   recordings, joined in order) with the stdlib ``wave`` reader into pydub segments, strictly:
   a file with only the 44-byte header (no samples) counts as empty; a file that is not a PCM
   WAV, whose header is wrong, or that is shorter than its header says (truncated) raises
   ``AudioProblem("failed", ...)`` with the reason -- ffmpeg's lenient decoding is not used,
   so a damaged file is never silently half-converted;
2. measures the RMS level of each 2-second window of the customer and operator directions
   (or of the mix when the direction files are missing) and derives the health flag
   (domain.recording_health);
3. mixes the two directions for listening (overlay) when both exist, else uses the mixed file;
4. exports mono Ogg Opus (libopus, 24 kbit/s, ``application=voip``) or MP3 (libmp3lame,
   32 kbit/s) to ``<target>.partial``, checks it with ffprobe (the expected codec, a duration
   within ``DURATION_TOLERANCE`` of the source, not empty) and only then renames it to
   ``target`` (atomic on one file system).

The originals are not touched here: the caller removes them (``remove_files``) once the
converted file is verified and its row stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydub import AudioSegment

from callcenter.domain.recording_health import WINDOW_SECONDS, dbfs, health_of

__all__ = ["AudioProblem", "Converted", "DURATION_TOLERANCE", "FORMATS", "PartFiles",
           "convert_call", "probe", "read_wav", "remove_files", "window_levels"]

DURATION_TOLERANCE = 0.25
#: recording_format -> (file suffix, ffmpeg muxer, encoder, bitrate, extra args, ffprobe codec)
FORMATS: dict[str, tuple[str, str, str, str, list[str], str]] = {
    "opus": ("ogg", "ogg", "libopus", "24k", ["-application", "voip"], "opus"),
    "mp3": ("mp3", "mp3", "libmp3lame", "32k", [], "mp3"),
}


class AudioProblem(Exception):
    """A recording that cannot be used: ``kind`` is ``empty`` (no samples) or ``failed``."""

    def __init__(self, kind: Literal["empty", "failed"], message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class PartFiles:
    """One MixMonitor recording of a call: its mixed file and the two direction files,
    each ``None`` when it does not exist."""

    mixed: Path | None
    customer: Path | None = None
    operator: Path | None = None

    def existing(self) -> list[Path]:
        return [p for p in (self.mixed, self.customer, self.operator) if p is not None]


@dataclass(frozen=True, slots=True)
class Converted:
    path: Path
    format: str
    bytes: int
    duration_seconds: float
    health: str
    details: dict[str, Any] = field(default_factory=dict)


def read_wav(path: Path) -> AudioSegment | None:
    """The file's audio, ``None`` when it holds no samples (a bare header). Raises
    ``AudioProblem("failed")`` for a file that is not a whole PCM WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, frames = (wav.getnchannels(), wav.getsampwidth(),
                                             wav.getframerate(), wav.getnframes())
            data = wav.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise AudioProblem("failed", f"{path.name}: not a PCM WAV file ({exc})") from None
    except OSError as exc:
        raise AudioProblem("failed", f"{path.name}: cannot be read ({exc.strerror or exc})"
                           ) from None
    if rate <= 0 or channels <= 0 or width not in (1, 2, 3, 4):
        raise AudioProblem("failed", f"{path.name}: wrong WAV header ({channels} channels, "
                           f"{width}-byte samples, {rate} Hz)")
    if frames == 0:
        if path.stat().st_size > 44 + channels * width * 8:  # samples the header does not count
            raise AudioProblem("failed", f"{path.name}: its header counts no samples but the "
                               "file holds data (not closed by Asterisk?)")
        return None
    if len(data) < frames * channels * width:
        raise AudioProblem("failed", f"{path.name}: truncated ({len(data)} of "
                           f"{frames * channels * width} bytes of samples)")
    segment = AudioSegment(data=data, sample_width=width, frame_rate=rate, channels=channels)
    return segment.set_channels(1) if channels > 1 else segment


def window_levels(segment: AudioSegment) -> list[float | None]:
    """RMS level (dBFS, ``None`` for digital silence) of each 2-second window."""
    step = int(WINDOW_SECONDS * 1000)
    full_scale = float(1 << (8 * segment.sample_width - 1))
    return [dbfs(segment[start:start + step].rms, full_scale)
            for start in range(0, max(len(segment), 1), step) if len(segment[start:start + step])]


def _rounded(levels: list[float | None]) -> list[float | None]:
    return [None if v is None else round(v, 1) for v in levels]


def _read_part(part: PartFiles) -> dict[str, AudioSegment | None]:
    out: dict[str, AudioSegment | None] = {}
    for name in ("mixed", "customer", "operator"):
        path = getattr(part, name)
        out[name] = read_wav(path) if path is not None else None
    return out


def _longest(*segments: AudioSegment) -> AudioSegment:
    base = max(segments, key=len)
    for other in segments:
        if other is not base:
            base = base.overlay(other)
    return base


def convert_call(parts: list[PartFiles], target: Path, fmt: str, silence_dbfs: float
                 ) -> Converted:
    """Convert a call's recording(s) to ``target``; see the module docstring."""
    if fmt not in FORMATS:
        raise AudioProblem("failed", f"unknown recording format {fmt!r}")
    listening: AudioSegment | None = None
    levels: dict[str, list[float | None]] = {"customer": [], "operator": [], "mixed": []}
    split = True  # every part had both directions
    for part in parts:
        audio = _read_part(part)
        customer, operator, mixed = audio["customer"], audio["operator"], audio["mixed"]
        if customer is not None and operator is not None:
            piece = _longest(customer, operator)
            levels["customer"] += window_levels(customer)
            levels["operator"] += window_levels(operator)
        elif mixed is not None:
            piece = mixed
            split = False
        elif customer is not None or operator is not None:
            piece = customer if customer is not None else operator
            split = False
        else:
            continue  # a part with only headers: MixMonitor started, nothing was bridged
        levels["mixed"] += window_levels(piece)
        listening = piece if listening is None else listening + piece
    if listening is None or len(listening) == 0:
        raise AudioProblem("empty", "no audio beyond the WAV header")
    seconds = len(listening) / 1000.0
    health = health_of(customer=levels["customer"] if split else None,
                       operator=levels["operator"] if split else None,
                       mixed=levels["mixed"], threshold_dbfs=silence_dbfs,
                       duration_seconds=seconds)
    suffix, muxer, codec, bitrate, extra, probe_codec = FORMATS[fmt]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        handle = listening.export(str(partial), format=muxer, codec=codec, bitrate=bitrate,
                                  parameters=["-ac", "1", *extra])
        handle.close()
    except Exception as exc:  # pydub raises CouldntEncodeError, OSError without ffmpeg
        partial.unlink(missing_ok=True)
        raise AudioProblem("failed", f"conversion failed: {str(exc)[-200:]}") from None
    try:
        got_codec, got_seconds = probe(partial)
    except AudioProblem:
        partial.unlink(missing_ok=True)
        raise
    size = partial.stat().st_size
    if got_codec != probe_codec or size == 0 or abs(got_seconds - seconds) > DURATION_TOLERANCE:
        partial.unlink(missing_ok=True)
        raise AudioProblem("failed", f"converted file did not verify: {got_codec}, "
                           f"{got_seconds:.2f} s of {seconds:.2f} s, {size} bytes")
    os.replace(partial, target)
    details = {"window_seconds": WINDOW_SECONDS, "threshold_dbfs": silence_dbfs,
               "parts": len(parts), "source_seconds": round(seconds, 3),
               "directions": split}
    if split:
        details["customer_dbfs"] = _rounded(levels["customer"])
        details["operator_dbfs"] = _rounded(levels["operator"])
    else:
        details["mixed_dbfs"] = _rounded(levels["mixed"])
    return Converted(target, fmt, size, round(got_seconds, 3), health, details)


def probe(path: Path) -> tuple[str | None, float]:
    """(codec name, duration in seconds) of an audio file, from ffprobe."""
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
             "-show_streams", str(path)], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioProblem("failed", f"ffprobe failed: {exc}") from None
    try:
        info = json.loads(out.stdout or b"{}")
        stream = (info.get("streams") or [{}])[0]
        seconds = float(info.get("format", {}).get("duration") or stream.get("duration") or 0)
    except (ValueError, TypeError):
        raise AudioProblem("failed", "ffprobe could not read the converted file") from None
    return stream.get("codec_name"), seconds


def remove_files(paths: list[Path]) -> list[str]:
    """Remove the originals; returns the errors (a file already gone is not one)."""
    errors = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            errors.append(f"{path.name}: {exc.strerror or exc}")
    return errors
