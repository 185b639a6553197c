"""Listen, whisper, barge: a supervisor's phone joins an operator's call (domain/supervise.py).

``SuperviseService.start`` is the one call the HTTP handler makes: it checks who listens to
whom, sends one Originate into ``supervise_context`` and audits it.  Asterisk's answer is not
waited for: the supervisor's phone rings, and what follows arrives as events (ChanSpyStart,
which the live board reads for ``supervised_by``).  The spy leg is no customer call: the call
tracker drops it (``CRM_SPY`` in the Originate; see domain/supervise.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callcenter.config import Settings
from callcenter.domain.access import Role
from callcenter.domain.click_to_call import OriginateParams
from callcenter.domain.supervise import SPY_ENDPOINT, SuperviseRequest, operator_call, spy_originate
from callcenter.errors import NoExtension, NotFound, NotOnCall, ServiceUnavailable, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage.database import Database
from callcenter.storage.users import get_user

if TYPE_CHECKING:
    from callcenter.services.telephony import Telephony


@dataclass(frozen=True)
class Supervision:
    action_id: str
    operator_id: int
    mode: str
    call_key: str

    def as_json(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "operator_id": self.operator_id, "mode": self.mode}


class SuperviseService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, telephony: "Telephony"):
        self.db = db
        self.clock = clock
        self.context = settings.supervise_context
        self.telephony = telephony  # its tracker's live calls, and originate (AMI errors -> 503)

    async def start(self, actor: Actor, request: SuperviseRequest, ip: str | None) -> Supervision:
        """Ring ``actor``'s phone and spy on the operator's call in ``request.mode``.

        ValidationFailed (422) for oneself; NoExtension (422) when the supervisor has no
        phone; NotFound (404) when ``operator_id`` is no active operator with a PJSIP phone;
        NotOnCall (409) when that operator talks on no call now; ServiceUnavailable (503) when
        Asterisk is not connected or refused.  Audited ``supervise.<mode>`` once sent."""
        if request.operator_id == actor.user_id:
            raise ValidationFailed.fields({"operator_id": "is invalid"},
                                          "A supervisor cannot listen in on their own calls")
        async with self.db.read() as conn:
            me = await get_user(conn, actor.user_id) if actor.user_id is not None else None
            operator = await get_user(conn, request.operator_id)
        if not me or not me["extension"]:
            raise NoExtension("You have no softphone set: an admin must give you an extension "
                              "such as PJSIP/101", {"fields": {"extension": "not set"}})
        if (operator is None or not operator["active"] or operator["role"] != Role.OPERATOR.value
                or not operator["extension"] or not SPY_ENDPOINT.fullmatch(operator["extension"])):
            raise NotFound.entity("operator", request.operator_id)
        if self.telephony.ami is None:
            raise ServiceUnavailable("No Asterisk is connected (CALLCENTER_AMI_HOST is not set)")
        if not self.telephony.ami.connected:
            # while the link is down the live calls are not the PBX's: say so, not "no call"
            raise ServiceUnavailable("Asterisk is not connected: try again in a moment")
        call = operator_call(self.telephony.tracker.live_calls(), operator["extension"])
        if call is None:
            raise NotOnCall(f"{operator['name']} is not on a call right now",
                            {"operator_id": request.operator_id})
        spy = spy_originate(supervisor_extension=me["extension"], supervisor_id=me["id"],
                            operator_extension=operator["extension"],
                            operator_name=operator["name"], mode=request.mode,
                            context=self.context)
        action_id = await self.telephony.originate(
            OriginateParams(channel=spy.channel, exten=spy.exten, caller_id=spy.caller_id,
                            variables=spy.variables), context=spy.context)
        async with self.db.write() as conn:
            await audit.record(conn, at=self.clock(), action=f"supervise.{request.mode}",
                               user_id=actor.user_id, login=actor.login, ip=ip,
                               entity="user", entity_id=operator["id"],
                               details={"operator_id": operator["id"],
                                        "extension": operator["extension"],
                                        "supervisor_extension": me["extension"],
                                        "call_key": call.key, "action_id": action_id})
        return Supervision(action_id, operator["id"], request.mode, call.key)
