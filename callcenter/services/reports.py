"""Reports per operator and per queue over a period, KPI plans, and their CSV/XLSX exports.

The figures (what each means is in the README's "Reports" section) are folded here from the
small grouped results of :mod:`callcenter.storage.reports`; the ratios come from
:mod:`callcenter.domain.kpi`, the period from :mod:`callcenter.domain.report_periods`.
Who a call belongs to: the operator who answered it, else (an outbound call nobody answered)
the operator whose softphone placed it.  A missed inbound call belongs to every operator whose
phone it rang.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.domain.calling_hours import CallingHours
from callcenter.domain.kpi import average, kpi, rate
from callcenter.domain.report_periods import (
    Period, PeriodError, local_midnight, offset_segments, parse_period, working_days,
)
from callcenter.errors import NotFound, ValidationFailed
from callcenter.services import exports
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import reports as repo
from callcenter.storage.database import Database

FORMATS = ("json", "csv", "xlsx")
PLAN_FIELDS = ("calls_per_day", "confirmed_orders_per_day", "sales_per_day")
_MAX_PLAN = 100_000
#: a local day this long past no longer changes (state changes are written as they happen):
#: its state time is kept (``report_state_days``) instead of computed again
KEEP_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class Export:
    """A report as a file to download."""

    filename: str
    content_type: str
    body: bytes


def _counters() -> dict[str, Any]:
    return {"calls_in": 0, "calls_out": 0, "answered": 0, "missed": 0, "within_sl": 0,
            "wait_sum": 0, "wait_n": 0, "max_wait": None, "talk_seconds": 0,
            "answered_in": 0, "ready_seconds": 0.0, "paused_seconds": 0.0,
            "paused_by_reason": defaultdict(float), "wrap_sum": 0.0, "wrap_n": 0,
            "callbacks_done": 0, "late_sum": 0.0, "late_n": 0, "redial_attempts": 0,
            "redial_reached": 0, "outcomes": defaultdict(int), "orders_confirmed": 0,
            "sales": Decimal("0")}


def _add_call_group(c: dict[str, Any], g: Mapping[str, Any]) -> None:
    n, answered = g["n"], g["outcome"] == "answered"
    inbound = g["direction"] == "inbound"
    c["calls_in" if inbound else "calls_out"] += n
    if answered:
        c["answered"] += n
        c["talk_seconds"] += int(g["talk_sum"])
        if inbound:
            c["answered_in"] += n
            c["within_sl"] += int(g["within_sl"])
            c["wait_sum"] += int(g["wait_sum"])
            c["wait_n"] += g["wait_n"]
            if g["wait_max"] is not None:
                c["max_wait"] = max(c["max_wait"] or 0, int(g["wait_max"]))
    elif inbound and g["outcome"] == "missed":
        c["missed"] += n
    if g["disposition"]:
        c["outcomes"][g["disposition"]] += n


def _figures(c: dict[str, Any], plan: dict[str, Any] | None, days: int) -> dict[str, Any]:
    """The contract's ROW figures of one set of counters."""
    return {
        "calls_in": c["calls_in"], "calls_out": c["calls_out"], "answered": c["answered"],
        "missed": c["missed"], "missed_rate": rate(c["missed"], c["calls_in"]),
        "service_level": rate(c["within_sl"], c["calls_in"]),
        "avg_wait": average(c["wait_sum"], c["wait_n"]), "max_wait": c["max_wait"],
        "avg_talk": average(c["talk_seconds"], c["answered"]),
        "talk_seconds": c["talk_seconds"], "avg_wrap_up": average(c["wrap_sum"], c["wrap_n"]),
        "ready_seconds": round(c["ready_seconds"]), "paused_seconds": round(c["paused_seconds"]),
        "paused_by_reason": {k: round(v) for k, v in sorted(c["paused_by_reason"].items())},
        "callbacks_done": c["callbacks_done"],
        "callbacks_late_avg_minutes": average(c["late_sum"] / 60, c["callbacks_done"])
        if c["callbacks_done"] else None,
        "redial_attempts": c["redial_attempts"], "redial_reached": c["redial_reached"],
        "reach_rate": rate(c["redial_reached"], c["redial_attempts"]),
        "outcomes": dict(sorted(c["outcomes"].items())),
        "orders_confirmed": c["orders_confirmed"], "sales": f"{c['sales']:.2f}",
        "plan": _plan_json(plan),
        "kpi": kpi(plan, days, calls=c["answered_in"] + c["calls_out"],
                   orders=c["orders_confirmed"], sales=c["sales"]),
    }


def _plan_json(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    sales = plan.get("sales_per_day")
    return {"calls_per_day": plan.get("calls_per_day"),
            "confirmed_orders_per_day": plan.get("confirmed_orders_per_day"),
            "sales_per_day": None if sales is None else f"{Decimal(sales):.2f}"}


def _by_hour(counts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hours = [{"hour": h, "inbound": 0, "outbound": 0, "answered": 0, "missed": 0}
             for h in range(24)]
    for c in counts:
        row = hours[c["hour"]]
        row[c["direction"]] += c["n"]
        if c["outcome"] == "answered":
            row["answered"] += c["n"]
        elif c["outcome"] == "missed" and c["direction"] == "inbound":
            row["missed"] += c["n"]
    return hours


class ReportService:
    """``operators`` / ``queues``: a period's report as JSON (or an :class:`Export` for
    ``format=csv|xlsx``); ``plans`` / ``set_plan``: the operators' daily plans."""

    def __init__(self, db: Database, clock: Clock, *, timezone: str, hours: CallingHours,
                 service_level_seconds: int):
        self.db = db
        self.clock = clock
        self.zone = ZoneInfo(timezone)
        self.hours = hours
        self.service_level_seconds = service_level_seconds

    async def _read(self, work):
        # the report's queries run side by side on their own connections (SQLite's reader
        # threads, PostgreSQL's backends): the slowest lane, not their sum, is the wait
        async with self.db.read() as conn:
            return await work(conn)

    def period(self, query: Mapping[str, str]) -> Period:
        try:
            return parse_period(query, self.clock(), self.zone)
        except PeriodError as exc:
            raise ValidationFailed.fields(exc.fields, exc.message) from None

    async def _states(self, period: Period, now: datetime) -> list[dict[str, Any]]:
        """Time per operator, state and reason over the period: days that are over (two local
        days past) from what is kept per day, computed and kept the first time a report needs
        them; the rest straight from the state changes."""
        zone = self.zone.key
        last_kept = min(period.last, now.astimezone(self.zone).date() - KEEP_AFTER)
        rows: list[dict[str, Any]] = []
        live_from = period.first
        if period.first <= last_kept:
            days = [period.first + timedelta(days=i)
                    for i in range((last_kept - period.first).days + 1)]
            async with self.db.read() as conn:
                kept = await repo.kept_days(conn, zone, period.first, last_kept)
                fresh = [(day, await repo.state_spans(
                    conn, local_midnight(day, self.zone),
                    local_midnight(day + timedelta(days=1), self.zone), now))
                    for day in days if day not in kept]
            if fresh:
                async with self.db.write() as conn:
                    for day, spans in fresh:
                        await repo.keep_day(conn, zone, day, spans, now)
            async with self.db.read() as conn:
                rows += await repo.kept_state_time(conn, zone, period.first, last_kept)
            live_from = last_kept + timedelta(days=1)
        if live_from <= period.last:
            async with self.db.read() as conn:
                rows += await repo.state_spans(conn, local_midnight(live_from, self.zone),
                                               period.end, now)
        return rows

    @staticmethod
    def _format(query: Mapping[str, str]) -> str:
        fmt = query.get("format") or "json"
        if fmt not in FORMATS:
            raise ValidationFailed.fields({"format": "one of: " + ", ".join(FORMATS)})
        return fmt

    def _head(self, period: Period) -> dict[str, Any]:
        return {"from": period.first.isoformat(), "to": period.last.isoformat(),
                "timezone": self.zone.key, "service_level_seconds": self.service_level_seconds}

    async def operators(self, actor: Actor, query: Mapping[str, str], *,
                        language: str | None = None) -> dict[str, Any] | Export:
        """The per-operator report of the query's period (see the contract's ROW)."""
        fmt, period = self._format(query), self.period(query)
        start, end = period.start, period.end
        now = self.clock()

        async def calls_lane(conn):
            return (await repo.call_groups(conn, start, end, self.service_level_seconds),
                    await repo.missed_rings(conn, start, end))

        async def work_lane(conn):
            return (await repo.attempt_groups(conn, start, end),
                    await repo.callbacks_done(conn, start, end),
                    await repo.confirmed_orders(conn, start, end),
                    await repo.user_names(conn), await repo.outcome_labels(conn),
                    await repo.plans(conn))

        (groups, rings), hours, (attempts, callbacks, confirmed, people, labels, plans), \
            states = await asyncio.gather(
                self._read(calls_lane),
                self._read(lambda conn: repo.hour_counts(
                    conn, start, end, offset_segments(start, end, self.zone))),
                self._read(work_lane), self._states(period, now))
        by_ext = {u["extension"]: u["id"] for u in people if u["extension"]}
        per: dict[int, dict[str, Any]] = defaultdict(_counters)
        total = _counters()
        for g in groups:
            _add_call_group(total, g)
            uid = g["answered_by_user_id"] or by_ext.get(g["placed_by"])
            if uid is not None:
                _add_call_group(per[uid], g)
        for endpoint, n in rings.items():
            uid = by_ext.get(endpoint)
            if uid is not None:
                per[uid]["calls_in"] += n
                per[uid]["missed"] += n
        for s in states:
            for c in (per[s["user_id"]], total):
                seconds = float(s["seconds"])
                if s["state"] == "ready":
                    c["ready_seconds"] += seconds
                elif s["state"] == "paused":
                    c["paused_seconds"] += seconds
                    c["paused_by_reason"][s["reason"] or ""] += seconds
                elif s["state"] == "wrap_up":
                    c["wrap_sum"] += seconds
                    c["wrap_n"] += s["spans"]
        for a in attempts:
            uid = a["user_id"] or by_ext.get(a["placed_by"])
            for c in ([per[uid]] if uid is not None else []) + [total]:
                c["redial_attempts"] += a["n"]
                c["redial_reached"] += a["n"] if a["reached"] else 0
        for cb in callbacks:
            for c in ([per[cb["user_id"]]] if cb["user_id"] is not None else []) + [total]:
                c["callbacks_done"] += cb["n"]
                c["late_sum"] += float(cb["late_sum"])
        for o in confirmed:
            for c in ([per[o["user_id"]]] if o["user_id"] is not None else []) + [total]:
                c["orders_confirmed"] += o["n"]
                c["sales"] += o["sales"]
        days = working_days(period.first, period.last, self.hours)
        shown = [u for u in people if u["role"] == "operator" or u["id"] in per]
        shown.sort(key=lambda u: (u["name"].casefold(), u["id"]))
        rows = [{"user_id": u["id"], "name": u["name"], "login": u["login"],
                 **_figures(per[u["id"]] if u["id"] in per else _counters(),
                            plans.get(u["id"]), days)} for u in shown]
        totals = _figures(total, None, days)
        totals.pop("plan"), totals.pop("kpi")
        outcome_rows = [{"code": code, "label_ru": d["label_ru"], "label_en": d["label_en"],
                         "count": total["outcomes"].get(code, 0)} for code, d in labels.items()]
        outcome_rows += [{"code": code, "label_ru": code, "label_en": code, "count": n}
                         for code, n in sorted(total["outcomes"].items()) if code not in labels]
        report = {**self._head(period), "working_days": days, "operators": rows,
                  "totals": totals, "by_hour": _by_hour(hours),
                  "outcomes": outcome_rows}
        if fmt == "json":
            return report
        return await self._export(actor, "operators", period, fmt, language,
                                  lambda lang: exports.operators_table(report, lang))

    async def queues(self, actor: Actor, query: Mapping[str, str], *,
                     language: str | None = None) -> dict[str, Any] | Export:
        """Inbound calls per queue over the query's period (calls with no queue: ``null``)."""
        fmt, period = self._format(query), self.period(query)
        groups, hours = await asyncio.gather(
            self._read(lambda conn: repo.call_groups(conn, period.start, period.end,
                                                     self.service_level_seconds)),
            self._read(lambda conn: repo.hour_counts(
                conn, period.start, period.end,
                offset_segments(period.start, period.end, self.zone))))
        per: dict[str | None, dict[str, Any]] = defaultdict(_counters)
        total = _counters()
        for g in groups:
            if g["direction"] == "inbound":
                _add_call_group(per[g["queue"]], g)
                _add_call_group(total, g)
        rows = [{"queue": name, **self._queue_figures(per[name])}
                for name in sorted(per, key=lambda q: (q is None, q or ""))]
        report = {**self._head(period), "queues": rows,
                  "totals": self._queue_figures(total), "by_hour": _by_hour(hours)}
        if fmt == "json":
            return report
        return await self._export(actor, "queues", period, fmt, language,
                                  lambda lang: exports.queues_table(report, lang))

    @staticmethod
    def _queue_figures(c: dict[str, Any]) -> dict[str, Any]:
        return {"offered": c["calls_in"], "answered": c["answered"], "abandoned": c["missed"],
                "abandon_rate": rate(c["missed"], c["calls_in"]),
                "service_level": rate(c["within_sl"], c["calls_in"]),
                "avg_wait": average(c["wait_sum"], c["wait_n"]), "max_wait": c["max_wait"],
                "avg_talk": average(c["talk_seconds"], c["answered"])}

    async def _export(self, actor: Actor, kind: str, period: Period, fmt: str,
                      language: str | None, table) -> Export:
        lang = "en" if language == "en" else "ru"
        header, rows, formats = table(lang)
        name = f"{kind}-{period.first.isoformat()}-{period.last.isoformat()}.{fmt}"
        if fmt == "csv":
            export = Export(name, "text/csv; charset=utf-8", exports.to_csv(header, rows))
        else:
            export = Export(name, exports.XLSX_TYPE,
                            exports.to_xlsx(kind, header, rows, formats))
        async with self.db.write() as conn:
            await audit.record(conn, at=self.clock(), action="report.export",
                               user_id=actor.user_id, login=actor.login, ip=actor.ip,
                               entity="report", entity_id=kind,
                               details={"format": fmt, "from": period.first.isoformat(),
                                        "to": period.last.isoformat(), "rows": len(rows)})
        return export

    # plans

    async def plans(self) -> dict[str, Any]:
        """Every operator's daily plan (nulls where none is set)."""
        async with self.db.read() as conn:
            people = await repo.operators(conn)
            plans = await repo.plans(conn)
        return {"items": [self._plan_item(u, plans.get(u["id"])) for u in people]}

    @staticmethod
    def _plan_item(user: Mapping[str, Any], plan: dict[str, Any] | None) -> dict[str, Any]:
        figures = _plan_json(plan) or dict.fromkeys(PLAN_FIELDS)
        return {"user_id": user["id"], "name": user["name"], "login": user["login"], **figures}

    async def set_plan(self, actor: Actor, user_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Set an operator's plan (every figure given replaces the stored one; a figure left
        out keeps its value); audited ``plan.update``."""
        values = _plan_values(body)
        now = self.clock()
        async with self.db.write() as conn:
            people = {u["id"]: u for u in await repo.operators(conn)}
            if user_id not in people:
                raise NotFound.entity("operator", user_id)
            old = (await repo.plans(conn)).get(user_id)
            merged = {f: (old or {}).get(f) for f in PLAN_FIELDS} | values
            await repo.save_plan(conn, user_id, {**merged, "updated_at": now,
                                                 "updated_by": actor.user_id})
            item = self._plan_item(people[user_id], merged)
            await audit.record(conn, at=now, action="plan.update", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip, entity="user", entity_id=user_id,
                               details={f: item[f] for f in PLAN_FIELDS})
        return item


def _plan_values(body: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in set(body) - set(PLAN_FIELDS):
        errors[name] = "unknown field"
    for name in ("calls_per_day", "confirmed_orders_per_day"):
        if name in body:
            value = body[name]
            if value is None:
                values[name] = None
            elif isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= _MAX_PLAN:
                errors[name] = f"a whole number from 0 to {_MAX_PLAN}"
            else:
                values[name] = value
    if "sales_per_day" in body:
        value = body["sales_per_day"]
        if value is None:
            values["sales_per_day"] = None
        else:
            amount = None
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                try:
                    amount = Decimal(str(value).strip())
                except InvalidOperation:
                    amount = None
            if amount is None or not amount.is_finite() or amount < 0 \
                    or amount >= Decimal("1e12") or amount != amount.quantize(Decimal("0.01")):
                errors["sales_per_day"] = f"'{str(value)[:40]}' is not an amount"
            else:
                values["sales_per_day"] = amount.quantize(Decimal("0.01"))
    if errors:
        raise ValidationFailed.fields(errors)
    return values
