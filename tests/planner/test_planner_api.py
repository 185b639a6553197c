"""The planner's API on both databases through the real app: quick time entry read in the
client's zone (known, from the city, from the phone, unknown), the calling window, errors, and
the operator's tasks per hour of a day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from sqlalchemy import insert

from callcenter.domain.client_zone import resolve_client_zone
from callcenter.services.context import Actor
from callcenter.storage.tables import tasks
from tests.api.test_error_shape import assert_error_shape

SYSTEM = Actor.system("test")
# the test clock: Monday 23 November 2026, 09:00 UTC = 12:00 in Moscow, 14:00 in Yekaterinburg


async def client(api, **fields) -> int:
    card = await api.services.clients.create(SYSTEM, {"name": "Клиент", "force": True, **fields})
    return card["id"]


async def parse(session, text, client_id=None, tz="Europe/Moscow", status=200):
    query = {"text": text, "tz": tz}
    if client_id is not None:
        query["client_id"] = client_id
    resp = await session.get("/api/planner/parse?" + urlencode(query))
    body = await resp.json()
    assert resp.status == status, body
    return body


async def test_a_time_is_read_in_the_clients_zone_and_shown_in_the_operators(api):
    anna = await api.login("anna")
    ekb = await client(api, timezone="Asia/Yekaterinburg", phones=["+79161110001"])
    body = await parse(anna, "завтра 10:00", ekb)
    assert body == {
        "text": "завтра 10:00",
        "at": "2026-11-24T05:00:00+00:00",
        "client_local": "2026-11-24T10:00:00+05:00",
        "client_zone": "Asia/Yekaterinburg", "client_zone_known": True,
        "client_zone_source": "client", "client_zone_candidates": [],
        "operator_local": "2026-11-24T08:00:00+03:00", "operator_zone": "Europe/Moscow",
        "in_window": True, "next_opening": None,
        "window_closes_at": "2026-11-24T16:00:00+00:00",
    }
    # it is 14:00 there: "+30m" is 14:30 there, 12:30 for an operator in Moscow
    body = await parse(anna, "+30м", ekb)
    assert (body["client_local"], body["operator_local"]) == (
        "2026-11-23T14:30:00+05:00", "2026-11-23T12:30:00+03:00")
    # the operator's own zone as the browser says it
    body = await parse(anna, "завтра 10:00", ekb, tz="Asia/Vladivostok")
    assert body["operator_local"] == "2026-11-24T15:00:00+10:00"
    assert body["operator_zone"] == "Asia/Vladivostok"


async def test_outside_the_calling_window_the_next_opening_is_given(api):
    anna = await api.login("anna")
    ekb = await client(api, city="Екатеринбург")
    body = await parse(anna, "завтра 8:00", ekb)
    assert body["client_zone_source"] == "city" and body["client_zone_known"] is True
    assert body["at"] == "2026-11-24T03:00:00+00:00"
    assert body["in_window"] is False
    assert body["next_opening"] == "2026-11-24T04:00:00+00:00"  # 09:00 there
    body = await parse(anna, "сегодня 21:00", ekb)  # the window ends at 21:00, not including it
    assert (body["in_window"], body["next_opening"]) == (False, "2026-11-24T04:00:00+00:00")
    body = await parse(anna, "20:59", ekb)
    assert (body["in_window"], body["next_opening"]) == (True, None)
    # 1 January is a holiday by default: the next opening is on the 3rd (the 2nd is one too)
    body = await parse(anna, "01.01.2027 12:00", ekb)
    assert body["in_window"] is False
    assert body["next_opening"] == "2027-01-03T04:00:00+00:00"


async def test_a_zone_from_the_phone_number(api):
    anna = await api.login("anna")
    landline = await client(api, phones=["+73432123456"])  # +7 343: Yekaterinburg
    body = await parse(anna, "15:00", landline)
    assert (body["client_zone"], body["client_zone_source"], body["client_zone_known"]) == (
        "Asia/Yekaterinburg", "phone", True)
    assert body["client_local"] == "2026-11-23T15:00:00+05:00"


async def test_an_unknown_zone_is_read_in_the_shops_and_named_with_its_candidates(api):
    anna = await api.login("anna")
    mobile = await client(api, phones=["+79161234567"])  # any of Russia's zones
    candidates = list(resolve_client_zone(None, None, None, "+79161234567",
                                          fallback=("Europe/Moscow",)).zones)
    assert len(candidates) > 5 and "Asia/Kamchatka" in candidates
    body = await parse(anna, "завтра 10:00", mobile)
    assert body["client_zone"] == "Europe/Moscow"
    assert body["client_zone_known"] is False and body["client_zone_source"] == "phone"
    assert body["client_zone_candidates"] == candidates
    assert body["at"] == "2026-11-24T07:00:00+00:00"  # 10:00 in the shop's zone
    # 10:00 Moscow is 09:00 in Kaliningrad and 19:00 in Kamchatka: inside every candidate's
    # window; 09:00 Moscow is 08:00 in Kaliningrad: the common window opens at 10:00 Moscow
    assert (body["in_window"], body["next_opening"]) == (True, None)
    body = await parse(anna, "завтра 9:00", mobile)
    assert (body["in_window"], body["next_opening"]) == (False, "2026-11-24T07:00:00+00:00")
    # and it closes when Kamchatka's does: 21:00 there is 12:00 Moscow
    assert body["window_closes_at"] == "2026-11-24T09:00:00+00:00"

    nothing = await client(api)
    body = await parse(anna, "завтра 10:00", nothing)
    assert (body["client_zone"], body["client_zone_known"], body["client_zone_source"],
            body["client_zone_candidates"]) == ("Europe/Moscow", False, "unknown",
                                                ["Europe/Moscow"])


async def test_without_a_client_the_time_is_the_operators(api):
    anna = await api.login("anna")
    body = await parse(anna, "завтра 10:00", tz="Asia/Yekaterinburg")
    assert body["at"] == "2026-11-24T05:00:00+00:00"
    assert body["operator_local"] == "2026-11-24T10:00:00+05:00"
    assert (body["client_zone"], body["client_local"], body["in_window"]) == (None, None, None)
    # no tz: the shop's zone
    resp = await anna.get("/api/planner/parse?" + urlencode({"text": "завтра 10:00"}))
    assert (await resp.json())["operator_local"] == "2026-11-24T10:00:00+03:00"


async def test_unreadable_text_and_bad_parameters_are_400s(api):
    anna = await api.login("anna")
    ekb = await client(api, timezone="Asia/Yekaterinburg")
    for text, reason in (("послепослезавтра", "unknown_format"), ("завтра", "missing_time"),
                         ("25:00", "no_such_time"), ("31.02 10:00", "no_such_date"),
                         ("", "empty"), ("+100000д", "out_of_range")):
        body = await parse(anna, text, ekb, status=400)
        assert_error_shape(body, "unreadable_time")
        assert body["error"]["details"] == {"reason": reason}, text
    resp = await anna.get("/api/planner/parse?client_id=%d" % ekb)
    assert_error_shape(await resp.json(), "unreadable_time")
    for tz in ("Mars/Olympus", "../../etc/passwd", "x" * 300, "/etc/localtime", "zone.tab",
               "Europe/", "Europe"):
        body = await parse(anna, "15:00", ekb, tz=tz, status=400)
        assert_error_shape(body, "bad_request")
        assert body["error"]["details"]["param"] == "tz"
        assert "tz" in body["error"]["details"]["fields"]
    resp = await anna.get("/api/planner/parse?text=15&client_id=abc")
    assert resp.status == 400
    body = await parse(anna, "15:00", 999999, status=404)
    assert_error_shape(body, "not_found")


async def test_an_operator_limited_to_own_clients_cannot_name_anothers(api_with):
    api = await api_with(operators_see_own_clients_only=True)
    anna = await api.login("anna")
    boris = await api.login("boris")
    mine = await client(api, timezone="Asia/Omsk", assigned_operator_id=anna.user["id"])
    assert (await parse(anna, "15:00", mine))["client_zone"] == "Asia/Omsk"
    body = await parse(boris, "15:00", mine, status=404)
    assert_error_shape(body, "not_found")
    sup = await api.login("sup", "supervisor")
    assert (await parse(sup, "15:00", mine))["client_zone"] == "Asia/Omsk"


async def add_task(api, due: datetime, *, assigned_to=None, claimed_by=None, status="open",
                   kind="callback"):
    now = api.clock()
    async with api.services.db.write() as conn:
        await conn.execute(insert(tasks).values(
            kind=kind, status=status, title="Перезвонить", due_at=due,
            assigned_to=assigned_to, claimed_by=claimed_by, created_at=now, updated_at=now))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


async def day(session, date=None, tz="Europe/Moscow", user_id=None, status=200):
    query = {"tz": tz}
    if date is not None:
        query["date"] = date
    if user_id is not None:
        query["user_id"] = user_id
    resp = await session.get("/api/planner/day?" + urlencode(query))
    body = await resp.json()
    assert resp.status == status, body
    return body


def by_hour(body) -> dict[int, int]:
    assert [h["hour"] for h in body["hours"]] == list(range(24))
    return {h["hour"]: h["count"] for h in body["hours"] if h["count"]}


async def test_the_day_counts_the_operators_own_open_tasks_per_local_hour(api):
    anna = await api.login("anna")
    boris = await api.login("boris")
    sup = await api.login("sup", "supervisor")
    a, b = anna.user["id"], boris.user["id"]
    for due in (utc(2026, 11, 24, 7, 15), utc(2026, 11, 24, 7, 45), utc(2026, 11, 24, 11, 0)):
        await add_task(api, due, assigned_to=a)       # 10:15, 10:45, 14:00 Moscow
    await add_task(api, utc(2026, 11, 24, 15, 0), claimed_by=a)     # anyone's, claimed by her
    await add_task(api, utc(2026, 11, 24, 7, 0), assigned_to=b)     # Boris's
    await add_task(api, utc(2026, 11, 24, 8, 0))                    # anyone's, unclaimed
    await add_task(api, utc(2026, 11, 24, 9, 0), assigned_to=a, status="done")
    await add_task(api, utc(2026, 11, 24, 10, 0), assigned_to=a, status="archived")
    await add_task(api, utc(2026, 11, 23, 20, 59), assigned_to=a)   # 23:59 on the 23rd
    await add_task(api, utc(2026, 11, 24, 21, 0), assigned_to=a)    # 00:00 on the 25th

    body = await day(anna, "2026-11-24")
    assert (body["date"], body["zone"], body["user_id"], body["total"]) == (
        "2026-11-24", "Europe/Moscow", a, 4)
    assert by_hour(body) == {10: 2, 14: 1, 18: 1}
    # the same tasks in Yekaterinburg's hours and days: 23:59 Moscow on the 23rd is 01:59 on
    # the 24th there, 00:00 Moscow on the 25th is 02:00 there
    body = await day(anna, "2026-11-24", tz="Asia/Yekaterinburg")
    assert by_hour(body) == {1: 1, 12: 2, 16: 1, 20: 1}
    assert by_hour(await day(anna, "2026-11-25", tz="Asia/Yekaterinburg")) == {2: 1}
    assert by_hour(await day(anna, "2026-11-23")) == {23: 1}
    # no date: today in that zone (the clock says 23 November)
    assert (await day(anna))["date"] == "2026-11-23"
    assert by_hour(await day(boris, "2026-11-24")) == {10: 1}

    # staff look at anyone's day; an operator only at their own
    assert by_hour(await day(sup, "2026-11-24", user_id=a)) == {10: 2, 14: 1, 18: 1}
    assert by_hour(await day(anna, "2026-11-24", user_id=a)) == {10: 2, 14: 1, 18: 1}
    body = await day(anna, "2026-11-24", user_id=b, status=403)
    assert_error_shape(body, "forbidden")
    assert_error_shape(await day(sup, "2026-11-24", user_id=999999, status=404), "not_found")
    for bad in ("24.11.2026", "2026-13-01", "2026-11-31", "tomorrow", "2026-1-1", "x" * 50):
        body = await day(anna, bad, status=400)
        assert_error_shape(body, "bad_request")
        assert body["error"]["details"]["param"] == "date"
    body = await day(anna, "2026-11-24", tz="Nowhere/City", status=400)
    assert body["error"]["details"]["param"] == "tz"


async def test_a_dst_switch_day_counts_wall_clock_hours(api):
    anna = await api.login("anna")
    a = anna.user["id"]
    # Vilnius, 25 October 2026: 04:00 summer time goes back to 03:00, so 03:xx happens twice.
    # Reminders: these days are weeks before the test clock, and an overdue personal callback
    # is the scheduler's to hand over to anyone, whenever its round comes
    for due in (utc(2026, 10, 24, 21, 30),   # 00:30 summer time
                utc(2026, 10, 25, 0, 30),    # 03:30 summer time
                utc(2026, 10, 25, 1, 30),    # 03:30 winter time
                utc(2026, 10, 25, 21, 30),   # 23:30 winter time
                utc(2026, 10, 25, 22, 30)):  # 00:30 on the 26th
        await add_task(api, due, assigned_to=a, kind="reminder")
    await api.services.scheduler.run_round()  # the race made certain: nothing is handed over
    body = await day(anna, "2026-10-25", tz="Europe/Vilnius")
    assert by_hour(body) == {0: 1, 3: 2, 23: 1}
    assert body["total"] == 4
    # and spring: 29 March 2026 has no 03:xx; 02:30 and 04:30 are an hour apart
    await add_task(api, utc(2026, 3, 29, 0, 30), assigned_to=a, kind="reminder")
    await add_task(api, utc(2026, 3, 29, 1, 30), assigned_to=a, kind="reminder")
    assert by_hour(await day(anna, "2026-03-29", tz="Europe/Vilnius")) == {2: 1, 4: 1}


async def test_many_tasks_in_a_day_are_counted_on_the_read_connection(api):
    anna = await api.login("anna")
    a = anna.user["id"]
    start = utc(2026, 11, 24, 0, 0)
    now = api.clock()
    async with api.services.db.write() as conn:
        await conn.execute(insert(tasks), [
            {"kind": "reminder", "status": "open", "title": f"#{i}", "due_at":
             start + timedelta(minutes=3 * i), "assigned_to": a, "created_at": now,
             "updated_at": now} for i in range(480)])  # one every 3 minutes for 24 hours
    body = await day(anna, "2026-11-24", tz="UTC")
    assert body["total"] == 480 and set(by_hour(body).values()) == {20}
