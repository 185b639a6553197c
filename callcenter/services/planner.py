"""The operator's planner: quick date/time entry read in the client's zone, and how many tasks
the operator already has in each hour of a day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.domain.access import Role
from callcenter.domain.calling_hours import CallingHours
from callcenter.domain.client_zone import ClientZone, is_time_zone, resolve_client_zone
from callcenter.domain.quick_time import QuickTimeError, local_to_utc, parse_quick_time
from callcenter.domain.redial import NoCallingWindow, Window, window_for
from callcenter.errors import BadRequest, Forbidden, NotFound, UnreadableTime
from callcenter.services.context import Actor, Clock
from callcenter.storage import planner as repo
from callcenter.storage import users as users_repo
from callcenter.storage.database import Database


def parse_zone(name: str | None, param: str, default: str) -> tuple[str, ZoneInfo]:
    """An IANA zone from a query parameter (``default`` when it is empty); BadRequest naming
    the parameter when it is not a zone."""
    name = (name or "").strip() or default
    if not is_time_zone(name):  # only names of the zone database, never a path to probe
        message = f"{name[:64]!r} is not an IANA time zone (e.g. Europe/Moscow)"
        raise BadRequest(f"Query parameter {param}: {message}",
                         {"param": param, "fields": {param: message}})
    return name, ZoneInfo(name)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class PlannerService:
    def __init__(self, db: Database, clock: Clock, clients: Any, *, hours: CallingHours,
                 shop_timezone: str):
        self.db = db
        self.clock = clock
        self.clients = clients
        self.hours = hours
        self.shop_timezone = shop_timezone

    async def client_zone(self, actor: Actor, client_id: int) -> ClientZone:
        """Where the client lives (NotFound unless ``actor`` may see the client)."""
        await self.clients.check_access(actor, client_id)
        async with self.db.read() as conn:
            place = await repo.client_place(conn, client_id)
        if place is None:
            raise NotFound.entity("client", client_id)
        return resolve_client_zone(place["timezone"], place["city"], place["region"],
                                   place["e164"], fallback=(self.shop_timezone,))

    async def parse(self, actor: Actor, text: str | None, client_id: int | None,
                    operator_tz: str | None) -> dict[str, Any]:
        """What ``text`` means for a call to the client: the instant, the client's and the
        operator's wall clock, and whether the client may be called then (else the next
        opening of the calling window). The text is read in the client's zone; when that is
        unknown, in the shop's zone, and the candidates are named. Without a client it is read
        in the operator's zone and the client fields are null."""
        operator_zone_name, operator_zone = parse_zone(operator_tz, "tz", self.shop_timezone)
        client = await self.client_zone(actor, client_id) if client_id is not None else None
        # "unknown" is the shop's zone assumed: one zone, but not the client's known one
        known = client is not None and client.known and client.source != "unknown"
        if client is None:
            zone_name, zone = operator_zone_name, operator_zone
        elif known:
            zone_name = client.zones[0]
            zone = ZoneInfo(zone_name)
        else:
            zone_name, zone = self.shop_timezone, ZoneInfo(self.shop_timezone)
        try:
            at = parse_quick_time(text or "", self.clock(), zone)
        except QuickTimeError as exc:
            raise UnreadableTime(f"Cannot read the time {str(text or '')[:100]!r}: "
                                 f"{exc.message}", {"reason": exc.reason}) from None
        result: dict[str, Any] = {
            "text": text, "at": _iso(at),
            "client_local": None, "client_zone": None, "client_zone_known": False,
            "client_zone_source": None, "client_zone_candidates": [],
            "operator_local": _iso(at.astimezone(operator_zone)),
            "operator_zone": operator_zone_name,
            "in_window": None, "next_opening": None, "window_closes_at": None,
        }
        if client is None:
            return result
        try:
            window: Window | None = window_for(at, client, self.hours)
        except NoCallingWindow:  # the calling hours never open (for all candidates at once)
            window = None
        inside = window is not None and at in window
        result.update({
            "client_local": _iso(at.astimezone(zone)), "client_zone": zone_name,
            "client_zone_known": known, "client_zone_source": client.source,
            "client_zone_candidates": [] if known else list(client.zones),
            "in_window": inside,
            "next_opening": _iso(window.opens_at) if window and not inside else None,
            "window_closes_at": _iso(window.closes_at) if window else None,
        })
        return result

    async def day(self, actor: Actor, day_text: str | None, tz: str | None,
                  user_id: int | None = None) -> dict[str, Any]:
        """How many open tasks the operator has (assigned to them or claimed by them) due in
        each local hour of a day in ``tz`` (the hours of a DST switch day are wall-clock hours:
        the skipped one counts none, the doubled one both). Staff may name ``user_id``."""
        zone_name, zone = parse_zone(tz, "tz", self.shop_timezone)
        if day_text in (None, ""):
            day = self.clock().astimezone(zone).date()
        else:
            try:
                if len(day_text) != 10:
                    raise ValueError(day_text)
                day = date.fromisoformat(day_text)
            except ValueError:
                raise BadRequest("Query parameter date must be a date YYYY-MM-DD",
                                 {"param": "date", "fields": {"date": "write YYYY-MM-DD"}}
                                 ) from None
        who = actor.user_id if user_id is None else user_id
        if who != actor.user_id and actor.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise Forbidden("Operators see their own planner only",
                            {"required": [Role.SUPERVISOR.value, Role.ADMIN.value]})
        try:
            start = local_to_utc(datetime.combine(day, time()), zone)
            end = local_to_utc(datetime.combine(day + timedelta(days=1), time()), zone)
        except OverflowError:
            raise BadRequest("Query parameter date is out of range", {"param": "date"}) from None
        counts = [0] * 24
        async with self.db.read() as conn:
            if who != actor.user_id and await users_repo.get_user(conn, who) is None:
                raise NotFound.entity("user", who)
            times = await repo.open_task_times(conn, who, start, end) if who else []
        for due in times:
            local = due.astimezone(zone)
            if local.date() == day:
                counts[local.hour] += 1
        return {"date": day.isoformat(), "zone": zone_name, "user_id": who,
                "hours": [{"hour": h, "count": n} for h, n in enumerate(counts)],
                "total": sum(counts)}
