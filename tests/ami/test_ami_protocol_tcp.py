"""Every real trace through the real protocol over a real TCP socket, split at random."""

from __future__ import annotations

import asyncio
import random

import pytest
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager

from callcenter.ami.errors import ActionLost
from callcenter.ami.protocol import AmiProtocol

from .conftest import AMI_TRACES, SECRET, TRACES, USER, wait_until, whole_messages

NAME = "Иван Петров".encode()


class RecordingProtocol(AmiProtocol):
    """Our protocol, noting every message and every read."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []
        self.received = 0
        self.reads: list[int] = []
        self.progress = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self.reads.append(len(data))
        self.progress.set()
        super().data_received(data)

    def handle_message(self, message) -> None:
        self.messages.append(message)


class RecordingStockProtocol(AMIProtocol):
    """panoramisk 1.4's protocol as panoramisk's Manager configures it (encoding utf8)."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.encoding = "utf8"
        self.messages: list = []
        self.received = 0
        self.progress = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self.progress.set()
        super().data_received(data)

    def handle_message(self, message) -> None:
        self.messages.append(message)


async def stream_over_tcp(protocol_class, data: bytes, cuts: list[int], *, lockstep: bool):
    """Serve ``data`` cut at ``cuts``; in lockstep each piece is read before the next is sent,
    so the client's reads end exactly at the cuts."""
    go = asyncio.Event()
    protocol_box: list = []
    done = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        sent = 0
        for a, b in zip([0, *cuts], [*cuts, len(data)]):
            if a == b:
                continue
            writer.write(data[a:b])
            await writer.drain()
            sent += b - a
            if lockstep:
                await read_up_to(protocol_box[0], sent)
        await read_up_to(protocol_box[0], len(data))
        writer.close()
        done.set_result(None)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, protocol = await asyncio.get_running_loop().create_connection(
        protocol_class, "127.0.0.1", port)
    protocol_box.append(protocol)
    go.set()
    await asyncio.wait_for(done, 10)
    transport.close()
    server.close()
    await server.wait_closed()
    return protocol


async def read_up_to(protocol, size: int) -> None:
    while protocol.received < size:
        protocol.progress.clear()
        await asyncio.wait_for(protocol.progress.wait(), 5)


def random_cuts(rng: random.Random, size: int, largest: int) -> list[int]:
    cuts, pos = [], 0
    while True:
        pos += rng.randint(1, largest)
        if pos >= size:
            return cuts
        cuts.append(pos)


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.stem)
async def test_every_trace_in_random_reads_equals_whole_parse(path):
    raw = path.read_bytes()
    expected = whole_messages(raw)
    for seed in range(16):
        rng = random.Random(seed)
        cuts = random_cuts(rng, len(raw), rng.choice([40, 200, 1500, 9000]))
        protocol = await stream_over_tcp(RecordingProtocol, raw, cuts, lockstep=True)
        assert len(protocol.reads) == len(cuts) + 1
        assert [m.fields for m in protocol.messages] == expected, f"seed {seed}"
        assert protocol.version == "11.0.0"


async def test_tiny_reads_without_lockstep():
    raw = (TRACES / "inbound_answered.ami").read_bytes()
    cuts = random_cuts(random.Random(99), len(raw), 5)
    protocol = await stream_over_tcp(RecordingProtocol, raw, cuts, lockstep=False)
    assert [m.fields for m in protocol.messages] == whole_messages(raw)


def cut_inside_first_name(raw: bytes) -> list[int]:
    first = raw.index(NAME)
    return [first + 1]  # between the two bytes of "И"


async def test_split_inside_a_cyrillic_letter_keeps_the_name():
    raw = (TRACES / "inbound_answered.ami").read_bytes()
    protocol = await stream_over_tcp(RecordingProtocol, raw, cut_inside_first_name(raw),
                                     lockstep=True)
    names = [m["CallerIDName"] for m in protocol.messages if m.event == "Newchannel"]
    assert names[0] == "Иван Петров"


async def test_stock_panoramisk_corrupts_the_same_split():
    """Proof that the test above tests something: panoramisk 1.4 loses the split letter."""
    raw = (TRACES / "inbound_answered.ami").read_bytes()
    protocol = await stream_over_tcp(RecordingStockProtocol, raw, cut_inside_first_name(raw),
                                     lockstep=True)
    names = [m["CallerIDName"] for m in protocol.messages if m.event == "Newchannel"]
    assert names[0] != "Иван Петров"
    assert names[0] == "ван Петров"


async def test_works_as_panoramisk_manager_protocol(sim):
    """Stock panoramisk Manager on top of AmiProtocol: futures resolve, events dispatch,
    and a lost action fails instead of being queued for a re-send."""
    loop = asyncio.get_running_loop()
    manager = Manager(loop=loop, host="127.0.0.1", port=sim.port, username=USER,
                      secret=SECRET, protocol_factory=AmiProtocol, ping_delay=1000)
    seen = []
    manager.register_event("Newchannel", lambda mgr, event: seen.append(event))
    await manager.connect()
    await wait_until(lambda: manager.authenticated, what="Manager login")
    pong = await manager.send_action({"Action": "Ping"})
    assert pong.success and pong.ping == "Pong"
    await sim.broadcast([{"Event": "Newchannel", "Channel": "PJSIP/trunk-00000001",
                          "Uniqueid": "1.1", "CallerIDName": "Иван Петров"}])
    await wait_until(lambda: seen, what="Newchannel dispatched")
    assert seen[0].calleridname == "Иван Петров"
    channels = await manager.send_action({"Action": "CoreShowChannels"})
    assert [m.event for m in channels[1:]] == ["CoreShowChannel", "CoreShowChannelsComplete"]
    sim.set_fault("originate", "close")
    with pytest.raises(ActionLost):
        await manager.send_action({"Action": "Originate", "Channel": "PJSIP/101"})
    assert not manager.awaiting_actions
    manager.close()
