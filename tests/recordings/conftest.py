"""Recordings pipeline fixtures: temp copies of the real MixMonitor samples, generated calls,
and calls + queued recording rows in a real database."""

from __future__ import annotations

import array
import math
import random
import shutil
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from callcenter.services.recording_pipeline import RecordingPipeline
from callcenter.storage import calls as calls_repo
from callcenter.storage import recordings as repo
from callcenter.storage.database import Database
from tests.conftest import FrozenClock, make_settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "recordings"
DAY = "2026/12/01"
#: sample folder -> the recording's name relative to the monitor directory
CALLS = {
    "rec_two_way": f"{DAY}/1796155319.15.wav",
    "rec_one_way_operator_silent": f"{DAY}/1796155345.18.wav",
    "rec_both_silent": f"{DAY}/1796155371.21.wav",
    "abandoned_header_only": f"{DAY}/1796155397.24.wav",
}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def monitor(tmp_path) -> Path:
    """A monitor directory holding a copy of every sample call's three files (the pipeline
    removes originals: never point it at the samples themselves)."""
    folder = tmp_path / "monitor"
    for name in CALLS:
        shutil.copytree(SAMPLES / name / "2026", folder / "2026", dirs_exist_ok=True)
    return folder


def write_wav(path: Path, samples: array.array, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def speech_like(seconds: float, *, bursts: list[tuple[float, float]], level: float = 0.1,
                noise: float = 0.0, seed: int = 1, rate: int = 8000) -> array.array:
    """A mono 16-bit signal: voiced bursts (a few harmonics with a syllable envelope) in the
    given (start, end) second ranges, and ``noise`` (amplitude 0..1) everywhere."""
    rnd = random.Random(seed)
    out = array.array("h", bytes(2 * int(seconds * rate)))
    for start, end in bursts:
        for i in range(int(start * rate), min(int(end * rate), len(out))):
            t = i / rate
            envelope = 0.5 + 0.5 * math.sin(2 * math.pi * 4 * t)
            value = sum(math.sin(2 * math.pi * f * t) / k
                        for k, f in enumerate((140, 280, 420, 700), 1))
            out[i] = int(max(-1, min(1, level * envelope * value)) * 32767)
    if noise:
        for i in range(len(out)):
            out[i] = max(-32768, min(32767, out[i] + int(rnd.gauss(0, noise) * 32767)))
    return out


def write_call(folder: Path, name: str, customer: array.array, operator: array.array) -> None:
    """The three files MixMonitor writes: the mix and the two directions, aligned."""
    stem = folder / name[:-4]
    mixed = array.array("h", (max(-32768, min(32767, a + b)) for a, b in zip(customer, operator)))
    write_wav(folder / name, mixed)
    write_wav(Path(f"{stem}-customer.wav"), customer)
    write_wav(Path(f"{stem}-operator.wav"), operator)


class Bench:
    """A migrated database, calls in it and the pipeline over them, on a frozen clock."""

    def __init__(self, db_url: str, tmp_path: Path, monitor: Path):
        self.db_url = db_url
        self.db = Database(db_url)
        self.clock = FrozenClock(T0 + timedelta(minutes=1))
        self.monitor = monitor
        self.store = tmp_path / "store"
        self.settings = make_settings(db_url, monitor_dir=str(monitor),
                                      recordings_dir=str(self.store), recording_wait_minutes=10,
                                      timezone="Europe/Moscow")
        self.pipelines: list[RecordingPipeline] = []
        self.dbs: list[Database] = []
        self._n = 0

    def pipeline(self, *, own_db: bool = False, **overrides: Any) -> RecordingPipeline:
        """A pipeline on this database (``own_db``: its own engine, as another process)."""
        settings = self.settings.replace(**overrides) if overrides else self.settings
        db = Database(self.db_url) if own_db else self.db
        if own_db:
            self.dbs.append(db)
        pipeline = RecordingPipeline(db, self.clock, settings)
        self.pipelines.append(pipeline)
        return pipeline

    async def queue(self, source: str, parts: list[str] | None = None,
                    started_at: datetime = T0) -> int:
        """A completed answered call with its recording queued, as the call log does."""
        self._n += 1
        async with self.db.write() as conn:
            ids = await calls_repo.insert_calls(conn, [{
                "call_key": f"test.{self._n}", "direction": "inbound", "caller": "79161234567",
                "operators_rung": [], "handled_by": [], "answered_by": "PJSIP/101",
                "started_at": started_at, "answered_at": started_at,
                "ended_at": started_at + timedelta(seconds=14), "outcome": "answered",
                "talk_seconds": 14, "recording": source, "variables": {},
                "status": "completed"}])
            call_id = ids[f"test.{self._n}"]
            await repo.enqueue(conn, [{"call_id": call_id, "source": source,
                                       "parts": parts or [source],
                                       "call_started_at": started_at, "now": self.clock()}])
        return call_id

    async def row(self, call_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            return await repo.recording_for_call(conn, call_id)

    async def close(self) -> None:
        for p in self.pipelines:
            await p.stop()
        for db in self.dbs:
            await db.dispose()
        await self.db.dispose()


@pytest.fixture
async def bench(db_url, tmp_path, monitor):
    b = Bench(db_url, tmp_path, monitor)
    yield b
    await b.close()
