"""Who may hear which recording, the recording object in call JSON, the audio file to send,
and the supervisors' list of recordings that never came.

Access (decided here, never in the page): supervisors and admins hear every recording; an
operator hears the recordings of their own calls (answered by them, placed from their phone or
handled by it in a transfer) when ``operators_hear_own_recordings`` is on, and downloads them
only when ``operators_download_recordings`` is on too. A recording someone may not hear answers
404 exactly like a call that does not exist, so call ids cannot be probed.

The file is always ``recordings_dir / row.file`` from the ``recordings`` table, resolved and
checked to stay inside ``recordings_dir`` (a symlink leading out of it counts as gone); nothing
from the request names a path.

Audit: ``recording.download`` for every download; ``recording.listen`` once per user and call
within LISTEN_AUDIT_EVERY, as a player fetches one recording in many Range requests. The
"already written" memory is this process's own: two server processes may each write one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from callcenter.domain.access import STAFF, Role
from callcenter.errors import Conflict, DownloadNotAllowed, NotFound
from callcenter.services.calls import call_rows_json
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit, playback
from callcenter.storage.database import Database
from callcenter.services.recordings import path_inside
from callcenter.storage.recordings import (
    ask_again, recording_for_call, recordings_for_calls, troubled_recordings,
)

log = logging.getLogger("callcenter.recordings")

LISTEN_AUDIT_EVERY = timedelta(minutes=10)
CONTENT_TYPES = {"opus": "audio/ogg", "mp3": "audio/mpeg"}
SUFFIXES = {"opus": "ogg", "mp3": "mp3"}
#: a retry looks for the recording again; these have nothing left to look for
NOT_RETRIED = ("ready", "deleted")


def is_own_call(call: dict[str, Any], user_id: int | None, extension: str | None) -> bool:
    """The operator answered the call, placed it from their phone, or their phone handled it."""
    if user_id is not None and call.get("answered_by_user_id") == user_id:
        return True
    if not extension:
        return False
    return call.get("placed_by") == extension or call.get("answered_by") == extension \
        or extension in (call.get("handled_by") or [])


@dataclass(frozen=True)
class Viewer:
    """Who looks at calls, with the two settings that open recordings to operators."""

    role: Role | None
    user_id: int | None
    extension: str | None
    operators_hear_own: bool
    operators_download: bool

    def may_hear(self, call: dict[str, Any]) -> bool:
        if self.role in STAFF:
            return True
        return self.role is Role.OPERATOR and self.operators_hear_own \
            and is_own_call(call, self.user_id, self.extension)

    def may_download(self, call: dict[str, Any]) -> bool:
        if self.role in STAFF:
            return True
        return self.operators_download and self.may_hear(call)


def recording_json(viewer: Viewer, call: dict[str, Any],
                   rec: dict[str, Any] | None) -> dict[str, Any] | None:
    """The contract's ``recording`` object of a call for this viewer, None without a row."""
    if rec is None:
        return None
    playable = rec["status"] == "ready" and bool(rec.get("file")) and viewer.may_hear(call)
    return {
        "status": rec["status"], "health": rec.get("health"),
        "duration_seconds": rec.get("duration_seconds"), "format": rec.get("format"),
        "url": f"/api/calls/{call['id']}/recording" if playable else None,
        "may_download": playable and viewer.may_download(call),
    }


@dataclass(frozen=True)
class AudioFile:
    """A recording ready to send: the checked path, its Content-Type and download name."""

    path: Path
    content_type: str
    filename: str


class RecordingAccess:
    """Playback, downloads and the "recording missing" list (see the module's docstring)."""

    def __init__(self, db: Database, clock: Clock, settings,
                 pipeline: Callable[[], Any] = lambda: None):
        self.db = db
        self.clock = clock
        self.settings = settings
        self.pipeline = pipeline  # -> the recordings pipeline (services.recordings) or None
        self._listened: dict[tuple[int | None, int], datetime] = {}

    def viewer(self, actor: Actor, extension: str | None) -> Viewer:
        return Viewer(actor.role, actor.user_id, extension,
                      bool(self.settings.operators_hear_own_recordings),
                      bool(self.settings.operators_download_recordings))

    async def _viewer(self, conn, actor: Actor, extension: str | None) -> Viewer:
        if extension is None and actor.role is Role.OPERATOR:
            extension = await playback.extension_of(conn, actor.user_id)
        return self.viewer(actor, extension)

    async def attach(self, conn, actor: Actor, items: list[dict[str, Any]],
                     rows: list[dict[str, Any]], *, extension: str | None = None
                     ) -> list[dict[str, Any]]:
        """Set ``item["recording"]`` of each call JSON from its stored row (one query)."""
        viewer = await self._viewer(conn, actor, extension)
        recs = await recordings_for_calls(conn, [r["id"] for r in rows])
        for item, row in zip(items, rows):
            item["recording"] = recording_json(viewer, row, recs.get(row["id"]))
        return items

    async def for_card(self, actor: Actor, items: list[dict[str, Any]],
                       rows: list[dict[str, Any]]) -> None:
        """``attach`` on its own connection (the client card is read apart)."""
        async with self.db.read() as conn:
            await self.attach(conn, actor, items, rows)

    async def open_for(self, actor: Actor, call_id: int, *, download: bool,
                       extension: str | None = None) -> AudioFile:
        """The audio of a call's recording for ``actor``, audited. NotFound when the call,
        its recording or its file is not there or the actor may not hear it;
        DownloadNotAllowed for a download the actor may not make."""
        hidden = NotFound(f"call {call_id} has no recording you can hear",
                          {"entity": "recording", "id": call_id})
        async with self.db.read() as conn:
            call = await playback.calls_by_ids(conn, [call_id])
            call = call.get(call_id)
            rec = await recording_for_call(conn, call_id) if call else None
            viewer = await self._viewer(conn, actor, extension)
        if call is None or rec is None or not viewer.may_hear(call):
            raise hidden
        if rec["status"] != "ready" or not rec.get("file"):
            raise NotFound(f"The recording of call {call_id} is {rec['status']}, not ready to play",
                           {"entity": "recording", "id": call_id, "status": rec["status"]})
        path = self._checked_path(rec["file"])
        if path is None:
            log.warning("recording of call %s: %s is not a file under the recordings directory",
                        call_id, rec["file"])
            raise NotFound(f"The recording file of call {call_id} is gone from the recordings "
                           "directory", {"entity": "recording", "id": call_id,
                                         "reason": "file_missing"})
        if download and not viewer.may_download(call):
            raise DownloadNotAllowed("You may listen to this recording but not download it",
                                     {"id": call_id})
        await self._audit(actor, call_id, download, rec)
        fmt = rec.get("format") or ("mp3" if path.suffix == ".mp3" else "opus")
        day = call["started_at"].astimezone(ZoneInfo(self.settings.timezone)).date().isoformat()
        return AudioFile(path, CONTENT_TYPES.get(fmt, "application/octet-stream"),
                         f"call-{call_id}-{day}.{SUFFIXES.get(fmt, path.suffix.lstrip('.'))}")

    def _checked_path(self, name: str) -> Path | None:
        path = path_inside(Path(self.settings.recordings_dir), name)
        return path if path is not None and path.is_file() else None

    async def _audit(self, actor: Actor, call_id: int, download: bool,
                     rec: dict[str, Any]) -> None:
        now = self.clock()
        if not download:
            key = (actor.user_id, call_id)
            last = self._listened.get(key)
            if last is not None and now - last < LISTEN_AUDIT_EVERY:
                return
            self._listened[key] = now
            if len(self._listened) > 10_000:
                self._listened = {k: at for k, at in self._listened.items()
                                  if now - at < LISTEN_AUDIT_EVERY}
        async with self.db.write() as conn:
            await audit.record(conn, at=now, action="recording.download" if download
                               else "recording.listen", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="call", entity_id=call_id,
                               details={"format": rec.get("format"), "file": rec.get("file")})

    async def missing(self, actor: Actor, *, limit: int, offset: int) -> dict[str, Any]:
        """Calls whose recording is missing or failed, newest first, as call JSON with the
        recording object, its error and attempts (supervisors; the route says who)."""
        async with self.db.read() as conn:
            found, total = await troubled_recordings(conn, limit=limit, offset=offset)
            by_id = await playback.calls_by_ids(conn, [r["call_id"] for r in found])
            rows = [by_id[r["call_id"]] for r in found if r["call_id"] in by_id]
            items = await call_rows_json(conn, rows)
            viewer = await self._viewer(conn, actor, None)
        recs = {r["call_id"]: r for r in found}
        for item, row in zip(items, rows):
            rec = recs[row["id"]]
            item["recording"] = recording_json(viewer, row, rec)
            item["error"] = rec.get("error")
            item["attempts"] = rec.get("attempts") or 0
        return {"items": items, "total": total}

    async def retry(self, actor: Actor, call_id: int) -> dict[str, Any] | None:
        """Send a recording back to the pipeline now (audited ``recording.retry``): pending,
        due now, attempts from zero. Returns the recording object. NotFound without a
        recording, Conflict when it is ready or deleted (nothing to look for)."""
        async with self.db.read() as conn:
            rec = await recording_for_call(conn, call_id)
        if rec is None:
            raise NotFound.entity("recording", call_id)
        if rec["status"] in NOT_RETRIED:
            raise Conflict(f"The recording of call {call_id} is {rec['status']}: nothing to "
                           "retry", {"status": rec["status"]})
        now = self.clock()
        pipeline = self.pipeline()
        if getattr(pipeline, "retry", None) is not None:
            # the pipeline's own reset, which also wakes it
            done = await pipeline.retry(call_id)
        else:
            async with self.db.write() as conn:
                done = await ask_again(conn, call_id, now)
        if not done:  # it became ready (or went) meanwhile
            raise Conflict(f"The recording of call {call_id} changed meanwhile: nothing to "
                           "retry", {})
        async with self.db.write() as conn:
            await audit.record(conn, at=now, action="recording.retry", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="call", entity_id=call_id,
                               details={"status": rec["status"], "attempts": rec["attempts"],
                                        "error": rec.get("error")})
            call = (await playback.calls_by_ids(conn, [call_id]))[call_id]
            rec = await recording_for_call(conn, call_id)
            viewer = await self._viewer(conn, actor, None)
        return recording_json(viewer, call, rec)

