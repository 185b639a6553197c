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


def path_inside(folder: Path, name: str) -> Path | None:
    """``folder / name`` when ``name`` stays inside ``folder``: relative, no ``..``, no
    symbolic link leading out of it, no NUL; else ``None``. Every recording file the CRM
    reads or removes (the monitor directory's, the converted ones) is found through this."""
    if not name or os.path.isabs(name) or ".." in Path(name).parts:
        return None
    path = folder / name
    try:
        if not path.resolve().is_relative_to(folder.resolve()):
            return None
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL in the name
        return None
    return path


class RecordingProbe:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def __call__(self, name: str) -> RecordingFile | None:
        """The file's size, ``RecordingFile(None)`` if it is not there, ``None`` if this
        machine cannot look (the folder itself is missing: not mounted)."""
        if not self.folder.is_dir():
            return None
        path = path_inside(self.folder, name)
        if path is None:
            return RecordingFile(None)
        try:
            return RecordingFile(path.stat().st_size)
        except OSError:
            return RecordingFile(None)
