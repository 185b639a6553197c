"""A simulated PBX on a real TCP port, the real app, and an operator really on a call.

The customer's call is the real ``supervisor_whisper`` trace up to the lab's Originate (Иван
Петров calls, 101 answers and talks); the listen-in is then the CRM's own Originate, which the
simulator answers with a spy leg (callcenter/ami/sim_spy.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from callcenter.services.context import Actor
from tests.calls.conftest import TRACES, start_pbx


def before_originate(tmp: Path, name: str = "supervisor_whisper") -> Path:
    """The real trace up to (not including) the recorded client's Originate."""
    lines = (TRACES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    cut = next(i for i, line in enumerate(lines)
               if json.loads(line)["dir"] == "out" and "Action: Originate" in json.loads(line)["data"])
    path = tmp / f"{name}-before-originate.jsonl"
    path.write_text("\n".join(lines[:cut]) + "\n", encoding="utf-8")
    return path


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def hang_up_everything(sim) -> None:
    """The customer hangs up: HangupRequest and Hangup of every channel but the spy legs'
    (those end by themselves, ChanSpy's E option), the customer's first."""
    channels = [c for uid, c in sim.pbx.channels.items() if uid not in sim.spies]
    channels.sort(key=lambda c: not c["Channel"].startswith("PJSIP/trunk"))
    events = []
    for c in channels:
        events.append({"Event": "HangupRequest", "Privilege": "call,all", **c})
    for c in channels:
        events.append({"Event": "Hangup", "Privilege": "call,all", **c, "Cause": "16",
                       "Cause-txt": "Normal Clearing"})
    await sim.broadcast([{k: v for k, v in e.items()
                          if k not in ("Application", "ApplicationData", "BridgeId")}
                         for e in events])


@pytest.fixture
async def desk(db_url, aiohttp_client, tmp_path):
    """The PBX and app of tests/calls (operators 101-103, supervisor "sup" without a phone),
    plus supervisor "boss" with the phone PJSIP/201, and 101 talking to Иван Петров."""
    pbx = await start_pbx(db_url, aiohttp_client)
    await pbx.telephony.ami.wait_connected(10)
    pbx.users["boss"] = await pbx.services.accounts.create_user(Actor.system("test"), {
        "login": "boss", "name": "Светлана Главная", "role": "supervisor",
        "extension": "PJSIP/201", "password": "pw-secret-boss"})
    await pbx.replay(before_originate(tmp_path), speed=0, fresh_ids=True)
    await wait_for(lambda: [c for c in pbx.telephony.tracker.live_calls()
                            if c.answered_by == "PJSIP/101"], what="101 on the call")
    yield pbx
    await pbx.sim.stop()
