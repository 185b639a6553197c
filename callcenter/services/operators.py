"""``OperatorDirectory``: softphone endpoint -> user, in memory for the screen-pop hot path.

Users change in three ways, and the directory follows each:

* through this server (the admin's API): :class:`~callcenter.services.accounts.AccountService`
  calls :meth:`OperatorDirectory.refresh` after every change;
* through another process writing the same database (``callcenter user add`` on the command
  line, a second server on one PostgreSQL): :meth:`OperatorDirectory.watch` compares the users
  table's fingerprint (count, highest id, latest ``updated_at``: one aggregate query) every
  ``check_seconds`` and reloads when it moved;
* a phone nobody is known for rings (the user was added a moment ago, before the next
  check): :meth:`OperatorDirectory.user_for_ringing` checks at once, at most once per
  ``unknown_check_seconds``, so that a burst of calls to such phones costs a query per second,
  not one per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from callcenter.storage import users as users_repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.calls")


class OperatorDirectory:
    """Active users by their softphone endpoint (``PJSIP/101``); see the module docstring."""

    def __init__(self, db: Database, *, check_seconds: float = 5.0,
                 unknown_check_seconds: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self.unknown_check_seconds = unknown_check_seconds
        self._monotonic = monotonic
        self._by_endpoint: dict[str, dict[str, Any]] = {}
        self._version: tuple[Any, ...] | None = None
        self._last_unknown_check = float("-inf")
        self.reloads = 0

    async def refresh(self) -> None:
        """Reload every user (after a change made through this server)."""
        async with self.db.read() as conn:
            version = await users_repo.users_version(conn)
            users = await users_repo.list_users(conn)
        self._by_endpoint = {u["extension"]: u for u in users if u["extension"] and u["active"]}
        self._version = version
        self.reloads += 1

    async def check(self) -> bool:
        """Reload if the users table changed since the last load; True when it did."""
        async with self.db.read() as conn:
            version = await users_repo.users_version(conn)
        if version == self._version:
            return False
        await self.refresh()
        return True

    async def watch(self) -> None:
        """Check every ``check_seconds`` until cancelled; a failed check is retried next time."""
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not check the users for changes", exc_info=True)

    async def user_for_ringing(self, endpoint: str | None) -> dict[str, Any] | None:
        """The user of a phone that rings; an unknown phone triggers a (rate-limited) check."""
        user = self.user(endpoint)
        if user is not None or not endpoint:
            return user
        now = self._monotonic()
        if now - self._last_unknown_check >= self.unknown_check_seconds:
            self._last_unknown_check = now
            try:
                await self.check()
            except Exception:
                log.warning("could not check the users for %s", endpoint, exc_info=True)
        return self.user(endpoint)

    def is_operator(self, endpoint: str) -> bool:
        return endpoint in self._by_endpoint

    def user(self, endpoint: str | None) -> dict[str, Any] | None:
        return self._by_endpoint.get(endpoint) if endpoint else None

    def user_ids(self, endpoints: Iterable[str]) -> list[int]:
        return [u["id"] for u in (self._by_endpoint.get(e) for e in endpoints) if u]
