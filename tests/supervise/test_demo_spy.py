"""The demo PBX answers a listen-in Originate with a spy leg (never with a scripted customer
call), over a real TCP AMI session; a call tracker fed what it sends sees no call in it."""

from __future__ import annotations

from datetime import datetime, timezone

from callcenter.ami.demo_pbx import start_demo_pbx
from callcenter.ami.message_text import render_message
from callcenter.domain.call_records import TrackerConfig
from callcenter.domain.call_tracker import CallTracker
from tests.test_demo_day import _ami

ANNA = {"Channel": "PJSIP/101-0000aaaa", "ChannelState": "6", "ChannelStateDesc": "Up",
        "CallerIDNum": "101", "CallerIDName": "Operator Anna", "ConnectedLineNum": "79161234567",
        "ConnectedLineName": "Иван Петров", "Language": "en", "AccountCode": "",
        "Context": "operators", "Exten": "74951234567", "Priority": "1",
        "Uniqueid": "1800000000.2", "Linkedid": "1800000000.1"}


async def test_the_demo_pbx_plays_a_spy_leg_for_a_listen_in():
    pbx = await start_demo_pbx([], first_after=3600, speed=0)
    try:
        reader, writer, read = await _ami(pbx.port, pbx.username, pbx.secret)
        await pbx.sim.broadcast([{"Event": "Newchannel", "Privilege": "call,all", **ANNA}])
        while (await read()).get("Event") != "Newchannel":
            pass
        tracker = CallTracker(TrackerConfig(operator_endpoints={"PJSIP/101", "PJSIP/201"}))
        action = {"Action": "Originate", "ActionID": "crm-spy-1", "Channel": "PJSIP/201",
                  "Context": "callcenter-supervise", "Exten": "barge", "Priority": "1",
                  "CallerID": '"Barge: Анна" <101>', "Async": "true",
                  "Variable": "CRM_SPY=PJSIP/101,CRM_SPY_MODE=barge,CRM_SUPERVISOR=4"}
        tracker.originate_sent(action, datetime.now(timezone.utc))
        writer.write(render_message(action).encode())
        seen, effects = [], []
        while not seen or seen[-1].get("Event") != "ChanSpyStart":
            seen.append(await read())
            effects += tracker.feed(seen[-1], datetime.now(timezone.utc))
        start = seen[-1]
        assert start["SpyeeChannel"] == ANNA["Channel"] and start["SpyerChannel"].startswith("PJSIP/201-")
        assert ("ChanSpy", "PJSIP/101-,qEB") in [(e.get("Application"), e.get("AppData")) for e in seen]
        response = next(e for e in seen if e.get("Event") == "OriginateResponse")
        assert (response["ActionID"], response["Response"]) == ("crm-spy-1", "Success")
        # Anna's call ends: ChanSpy's E option ends the spy leg
        await pbx.sim.broadcast([{"Event": "Hangup", "Privilege": "call,all", **ANNA,
                                  "Cause": "16", "Cause-txt": "Normal Clearing"}])
        while not (seen[-1].get("Event") == "Hangup"
                   and seen[-1]["Uniqueid"] == start["SpyerUniqueid"]):
            seen.append(await read())
            effects += tracker.feed(seen[-1], datetime.now(timezone.utc))
        assert "ChanSpyStop" in [e.get("Event") for e in seen]
        writer.close()
        assert effects == [] and tracker.errors == 0  # the spy leg is no call
        assert pbx.sim.originate_script.played == []  # no scripted customer call was played
        assert pbx.sim.spies == {}
    finally:
        await pbx.stop()
