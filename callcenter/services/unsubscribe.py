"""Unsubscribe links: a signed token per (client, mailing), checked without the database.

The token is ``<client id>.<mailing id>.<signature>`` where the signature is an HMAC-SHA256
of both ids under the server's secret key; a forged or altered token fails the constant-time
comparison. Opening the link shows a page; only its POST (the button, or a mail client's
RFC 8058 one-click POST) unsubscribes, since mail scanners open links on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Callable

from callcenter.storage import audit
from callcenter.storage import mailings as repo
from callcenter.storage.database import Database

_TOKEN = re.compile(r"^([1-9][0-9]{0,9})\.([0-9]{1,10})\.([0-9a-f]{32})$")


class UnsubscribeLinks:
    def __init__(self, db: Database, clock: Callable[[], datetime], secret_key: str,
                 public_url: str):
        self.db = db
        self.clock = clock
        self._key = hashlib.sha256(b"unsubscribe:" + secret_key.encode()).digest()
        self.public_url = public_url.rstrip("/")

    def _signature(self, client_id: int, mailing_id: int) -> str:
        return hmac.new(self._key, f"{client_id}:{mailing_id}".encode(),
                        hashlib.sha256).hexdigest()[:32]

    def token(self, client_id: int, mailing_id: int) -> str:
        return f"{client_id}.{mailing_id}.{self._signature(client_id, mailing_id)}"

    def url(self, client_id: int, mailing_id: int) -> str:
        return f"{self.public_url}/u/{self.token(client_id, mailing_id)}"

    def verify(self, token: str) -> tuple[int, int] | None:
        """(client id, mailing id) of a genuine token, else None."""
        match = _TOKEN.match(token or "")
        if not match:
            return None
        client_id, mailing_id = int(match.group(1)), int(match.group(2))
        if not hmac.compare_digest(match.group(3), self._signature(client_id, mailing_id)):
            return None
        return client_id, mailing_id

    async def unsubscribe(self, token: str, ip: str | None) -> bool:
        """Opt the token's client out of mailings (idempotent); their mailing messages still
        queued are skipped. False for a bad token; the caller answers the same either way."""
        ids = self.verify(token)
        if ids is None:
            return False
        client_id, mailing_id = ids
        now = self.clock()
        async with self.db.write() as conn:
            if await repo.unsubscribe(conn, client_id, now):
                skipped = await repo.skip_client_mailings(conn, client_id, now)
                await audit.record(conn, at=now, action="client.unsubscribe", user_id=None,
                                   login="unsubscribe-link", ip=ip, entity="client",
                                   entity_id=client_id,
                                   details={"mailing_id": mailing_id, "skipped": skipped})
        return True
