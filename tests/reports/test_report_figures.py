"""Every figure of the operators' and queues' reports over the seeded history (see conftest),
computed by hand; on SQLite and PostgreSQL."""

from __future__ import annotations

PERIOD = "from=2026-11-10&to=2026-11-12"


async def _json(session, path, status=200):
    resp = await session.get(path)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _put_plan(session, user_id, body, status=200):
    resp = await session.client.put(f"/api/reports/plans/{user_id}", json=body,
                                    headers={"X-CSRF-Token": session.csrf})
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_operator_figures(history):
    sup = history.sessions["sup"]
    anna_id, boris_id = history.users["anna"]["id"], history.users["boris"]["id"]
    await _put_plan(sup, anna_id, {"calls_per_day": 2, "confirmed_orders_per_day": 1,
                                   "sales_per_day": "1000.00"})
    report = await _json(sup, f"/api/reports/operators?{PERIOD}")
    assert (report["from"], report["to"], report["timezone"]) == \
        ("2026-11-10", "2026-11-12", "Europe/Moscow")
    assert report["service_level_seconds"] == 20
    rows = {r["login"]: r for r in report["operators"]}
    assert list(rows) == ["anna", "boris"]   # by name; the supervisor did nothing
    anna, boris = rows["anna"], rows["boris"]
    assert anna["user_id"] == anna_id and anna["name"] == "Анна"
    # calls 1, 2 answered, 4 and 5 missed while ringing her; 7 and 8 placed by her
    assert (anna["calls_in"], anna["calls_out"], anna["answered"], anna["missed"]) == (4, 2, 3, 2)
    assert anna["missed_rate"] == 0.5
    assert anna["service_level"] == 0.5            # 10 s and 20 s (the edge) of 4 offered
    assert (anna["avg_wait"], anna["max_wait"]) == (15.0, 20)
    assert (anna["avg_talk"], anna["talk_seconds"]) == (116.7, 350)   # 100 + 200 + 50
    # lunch 00:00-09:00 (carried in from the 9th) and 13:00-14:00; training 22:00-24:00 on
    # the 12th (cut at the period's end); ready 09:00-10:00, 10:06-13:00, 14:00-18:00
    assert anna["paused_by_reason"] == {"lunch": 36000, "training": 7200}
    assert (anna["paused_seconds"], anna["ready_seconds"]) == (43200, 28440)
    assert anna["avg_wrap_up"] == 60.0
    assert (anna["callbacks_done"], anna["callbacks_late_avg_minutes"]) == (2, 15.0)
    assert (anna["redial_attempts"], anna["redial_reached"], anna["reach_rate"]) == (2, 1, 0.5)
    assert anna["outcomes"] == {"callback": 1, "confirmed": 2, "no_answer": 1}
    assert (anna["orders_confirmed"], anna["sales"]) == (2, "2490.50")
    assert anna["plan"] == {"calls_per_day": 2, "confirmed_orders_per_day": 1,
                            "sales_per_day": "1000.00"}
    # 3 working days: calls (2 answered inbound + 2 placed) 4/6, orders 2/3, sales 2490.50/3000
    assert anna["kpi"] == {"calls": 0.6667, "orders": 0.6667, "sales": 0.8302}

    # calls 3 and 6 answered, 4 missed while ringing him; 9 placed (busy)
    assert (boris["calls_in"], boris["calls_out"], boris["answered"], boris["missed"]) == \
        (3, 1, 2, 1)
    assert (boris["missed_rate"], boris["service_level"]) == (0.3333, 0.3333)   # 21 s is out
    assert (boris["avg_wait"], boris["max_wait"], boris["avg_talk"]) == (10.5, 21, 45.0)
    assert boris["ready_seconds"] == 3 * 86400     # ready since the 1st, all period long
    assert (boris["paused_seconds"], boris["paused_by_reason"], boris["avg_wrap_up"]) == \
        (0, {}, None)
    # the PBX's own attempt through his call 9: his, not reached
    assert (boris["redial_attempts"], boris["redial_reached"], boris["reach_rate"]) == (1, 0, 0.0)
    assert (boris["callbacks_done"], boris["callbacks_late_avg_minutes"]) == (0, None)
    assert (boris["orders_confirmed"], boris["sales"]) == (0, "0.00")
    assert boris["plan"] is None and boris["kpi"] is None

    totals = report["totals"]
    assert "user_id" not in totals and "plan" not in totals
    # inbound 1-6 and 14 (closed without its end); outbound 7-9
    assert (totals["calls_in"], totals["calls_out"], totals["answered"], totals["missed"]) == \
        (7, 3, 5, 2)
    assert (totals["missed_rate"], totals["service_level"]) == (0.2857, 0.4286)
    assert (totals["avg_wait"], totals["max_wait"]) == (12.8, 21)   # 51 s / 4 answered
    assert (totals["avg_talk"], totals["talk_seconds"]) == (88.0, 440)
    assert (totals["ready_seconds"], totals["paused_seconds"]) == (28440 + 259200, 43200)
    assert (totals["redial_attempts"], totals["redial_reached"]) == (3, 1)
    assert (totals["orders_confirmed"], totals["sales"]) == (2, "2490.50")

    hours = {h["hour"]: h for h in report["by_hour"]}
    assert len(report["by_hour"]) == 24
    assert hours[10] == {"hour": 10, "inbound": 2, "outbound": 0, "answered": 2, "missed": 0}
    assert hours[11] == {"hour": 11, "inbound": 1, "outbound": 0, "answered": 0, "missed": 0}
    assert hours[12] == {"hour": 12, "inbound": 2, "outbound": 0, "answered": 1, "missed": 1}
    assert hours[15] == {"hour": 15, "inbound": 0, "outbound": 2, "answered": 1, "missed": 0}
    assert hours[23] == {"hour": 23, "inbound": 1, "outbound": 0, "answered": 0, "missed": 1}
    assert sum(h["inbound"] + h["outbound"] for h in report["by_hour"]) == 10

    outcomes = {o["code"]: o for o in report["outcomes"]}
    assert outcomes["confirmed"] == {"code": "confirmed", "label_ru": "Заказ подтверждён",
                                     "label_en": "Order confirmed", "count": 2}
    assert (outcomes["callback"]["count"], outcomes["no_answer"]["count"],
            outcomes["busy"]["count"]) == (1, 1, 0)


async def test_queue_figures(history):
    report = await _json(history.sessions["sup"], f"/api/reports/queues?{PERIOD}")
    queues = {q["queue"]: q for q in report["queues"]}
    assert [q["queue"] for q in report["queues"]] == ["sales", "support", None]
    assert queues["sales"] == {"queue": "sales", "offered": 4, "answered": 3, "abandoned": 1,
                               "abandon_rate": 0.25, "service_level": 0.5, "avg_wait": 17.0,
                               "max_wait": 21, "avg_talk": 120.0}
    assert queues["support"] == {"queue": "support", "offered": 1, "answered": 0,
                                 "abandoned": 1, "abandon_rate": 1.0, "service_level": 0.0,
                                 "avg_wait": None, "max_wait": None, "avg_talk": None}
    assert queues[None] == {"queue": None, "offered": 2, "answered": 1, "abandoned": 0,
                            "abandon_rate": 0.0, "service_level": 0.5, "avg_wait": 0.0,
                            "max_wait": 0, "avg_talk": 30.0}
    assert report["totals"] == {"offered": 7, "answered": 4, "abandoned": 2,
                                "abandon_rate": 0.2857, "service_level": 0.4286,
                                "avg_wait": 12.8, "max_wait": 21, "avg_talk": 97.5}
    assert len(report["by_hour"]) == 24


async def test_presets_use_the_clock(history):
    sup = history.sessions["sup"]
    history.api.clock.now = __import__("datetime").datetime.fromisoformat(
        "2026-11-12T21:30:00+00:00")            # 00:30 on the 13th in Moscow
    today = await _json(sup, "/api/reports/operators?preset=today")
    assert (today["from"], today["to"]) == ("2026-11-13", "2026-11-13")
    assert today["totals"]["calls_in"] == 1   # call 11, at 00:00 on the 13th
    yesterday = await _json(sup, "/api/reports/queues?preset=yesterday&from=2026-01-01")
    assert (yesterday["from"], yesterday["to"]) == ("2026-11-12", "2026-11-12")
    assert yesterday["totals"]["offered"] == 2    # calls 5 and 6
    week = await _json(sup, "/api/reports/operators?preset=this_week")
    assert (week["from"], week["to"]) == ("2026-11-09", "2026-11-13")
    # a period not over yet: the state in force runs up to now, not to the period's end
    rows = {r["login"]: r for r in week["operators"]}
    assert rows["anna"]["paused_by_reason"]["training"] == 2 * 3600 + 30 * 60


async def test_operators_may_not_see_reports(history):
    anna = history.sessions["anna"]
    for path in (f"/api/reports/operators?{PERIOD}", f"/api/reports/queues?{PERIOD}",
                 "/api/reports/plans"):
        assert (await anna.get(path)).status == 403
    resp = await anna.client.put(f"/api/reports/plans/{history.users['anna']['id']}",
                                 json={"calls_per_day": 100}, headers={"X-CSRF-Token": anna.csrf})
    assert resp.status == 403


async def test_state_time_of_days_that_are_over_is_kept(history):
    from sqlalchemy import insert, select

    from callcenter.storage.tables import agent_state_changes, report_state_days_done
    from tests.reports.conftest import local

    sup, api = history.sessions["sup"], history.api
    anna_id = history.users["anna"]["id"]
    first = await _json(sup, f"/api/reports/operators?{PERIOD}")
    async with api.services.db.read() as conn:
        kept = (await conn.execute(select(report_state_days_done.c.day)
                                   .where(report_state_days_done.c.zone == "Europe/Moscow")
                                   .order_by(report_state_days_done.c.day))).scalars().all()
    assert [d.isoformat() for d in kept] == ["2026-11-10", "2026-11-11", "2026-11-12"]
    # kept days answer the same figures, also within a longer period around them
    again = await _json(sup, f"/api/reports/operators?{PERIOD}")
    assert again["operators"] == first["operators"]
    wider = await _json(sup, "/api/reports/operators?from=2026-11-09&to=2026-11-12")
    rows = {r["login"]: r for r in wider["operators"]}
    # on the 9th: 20:00-24:00 of lunch more, and boris ready all day too
    assert rows["anna"]["paused_by_reason"] == {"lunch": 36000 + 4 * 3600, "training": 7200}
    assert rows["boris"]["ready_seconds"] == 4 * 86400
    # the last two local days are always computed from the changes: a change made now counts
    api.clock.now = local(23, 12)
    async with api.services.db.write() as conn:
        await conn.execute(insert(agent_state_changes).values(
            user_id=anna_id, at=local(23, 11), state="paused", reason="meeting", source="crm"))
    today = await _json(sup, "/api/reports/operators?preset=today")
    anna = {r["login"]: r for r in today["operators"]}["anna"]
    assert anna["paused_by_reason"] == {"meeting": 3600}
    # a day kept is not computed again (the state changes of a day that is over do not change)
    async with api.services.db.write() as conn:
        await conn.execute(insert(agent_state_changes).values(
            user_id=anna_id, at=local(11, 12), state="paused", reason="late", source="crm"))
    later = await _json(sup, f"/api/reports/operators?{PERIOD}")
    assert later["operators"] == first["operators"]
