"""How fast AMI bytes become events. Goal: parsing is never the bottleneck at >= 20,000 events/s.

Every real trace (``tests/traces/*.ami``, banners removed) is repeated N times and pushed:

1. through ``AmiFramer`` + ``parse_message``          (bytes -> dicts, the pure part)
2. through ``AmiProtocol.data_received`` in 64 KiB reads (bytes -> panoramisk Messages ->
   dispatch, what the client runs per socket read)
3. through panoramisk 1.4's stock ``AMIProtocol``        (for comparison; it corrupts split letters)
4. end to end: AmiSimulator -> TCP -> AmiClient -> listener ``on_event`` (``--no-e2e`` to skip)

Usage: ``python bench/bench_ami_parse.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from callcenter.ami.client import AmiClient  # noqa: E402
from callcenter.ami.framing import AmiFramer  # noqa: E402
from callcenter.ami.message_text import parse_message  # noqa: E402
from callcenter.ami.protocol import AmiProtocol  # noqa: E402
from callcenter.ami.sim import AmiSimulator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures import Goals  # noqa: E402

READ = 64 * 1024
GOAL = 20_000  # messages/s through each of the product's own paths (1, 2, 4)


def trace_stream() -> tuple[bytes, int, int]:
    """All traces as one byte stream; its message count and its event count."""
    bodies = []
    for path in sorted((ROOT / "tests" / "traces").glob("*.ami")):
        raw = path.read_bytes()
        bodies.append(raw.split(b"\r\n", 1)[1] if raw.startswith(b"Asterisk") else raw)
    data = b"".join(bodies)
    messages = [parse_message(t) for t in AmiFramer(expect_banner=False).feed(data)]
    return data, len(messages), sum(1 for m in messages if m and "Event" in m)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def dispatch(self, message: object) -> None:
        self.count += 1

    def connection_lost(self, exc: object) -> None:
        pass


class NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def report(label: str, messages: int, size: int, seconds: float) -> float:
    """Print one path's figures; returns its messages/s."""
    print(f"{label:<46} {messages / seconds:>12,.0f} msg/s {size / seconds / 1e6:>8.1f} MB/s"
          f"   ({messages:,} messages in {seconds:.2f} s)")
    return messages / seconds


def bench_pure(stream: bytes, repeat: int, per_copy: int) -> float:
    framer = AmiFramer(expect_banner=False)
    count = 0
    start = time.perf_counter()
    for _ in range(repeat):
        for i in range(0, len(stream), READ):
            for text in framer.feed(stream[i:i + READ]):
                if parse_message(text) is not None:
                    count += 1
    assert count == per_copy * repeat
    return report("1. framer + parse_message (bytes -> dicts)", count, len(stream) * repeat,
                  time.perf_counter() - start)


def bench_protocol(factory, label: str, stream: bytes, repeat: int) -> float:
    counter = Counter()
    protocol = factory()
    protocol.connection_made(NullTransport())
    protocol.factory = counter
    protocol.encoding = "utf-8"
    protocol.version = "bench"  # stock panoramisk only looks for a banner
    if isinstance(protocol, AmiProtocol):
        protocol.framer.version = ""
    start = time.perf_counter()
    for _ in range(repeat):
        for i in range(0, len(stream), READ):
            protocol.data_received(stream[i:i + READ])
    return report(label, counter.count, len(stream) * repeat, time.perf_counter() - start)


async def bench_end_to_end(stream: bytes, repeat: int, events_per_copy: int) -> float:
    sim = AmiSimulator("bench", "bench")
    port = await sim.start()
    target = float("inf")

    class Listener:
        count = 0
        done = asyncio.Event()

        def on_event(self, event: dict[str, str], at: object) -> None:
            Listener.count += 1
            if Listener.count >= target:
                Listener.done.set()

    client = AmiClient("127.0.0.1", port, "bench", "bench", listener=Listener(),
                       ping_interval=60)
    client.start()
    await client.wait_connected(5)
    await asyncio.sleep(0.2)  # let the resync settle
    target = Listener.count + events_per_copy * repeat
    start = time.perf_counter()
    for _ in range(repeat):
        await sim.send_raw(stream)
    await asyncio.wait_for(Listener.done.wait(), 120)
    rate = report("4. sim -> TCP -> AmiClient -> on_event", events_per_copy * repeat,
                  len(stream) * repeat, time.perf_counter() - start)
    await client.stop()
    await sim.stop()
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--no-e2e", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a short run (20 copies)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 20
    logging.basicConfig(level=logging.ERROR)
    stream, per_copy, events = trace_stream()
    print(f"{per_copy} messages ({events} events), {len(stream):,} bytes per copy of all traces; "
          f"x{args.repeat}; reads of {READ // 1024} KiB\n")
    goals = Goals()
    rates = {"ami_parse.framer_parse": bench_pure(stream, args.repeat, per_copy)}
    rates["ami_parse.protocol"] = bench_protocol(
        lambda: AmiProtocol(dispatch_all_events=True),
        "2. AmiProtocol (bytes -> Messages -> dispatch)", stream, args.repeat)
    bench_protocol(AMIProtocol, "3. stock panoramisk AMIProtocol (comparison)", stream,
                   args.repeat)
    if not args.no_e2e:
        rates["ami_parse.end_to_end"] = asyncio.run(
            bench_end_to_end(stream, args.repeat, events))
    print("\nsummary:")
    for name, rate in rates.items():
        print(f"  {name:<24} {rate:>10,.0f} msg/s  (goal >= {GOAL:,}: "
              f"{goals.check(name, rate >= GOAL)})")
    return goals.exit_code()


if __name__ == "__main__":
    sys.exit(main())
