"""Click-to-call: the client a call is for, then the Originate (callcenter.domain.click_to_call).

``ClickToCallService.place`` is the one call the HTTP handler makes once the request is valid
and allowed: it names the client (the one asked for, else the only client with that number),
builds the Originate and sends it once over AMI. Asterisk's answer is not waited for: the
operator's phone rings, and the outcome arrives as events (OriginateResponse, the call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from callcenter.domain.click_to_call import ClickToCall, OriginateParams, originate_params
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

    async def client_name(self, request: ClickToCall) -> str | None:
        """The name the operator's phone shows: the client asked for, or the only one with that
        number; None when the number is nobody's (or several clients')."""
        async with self.db.read() as conn:
            client_id = request.client_id
            if client_id is None and request.number.e164:
                ids = {cid for cid, _ in await clients_repo.client_ids_by_phone(
                    conn, [request.number.e164])}
                client_id = ids.pop() if len(ids) == 1 else None
            if client_id is None:
                return None
            row = await clients_repo.get_client(conn, client_id)
        return row["name"] if row else None

    async def place(self, request: ClickToCall) -> PlacedCall:
        params = originate_params(request, client_name=await self.client_name(request),
                                  shop_cid=self.shop_cid)
        action_id = await self.send(params)
        return PlacedCall(action_id, params.variables["CRM_NUMBER"], params)
