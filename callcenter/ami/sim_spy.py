"""A supervisor's listen-in as the simulated PBX plays it: the events of one spy leg.  Pure.

The simulator (sim.py) hands an ``Originate`` into the supervise context here and broadcasts
what :class:`SpyLeg` returns, in the order Asterisk 22 sent them in
``tests/traces/supervisor_whisper`` (and, for the dialplan part, in the derived
``tests/traces/derived/supervisor_whisper_dialplan``):

* :meth:`SpyLeg.ringing`: ``Newchannel`` of the supervisor's phone (in its endpoint's context,
  ``operators``/``s``, as every originated channel starts), a ``VarSet`` per ``CRM_*``
  variable of the Originate, ``NewCallerid`` (the Originate's caller ID), ``DialBegin``,
  ``Newstate`` Ringing;
* :meth:`SpyLeg.answered`: ``Newstate`` Up, ``DialEnd`` ANSWER, ``OriginateResponse`` Success,
  then the dialplan of ``dialplan/callcenter.conf``: ``Newexten`` NoOp, GotoIf and -- when
  ``CRM_SPY`` passes the dialplan's REGEX and the extension is a mode -- ``ChanSpy`` on the
  operator's channel and ``ChanSpyStart``.  No channel of that phone to spy on, a bad
  ``CRM_SPY`` or an unknown mode: the leg hangs up at once (real ChanSpy would wait for the
  phone's next call; the simulator does not keep a silent leg open);
* :meth:`SpyLeg.hangup`: ``ChanSpyStop`` (if spying), ``HangupRequest`` (the supervisor hung
  up) or ``Newexten Hangup`` (``E``: the operator's channel went away), and ``Hangup``.
"""

from __future__ import annotations

from collections.abc import Mapping

from callcenter.domain.originates import originate_variables
from callcenter.domain.supervise import CHANSPY_OPTIONS, SPY_ENDPOINT

from .message_text import split_repeated
from .trace import FreshIds

__all__ = ["SpyLeg"]

_STATES = {"Down": "0", "Ringing": "5", "Up": "6"}


def _caller(caller_id: str) -> tuple[str, str]:
    """``"Listen: Anna" <101>`` -> (``101``, ``Listen: Anna``)."""
    name, sep, rest = caller_id.partition("<")
    if not sep:
        return caller_id.strip(), ""
    return rest.partition(">")[0].strip(), name.strip().strip('"').strip()


class SpyLeg:
    """One spy leg: the supervisor's phone ``action["Channel"]`` spying on ``spyee`` (the
    snapshot of the operator's channel the simulator holds, or None when there is none)."""

    def __init__(self, action: Mapping[str, str], spyee: Mapping[str, str] | None,
                 ids: FreshIds, *, endpoint_context: str = "operators") -> None:
        self.action_id = action.get("ActionID", "")
        endpoint = action.get("Channel", "")
        self.context, self.mode = action.get("Context", ""), action.get("Exten", "")
        raw = action.get("Variable", "")
        self.variables = originate_variables(split_repeated(raw) if isinstance(raw, str) else raw)
        self.target = self.variables.get("CRM_SPY", "")
        self.spyee = dict(spyee) if spyee is not None else None
        self.spying = False
        uid = ids.call_id()
        self.f = {"Channel": f"{endpoint}-{ids.channel_seq()}", "ChannelState": "0",
                  "ChannelStateDesc": "Down", "CallerIDNum": endpoint.partition("/")[2],
                  "CallerIDName": "<unknown>", "ConnectedLineNum": "<unknown>",
                  "ConnectedLineName": "<unknown>", "Language": "en", "AccountCode": "",
                  "Context": endpoint_context, "Exten": "s", "Priority": "1",
                  "Uniqueid": uid, "Linkedid": uid}
        self.cid_num, self.cid_name = _caller(action.get("CallerID", ""))

    @property
    def uniqueid(self) -> str:
        return self.f["Uniqueid"]

    @property
    def spyee_uniqueid(self) -> str | None:
        return self.spyee.get("Uniqueid") if self.spyee else None

    def _ev(self, event: str, privilege: str = "call,all", **extra: str) -> dict[str, str]:
        return {"Event": event, "Privilege": privilege, **self.f, **extra}

    def _state(self, desc: str) -> None:
        self.f["ChannelState"], self.f["ChannelStateDesc"] = _STATES[desc], desc

    def _app(self, priority: int, app: str, data: str) -> dict[str, str]:
        self.f["Priority"] = str(priority)
        return self._ev("Newexten", "dialplan,all", Extension=self.f["Exten"],
                        Application=app, AppData=data)

    def ringing(self) -> list[dict[str, str]]:
        out = [self._ev("Newchannel")]
        out += [self._ev("VarSet", "dialplan,all", Variable=name, Value=value)
                for name, value in self.variables.items()]
        if self.cid_num:
            self.f.update(CallerIDNum=self.cid_num, CallerIDName=self.cid_name or "<unknown>")
            out.append(self._ev("NewCallerid", **{"CID-CallingPres":
                                                  "0 (Presentation Allowed, Not Screened)"}))
        out.append({"Event": "DialBegin", "Privilege": "call,all",
                    **{"Dest" + k: v for k, v in self.f.items()},
                    "DialString": self.f["Channel"].rsplit("-", 1)[0].partition("/")[2]})
        self._state("Ringing")
        out.append(self._ev("Newstate"))
        return out

    def answered(self) -> list[dict[str, str]]:
        """From the answer up to ChanSpyStart; ``spying`` tells whether it got that far."""
        self._state("Up")
        out = [self._ev("Newstate"),
               {"Event": "DialEnd", "Privilege": "call,all",
                **{"Dest" + k: v for k, v in self.f.items()}, "DialStatus": "ANSWER"},
               {"Event": "OriginateResponse", "Privilege": "call,all",
                "ActionID": self.action_id, "Response": "Success", "Channel": self.f["Channel"],
                "Context": self.context, "Exten": self.mode, "Reason": "4",
                "Uniqueid": self.uniqueid, "CallerIDNum": self.f["CallerIDNum"],
                "CallerIDName": self.f["CallerIDName"]}]
        self.f.update(Context=self.context, Exten=self.mode)
        options = CHANSPY_OPTIONS.get(self.mode)
        if options is None:
            return out  # no such extension: Asterisk hangs the channel up
        out.append(self._app(1, "NoOp", f"callcenter: supervisor {self.mode} {self.target}"))
        valid = bool(SPY_ENDPOINT.fullmatch(self.target))
        out.append(self._app(2, "GotoIf", f"{int(valid)}?:invalid"))
        if not valid:
            out.append(self._app(5, "Hangup", "21"))
            return out
        out.append(self._app(3, "ChanSpy", f"{self.target}-,{options}"))
        if self.spyee is None:
            return out
        self.spying = True
        out.append(self._spy_event("ChanSpyStart"))
        return out

    def _spy_event(self, event: str) -> dict[str, str]:
        spyee = self.spyee or {}
        return {"Event": event, "Privilege": "call,all",
                **{"Spyer" + k: v for k, v in self.f.items()},
                **{"Spyee" + k: spyee.get(k, "") for k in self.f}}

    def hangup(self, *, by_supervisor: bool) -> list[dict[str, str]]:
        """The leg's end: the supervisor hung up, or ChanSpy left with the operator's channel."""
        out = []
        if by_supervisor:
            out.append(self._ev("HangupRequest"))
        if self.spying:
            out.append(self._spy_event("ChanSpyStop"))
            self.spying = False
        if not by_supervisor and self.f["Priority"] == "3":
            out.append(self._app(4, "Hangup", ""))
        out.append(self._ev("Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"}))
        return out
