"""Agent states followed from the PBX: real traces replayed by the AMI simulator over real
TCP into the running app; states and their stored history read back (SQLite, PostgreSQL)."""

from __future__ import annotations


async def test_queue_status_at_start_is_the_truth(desk):
    # the simulator's QueueStatus: 101 and 102 are members, not paused, phones free
    await desk.wait_state("101", "ready")
    await desk.wait_state("102", "ready")
    assert await desk.history("101") == [("ready", None, "pbx")]
    # 103's phone is in no queue: nobody said anything about it
    assert desk.agents.state_of(desk.id("103")) == "offline"


async def test_pause_for_lunch_on_the_pbx_then_ready_then_a_call(desk):
    await desk.wait_state("101", "ready")
    # four times faster: 102's wrap-up (1 s) ends between the calls (1.5 s apart)
    await desk.replay("agent_pause_and_ready", speed=4)
    await desk.wait_state("101", "ready")  # after wrap-up (1 s here)
    assert await desk.history("101") == [
        ("ready", None, "pbx"), ("paused", "lunch", "pbx"), ("ready", None, "pbx"),
        ("ringing", None, "pbx"), ("talking", None, "pbx"), ("wrap_up", None, "pbx"),
        ("ready", None, "system")]
    # 102 took the first call alone, and rang for the second, which 101 answered
    await desk.wait_state("102", "ready")
    assert await desk.history("102") == [
        ("ready", None, "pbx"), ("ringing", None, "pbx"), ("talking", None, "pbx"),
        ("wrap_up", None, "pbx"), ("ready", None, "system"), ("ringing", None, "pbx"),
        ("ready", None, "pbx")]
    # the simulated PBX saw the same pauses, and says so in QueueStatus
    assert desk.sim.pbx.paused == {}


async def test_inbound_answered(desk):
    await desk.wait_state("101", "ready")
    await desk.replay("inbound_answered")
    await desk.wait_state("101", "wrap_up")
    s = desk.agents.current(desk.id("101"))
    assert s.wrap_up_until is not None and (s.wrap_up_until - s.since).total_seconds() == 1
    await desk.wait_state("101", "ready")
    assert [h[0] for h in await desk.history("101")] == [
        "ready", "ringing", "talking", "wrap_up", "ready"]
    assert [h[0] for h in await desk.history("102")] == ["ready", "ringing", "ready"]


async def test_a_click_to_call_leg_and_the_outcome_ending_wrap_up(desk):
    await desk.wait_state("101", "ready")
    await desk.replay("outbound_click_to_call")
    await desk.wait_state("101", "wrap_up")
    await desk.agents.outcome_saved(desk.id("101"))
    await desk.wait_state("101", "ready")
    assert await desk.history("101") == [
        ("ready", None, "pbx"), ("ringing", None, "pbx"), ("talking", None, "pbx"),
        ("wrap_up", None, "pbx"), ("ready", None, "crm")]


def device(endpoint: str, state: str) -> dict[str, str]:
    return {"Event": "DeviceStateChange", "Privilege": "call,all", "Device": endpoint,
            "State": state}


async def test_a_pause_chosen_during_a_call_follows_its_wrap_up(desk):
    await desk.wait_state("101", "ready")
    await desk.sim.broadcast([device("PJSIP/101", "RINGING")])
    await desk.wait_state("101", "ringing")
    await desk.sim.broadcast([device("PJSIP/101", "INUSE")])
    await desk.wait_state("101", "talking")
    client = await desk.browser("101")
    resp = await client.post("/api/agents/me/state", json={"state": "paused",
                                                           "reason": "training"})
    agent = await resp.json()
    assert (agent["state"], agent["chosen"], agent["chosen_reason"], agent["pbx"]) == (
        "talking", "paused", "training", "sent")
    await desk.sim.broadcast([device("PJSIP/101", "NOT_INUSE")])
    await desk.wait_state("101", "wrap_up")
    await desk.agents.outcome_saved(desk.id("101"))
    await desk.wait_state("101", "paused", "training")
    assert await desk.history("101") == [
        ("ready", None, "pbx"), ("ringing", None, "pbx"), ("talking", None, "pbx"),
        ("wrap_up", None, "pbx"), ("paused", "training", "crm")]


async def test_paused_and_unpaused_on_the_phone_and_by_autopause(desk):
    await desk.wait_state("102", "ready")
    member = desk.sim.pbx.queue_member_pause
    await desk.sim.broadcast([member("PJSIP/102", True, "", desk.sim.clock())])
    await desk.wait_state("102", "paused", "pbx")
    await desk.sim.broadcast([member("PJSIP/102", False, "", desk.sim.clock())])
    await desk.wait_state("102", "ready")
    await desk.sim.broadcast([member("PJSIP/102", True, "Auto-Pause", desk.sim.clock())])
    await desk.wait_state("102", "paused", "autopause")
    await desk.sim.broadcast([{"Event": "DeviceStateChange", "Device": "PJSIP/102",
                               "State": "UNAVAILABLE"}])
    await desk.wait_state("102", "offline")
    assert await desk.history("102") == [
        ("ready", None, "pbx"), ("paused", "pbx", "pbx"), ("ready", None, "pbx"),
        ("paused", "autopause", "pbx"), ("offline", None, "pbx")]
