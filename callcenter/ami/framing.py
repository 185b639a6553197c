"""Bytes off the AMI socket -> the text of whole messages. Pure: no I/O, no event loop.

Why this exists: panoramisk 1.4 decodes every TCP read on its own (``errors="ignore"``), so a
Cyrillic letter split across two reads silently vanishes (``Иван`` -> ``Ивн``). Here bytes are
buffered and each *whole* message is decoded once, as UTF-8 with ``errors="replace"``.

Framing rules:

* Messages end at a blank line: ``\\r\\n\\r\\n``; bare ``\\n\\n`` (and mixes) are tolerated.
* The first line of a stream may be the banner ``Asterisk Call Manager/<version>``, which has no
  blank line after it; it is taken off and remembered in :attr:`AmiFramer.version`.
* A message longer than ``max_message_bytes`` is dropped (one warning in the log) and the stream
  resynchronises at the next blank line, so the buffer never grows beyond the cap plus one read.
* Any byte sequence is accepted; nothing here raises on input.
"""

from __future__ import annotations

import logging
import re

BANNER_PREFIX = b"Asterisk Call Manager/"
DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

# Matched from its first "\n" (a literal first byte makes the scan several times faster); the
# "\r" before it, if any, is trimmed from the message by hand.
_MESSAGE_END = re.compile(rb"\n\r?\n")
# b"\r\n\r" is the longest prefix of a message end that one read can leave for the next
_SPLIT_END_TAIL = 3
_MAX_BANNER_BYTES = 256


class AmiFramer:
    """Incremental splitter: :meth:`feed` bytes, get back the texts of the completed messages."""

    def __init__(
        self,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        expect_banner: bool = True,
        log: logging.Logger | None = None,
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.version: str | None = None if expect_banner else ""
        self.dropped = 0
        self.log = log or logging.getLogger(__name__)
        self._buffer = bytearray()
        self._scan_from = 0
        self._discarding = False  # inside an oversized message: skip up to the next blank line

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the end of a message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[str]:
        """Add ``data``; return the decoded text of every message completed by it, in order."""
        buffer = self._buffer
        buffer += data
        if self.version is None and not self._take_banner():
            return []
        cap = self.max_message_bytes
        texts: list[str] = []
        start = 0
        search = _MESSAGE_END.search
        match = search(buffer, self._scan_from)
        while match is not None:
            end = match.start()
            if end > start and buffer[end - 1] == 13:  # b"\r"
                end -= 1
            if self._discarding:
                self._discarding = False  # the tail of a message already reported as dropped
            elif end - start > cap:
                self._report_drop(end - start, whole=True)
            elif end > start:
                texts.append(buffer[start:end].decode("utf-8", "replace"))
            start = match.end()
            match = search(buffer, start)
        if start:
            del buffer[:start]
        if len(buffer) > cap:
            if not self._discarding:
                self._discarding = True
                self._report_drop(len(buffer), whole=False)
            # keep the last bytes only: they may be the first half of the blank line
            del buffer[: len(buffer) - _SPLIT_END_TAIL]
        self._scan_from = max(0, len(buffer) - _SPLIT_END_TAIL)
        return texts

    def reset(self) -> None:
        """Forget everything buffered (a new connection starts from scratch)."""
        self._buffer.clear()
        self._scan_from = 0
        self._discarding = False

    def _take_banner(self) -> bool:
        """Strip the banner line if the stream starts with one; False while it may be arriving."""
        buffer = self._buffer
        n = min(len(buffer), len(BANNER_PREFIX))
        if buffer[:n] != BANNER_PREFIX[:n]:
            self.version = ""  # no banner (not Asterisk, or a test stream): parse as is
            return True
        newline = buffer.find(b"\n")
        if newline < 0:
            if len(buffer) > _MAX_BANNER_BYTES:
                self.version = ""
                return True
            return False
        self.version = bytes(buffer[:newline]).decode("utf-8", "replace").partition("/")[2].strip()
        del buffer[: newline + 1]
        return True

    def _report_drop(self, size: int, *, whole: bool) -> None:
        self.dropped += 1
        if whole:
            self.log.warning("AMI message of %d bytes dropped (limit %d bytes)",
                             size, self.max_message_bytes)
        else:
            self.log.warning("AMI message over %d bytes dropped (%d bytes so far); skipping to the "
                             "next blank line", self.max_message_bytes, size)
