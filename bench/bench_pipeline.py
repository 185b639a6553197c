"""AMI events per second through parse -> track -> store, on this machine.

The incoming side of every real trace (``tests/traces/*.jsonl``) is taken ``--rounds`` times,
each copy with fresh Uniqueids/Linkedids/channel sequence numbers/bridge ids and ActionIDs
(``Trace.fresh_texts`` with ``FreshIds``), copy ``r`` starting ``--spacing`` seconds after copy
``r-1`` so that calls overlap as on a busy PBX (about 7 calls per copy).  The merged timeline is
one byte stream, read in 64 KiB pieces as from the AMI socket:

1. parse only:          ``AmiFramer`` + ``parse_message``                      (bytes -> dicts)
2. parse + track:       ... + ``CallTracker.feed``                              (-> effects)
3. parse + track + store: ... + every ended call written by ``CallService.store`` into a
   migrated SQLite file (2,000 clients, the traces' callers among them); stores run as tasks
   beside the parsing, as in the server, and the clock stops when the last one has committed.
4. store only:          the same calls stored one after another (what one store costs).

Goals: parse + track >= 20,000 events/s (a busy shop peaks near 50 calls/s x ~100 events =
5,000 events/s, so this leaves 4x headroom); storing >= 50 calls/s (that peak).

    python bench/bench_pipeline.py [--rounds 300] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import NOW, TRACES, WORK, CpuShare, create_operators, insert_clients  # noqa: E402
from fixtures import Goals, migrated_sqlite, russian_number, settings_for  # noqa: E402

from callcenter.ami.framing import AmiFramer  # noqa: E402
from callcenter.ami.message_text import parse_message  # noqa: E402
from callcenter.ami.trace import FreshIds, load_trace  # noqa: E402
from callcenter.app import build_services  # noqa: E402
from callcenter.domain.calls import CallEnded, CallRecord, CallTracker, TrackerConfig  # noqa: E402
from callcenter.http.ws_hub import WebSocketHub  # noqa: E402
from callcenter.services.telephony import Telephony  # noqa: E402
from callcenter.storage.database import Database  # noqa: E402

READ = 64 * 1024
OPERATORS = frozenset({"PJSIP/101", "PJSIP/102"})
GOAL_EVENTS = 20_000
GOAL_CALLS = 50


def workload(rounds: int, spacing: float) -> tuple[bytes, list, int]:
    """The byte stream, the receive time of each message in it, and the calls it holds."""
    rng = random.Random(5)
    ids = FreshIds(1795449448, new_uuid=lambda: str(uuid.UUID(int=rng.getrandbits(128))))
    traces = [load_trace(path) for path in sorted(TRACES.glob("*.jsonl"))]
    timeline: list[tuple[float, int, str]] = []
    for round_no in range(rounds):
        start = round_no * spacing
        for trace in traces:
            action_ids = {old: f"{old}-r{round_no}" for old in trace.originate_action_ids}
            for t, text in trace.fresh_texts(ids, action_ids):
                timeline.append((start + t, len(timeline), text))
    timeline.sort()
    stream = "".join(text + "\r\n\r\n" for _, _, text in timeline).encode("utf-8")
    times = [NOW + timedelta(seconds=t) for t, _, _ in timeline]
    return stream, times, len(timeline)


def parse_only(stream: bytes) -> int:
    framer, events = AmiFramer(expect_banner=False), 0
    for offset in range(0, len(stream), READ):
        for text in framer.feed(stream[offset:offset + READ]):
            if "Event" in (parse_message(text) or ()):
                events += 1
    return events


def parse_and_track(stream: bytes, times: list) -> tuple[int, list[CallRecord], CallTracker]:
    framer, tracker = AmiFramer(expect_banner=False), CallTracker(TrackerConfig(OPERATORS))
    feed, ended, i = tracker.feed, [], 0
    for offset in range(0, len(stream), READ):
        for text in framer.feed(stream[offset:offset + READ]):
            for effect in feed(parse_message(text), times[i]):
                if type(effect) is CallEnded:
                    ended.append(effect.call)
            i += 1
    return i, ended, tracker


async def parse_track_store(stream: bytes, times: list, telephony: Telephony
                            ) -> tuple[float, int, int, int]:
    """(seconds, events, calls stored, most stores in flight at once)."""
    framer, tracker = AmiFramer(expect_banner=False), CallTracker(TrackerConfig(OPERATORS))
    store, feed = telephony.calls.store, tracker.feed
    pending: set[asyncio.Task] = set()
    done: list[asyncio.Task] = []
    most, i = 0, 0
    start = time.perf_counter()
    for offset in range(0, len(stream), READ):
        for text in framer.feed(stream[offset:offset + READ]):
            for effect in feed(parse_message(text), times[i]):
                if type(effect) is CallEnded:
                    task = asyncio.create_task(store(effect.call))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    done.append(task)
            i += 1
        most = max(most, len(pending))
        await asyncio.sleep(0)  # one socket read handled: let the stores move on
    await asyncio.gather(*done)
    return time.perf_counter() - start, i, len(done), most


async def store_db(path: Path) -> tuple[Database, Telephony]:
    """A migrated SQLite file with operators 101/102 and 2,000 clients (the traces' too)."""
    url = await migrated_sqlite(path)
    rng = random.Random(11)
    numbers = [["+79161234567"], ["+79031112233"], ["+79265550101"]]
    numbers += [[russian_number(rng)] for _ in range(2000)]
    insert_clients(path, numbers, rng)
    settings = settings_for(url)
    db = Database(url)
    services = build_services(settings, db, lambda: NOW)
    await create_operators(services.accounts, 2, first_extension=101)
    telephony = Telephony(settings, db, lambda: NOW, services.clients, services.accounts,
                          WebSocketHub())
    await telephony.directory.refresh()
    return db, telephony


async def bench_store(stream: bytes, times: list, ended: list[CallRecord]) -> tuple:
    WORK.mkdir(parents=True, exist_ok=True)
    db, telephony = await store_db(WORK / "pipeline.sqlite3")
    try:
        seconds, events, calls, most = await parse_track_store(stream, times, telephony)
    finally:
        await db.dispose()
    db, telephony = await store_db(WORK / "pipeline-store-only.sqlite3")
    try:
        start = time.perf_counter()
        for call in ended:
            await telephony.calls.store(call)
        alone = time.perf_counter() - start
    finally:
        await db.dispose()
    for name in ("pipeline", "pipeline-store-only"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{WORK / name}.sqlite3{suffix}").unlink(missing_ok=True)
    return seconds, events, calls, most, alone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="copies of the trace set")
    parser.add_argument("--spacing", type=float, default=1.0,
                        help="seconds between the starts of two copies (overlapping calls)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of 1-2; best reported")
    parser.add_argument("--quick", action="store_true", help="40 copies, 1 run")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.repeat = 40, 1
    logging.basicConfig(level=logging.WARNING)

    stream, times, messages = workload(args.rounds, args.spacing)
    print(f"{messages:,} events, {len(stream) / 1e6:.1f} MB ({args.rounds} copies of the traces, "
          f"one every {args.spacing:g} s); reads of {READ // 1024} KiB\n")

    cpu = CpuShare({"this benchmark": os.getpid()})
    best_parse = best_track = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        events = parse_only(stream)
        best_parse = min(best_parse, time.perf_counter() - start)
        start = time.perf_counter()
        tracked, ended, tracker = parse_and_track(stream, times)
        best_track = min(best_track, time.perf_counter() - start)
    assert events == tracked == messages, (events, tracked, messages)
    assert tracker.errors == 0, f"tracker errors: {tracker.errors}"
    assert not tracker.live_calls(), f"{len(tracker.live_calls())} calls never ended"

    seconds, stored_events, stored, most, alone = asyncio.run(
        bench_store(stream, times, ended))
    assert stored_events == messages and stored == len(ended)

    print(f"CPU while measuring: {cpu.line()}\n")
    parse_rate, track_rate = events / best_parse, events / best_track
    store_rate, calls_rate = stored_events / seconds, stored / seconds
    goals = Goals()
    check = goals.check
    print(f"1. parse only            {parse_rate:>10,.0f} events/s   ({best_parse:.2f} s, best of "
          f"{args.repeat})   goal >= {GOAL_EVENTS:,}: "
          f"{check('pipeline.parse_only', parse_rate >= GOAL_EVENTS)}")
    print(f"2. parse + track         {track_rate:>10,.0f} events/s   ({best_track:.2f} s, "
          f"{len(ended):,} calls ended)   goal >= {GOAL_EVENTS:,}: "
          f"{check('pipeline.parse_track', track_rate >= GOAL_EVENTS)}")
    print(f"3. parse + track + store {store_rate:>10,.0f} events/s   {calls_rate:,.0f} calls "
          f"stored/s   ({seconds:.2f} s; up to {most:,} stores in flight)   goal >= "
          f"{GOAL_CALLS} calls/s: {check('pipeline.calls_stored', calls_rate >= GOAL_CALLS)}")
    print(f"4. store only            {len(ended) / alone:>10,.0f} calls/s   "
          f"({alone / len(ended) * 1000:.2f} ms per call, one after another)")
    print("\nsummary:")
    print(f"  pipeline.parse_only          {parse_rate:,.0f} events/s (goal >= {GOAL_EVENTS:,})")
    print(f"  pipeline.parse_track         {track_rate:,.0f} events/s (goal >= {GOAL_EVENTS:,})")
    print(f"  pipeline.parse_track_store   {store_rate:,.0f} events/s, {calls_rate:,.0f} calls/s "
          f"(goal >= {GOAL_CALLS} calls/s)")
    print(f"  pipeline.store_only          {len(ended) / alone:,.0f} calls/s "
          f"({alone / len(ended) * 1000:.2f} ms/call)")
    return goals.exit_code()


if __name__ == "__main__":
    sys.exit(main())
