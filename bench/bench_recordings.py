"""Recordings: how fast 60 s two-direction calls are converted, and that converting never
blocks the event loop (the screen pop's).

1. conversions/s: ``--calls`` (12) generated 60 s calls (the demo PBX's three aligned 8 kHz
   MixMonitor WAVs: operator and customer taking turns) through the real ``RecordingPipeline``
   on a migrated SQLite database, with ``recording_workers`` 1 and 2: find, read, levels,
   health, mix, ffmpeg to Ogg Opus, ffprobe verify, row stored, originals removed;
2. event-loop lag: a 1 ms ticker in the same loop notes how late each tick wakes, first with
   nothing running (the floor), then while the pipeline converts. A screen pop is work on this
   loop, so its delay is this lag; the goal is p99 < 20 ms while converting (exit 1 otherwise).

    python bench/bench_recordings.py [--calls 12] [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from callcenter.ami.demo_pbx import write_recording  # noqa: E402
from callcenter.services.recording_pipeline import RecordingPipeline  # noqa: E402
from callcenter.storage import calls as calls_repo  # noqa: E402
from callcenter.storage import recordings as repo  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402
from fixtures import Goals, latency_line, migrated_sqlite, percentiles, settings_for  # noqa: E402

WORK = Path("/tmp/callcenter-bench/recordings")
LAG_GOAL_MS = 20.0
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


class Ticker:
    """How late a 1 ms sleep wakes, every time, in this loop."""

    def __init__(self, interval: float = 0.001):
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.lags.append((loop.time() - before - self.interval) * 1000)

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> list[float]:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.lags


def make_calls(monitor: Path, count: int, seconds: float) -> list[str]:
    """``count`` calls' MixMonitor files in ``monitor`` (made once, then copied)."""
    source = WORK / f"source-{seconds:.0f}s"
    names = [f"2026/12/02/bench.{i}.wav" for i in range(count)]
    for i, name in enumerate(names):
        if not (source / name).exists():
            write_recording(source, name, seconds, random.Random(i))
    shutil.rmtree(monitor, ignore_errors=True)
    shutil.copytree(source, monitor)
    return names


async def queue(db: Database, names: list[str], round_no: int) -> list[int]:
    ids = []
    async with db.write() as conn:
        for i, name in enumerate(names):
            key = f"bench.{round_no}.{i}"
            got = await calls_repo.insert_calls(conn, [{
                "call_key": key, "direction": "inbound", "caller": "79161234567",
                "operators_rung": [], "handled_by": [], "answered_by": "PJSIP/101",
                "started_at": T0, "answered_at": T0, "ended_at": T0 + timedelta(minutes=1),
                "outcome": "answered", "talk_seconds": 60, "recording": name, "variables": {},
                "status": "completed"}])
            ids.append(got[key])
        await repo.enqueue(conn, [{"call_id": i, "source": n, "parts": [n],
                                   "call_started_at": T0, "now": T0}
                                  for i, n in zip(ids, names)])
    return ids


async def convert_all(db: Database, settings, names: list[str], round_no: int,
                      workers: int) -> tuple[float, int]:
    """Queue ``names`` and let a started pipeline convert them; (seconds, ready)."""
    pipeline = RecordingPipeline(db, lambda: T0 + timedelta(minutes=2),
                                 settings.replace(recording_workers=workers), poll_seconds=0.2)
    ids = await queue(db, names, round_no)
    started = time.perf_counter()
    await pipeline.start()
    pipeline.wake()
    while pipeline.converted < len(ids):
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > 600:
            break
    took = time.perf_counter() - started
    await pipeline.stop()
    async with db.read() as conn:
        rows = [await repo.recording_for_call(conn, i) for i in ids]
    ready = sum(1 for row in rows if row["status"] == "ready")
    return took, ready


async def main_async(args) -> int:
    goals = Goals()
    WORK.mkdir(parents=True, exist_ok=True)
    monitor = WORK / "monitor"
    store = WORK / "store"
    shutil.rmtree(store, ignore_errors=True)
    db_url = await migrated_sqlite(WORK / "bench.sqlite3")
    settings = settings_for(db_url, monitor_dir=str(monitor), recordings_dir=str(store),
                            recording_wait_minutes=10)
    db = Database(db_url)
    ticker = Ticker()
    print(f"{args.calls} calls of {args.seconds:.0f} s, two directions + mix, 8 kHz -> Ogg Opus")
    try:
        ticker.start()
        await asyncio.sleep(args.floor_seconds)
        floor = percentiles(await ticker.stop())
        print(latency_line("loop lag, nothing running (floor)", floor))
        summary = [f"loop lag p99 floor: {floor['p99']:.2f} ms"]
        worst = None
        for round_no, workers in enumerate((1, 2), 1):
            names = make_calls(monitor, args.calls, args.seconds)
            ticker.start()
            took, ready = await convert_all(db, settings, names, round_no, workers)
            lag = percentiles(await ticker.stop())
            rate = ready / took if took else 0.0
            audio_rate = ready * args.seconds / took if took else 0.0
            print(f"workers={workers}: {ready}/{len(names)} ready in {took:.2f} s: "
                  f"{rate:.2f} conversions/s ({audio_rate:.0f} s of audio per s)")
            print(latency_line(f"loop lag while converting (workers={workers})", lag))
            ok = lag["p99"] < LAG_GOAL_MS and ready == len(names)
            print(f"  goal p99 < {LAG_GOAL_MS:.0f} ms and all ready: "
                  f"{goals.check(f'loop lag workers={workers}', ok)}")
            summary += [f"conversions/s workers={workers}: {rate:.2f}",
                        f"loop lag p99 converting workers={workers}: {lag['p99']:.2f} ms"]
            worst = lag["p99"] if worst is None else max(worst, lag["p99"])
        sizes = [p.stat().st_size for p in store.rglob("*.ogg")]
        if sizes:
            kbps = sum(sizes) * 8 / 1000 / (len(sizes) * args.seconds)
            print(f"converted size: {sum(sizes) / len(sizes) / 1024:.0f} KiB per call "
                  f"({kbps:.1f} kbit/s)")
            summary.append(f"size per {args.seconds:.0f} s call: "
                           f"{sum(sizes) / len(sizes) / 1024:.0f} KiB")
    finally:
        await db.dispose()
    print("summary:")
    for line in summary:
        print(f"  {line}")
    return goals.exit_code()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--floor-seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="4 calls, a 2 s floor")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.floor_seconds = 4, 2.0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
