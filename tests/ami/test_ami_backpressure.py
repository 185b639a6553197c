"""A burst read from the PBX is handled in slices, with the socket paused until it is done."""

import asyncio

from callcenter.ami.protocol import AmiProtocol


class Transport:
    def __init__(self):
        self.calls: list[str] = []

    def pause_reading(self):
        self.calls.append("pause")

    def resume_reading(self):
        self.calls.append("resume")

    def close(self):
        self.calls.append("close")


class Recording(AmiProtocol):
    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def text_received(self, text: str) -> None:
        self.seen.append(text)


def burst(count: int) -> bytes:
    head = b"Asterisk Call Manager/9.0.0\r\n"
    body = b"".join(b"Event: Newexten\r\nUniqueid: 1.%d\r\n\r\n" % i for i in range(count))
    return head + body


async def test_a_burst_is_handled_in_slices_in_order_while_reading_pauses():
    protocol = Recording()
    transport = Transport()
    protocol.connection_made(transport)
    other_work = []
    loop = asyncio.get_running_loop()
    protocol.data_received(burst(1000))
    assert len(protocol.seen) == protocol.slice_messages
    assert transport.calls == ["pause"]
    loop.call_soon(lambda: other_work.append(len(protocol.seen)))
    while transport.calls[-1] != "resume":
        await asyncio.sleep(0)
    assert len(protocol.seen) == 1000
    assert [t.split("1.")[1].strip() for t in protocol.seen] == [str(i) for i in range(1000)]
    # the loop ran other work before the burst was through
    assert other_work and other_work[0] < 1000
    assert transport.calls == ["pause", "resume"]


async def test_what_arrived_before_the_link_dropped_is_still_handled():
    protocol = Recording()
    protocol.connection_made(Transport())
    protocol.data_received(burst(500))
    assert len(protocol.seen) < 500
    protocol.connection_lost(None)
    assert len(protocol.seen) == 500
