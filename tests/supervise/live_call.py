"""Put an operator on a live call in the app's call tracker, for tests that only need one to
exist (the role walk): the events Asterisk sends for a queue call answered on that phone, fed
to the tracker directly (no database row, no PBX)."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

_SEQ = itertools.count(1)


def _channel(name: str, uid: str, linkedid: str, context: str, exten: str) -> dict[str, str]:
    return {"Channel": name, "ChannelState": "6", "ChannelStateDesc": "Up",
            "CallerIDNum": "79161110001", "CallerIDName": "<unknown>", "Context": context,
            "Exten": exten, "Priority": "1", "Uniqueid": uid, "Linkedid": linkedid}


def put_on_call(telephony, endpoint: str) -> str:
    """Feed the tracker an inbound call answered by ``endpoint``; its key (the Linkedid)."""
    n = next(_SEQ)
    uid, op_uid = f"1700000000.{n * 2}", f"1700000000.{n * 2 + 1}"
    trunk = _channel(f"PJSIP/trunk-{n:08x}", uid, uid, "from-trunk", "74951234567")
    phone = _channel(f"{endpoint}-{n:08x}", op_uid, uid, "operators", "s")
    at = datetime.now(timezone.utc)
    for event in ({"Event": "Newchannel", **trunk, "ChannelState": "4"},
                  {"Event": "Newchannel", **phone, "ChannelState": "0"},
                  {"Event": "DialBegin", **trunk, **{"Dest" + k: v for k, v in phone.items()}},
                  {"Event": "Newstate", **phone},
                  {"Event": "DialEnd", **trunk, **{"Dest" + k: v for k, v in phone.items()},
                   "DialStatus": "ANSWER"}):
        telephony.tracker.feed(event, at)
    return uid


def operator_on_call(world, login: str) -> int:
    """The id of ``login``, put on a call first (a role-walk case's body)."""
    from callcenter.http.keys import CALLS
    from tests.api.world import PEOPLE

    put_on_call(world.api.app[CALLS], PEOPLE[login][1])
    return world.users[login]["id"]
