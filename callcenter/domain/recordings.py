"""Which recording a call keeps in the log.  Pure: the file facts are passed in.

The dialplan records with MixMonitor option ``b`` (only while bridged), and MixMonitor creates
its files when it starts, before any bridge: a call nobody answered (missed, busy, no answer,
a dead number) leaves 44-byte WAV files, a header with no samples
(tests/samples/recordings/abandoned_header_only). Those are not recordings and are not listed.

The decision, at the end of a call (``stored_recording``):

* no MixMonitor file, or the call is still in progress: the name as known, unverified (the
  file is not final yet; the end of the call decides);
* the call was not answered: no recording, whatever the file (it can only be the header);
* answered, and the file is visible on this machine (``RecordingFile``, from
  ``CALLCENTER_RECORDINGS_DIR``): kept and verified when it holds samples (more than the
  44-byte header), dropped when it holds none;
* answered, and the file cannot be seen here (the monitor directory is not mounted, or not
  yet written): the name is kept, unverified.

Names are relative to Asterisk's monitor directory (``2026/12/01/<uniqueid>.wav``); the two
directions MixMonitor writes beside it are ``<name>-customer.wav`` and ``<name>-operator.wav``.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.domain.call_records import CallRecord

__all__ = ["WAV_HEADER_BYTES", "RecordingFile", "StoredRecording", "direction_files",
           "stored_recording"]

#: A canonical PCM WAV header (RIFF, fmt, data chunk headers): what format_wav writes first.
WAV_HEADER_BYTES = 44


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """What the CRM's machine sees of a recording: its size, or ``None`` if it is not there."""

    size: int | None


@dataclass(frozen=True, slots=True)
class StoredRecording:
    name: str | None
    verified: bool


def stored_recording(call: CallRecord, file: RecordingFile | None) -> StoredRecording:
    """The recording to store for ``call``; ``file`` is what this machine sees of it (``None``
    when it cannot look). See the module docstring."""
    name = call.recording
    if not name:
        return StoredRecording(None, False)
    if call.outcome is None:
        return StoredRecording(name, False)
    if call.outcome != "answered":
        return StoredRecording(None, False)
    if file is None or file.size is None:
        return StoredRecording(name, False)
    if file.size <= WAV_HEADER_BYTES:
        return StoredRecording(None, False)
    return StoredRecording(name, True)


def direction_files(name: str) -> tuple[str, str]:
    """(customer, operator) file names MixMonitor's r()/t() options write beside ``name``."""
    stem = name[:-4] if name.endswith(".wav") else name
    return f"{stem}-customer.wav", f"{stem}-operator.wav"
