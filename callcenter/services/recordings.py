"""Looking at a recording on this machine: the I/O half of callcenter.domain.recordings.

``RecordingProbe(folder)`` resolves a stored (relative) recording name under
``CALLCENTER_RECORDINGS_DIR`` -- Asterisk's monitor directory as this machine sees it -- and
reports its size. A name that would leave the folder (``..``, an absolute path Asterisk wrote
outside its monitor directory) is reported as not visible, never followed.
"""

from __future__ import annotations

import os
from pathlib import Path

from callcenter.domain.recordings import RecordingFile


class RecordingProbe:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def __call__(self, name: str) -> RecordingFile | None:
        """The file's size, ``RecordingFile(None)`` if it is not there, ``None`` if this
        machine cannot look (the folder itself is missing: not mounted)."""
        if not self.folder.is_dir():
            return None
        if os.path.isabs(name) or ".." in Path(name).parts:
            return RecordingFile(None)
        try:
            return RecordingFile((self.folder / name).stat().st_size)
        except OSError:
            return RecordingFile(None)
