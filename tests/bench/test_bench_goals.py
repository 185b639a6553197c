"""Benchmarks fail when a goal is missed: ``make bench`` relies on their exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from fixtures import Goals  # noqa: E402


def test_goals_exit_status(capsys):
    goals = Goals()
    assert goals.check("a", True) == "OK"
    assert goals.exit_code() == 0
    assert goals.check("b", False) == "MISSED" and goals.check("c", False) == "MISSED"
    assert goals.exit_code() == 1
    assert "goals missed: b, c" in capsys.readouterr().out


def test_a_benchmark_exits_non_zero_on_a_missed_goal():
    script = (
        "import sys; sys.argv = ['bench_tracker.py', '--rounds', '1', '--repeat', '1']\n"
        "import bench_tracker\n"
        "met = bench_tracker.main()\n"
        "bench_tracker.GOAL = 10 ** 12  # no tracker follows a trillion events a second\n"
        "missed = bench_tracker.main()\n"
        "print('statuses', met, missed)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=BENCH, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "statuses 0 1" in done.stdout
    assert "goals missed: tracker.events_per_s" in done.stdout
