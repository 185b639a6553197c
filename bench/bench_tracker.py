"""How many AMI events per second the call tracker follows (tracking only, parsing excluded).

Every real trace in tests/traces is parsed once; then the whole set is replayed ``--rounds`` times
through one ``CallTracker``, each round with fresh Uniqueids/Linkedids/ActionIDs/bridge ids, so
the tracker sees that many distinct calls (and must drop each once it ends).  The product needs
>= 20,000 events/s for parse + track together.

    python bench/bench_tracker.py [--rounds 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callcenter.domain.calls import CallEnded, CallTracker, TrackerConfig  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures import Goals  # noqa: E402

GOAL = 20_000  # events/s: tracking alone must leave room for parsing within the pipeline's goal

TRACES = ROOT / "tests" / "traces"
T0 = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
ID_KEYS = ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid", "TransfererUniqueid",
           "TransfereeUniqueid", "TransferTargetUniqueid")


def parse_trace(path: Path) -> list[tuple[float, dict[str, str]]]:
    """``(t, event)`` for every event in a .jsonl trace (an event gets the t of its last read)."""
    events, pending = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        chunk = json.loads(line)
        if chunk["dir"] != "in":
            continue
        pending += chunk["data"]
        *complete, pending = pending.split("\r\n\r\n")
        for text in complete:
            fields = dict(part.split(": ", 1) for part in text.split("\r\n") if ": " in part)
            if "Event" in fields:
                events.append((chunk["t"], fields))
    return events


def renumbered(event: dict[str, str], round_no: int) -> dict[str, str]:
    """The event as if it belonged to call number ``round_no`` (ids shifted, never colliding)."""
    copy = dict(event)
    shift = round_no * 1_000_000
    for key in ID_KEYS:
        value = copy.get(key)
        if value and value[:1].isdigit():
            head, _, tail = value.partition(".")
            copy[key] = f"{int(head) + shift}.{tail}"
    for key in ("ActionID", "BridgeUniqueid"):
        if key in copy:
            copy[key] = f"{copy[key]}-r{round_no}"
    return copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="times the trace set is replayed")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best is reported")
    parser.add_argument("--quick", action="store_true", help="a short run (50 rounds, 2 runs)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.repeat = 50, 2

    traces = [parse_trace(path) for path in sorted(TRACES.glob("*.jsonl"))]
    one_round = [(t, event) for trace in traces for t, event in trace]
    workload = []
    for round_no in range(args.rounds):
        base = T0 + timedelta(seconds=60 * round_no)
        workload += [(base + timedelta(seconds=t), renumbered(e, round_no)) for t, e in one_round]

    config = TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/102"})
    best = float("inf")
    for _ in range(args.repeat):
        tracker = CallTracker(config)
        feed = tracker.feed
        ended = 0
        start = time.perf_counter()
        for at, event in workload:
            for effect in feed(event, at):
                if type(effect) is CallEnded:
                    ended += 1
        best = min(best, time.perf_counter() - start)
        assert tracker.errors == 0 and not tracker.live_calls()
    print(f"{len(workload)} events ({len(one_round)} per round x {args.rounds} rounds), "
          f"{ended} calls ended per run")
    rate = len(workload) / best
    print(f"best of {args.repeat}: {best:.3f} s -> {rate:,.0f} events/s (tracking only)")
    goals = Goals()
    print("\nsummary:")
    print(f"  tracker.events_per_s  {rate:,.0f} events/s  (goal >= {GOAL:,}: "
          f"{goals.check('tracker.events_per_s', rate >= GOAL)})")
    return goals.exit_code()


if __name__ == "__main__":
    sys.exit(main())
