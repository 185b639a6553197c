"""A pretend PBX for the demo: the AMI simulator in-process, sending calls from demo clients.

It lets a newcomer see cards pop without an Asterisk: the first call arrives a few seconds after
an operator logs in, then one every ~25 seconds; some callers are unknown numbers. Click-to-call
replays a real recorded outbound call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from callcenter.ami.sim import AmiSimulator

log = logging.getLogger("callcenter.demo")
ORIGINATE_TRACE = Path(__file__).with_name("traces") / "outbound_click_to_call.jsonl"
UNKNOWN_CALLERS = ("+79031112233", "79057770011", "89998887766")


@dataclass
class DemoPbx:
    sim: AmiSimulator
    port: int
    username: str
    secret: str
    tasks: list[asyncio.Task] = field(default_factory=list)

    def settings(self) -> dict[str, object]:
        return {"ami_host": "127.0.0.1", "ami_port": self.port, "ami_username": self.username,
                "ami_secret": self.secret}

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sim.stop()


async def start_demo_pbx(known_callers: Sequence[str], *, every_seconds: float = 25.0,
                         first_after: float = 5.0) -> DemoPbx:
    """Start the simulator on a free loopback port; calls begin once the CRM has logged in."""
    secret = secrets.token_urlsafe(16)
    sim = AmiSimulator("callcenter-demo", secret, originate_trace=ORIGINATE_TRACE,
                       originate_speed=1.0)
    port = await sim.start("127.0.0.1", 0)
    pbx = DemoPbx(sim, port, "callcenter-demo", secret)
    callers = [n.lstrip("+") for n in known_callers] + list(UNKNOWN_CALLERS)

    async def calls() -> None:
        await sim.wait_for_clients(1)
        await asyncio.sleep(first_after)
        log.info("demo PBX: inbound calls start now, one every ~%.0f s", every_seconds)
        await sim.synthetic(1.0 / every_seconds, callers=callers)

    pbx.tasks.append(asyncio.get_running_loop().create_task(calls(), name="demo-calls"))
    return pbx
