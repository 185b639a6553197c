"""The message sender: sends every queued message (any kind) by e-mail or SMS.

A worker loop claims due rows (storage.message_queue.claim_due: status "sending" with a lease,
so two processes never send the same row) and sends up to CALLCENTER_MESSAGE_WORKERS at once.
At send time it checks again: a do-not-contact client (any kind), an unsubscribed one (kind
"mailing") → "skipped"; an SMS outside CALLCENTER_SMS_HOURS in the client's own zone → back
to the queue for the next opening. Success → "sent" (``sent_at``, ``provider_id``); a failure
→ tried again on domain.notification_events' backoff (1 min … 12 h), then "failed".

Sent twice? A row marked "sent" is never sent again. The one doubtful case is a process that
died between handing a message over and storing "sent": its lease runs out and the row is
claimed again with ``interrupted``. E-mail is then sent again (at-least-once) with the same
deterministic ``Message-ID`` (from the dedupe key), so mail programs show one letter; an SMS
through a gateway that drops repeats of our id (the JSON gateway) is sent again likewise, and
one through a gateway that does not (SMS.ru) is marked "failed" with the reason instead
(at-most-once): a staff member can send it again from the card.

Every network call has a timeout and runs on the event loop without blocking it; attachment
files are read in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any, Callable

import aiohttp
import aiosmtplib

from callcenter.domain.client_zone import resolve_client_zone
from callcenter.domain.notification_events import next_attempt, next_sms_time, parse_sms_hours
from callcenter.services.context import Clock
from callcenter.services.sms import SmsError, SmsGateway, build_gateway
from callcenter.storage import message_queue as repo
from callcenter.storage.database import Database

log = logging.getLogger("callcenter.messages")

NOT_CONFIGURED_WAIT = timedelta(minutes=10)
RESERVED_HEADERS = frozenset({"from", "to", "subject", "message-id", "date", "content-type",
                              "content-transfer-encoding", "mime-version", "bcc", "cc"})


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def message_id_for(dedupe_key: str, from_address: str) -> str:
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "callcenter.local"
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{domain}>"


def attachment_path(documents_dir: Path, name: str) -> Path | None:
    """``name`` under ``documents_dir``, or None for anything leading out of it."""
    if not name or "\x00" in name or Path(name).is_absolute():
        return None
    root = documents_dir.resolve()
    path = (root / name).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def build_email(message: dict[str, Any], settings: Any, documents_dir: Path) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from or "callcenter@localhost"
    mail["To"] = message["to_address"]
    mail["Subject"] = message["subject"] or ""
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id_for(message["dedupe_key"], mail["From"])
    for name, value in (message.get("headers") or {}).items():
        if (not isinstance(name, str) or not isinstance(value, str)
                or name.lower() in RESERVED_HEADERS or any(c in name + value for c in "\r\n")):
            continue
        mail[name] = value
    mail.set_content(message["body"])
    if message.get("html"):
        mail.add_alternative(message["html"], subtype="html")
    for item in message.get("attachments") or []:
        path = attachment_path(documents_dir, str(item.get("path") or ""))
        if path is None:
            raise SendError(f"attachment {item.get('path')!r} is not in the documents folder",
                            permanent=True)
        kind = item.get("type") or mimetypes.guess_type(path.name)[0] or \
            "application/octet-stream"
        main, _, sub = kind.partition("/")
        mail.add_attachment(path.read_bytes(), maintype=main, subtype=sub or "octet-stream",
                            filename=str(item.get("name") or path.name))
    return mail


class MessageSender:
    def __init__(self, db: Database, clock: Clock, settings: Any, *,
                 gateway: SmsGateway | None = None, lease_seconds: float = 300.0,
                 poll_seconds: float = 15.0, smtp_timeout: float = 20.0):
        self.db = db
        self.clock = clock
        self.settings = settings
        self.workers = max(1, int(getattr(settings, "message_workers", 2)))
        self.documents_dir = Path(getattr(settings, "documents_dir", "var/documents"))
        self.sms_hours = parse_sms_hours(getattr(settings, "sms_hours", "09:00-21:00"))
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.smtp_timeout = smtp_timeout
        self.gateway = gateway
        self.periodic: list[Callable[[], Any]] = []   # e.g. parcel reminders, each round
        self._session: aiohttp.ClientSession | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        if self.gateway is None and getattr(self.settings, "sms_provider", ""):
            self._session = aiohttp.ClientSession()
            self.gateway = build_gateway(self.settings, self._session)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="message-sender")

    async def stop(self, timeout: float = 15.0) -> None:
        """Stop claiming; sends under way may finish within ``timeout`` (their rows are
        stored), then the loop is cancelled (an unfinished row's lease runs out)."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait([task], timeout=timeout)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        last_periodic = None
        while not self._stopping:
            # cleared before the round, so a wake-up during it is not lost
            self._wake.clear()
            try:
                now = self.clock()
                if last_periodic is None or now - last_periodic > timedelta(minutes=10):
                    last_periodic = now
                    for job in self.periodic:
                        try:
                            await job()
                        except Exception:   # a failing job must not stop the sending
                            log.exception("periodic message job failed")
                count = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("message sending round failed; trying again")
                count = 0
            if count >= self.workers:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def send_due(self) -> int:
        """Claim up to ``workers`` due rows and send them concurrently; returns how many."""
        async with self.db.write() as conn:
            batch = await repo.claim_due(conn, self.clock(), limit=self.workers,
                                         lease=self.lease)
        if batch:
            await asyncio.gather(*(self._one(m) for m in batch))
        return len(batch)

    async def _one(self, message: dict[str, Any]) -> None:
        try:
            outcome = await self._attempt(message)
        except Exception as exc:  # a bug must not leave the row "sending" for the lease
            log.exception("message %s failed unexpectedly", message["id"])
            outcome = ("retry", f"{type(exc).__name__}: {exc}")
        now = self.clock()
        async with self.db.write() as conn:
            kind, value = outcome
            if kind == "sent":
                await repo.mark_sent(conn, message["id"], now, value)
                self.sent += 1
            elif kind == "skipped":
                await repo.mark_skipped(conn, message["id"], now, value)
            elif kind == "later":
                await repo.mark_later(conn, message["id"], now, value[0], value[1])
            elif kind == "failed":
                await repo.mark_failed(conn, message["id"], now, value)
            else:
                at = next_attempt(now, message["attempts"])
                if at is None:
                    await repo.mark_failed(conn, message["id"], now, value)
                else:
                    await repo.mark_retry(conn, message["id"], now, at, value)

    async def _attempt(self, message: dict[str, Any]) -> tuple[str, Any]:
        now = self.clock()
        async with self.db.read() as conn:
            client = await repo.recipient(conn, message["client_id"])
        if client is not None and client["do_not_call"]:
            return "skipped", "do not contact"
        if message["kind"] == "mailing" and client is not None and client.get("unsubscribed_at"):
            return "skipped", "unsubscribed from mailings"
        if not message["to_address"]:
            return "skipped", "no address"
        if message["channel"] == "sms":
            return await self._sms(message, client, now)
        return await self._email(message, now)

    async def _email(self, message: dict[str, Any], now) -> tuple[str, Any]:
        s = self.settings
        if not s.smtp_host:
            return "later", (now + NOT_CONFIGURED_WAIT, "e-mail is not configured (SMTP host)")
        try:
            mail = await asyncio.to_thread(build_email, message, s, self.documents_dir)
        except SendError as exc:
            return "failed", str(exc)
        try:
            await aiosmtplib.send(
                mail, hostname=s.smtp_host, port=int(s.smtp_port),
                username=s.smtp_username or None, password=s.smtp_password or None,
                use_tls=s.smtp_tls == "tls", start_tls=True if s.smtp_tls == "starttls" else False,
                timeout=self.smtp_timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return "failed", f"recipient refused: {exc}"[:500]
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            return "retry", f"{type(exc).__name__}: {exc}"[:500]
        return "sent", mail["Message-ID"]

    async def _sms(self, message: dict[str, Any], client, now) -> tuple[str, Any]:
        if self.gateway is None:
            return "later", (now + NOT_CONFIGURED_WAIT, "SMS is not configured (gateway)")
        if message.get("interrupted") and not self.gateway.idempotent:
            return "failed", "interrupted while sending; not sent again (it may have gone out)"
        zone = resolve_client_zone(
            (client or {}).get("timezone"), (client or {}).get("city"),
            (client or {}).get("region"), message["to_address"],
            fallback=(self.settings.timezone,)).zones[0]
        opening = next_sms_time(now, zone, self.sms_hours)
        if opening > now:
            return "later", (opening, f"outside SMS hours in {zone}")
        try:
            provider_id = await self.gateway.send(message["to_address"], message["body"],
                                                  message["dedupe_key"])
        except SmsError as exc:
            return ("failed" if exc.permanent else "retry"), str(exc)[:500]
        return "sent", provider_id
