"""Click-to-call: the client a call is for, then the Originate (callcenter.domain.click_to_call).

``ClickToCallService.place`` is the one call the HTTP handler makes once the request is valid
and allowed: it names the client (the one asked for, else the only client with that number),
builds the Originate and sends it once over AMI. Asterisk's answer is not waited for: the
operator's phone rings, and the outcome arrives as events (OriginateResponse, the call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from callcenter.domain.click_to_call import (
    ClickToCall, OriginateParams, originate_params, refusal,
)
from callcenter.errors import DoNotCall
from callcenter.services.context import Clock, utc_now
from callcenter.storage import audit
from callcenter.storage import clients as clients_repo
from callcenter.storage.database import Database


@dataclass(frozen=True)
class PlacedCall:
    action_id: str
    number: str  # E.164 (or the internal number) actually dialled
    params: OriginateParams


class ClickToCallService:
    def __init__(self, db: Database, send: Callable[[OriginateParams], Awaitable[str]],
                 *, shop_cid: str = ""):
        self.db = db
        self.send = send  # Telephony.originate: AMI errors become ServiceUnavailable there
        self.shop_cid = shop_cid
        self.clock: Clock = utc_now  # create_app gives it the app's clock

    async def _clients(self, request: ClickToCall) -> tuple[dict | None, list[dict]]:
        """The client the call is for (the one asked for, or the only one with that number)
        and every client of the request (that one and the number's holders)."""
        async with self.db.read() as conn:
            held = sorted({cid for cid, _ in await clients_repo.client_ids_by_phone(
                conn, [request.number.e164])}) if request.number.e164 else []
            client_id = request.client_id
            if client_id is None and len(held) == 1:
                client_id = held[0]
            ids = sorted({*held, *([client_id] if client_id is not None else [])})
            rows = await clients_repo.get_clients(conn, ids)
        return next((r for r in rows if r["id"] == client_id), None), rows

    async def client_name(self, request: ClickToCall) -> str | None:
        """The name the operator's phone shows: the client asked for, or the only one with that
        number; None when the number is nobody's (or several clients')."""
        client, _ = await self._clients(request)
        return client["name"] if client else None

    async def place(self, request: ClickToCall) -> PlacedCall:
        """Send the Originate; DoNotCall (nothing sent, the refusal audited) when the client
        asked for, or any client holding the number, is not to be called."""
        client, everyone = await self._clients(request)
        refused = refusal(request, everyone)
        if refused is not None:
            async with self.db.write() as conn:
                await audit.record(conn, at=self.clock(), action="call.refused",
                                   user_id=request.user_id, login=None, ip=None,
                                   entity="client", entity_id=refused["client_id"],
                                   details=refused)
            raise DoNotCall("This client asked not to be called (do not call): the call was "
                            "not placed", refused)
        params = originate_params(request, client_name=client["name"] if client else None,
                                  shop_cid=self.shop_cid)
        action_id = await self.send(params)
        return PlacedCall(action_id, params.variables["CRM_NUMBER"], params)
