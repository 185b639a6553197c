"""bench_recordings exits 1 when its loop-lag goal is missed (here: a goal no loop can meet),
0 when met, so `make bench` catches a conversion that blocks the event loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(goal_ms: float) -> subprocess.CompletedProcess:
    code = ("import sys; sys.argv = ['bench_recordings.py', '--calls', '2', '--seconds', '10',"
            " '--floor-seconds', '0.5']\n"
            "import bench_recordings\n"
            f"bench_recordings.LAG_GOAL_MS = {goal_ms}\n"
            "sys.exit(bench_recordings.main())\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", capture_output=True,
                          text=True, timeout=300)


def test_bench_recordings_goal_decides_the_exit_status():
    met = _run(10_000.0)
    assert met.returncode == 0, met.stdout + met.stderr
    assert "conversions/s workers=1" in met.stdout and "all goals met" in met.stdout
    missed = _run(-1.0)
    assert missed.returncode == 1 and "goals missed: loop lag" in missed.stdout
