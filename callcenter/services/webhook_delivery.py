"""The webhook sender: POSTs due deliveries, with bounded concurrency, and schedules retries.

A worker loop claims due ``webhook_deliveries`` rows with a lease (storage.webhooks.claim_due:
FOR UPDATE SKIP LOCKED on PostgreSQL and a conditional UPDATE per row, so several processes
never send one row; a lease left by a process that died runs out and the row is taken up
again) and sends each on one shared aiohttp ClientSession, at most
``CALLCENTER_WEBHOOK_WORKERS`` at a time, each within ``CALLCENTER_WEBHOOK_TIMEOUT_SECONDS``.
Redirects are not followed and at most ``RESPONSE_BYTES`` of an answer are read. Host names
are resolved by :class:`CheckedResolver`, which refuses private, loopback and link-local
addresses unless ``CALLCENTER_WEBHOOK_ALLOW_PRIVATE`` (so a name that re-points to an inner
address after registration -- DNS rebinding -- is refused at delivery time too).

A 2xx answer is ``delivered``; anything else is tried again on the schedule of
domain.webhooks.BACKOFF and ``failed`` once it is over. Delivery is at least once: a row whose
sending was cut short by a stop is sent again, with the same body and delivery id.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from callcenter.domain import webhooks as rules
from callcenter.services.context import Clock
from callcenter.storage import webhooks as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.webhooks")

RESPONSE_BYTES = 2000
IDLE_SECONDS = 5.0
KEEP_LOG = timedelta(days=30)  # delivered and given-up deliveries are kept this long


class AddressRefused(OSError):
    """The webhook's host resolves only to addresses it may not reach."""


class CheckedResolver(AbstractResolver):
    """Resolves as aiohttp does, then drops the addresses a webhook may not reach."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if self.allow_private:
            return found
        allowed = [r for r in found if not rules.address_refused(r["host"])]
        if not allowed:
            raise AddressRefused(f"{host} resolves to a private address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class WebhookSender:
    def __init__(self, db: Database, clock: Clock, *, workers: int, timeout_seconds: float,
                 allow_private: bool):
        self.db = db
        self.clock = clock
        self.workers = max(1, workers)
        self.timeout_seconds = timeout_seconds
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._inflight: dict[int, asyncio.Task] = {}
        self._cut: set[int] = set()  # rows whose sending stop() cut short
        self._stopping = False
        self.sent = 0  # attempts made, for tests and the bench

    def wake(self) -> None:
        self._wake.set()

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.timeout_seconds + 30)

    async def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.allow_private),
                                             limit=self.workers, ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                headers={"User-Agent": "callcenter"})
        return self._session

    async def start(self) -> None:
        self._stopping = False  # the HTTP session is opened at the first delivery
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-sender")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop taking rows; wait ``grace_seconds`` for the ones being sent, then cut them
        short and hand their rows back (sent again at the next start)."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()), timeout=grace_seconds)
        cut = list(self._inflight)
        self._cut.update(cut)
        for pending in self._inflight.values():
            pending.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        self._inflight.clear()
        self._cut.clear()
        if cut:
            try:
                async with self.db.write() as conn:
                    for delivery_id in cut:
                        await repo.finish_attempt(conn, delivery_id, {"status": repo.PENDING})
            except Exception:
                log.exception("could not hand back %d webhook deliveries; their leases run out",
                              len(cut))
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_once(self) -> int:
        """Send every due delivery now and wait for the answers (tests, the bench): returns
        how many attempts were made."""
        made = 0
        while True:
            claimed = await self._claim(self.workers)
            if not claimed:
                return made
            await asyncio.gather(*(self._deliver(row) for row in claimed))
            made += len(claimed)

    async def _claim(self, limit: int) -> list[dict[str, Any]]:
        now = self.clock()
        async with self.db.write() as conn:
            return await repo.claim_due(conn, now, now + self._lease(), limit)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        purged_at = None
        while not self._stopping:
            if purged_at is None or self.clock() - purged_at > timedelta(hours=1):
                purged_at = self.clock()
                await self._purge(purged_at)
            claimed = []
            self._wake.clear()  # before the claim: a wake while claiming is not lost
            try:
                free = self.workers - len(self._inflight)
                if free > 0:
                    claimed = await self._claim(free)
                    for row in claimed:
                        self._inflight[row["id"]] = loop.create_task(self._tracked(row))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("claiming webhook deliveries failed; trying again")
            if claimed and len(self._inflight) < self.workers:
                continue  # there may be more due
            waits = [loop.create_task(self._wake.wait())]
            waits += list(self._inflight.values())
            try:
                await asyncio.wait(waits, timeout=await self._idle_seconds(),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                waits[0].cancel()

    async def _purge(self, now) -> None:
        try:
            async with self.db.write() as conn:
                await repo.purge_finished(conn, now - KEEP_LOG)
        except Exception:
            log.exception("forgetting old webhook deliveries failed")

    async def _idle_seconds(self) -> float:
        try:
            async with self.db.read() as conn:
                due = await repo.next_due_at(conn)
        except Exception:
            return IDLE_SECONDS
        if due is None:
            return IDLE_SECONDS
        return min(IDLE_SECONDS, max(0.05, (due - self.clock()).total_seconds()))

    async def _tracked(self, row: dict[str, Any]) -> None:
        try:
            await self._deliver(row)
        finally:
            self._inflight.pop(row["id"], None)
            self._wake.set()

    async def _post(self, row: dict[str, Any]) -> tuple[int | None, str | None, str | None]:
        """(status, response text, error) of one attempt; never raises but when cancelled."""
        host = urlsplit(row["url"]).hostname or ""
        if not self.allow_private and rules.host_refused(host):
            return None, None, "address refused: private, loopback or link-local"
        body = row["body"].encode()
        headers = {"Content-Type": "application/json",
                   "X-Callcenter-Event": row["event_type"],
                   "X-Callcenter-Delivery": str(row["id"]),
                   rules.SIGNATURE_HEADER: rules.sign(body, row["secret"],
                                                      int(self.clock().timestamp()))}
        session = await self._open()
        try:
            async with session.post(row["url"], data=body, headers=headers,
                                    allow_redirects=False) as resp:
                text = (await resp.content.read(RESPONSE_BYTES)).decode("utf-8", "replace")
                return resp.status, text, None
        except asyncio.TimeoutError:
            return None, None, f"no answer within {self.timeout_seconds:g} s"
        except AddressRefused as exc:
            return None, None, f"address refused: {exc}"
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, AddressRefused):
                return None, None, f"address refused: {exc.os_error}"
            return None, None, f"cannot connect: {exc.os_error or exc}"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return None, None, f"{type(exc).__name__}: {exc}"

    async def _deliver(self, row: dict[str, Any]) -> None:
        started = time.monotonic()
        status, text, error = await self._post(row)
        if row["id"] in self._cut:
            return  # stop() hands the row back (aiohttp may turn the cancel into a timeout)
        took = round((time.monotonic() - started) * 1000)
        self.sent += 1
        now = self.clock()
        attempts = row["attempts"] + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status,
                                  "last_response": text, "last_error": error,
                                  "duration_ms": took}
        if rules.delivery_outcome(status) == "delivered":
            values.update(status=repo.DELIVERED, delivered_at=now)
        else:
            if error is None:
                values["last_error"] = f"answered {status}"
            retry_at = rules.next_attempt(attempts, now)
            values.update(status=repo.PENDING if retry_at else repo.FAILED,
                          next_attempt_at=retry_at or now)
        if values["last_error"]:
            values["last_error"] = values["last_error"][:500]
        try:
            async with self.db.write() as conn:
                await repo.finish_attempt(conn, row["id"], values)
                await repo.set_failing(conn, row["webhook_id"],
                                       None if values["status"] == repo.DELIVERED else now)
        except Exception:
            log.exception("webhook delivery %s: the result could not be stored", row["id"])
        if values["status"] == repo.FAILED:
            log.warning("webhook delivery %s to %s given up after %d attempts: %s",
                        row["id"], row["url"], attempts, values["last_error"])
