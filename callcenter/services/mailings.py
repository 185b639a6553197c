"""Segments and mailings: saved audiences, their live count, composing, test sends, starting
(one queued message per recipient), cancelling and the report.

Starting a mailing queues its messages in batches, each in its own short transaction, so a
100,000-recipient mailing never holds SQLite's write lock for long; the dedupe key
``mailing:<id>:<client id>`` makes a start that was interrupted safe to run again. Messages
are spaced by the mailing's rate (``next_attempt_at``); the message sender sends them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from callcenter.domain.clients import FieldErrors
from callcenter.domain.placeholders import render, unknown_names
from callcenter.domain.segments import compile_bounds, validate_filter
from callcenter.errors import Conflict, NotFound, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.services.unsubscribe import UnsubscribeLinks
from callcenter.storage import audit
from callcenter.storage import mailings as repo
from callcenter.storage import orders as orders_repo
from callcenter.storage import segments as segments_repo
from callcenter.storage.database import Database
from callcenter.storage.messages import queue_message

CHANNELS = ("email", "sms")
PLACEHOLDERS = frozenset({"client_name", "first_name", "city", "shop_name", "unsubscribe_url"})
BATCH = 200  # rows per write transaction: a short hold of the SQLite write lock
MAX_BODY = 20_000


def _fields(exc: FieldErrors, prefix: str = "") -> ValidationFailed:
    return ValidationFailed.fields({prefix + k: v for k, v in exc.fields.items()})


def segment_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "filter": row["filter"],
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat()}


def mailing_json(row: Mapping[str, Any], counts: Mapping[str, int] | None = None) -> dict:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": row["id"], "name": row["name"], "segment_id": row["segment_id"],
            "filter": row["filter"], "channel": row["channel"], "shop_id": row["shop_id"],
            "subject": row["subject"], "body": row["body"], "status": row["status"],
            "rate_per_minute": row["rate_per_minute"],
            # -1 while a start is still queueing its messages
            "recipients": row["recipients"] if row["recipients"] >= 0 else None,
            "created_at": iso(row["created_at"]), "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]), "counts": dict(counts or {})}


class MailingService:
    def __init__(self, db: Database, clock: Clock, *, links: UnsubscribeLinks,
                 timezone: str, rate_per_minute: int):
        self.db = db
        self.clock = clock
        self.links = links
        self.zone = ZoneInfo(timezone)
        self.rate_per_minute = rate_per_minute
        self.on_queued: list = []  # callbacks after messages were queued (wake the sender)

    def _bounds(self, flt: Mapping[str, Any]):
        now = self.clock()
        return compile_bounds(flt, now.astimezone(self.zone).date(), now)

    # segments

    @staticmethod
    def _filter(raw: Any) -> dict[str, Any]:
        try:
            return validate_filter(raw)
        except FieldErrors as exc:
            raise _fields(exc, "filter.") from None

    @staticmethod
    def _name(data: Mapping[str, Any]) -> str:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            raise ValidationFailed.fields({"name": "is required (up to 200 characters)"})
        return name.strip()

    async def count(self, raw_filter: Any) -> int:
        flt = self._filter(raw_filter)
        async with self.db.read() as conn:
            return await segments_repo.count_segment(conn, flt, self._bounds(flt))

    async def list_segments(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return [segment_json(r) for r in await segments_repo.list_segments(conn)]

    async def get_segment(self, segment_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await segments_repo.get_segment(conn, segment_id)
        if row is None:
            raise NotFound.entity("segment", segment_id)
        return segment_json(row)

    async def create_segment(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        name, flt, now = self._name(data), self._filter(data.get("filter")), self.clock()
        async with self.db.write() as conn:
            segment_id = await segments_repo.insert_segment(conn, {
                "name": name, "filter": flt, "created_by": actor.user_id, "created_at": now,
                "updated_at": now})
            await self._audit(conn, actor, "segment.create", "segment", segment_id,
                              {"name": name, "filter": flt})
        return await self.get_segment(segment_id)

    async def update_segment(self, actor: Actor, segment_id: int,
                             data: Mapping[str, Any]) -> dict[str, Any]:
        await self.get_segment(segment_id)
        values: dict[str, Any] = {"updated_at": self.clock()}
        if "name" in data:
            values["name"] = self._name(data)
        if "filter" in data:
            values["filter"] = self._filter(data.get("filter"))
        async with self.db.write() as conn:
            await segments_repo.update_segment(conn, segment_id, values)
            await self._audit(conn, actor, "segment.update", "segment", segment_id,
                              {k: v for k, v in values.items() if k != "updated_at"})
        return await self.get_segment(segment_id)

    async def delete_segment(self, actor: Actor, segment_id: int) -> None:
        await self.get_segment(segment_id)
        async with self.db.write() as conn:
            await segments_repo.delete_segment(conn, segment_id)
            await self._audit(conn, actor, "segment.delete", "segment", segment_id, {})

    # mailings

    async def list_mailings(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await repo.list_mailings(conn)
            counts = await repo.status_counts(conn, [r["id"] for r in rows])
        return [mailing_json(r, counts.get(r["id"])) for r in rows]

    async def get(self, mailing_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await repo.get_mailing(conn, mailing_id)
            if row is None:
                raise NotFound.entity("mailing", mailing_id)
            counts = await repo.status_counts(conn, [mailing_id])
        return mailing_json(row, counts[mailing_id])

    async def _composed(self, data: Mapping[str, Any], old: Mapping[str, Any] | None):
        """The mailing's fields from a create / edit request, checked."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        if old is None or "name" in data:
            try:
                values["name"] = self._name(data)
            except ValidationFailed as exc:
                errors.update(exc.details["fields"])
        if old is None or "channel" in data:
            channel = data.get("channel", "email")
            if channel not in CHANNELS:
                errors["channel"] = "must be one of: email, sms"
            values["channel"] = channel
        for key, limit in (("subject", 300), ("body", MAX_BODY)):
            if key in data or old is None:
                text = data.get(key)
                text = "" if text is None else text
                if not isinstance(text, str):
                    errors[key] = "must be text or null"
                    continue
                if len(text) > limit:
                    errors[key] = f"is longer than {limit} characters"
                    continue
                unknown = unknown_names(text, PLACEHOLDERS)
                if unknown:
                    errors[key] = f"{unknown[0]!r} is not a known placeholder"
                values[key] = text
        if "filter" in data or old is None:
            try:
                values["filter"] = validate_filter(data.get("filter"))
            except FieldErrors as exc:
                errors.update({"filter." + k: v for k, v in exc.fields.items()})
        for key in ("segment_id", "shop_id"):
            if key in data:
                value = data[key]
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                          or value < 1):
                    errors[key] = "must be a positive integer id"
                values[key] = value
        if "rate_per_minute" in data or old is None:
            rate = data.get("rate_per_minute")
            rate = self.rate_per_minute if rate is None else rate
            if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 100_000:
                errors["rate_per_minute"] = "a whole number from 1 to 100000"
            values["rate_per_minute"] = rate
        if errors:
            raise ValidationFailed.fields(errors)
        return values

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        values = await self._composed(data, None)
        now = self.clock()
        async with self.db.write() as conn:
            await self._check_refs(conn, values)
            mailing_id = await repo.insert_mailing(conn, dict(
                values, status="draft", created_by=actor.user_id, created_at=now,
                updated_at=now))
            await self._audit(conn, actor, "mailing.create", "mailing", mailing_id,
                              {"name": values["name"], "channel": values["channel"]})
        return await self.get(mailing_id)

    async def update(self, actor: Actor, mailing_id: int,
                     data: Mapping[str, Any]) -> dict[str, Any]:
        old = await self.get(mailing_id)
        if old["status"] != "draft":
            raise Conflict("Only a draft mailing can be edited")
        values = await self._composed(data, old)
        async with self.db.write() as conn:
            await self._check_refs(conn, values)
            if not await repo.update_mailing(conn, mailing_id,
                                             dict(values, updated_at=self.clock()),
                                             only_status="draft"):
                raise Conflict("Only a draft mailing can be edited")
            await self._audit(conn, actor, "mailing.update", "mailing", mailing_id,
                              {k: v for k, v in values.items() if k != "body"})
        return await self.get(mailing_id)

    @staticmethod
    async def _check_refs(conn, values: Mapping[str, Any]) -> None:
        if values.get("segment_id") is not None and \
                await segments_repo.get_segment(conn, values["segment_id"]) is None:
            raise ValidationFailed.fields({"segment_id": f"no segment {values['segment_id']}"})
        if values.get("shop_id") is not None and \
                await orders_repo.get_shop(conn, shop_id=values["shop_id"]) is None:
            raise ValidationFailed.fields({"shop_id": f"no shop {values['shop_id']}"})

    def _context(self, recipient: Mapping[str, Any], mailing: Mapping[str, Any],
                 shop_name: str) -> dict[str, Any]:
        name = recipient.get("name") or ""
        return {"client_name": name, "first_name": name.split()[0] if name.split() else "",
                "city": recipient.get("city") or "", "shop_name": shop_name,
                "unsubscribe_url": self.links.url(recipient["id"], mailing["id"])}

    async def _effective_filter(self, conn, mailing: Mapping[str, Any]) -> dict[str, Any]:
        flt = dict(mailing["filter"] or {})
        if mailing["segment_id"] is not None:
            segment = await segments_repo.get_segment(conn, mailing["segment_id"])
            if segment is not None:
                flt = dict(segment["filter"])
        if mailing["shop_id"] is not None:
            flt.setdefault("shop_id", mailing["shop_id"])
        return flt

    async def _shop_name(self, conn, shop_id: int | None) -> str:
        shop = await orders_repo.get_shop(conn, shop_id=shop_id) if shop_id else None
        return shop["name"] if shop else ""

    async def preview(self, mailing_id: int) -> dict[str, Any]:
        """The mailing as its first recipient would get it, and how many it would go to."""
        mailing = await self.get(mailing_id)
        async with self.db.read() as conn:
            flt = await self._effective_filter(conn, mailing)
            bounds = self._bounds(flt)
            sample = await segments_repo.recipients_page(conn, flt, bounds,
                                                         channel=mailing["channel"],
                                                         after_id=0, limit=1)
            count = await segments_repo.count_recipients(conn, flt, bounds,
                                                         channel=mailing["channel"])
            shop_name = await self._shop_name(conn, mailing["shop_id"])
        recipient = sample[0] if sample else {"id": 0, "name": "Иван Петров", "city": ""}
        context = self._context(recipient, mailing, shop_name)
        return {"count": count, "to": recipient.get("address"),
                "subject": render(mailing["subject"] or "", context),
                "body": render(mailing["body"], context)}

    async def send_test(self, actor: Actor, mailing_id: int, to: Any) -> dict[str, Any]:
        mailing = await self.get(mailing_id)
        if not isinstance(to, str) or not to.strip() or len(to) > 320 or (
                mailing["channel"] == "email" and "@" not in to):
            raise ValidationFailed.fields({"to": "is required"})
        preview = await self.preview(mailing_id)
        now = self.clock()
        async with self.db.write() as conn:
            message_id = await queue_message(
                conn, kind="test", channel=mailing["channel"], to_address=to.strip(),
                subject=("[TEST] " + preview["subject"]) if mailing["channel"] == "email"
                else None, body=preview["body"], now=now, mailing_id=mailing_id,
                shop_id=mailing["shop_id"], created_by=actor.user_id,
                dedupe_key=f"mailing:{mailing_id}:test:{now.timestamp()}:{to.strip()}")
            await self._audit(conn, actor, "mailing.test", "mailing", mailing_id,
                              {"to": to.strip()})
        self._wake()
        return {"message_id": message_id, "to": to.strip()}

    async def start(self, actor: Actor, mailing_id: int) -> dict[str, Any]:
        """Queue one message per recipient; safe to call again if a start was cut short."""
        now = self.clock()
        async with self.db.write() as conn:
            mailing = await _open_mailing(conn, mailing_id)
            if not (mailing["body"] or "").strip():
                raise ValidationFailed.fields({"body": "is required"})
            flt = await self._effective_filter(conn, mailing)
            if mailing["status"] == "draft":
                await repo.update_mailing(conn, mailing_id, {
                    "status": "sending", "filter": flt, "started_at": now, "updated_at": now,
                    "recipients": -1})
                await self._audit(conn, actor, "mailing.start", "mailing", mailing_id,
                                  {"filter": flt})
                mailing.update(status="sending", filter=flt, started_at=now)
            shop_name = await self._shop_name(conn, mailing["shop_id"])
        queued = await self._queue_all(actor, mailing, mailing["filter"], shop_name)
        return dict(await self.get(mailing_id), queued=queued)

    async def _queue_all(self, actor: Actor, mailing: Mapping[str, Any],
                         flt: Mapping[str, Any], shop_name: str) -> int:
        bounds = self._bounds(flt)
        spacing = 60.0 / mailing["rate_per_minute"]
        first_at = mailing["started_at"]
        position, after_id, queued = 0, 0, 0
        while True:
            # the page is read and rendered outside the write lock; the write transaction
            # holds only the insert of one batch
            async with self.db.read() as conn:
                page = await segments_repo.recipients_page(
                    conn, flt, bounds, channel=mailing["channel"], after_id=after_id,
                    limit=BATCH)
            now = self.clock()
            rows = []
            for recipient in page:
                rows.append(self._message_row(actor, mailing, recipient, shop_name, now,
                                              first_at + timedelta(seconds=position * spacing)))
                position += 1
            async with self.db.write() as conn:
                current = await repo.get_mailing(conn, mailing["id"])
                if current["status"] != "sending":
                    break  # cancelled meanwhile
                if not page:
                    await repo.update_mailing(conn, mailing["id"], {"recipients": position})
                    break
                queued += await repo.queue_many(conn, rows)
            after_id = page[-1]["id"]
            self._wake()
        return queued

    def _message_row(self, actor: Actor, mailing: Mapping[str, Any],
                     recipient: Mapping[str, Any], shop_name: str, now: datetime,
                     not_before: datetime) -> dict[str, Any]:
        context = self._context(recipient, mailing, shop_name)
        email = mailing["channel"] == "email"
        url = context["unsubscribe_url"]
        return {
            "kind": "mailing", "channel": mailing["channel"], "event": None,
            "client_id": recipient["id"], "order_id": None, "shop_id": mailing["shop_id"],
            "mailing_id": mailing["id"], "to_address": recipient["address"],
            "subject": render(mailing["subject"] or "", context) if email else None,
            "body": render(mailing["body"], context), "html": None,
            "headers": {"List-Unsubscribe": f"<{url}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"} if email
            else None,
            "attachments": [], "status": "queued",
            "dedupe_key": f"mailing:{mailing['id']}:{recipient['id']}",
            "next_attempt_at": not_before, "last_error": None, "created_by": actor.user_id,
            "created_at": now, "updated_at": now}

    async def cancel(self, actor: Actor, mailing_id: int) -> dict[str, Any]:
        now = self.clock()
        async with self.db.write() as conn:
            mailing = await _open_mailing(conn, mailing_id)
            await repo.update_mailing(conn, mailing_id, {
                "status": "cancelled", "finished_at": now, "updated_at": now})
            skipped = await repo.skip_queued(conn, mailing_id, now)
            await self._audit(conn, actor, "mailing.cancel", "mailing", mailing_id,
                              {"skipped": skipped})
        return await self.get(mailing_id)

    async def report(self, mailing_id: int) -> dict[str, Any]:
        """The mailing with its figures; a sending mailing with nothing left to send is
        marked sent here (and by the background round)."""
        mailing = await self.get(mailing_id)
        if mailing["status"] == "sending":
            await self.finish_done()
            mailing = await self.get(mailing_id)
        counts = mailing["counts"]
        async with self.db.read() as conn:
            unsubscribed = await repo.unsubscribed_after(
                conn, mailing_id, datetime.fromisoformat(mailing["started_at"])) \
                if mailing["started_at"] else 0
        figures = {s: counts.get(s, 0) for s in ("queued", "sending", "sent", "delivered",
                                                 "failed", "skipped")}
        return dict(mailing, figures=dict(figures, total=sum(counts.values()),
                                          unsubscribed=unsubscribed))

    async def finish_done(self) -> int:
        """Mark sent the sending mailings whose messages all left the queue."""
        now = self.clock()
        done = 0
        async with self.db.write() as conn:
            for row in await repo.list_mailings(conn):
                if row["status"] != "sending":
                    continue
                counts = (await repo.status_counts(conn, [row["id"]]))[row["id"]]
                # recipients is -1 while the start is still queueing
                if row["recipients"] >= 0 and not counts.get("queued") \
                        and not counts.get("sending"):
                    done += await repo.update_mailing(conn, row["id"], {
                        "status": "sent", "finished_at": now, "updated_at": now},
                        only_status="sending")
        return done

    def _wake(self) -> None:
        for callback in self.on_queued:
            callback()

    async def _audit(self, conn, actor: Actor, action: str, entity: str, entity_id: int,
                     details: dict[str, Any]) -> None:
        await audit.record(conn, at=self.clock(), action=action, user_id=actor.user_id,
                           login=actor.login, ip=actor.ip, entity=entity,
                           entity_id=entity_id, details=details)


async def _open_mailing(conn, mailing_id: int) -> dict[str, Any]:
    """A mailing that may still be started or cancelled (a draft, or one being sent)."""
    mailing = await repo.get_mailing(conn, mailing_id)
    if mailing is None:
        raise NotFound.entity("mailing", mailing_id)
    if mailing["status"] not in ("draft", "sending"):
        raise Conflict(f"This mailing is {mailing['status']}")
    return mailing
