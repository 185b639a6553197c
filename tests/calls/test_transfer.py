"""A transferred call keeps one record in the log, showing each operator who handled it."""

from __future__ import annotations

import sys
from pathlib import Path

# the scenario builders live beside the tracker's own tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "domain"))

from test_calls_scenarios import attended_transfer, blind_transfer  # noqa: E402


async def broadcast(pbx, steps) -> None:
    await pbx.sim.broadcast([event for _, event in steps if isinstance(event, dict)])


async def test_attended_transfer_is_one_customer_call_handled_by_both(pbx):
    await broadcast(pbx, attended_transfer())
    await pbx.settle(1)
    calls = await pbx.stored_calls()
    assert len(calls) == 1
    (call,) = calls
    assert (call["direction"], call["outcome"]) == ("inbound", "answered")
    assert call["handled_by"] == ["PJSIP/101", "PJSIP/102"]


async def test_blind_transfer_is_one_call_handled_by_both(pbx):
    await broadcast(pbx, blind_transfer())
    (call,) = await pbx.settle(1)
    assert call["outcome"] == "answered"
    assert call["handled_by"] == ["PJSIP/101", "PJSIP/102"]
    assert len(await pbx.stored_calls()) == 1
