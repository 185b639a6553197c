"""What the simulated PBX believes is up, learnt from the events it sends. Pure, no I/O.

Used by the simulator to answer ``CoreShowChannels`` and ``QueueStatus`` like Asterisk would
after a reconnect: one ``CoreShowChannel`` per channel created (``Newchannel``) and not yet hung
up (``Hangup``), with its latest snapshot; and which queue members are paused (from the
``QueueMemberPause`` events it sends), shown as ``Paused``/``PausedReason`` in ``QueueMember``.
"""

from __future__ import annotations

from collections.abc import Iterable

CHANNEL_KEYS = (
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
    "Priority", "Uniqueid", "Linkedid",
)


class PbxState:
    """Channels that are up, plus the queue and its members (for ``QueueStatus``)."""

    def __init__(self, queue: str = "shop", members: Iterable[str] = ("PJSIP/101", "PJSIP/102")):
        self.queue = queue
        self.members = list(members)
        self.channels: dict[str, dict[str, str]] = {}
        self._created: dict[str, float] = {}
        # paused members and their reason ("" when none was given)
        self.paused: dict[str, str] = {}
        self.last_pause: dict[str, int] = {}

    def observe(self, fields: dict[str, str], now: float) -> None:
        """Update from one event the PBX sends."""
        event = fields.get("Event")
        if event == "QueueMemberPause":
            self._observe_pause(fields)
            return
        uniqueid = fields.get("Uniqueid")
        if not event or not uniqueid:
            return
        if event == "Newchannel":
            self.channels[uniqueid] = {k: fields.get(k, "") for k in CHANNEL_KEYS}
            self.channels[uniqueid].update(Application="", ApplicationData="", BridgeId="")
            self._created[uniqueid] = now
            return
        channel = self.channels.get(uniqueid)
        if channel is None:
            return
        if event == "Hangup":
            del self.channels[uniqueid]
            self._created.pop(uniqueid, None)
            return
        for key in CHANNEL_KEYS:
            if key in fields:
                channel[key] = fields[key]
        if event == "Newexten":
            channel["Application"] = fields.get("Application", "")
            channel["ApplicationData"] = fields.get("AppData", "")
        elif event == "BridgeEnter":
            channel["BridgeId"] = fields.get("BridgeUniqueid", "")
        elif event == "BridgeLeave":
            channel["BridgeId"] = ""

    def _observe_pause(self, fields: dict[str, str]) -> None:
        member = fields.get("Interface") or fields.get("MemberName")
        if not member:
            return
        if fields.get("Paused") == "1":
            self.paused[member] = fields.get("PausedReason", "")
        else:
            self.paused.pop(member, None)
        if fields.get("LastPause", "0").isdigit():
            self.last_pause[member] = int(fields.get("LastPause", "0"))

    def _busy(self) -> set[str]:
        return {c["Channel"].rsplit("-", 1)[0] for c in self.channels.values()}

    def queue_member_pause(self, member: str, paused: bool, reason: str,
                           now: float) -> dict[str, str]:
        """The ``QueueMemberPause`` event Asterisk 22 sends when ``member`` is (un)paused
        (the fields of tests/traces/agent_pause_and_ready.ami), for :meth:`observe`."""
        busy = member in self._busy()
        last_pause = int(now) if paused else self.last_pause.get(member, 0)
        return {"Event": "QueueMemberPause", "Privilege": "agent,all", "Queue": self.queue,
                "MemberName": member, "Interface": member, "StateInterface": member,
                "Membership": "static", "Penalty": "0", "CallsTaken": "0", "LastCall": "0",
                "LastPause": str(last_pause), "LoginTime": "0",
                "InCall": "1" if busy else "0", "Status": "2" if busy else "1",
                "Paused": "1" if paused else "0", "PausedReason": reason if paused else "",
                "Ringinuse": "1", "Wrapuptime": "0"}

    def core_show_channels(self, action_id: str, now: float) -> list[dict[str, str]]:
        """The events answering ``CoreShowChannels`` (the ``Response`` itself excluded)."""
        events = []
        for uniqueid, channel in self.channels.items():
            seconds = max(0, int(now - self._created.get(uniqueid, now)))
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            events.append({"Event": "CoreShowChannel", "ActionID": action_id, **channel,
                           "Duration": duration})
        events.append({"Event": "CoreShowChannelsComplete", "ActionID": action_id,
                       "EventList": "Complete", "ListItems": str(len(events))})
        return events

    def queue_status(self, action_id: str, now: float | None = None) -> list[dict[str, str]]:
        """The events answering ``QueueStatus``: params, members, a ``QueueEntry`` per caller
        waiting (in the Queue application and not bridged to an operator yet, ``Wait`` its
        seconds since its channel was created when ``now`` is given), complete."""
        waiting = [(uid, c) for uid, c in self.channels.items()
                   if c.get("Application") == "Queue" and not c.get("BridgeId")]
        events = [{"Event": "QueueParams", "Queue": self.queue, "Max": "0",
                   "Strategy": "ringall", "Calls": str(len(waiting)), "Holdtime": "0",
                   "TalkTime": "0", "Completed": "0", "Abandoned": "0", "ServiceLevel": "0",
                   "ServicelevelPerf": "0.0", "ServicelevelPerf2": "0.0", "Weight": "0",
                   "ActionID": action_id}]
        busy = self._busy()
        for member in self.members:
            events.append({"Event": "QueueMember", "Queue": self.queue, "Name": member,
                           "Location": member, "StateInterface": member,
                           "Membership": "static", "Penalty": "0", "CallsTaken": "0",
                           "LastCall": "0", "LastPause": str(self.last_pause.get(member, 0)),
                           "LoginTime": "0", "InCall": "1" if member in busy else "0",
                           "Status": "2" if member in busy else "1",
                           "Paused": "1" if member in self.paused else "0",
                           "PausedReason": self.paused.get(member, ""), "Wrapuptime": "0",
                           "ActionID": action_id})
        for position, (uid, channel) in enumerate(waiting, 1):
            wait = max(0, int(now - self._created.get(uid, now))) if now is not None else 0
            events.append({"Event": "QueueEntry", "Queue": self.queue, "Position": str(position),
                           "Channel": channel["Channel"], "Uniqueid": uid,
                           "CallerIDNum": channel["CallerIDNum"],
                           "CallerIDName": channel["CallerIDName"],
                           "ConnectedLineNum": channel["ConnectedLineNum"],
                           "ConnectedLineName": channel["ConnectedLineName"],
                           "Wait": str(wait), "Priority": "0", "ActionID": action_id})
        events.append({"Event": "QueueStatusComplete", "ActionID": action_id,
                       "EventList": "Complete", "ListItems": str(len(events))})
        return events
