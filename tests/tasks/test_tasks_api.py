"""Tasks over the API on both databases, through the real app: create, list with filters, the
outcome of an attempt (the ladder in the client's window, callbacks, the archive, final outcomes
with the next task), Next task, release, the archive with restore, the outcome of a call, the
outcome definitions; and what hostile input gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from callcenter.services.context import Actor
from callcenter.storage.tables import calls, task_attempts, tasks
from tests.api.test_error_shape import assert_error_shape

SYSTEM = Actor.system("test")
UTC = timezone.utc
# the test clock: Monday 23 November 2026, 09:00 UTC = 12:00 in Moscow
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def client(api, name="Клиент", **fields) -> int:
    card = await api.services.clients.create(SYSTEM, {"name": name, "force": True,
                                                      "city": "Москва", **fields})
    return card["id"]


async def ok(resp, status=200) -> Any:
    body = await resp.json() if resp.status != 204 else None
    assert resp.status == status, body
    return body


async def refused(resp, status: int, code: str) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert_error_shape(body, code)
    return body["error"]


async def new_task(session, client_id, due="2026-11-23T12:00:00+03:00", **fields) -> dict:
    return await ok(await session.post("/api/tasks", json={
        "kind": "callback", "client_id": client_id, "due_at": due, **fields}), 201)


async def outcome(session, task_id, code, status=200, **fields) -> dict:
    resp = await session.post(f"/api/tasks/{task_id}/outcome", json={"outcome": code, **fields})
    return await ok(resp, status)


async def test_a_task_is_created_placed_in_the_clients_window_and_read_back(api):
    anna = await api.login("anna")
    moscow = await client(api, "Ирина Соловьёва", phones=["+79161234567"])
    task = await new_task(anna, moscow, title="Перезвонить про доставку", priority=3)
    assert task["status"] == "open" and task["kind"] == "callback"
    assert task["due_at"] == "2026-11-23T09:00:00+00:00"
    assert task["ready_at"] == "2026-11-23T09:00:00+00:00"
    assert task["window_ends_at"] == "2026-11-23T18:00:00+00:00"  # 21:00 in Moscow
    assert (task["client_timezone"], task["client_zone_known"]) == ("Europe/Moscow", True)
    assert (task["client_name"], task["phone"]) == ("Ирина Соловьёва", "+79161234567")
    assert (task["attempts"], task["failures"], task["priority"]) == (0, 0, 3)
    assert task["assigned_to"] is None and task["do_not_call"] is False
    got = await ok(await anna.get(f"/api/tasks/{task['id']}"))
    assert {k: got[k] for k in task} == task and got["history"] == []
    # 23:00 in Moscow is closed: handed out from 09:00 next morning
    night = await new_task(anna, moscow, due="2026-11-23T23:00:00+03:00")
    assert night["due_at"] == "2026-11-23T20:00:00+00:00"
    assert night["ready_at"] == "2026-11-24T06:00:00+00:00"
    # the zone from the city: Vladivostok, 10 hours ahead of UTC
    vvo = await client(api, city="Владивосток")
    far = await new_task(anna, vvo)
    assert far["client_timezone"] == "Asia/Vladivostok"
    # 19:00 there, two hours before their window closes
    assert (far["ready_at"], far["window_ends_at"]) == ("2026-11-23T09:00:00+00:00",
                                                        "2026-11-23T11:00:00+00:00")


async def test_creating_refuses_bad_input_and_do_not_call_clients(api):
    anna = await api.login("anna")
    await api.user("boris")
    cid = await client(api)
    quiet = await client(api, "Не звонить", do_not_call=True)
    err = await refused(await anna.post("/api/tasks", json={
        "kind": "callback", "client_id": quiet, "due_at": "2026-11-23T12:00:00+03:00"}),
        409, "do_not_call")
    assert err["details"]["client_id"] == quiet
    for body, field in (
            ({"kind": "callback", "client_id": cid, "due_at": "2026-11-23T12:00:00"}, "due_at"),
            ({"kind": "callback", "client_id": cid, "due_at": "23.11.2026"}, "due_at"),
            ({"kind": "callback", "client_id": cid}, "due_at"),
            ({"kind": "Перезвон", "client_id": cid, "due_at": iso(NOW)}, "kind"),
            ({"kind": "callback", "due_at": iso(NOW)}, "client_id"),
            ({"kind": "callback", "client_id": cid, "due_at": iso(NOW), "title": "x" * 100_000},
             "title"),
            ({"kind": "callback", "client_id": cid, "due_at": iso(NOW), "priority": 1e9},
             "priority"),
            ({"kind": "callback", "client_id": cid, "due_at": iso(NOW), "secret": 1}, "secret"),
            ({"kind": "callback", "client_id": cid, "due_at": iso(NOW), "assigned_to": 999_999},
             "assigned_to"),
            ({"kind": "callback", "client_id": cid, "due_at": iso(NOW), "order_id": 999_999},
             "order_id"),
    ):
        err = await refused(await anna.post("/api/tasks", json=body), 422, "validation_failed")
        assert field in err["details"]["fields"], (body, err)
    boris_id = (await api.services.accounts.list_users())[-1]["id"] \
        if hasattr(api.services.accounts, "list_users") else None
    if boris_id is not None:
        err = await refused(await anna.post("/api/tasks", json={
            "kind": "callback", "client_id": cid, "due_at": iso(NOW), "assigned_to": boris_id}),
            422, "validation_failed")
        assert "assigned_to" in err["details"]["fields"]
    await refused(await anna.post("/api/tasks", json={
        "kind": "callback", "client_id": 999_999, "due_at": iso(NOW)}), 404, "not_found")
    await refused(await anna.post("/api/tasks", json=["callback"]), 422, "validation_failed")
    await refused(await anna.post("/api/tasks", data=b"{not json",
                                  headers={"Content-Type": "application/json"}),
                  400, "bad_request")
    assert (await ok(await anna.get("/api/tasks")))["total"] == 0


async def test_the_list_filters(api):
    anna = await api.login("anna")
    boris = await api.login("boris")
    sup = await api.login("sup", "supervisor")
    cid, other = await client(api), await client(api, "Другой")
    mine = await new_task(anna, cid, assigned_to=anna.user["id"])
    anyone = await new_task(anna, cid, kind="reminder", due="2026-11-24T12:00:00+03:00")
    elsewhere = await new_task(boris, other, kind="reminder", due="2026-11-25T12:00:00+03:00")
    done = await new_task(anna, other)
    await outcome(anna, done["id"], "paid")

    async def ids(session, query=""):
        body = await ok(await session.get("/api/tasks" + query))
        assert body["total"] == len(body["items"]) or "limit" in query
        return [t["id"] for t in body["items"]]

    assert await ids(sup) == [mine["id"], done["id"], anyone["id"], elsewhere["id"]]
    assert await ids(sup, "?status=open") == [mine["id"], anyone["id"], elsewhere["id"]]
    assert await ids(sup, "?status=done") == [done["id"]]
    assert await ids(sup, "?kind=reminder") == [anyone["id"], elsewhere["id"]]
    assert await ids(anna, "?assigned_to=me") == [mine["id"]]
    assert await ids(boris, "?assigned_to=me") == []
    assert await ids(sup, f"?assigned_to={anna.user['id']}") == [mine["id"]]
    assert await ids(sup, "?assigned_to=anyone&status=open") == [anyone["id"], elsewhere["id"]]
    assert await ids(sup, "?due_from=2026-11-24T00:00:00%2B03:00") == [anyone["id"],
                                                                       elsewhere["id"]]
    assert await ids(sup, "?due_to=2026-11-24T09:00:01Z&due_from=2026-11-24T00:00:00Z") == [
        anyone["id"]]
    assert await ids(sup, "?due_to=2026-11-24T09:00:00Z&due_from=2026-11-24T00:00:00Z") == []
    assert await ids(sup, f"?client_id={other}") == [done["id"], elsewhere["id"]]
    assert await ids(sup, "?limit=1&offset=1") == [done["id"]]
    body = await ok(await sup.get("/api/tasks?limit=1"))
    assert body["total"] == 4
    for query in ("?due_from=2026-11-24T00:00:00", "?due_from=tomorrow", "?status=lost",
                  "?kind=A%20B", "?assigned_to=boss", "?limit=0", "?limit=100000",
                  "?offset=-1", "?due_to=" + "9" * 5000, "?status=%00"):
        await refused(await sup.get("/api/tasks" + query), 400, "bad_request")
    await refused(await anna.get("/api/tasks?client_id=999999"), 404, "not_found")


async def test_failed_attempts_climb_the_ladder_in_the_clients_window_then_archive(api):
    anna = await api.login("anna")
    cid = await client(api, "Пётр Кузнецов", phones=["+79031112233"])
    task = await new_task(anna, cid, kind="order_confirmation")
    expected = ["2026-11-23T09:05:00+00:00", "2026-11-23T09:35:00+00:00",
                "2026-11-23T12:35:00+00:00", "2026-11-24T12:35:00+00:00"]
    for n, (code, due) in enumerate(zip(("no_answer", "busy", "unavailable", "no_answer"),
                                        expected), start=1):
        got = await outcome(anna, task["id"], code, note=f"попытка {n}")
        assert (got["status"], got["failures"], got["attempts"]) == ("open", n, n)
        assert got["due_at"] == due and got["ready_at"] == due
        assert got["result"] == code and got["lease_until"] is None
        api.clock.now = datetime.fromisoformat(due)
    got = await outcome(anna, task["id"], "busy")
    assert (got["status"], got["closed_reason"], got["failures"]) == ("archived",
                                                                      "ladder_exhausted", 5)
    history = (await ok(await anna.get(f"/api/tasks/{task['id']}")))["history"]
    assert [h["outcome"] for h in history] == ["busy", "no_answer", "unavailable", "busy",
                                               "no_answer"]
    assert history[-1]["note"] == "попытка 1" and history[0]["user"]["id"] == anna.user["id"]
    # an archived task takes no more outcomes until it is brought back
    await refused(await anna.post(f"/api/tasks/{task['id']}/outcome",
                                  json={"outcome": "paid"}), 409, "conflict")


async def test_a_retry_falling_after_hours_waits_for_the_next_opening(api):
    anna = await api.login("anna")
    cid = await client(api)
    api.clock.now = datetime(2026, 11, 23, 17, 50, tzinfo=UTC)  # 20:50 in Moscow
    task = await new_task(anna, cid, due=iso(api.clock.now))
    got = await outcome(anna, task["id"], "no_answer")  # + 5 min: 20:55, still open
    assert got["due_at"] == "2026-11-23T17:55:00+00:00"
    api.clock.now = datetime(2026, 11, 23, 17, 55, tzinfo=UTC)
    got = await outcome(anna, task["id"], "no_answer")  # + 30 min: 5 today, 25 tomorrow
    assert got["due_at"] == "2026-11-24T06:25:00+00:00"
    assert got["window_ends_at"] == "2026-11-24T18:00:00+00:00"


async def test_an_outcome_is_taken_before_the_task_is_due_and_contact_resets_the_ladder(api):
    anna = await api.login("anna")
    cid = await client(api)
    task = await new_task(anna, cid, kind="reminder", due="2026-11-30T12:00:00+03:00")
    got = await outcome(anna, task["id"], "no_answer")
    assert got["failures"] == 1 and got["due_at"] == "2026-11-23T09:05:00+00:00"
    # a contact: the client asks to be called back tomorrow at 10 their time
    await refused(await anna.post(f"/api/tasks/{task['id']}/outcome",
                                  json={"outcome": "callback"}), 422, "validation_failed")
    for bad in ("2026-11-24T10:00:00", "2026-11-22T10:00:00+03:00", "soon", 5):
        err = await refused(await anna.post(f"/api/tasks/{task['id']}/outcome", json={
            "outcome": "callback", "next_at": bad}), 422, "validation_failed")
        assert "next_at" in err["details"]["fields"]
    got = await outcome(anna, task["id"], "callback", next_at="2026-11-24T10:00:00+03:00",
                        note="просил перезвонить утром")
    assert (got["kind"], got["status"], got["failures"]) == ("callback", "open", 0)
    assert got["assigned_to"] == anna.user["id"] and got["assigned_to_name"] == "Anna"
    assert got["due_at"] == "2026-11-24T07:00:00+00:00" == got["ready_at"]
    assert got["note"] == "просил перезвонить утром" and got["attempts"] == 2
    # a callback asked for at 07:00 their time is handed out when their window opens
    got = await outcome(anna, task["id"], "callback", next_at="2026-11-25T07:00:00+03:00")
    assert got["due_at"] == "2026-11-25T04:00:00+00:00"
    assert got["ready_at"] == "2026-11-25T06:00:00+00:00"


async def test_final_outcomes_close_and_may_open_the_next_task(api):
    anna = await api.login("anna")
    admin = await api.login("root", "admin")
    cid = await client(api)
    paid = await outcome(anna, (await new_task(anna, cid))["id"], "paid")
    assert (paid["status"], paid["closed_reason"], paid["closed_at"]) == (
        "done", "paid", "2026-11-23T09:00:00+00:00")
    await ok(await admin.post("/api/outcomes", json={
        "code": "confirmed_remind", "label_ru": "Подтверждён, напомнить",
        "label_en": "Confirmed, remind", "final": True, "next_task_kind": "reminder"}), 201)
    first = await new_task(anna, cid, kind="order_confirmation", title="Заказ TM-7")
    done = await outcome(anna, first["id"], "confirmed_remind",
                         next_at="2026-11-26T12:00:00+03:00")
    assert done["status"] == "done"
    body = await ok(await anna.get("/api/tasks?status=open&kind=reminder"))
    (follow,) = body["items"]
    assert follow["previous_task_id"] == first["id"] and follow["title"] == "Заказ TM-7"
    assert follow["due_at"] == "2026-11-26T09:00:00+00:00" and follow["attempts"] == 0


async def test_invalid_number_archives_and_the_archive_is_searched_and_restored(api):
    anna = await api.login("anna")
    sol = await client(api, "Ирина Соловьёва", phones=["+79161234567"])
    other = await client(api, "Олег Петров", phones=["+79035550000"])
    gone = await outcome(anna, (await new_task(anna, sol))["id"], "invalid_number")
    assert (gone["status"], gone["closed_reason"], gone["failures"]) == (
        "archived", "invalid_number", 0)
    also = await outcome(anna, (await new_task(anna, other))["id"], "invalid_number")

    async def found(q):
        body = await ok(await anna.get("/api/tasks/archive", params={"q": q}))
        assert body["total"] == len(body["items"])
        return [t["id"] for t in body["items"]]

    assert await found("соловьева") == [gone["id"]]  # ё = е, any case
    assert await found("СОЛОВЬЁВА ирина") == [gone["id"]]
    assert await found("4567") == [gone["id"]]
    assert await found("+7 903 555") == [also["id"]]
    assert sorted(await found("")) == sorted([gone["id"], also["id"]])
    assert await found("Сидоров") == []
    assert await found("%") == []
    for q in ("12", "x" * 300, " ".join(["a"] * 11)):
        await refused(await anna.get("/api/tasks/archive", params={"q": q}), 400, "bad_request")
    api.clock.advance(hours=1)
    back = await ok(await anna.post(f"/api/tasks/{gone['id']}/restore"))
    assert (back["status"], back["failures"], back["closed_reason"]) == ("open", 0, None)
    assert back["due_at"] == "2026-11-23T10:00:00+00:00" == back["ready_at"]
    await refused(await anna.post(f"/api/tasks/{gone['id']}/restore"), 409, "conflict")
    assert await found("соловьева") == []
    # a do-not-call client's task stays archived
    await api.services.clients.update(SYSTEM, other, {"do_not_call": True})
    await refused(await anna.post(f"/api/tasks/{also['id']}/restore"), 409, "do_not_call")


async def test_outcomes_refused_for_unknown_codes_and_other_operators_tasks(api_with):
    api = await api_with(operators_see_own_clients_only=True)
    anna = await api.login("anna")
    boris = await api.login("boris")
    annas = await client(api, assigned_operator_id=anna.user["id"])
    boriss = await client(api, assigned_operator_id=boris.user["id"])
    task = await new_task(anna, annas)
    for code in ("nonsense", "", None, 7, "x" * 10_000, "paid; DROP TABLE tasks"):
        err = await refused(await anna.post(f"/api/tasks/{task['id']}/outcome",
                                            json={"outcome": code}), 422, "validation_failed")
        assert "outcome" in err["details"]["fields"]
    await refused(await anna.post(f"/api/tasks/{task['id']}/outcome", json={
        "outcome": "no_answer", "note": "n" * 30_000}), 422, "validation_failed")
    await refused(await anna.post(f"/api/tasks/{task['id']}/outcome", json={
        "outcome": "no_answer", "call_id": 999_999}), 422, "validation_failed")
    await refused(await anna.post(f"/api/tasks/{task['id']}/outcome", json={
        "outcome": "no_answer", "extra": True}), 422, "validation_failed")
    # Boris's client's task does not exist for Anna
    theirs = await new_task(boris, boriss)
    for path in (f"/api/tasks/{theirs['id']}/outcome", f"/api/tasks/{theirs['id']}/release",
                 f"/api/tasks/{theirs['id']}/restore"):
        await refused(await anna.post(path, json={"outcome": "paid"} if "outcome" in path
                                      else None), 404, "not_found")
    await refused(await anna.get(f"/api/tasks/{theirs['id']}"), 404, "not_found")
    await refused(await anna.get("/api/tasks/99999999"), 404, "not_found")
    await refused(await anna.get("/api/tasks/abc"), 404, "not_found")
    assert theirs["id"] not in [t["id"] for t in
                                (await ok(await anna.get("/api/tasks")))["items"]]
    # nothing was recorded by the refused attempts
    got = await ok(await anna.get(f"/api/tasks/{task['id']}"))
    assert got["attempts"] == 0 and got["history"] == []


async def test_next_task_hands_out_the_most_urgent_in_the_configured_order(api):
    anna = await api.login("anna")
    boris = await api.login("boris")
    cid = await client(api, "Клиент Один", phones=["+79161110001"])
    tonight, later = await client(api, "Вечером"), await client(api, "Через час")
    quiet = await client(api, "Не звонить")
    reminder = await new_task(anna, cid, kind="reminder")
    urgent_reminder = await new_task(anna, cid, kind="reminder", priority=5)
    missed = await new_task(anna, cid, kind="missed_call", due="2026-11-23T11:30:00+03:00")
    own = await new_task(anna, cid, assigned_to=anna.user["id"],
                         due="2026-11-23T11:59:00+03:00")
    borises = await new_task(boris, cid, assigned_to=boris.user["id"])
    await new_task(anna, tonight, kind="missed_call", due="2026-11-23T23:00:00+03:00")
    await new_task(anna, later, kind="missed_call", due="2026-11-23T13:00:00+03:00")
    # one open missed-call task per number
    await refused(await anna.post("/api/tasks", json={
        "kind": "missed_call", "client_id": cid, "due_at": iso(NOW)}), 409, "conflict")
    await new_task(anna, quiet, kind="missed_call")
    await api.services.clients.update(SYSTEM, quiet, {"do_not_call": True})

    async def take(session):
        resp = await session.post("/api/tasks/next")
        if resp.status == 204:
            return None
        body = await ok(resp)
        assert body["task"]["claimed_by"] == session.user["id"]
        assert body["task"]["lease_until"] == iso(api.clock() + timedelta(minutes=10))
        return body

    # Boris's personal callback: Anna sees it in the list, may not work it
    await refused(await anna.post(f"/api/tasks/{borises['id']}/outcome",
                                  json={"outcome": "paid"}), 403, "forbidden")
    await refused(await anna.post(f"/api/tasks/{borises['id']}/release"), 403, "forbidden")
    first = await take(anna)
    assert first["task"]["id"] == own["id"]  # her own callback first
    assert first["client"]["id"] == cid and first["client"]["name"] == "Клиент Один"
    assert first["client"]["phones"][0]["e164"] == "+79161110001"
    again = await take(anna)  # her lease still runs: the same task again
    assert again["task"]["id"] == own["id"]
    await outcome(anna, own["id"], "paid")
    assert (await take(anna))["task"]["id"] == missed["id"]
    assert (await take(boris))["task"]["id"] == borises["id"]
    await outcome(boris, borises["id"], "refused")
    # Anna holds the missed call: Boris gets the next, the higher priority first
    assert (await take(boris))["task"]["id"] == urgent_reminder["id"]
    # released: back to the pool for others, and her own Next skips it
    released = await ok(await anna.post(f"/api/tasks/{missed['id']}/release"))
    assert released["lease_until"] is None
    assert (await take(anna))["task"]["id"] == reminder["id"]
    assert await take(anna) is not None  # her lease on the reminder again
    await outcome(anna, reminder["id"], "no_answer")  # due again in 5 min
    assert await take(anna) is None  # the missed call she skipped; nothing else due
    api.clock.advance(minutes=5)
    assert (await take(anna))["task"]["id"] == reminder["id"]  # the redial is due
    # Boris's lease runs out after 10 minutes: the task goes to whoever asks
    api.clock.advance(minutes=6)
    assert (await take(anna))["task"]["id"] in (reminder["id"], missed["id"])


async def test_next_task_answers_204_with_nothing_due(api):
    anna = await api.login("anna")
    resp = await anna.post("/api/tasks/next")
    assert resp.status == 204 and await resp.read() == b""
    await refused(await anna.post("/api/tasks/next", json={"x": 1}), 422, "validation_failed")


async def _call(api, client_id, *, task_id=None, outcome="answered", direction="outbound",
                user=None) -> int:
    now = api.clock()
    async with api.services.db.write() as conn:
        return (await conn.execute(insert(calls).values(
            call_key=f"k-{now.timestamp()}-{client_id}-{task_id}", linkedid="l",
            direction=direction, caller="PJSIP/101", callee_e164="+79161110001",
            caller_e164="+79161110001", client_id=client_id, started_at=now, ended_at=now,
            outcome=outcome, talk_seconds=10, task_id=task_id, variables={},
            answered_by_user_id=user).returning(calls.c.id))).scalar_one()


async def test_the_outcome_of_a_call_goes_to_its_task_or_opens_one(api):
    anna = await api.login("anna")
    cid = await client(api, phones=["+79161110001"])
    task = await new_task(anna, cid, kind="order_confirmation")
    call_id = await _call(api, cid, task_id=task["id"])
    body = await ok(await anna.post(f"/api/calls/{call_id}/outcome", json={
        "outcome": "busy", "note": "короткие гудки"}))
    assert body["call"]["disposition"] == "busy" and body["call"]["note"] == "короткие гудки"
    assert (body["task"]["id"], body["task"]["failures"]) == (task["id"], 1)
    # a call with no task: a failed attempt opens a redial for the client
    other = await client(api, "Без задачи", phones=["+79035550001"])
    call_id = await _call(api, other)
    body = await ok(await anna.post(f"/api/calls/{call_id}/outcome",
                                    json={"outcome": "no_answer"}))
    assert (body["task"]["kind"], body["task"]["failures"]) == ("redial", 1)
    assert body["call"]["task_id"] == body["task"]["id"]
    # pressed again for the same call: the same task, one more attempt
    body = await ok(await anna.post(f"/api/calls/{call_id}/outcome",
                                    json={"outcome": "callback",
                                          "next_at": "2026-11-24T10:00:00+03:00"}))
    assert (body["task"]["kind"], body["task"]["attempts"]) == ("callback", 2)
    # a final outcome on a call without a task needs none
    call_id = await _call(api, await client(api, "Третий"))
    body = await ok(await anna.post(f"/api/calls/{call_id}/outcome",
                                    json={"outcome": "confirmed"}))
    assert body["task"] is None and body["call"]["disposition"] == "confirmed"
    await refused(await anna.post(f"/api/calls/{call_id}/outcome", json={"outcome": "callback"}),
                  422, "validation_failed")
    await refused(await anna.post("/api/calls/999999/outcome", json={"outcome": "busy"}),
                  404, "not_found")
    await refused(await anna.post(f"/api/calls/{call_id}/outcome", json={"outcome": "nope"}),
                  422, "validation_failed")


async def test_the_pbx_outcome_moves_the_ladder_once_per_call(api):
    anna = await api.login("anna")
    cid = await client(api)
    task = await new_task(anna, cid, kind="redial")
    call_id = await _call(api, cid, task_id=task["id"], outcome="busy")
    service = api.services.tasks
    for _ in range(2):
        async with api.services.db.write() as conn:
            await service.apply_pbx_outcome(conn, task["id"], "busy", call_id=call_id,
                                            call_key="pbx-call-1", at=api.clock())
    got = await ok(await anna.get(f"/api/tasks/{task['id']}"))
    assert (got["failures"], got["attempts"]) == (1, 1)
    assert got["history"][0]["source"] == "pbx"
    # the operator then presses an outcome for that call: one call is one attempt, the
    # operator's button confirms it (their outcome and note on the PBX's attempt)
    got = await outcome(anna, task["id"], "no_answer", call_id=call_id, note="гудки")
    assert (got["failures"], got["attempts"], got["result"]) == (1, 1, "no_answer")
    async with api.services.db.read() as conn:
        rows = (await conn.execute(select(
            task_attempts.c.source, task_attempts.c.outcome, task_attempts.c.note,
            task_attempts.c.user_id).where(task_attempts.c.task_id == task["id"]))).all()
    assert [tuple(r) for r in rows] == [("pbx", "no_answer", "гудки", anna.user["id"])]
    # a later attempt without that call is a new one
    got = await outcome(anna, task["id"], "busy")
    assert (got["failures"], got["attempts"]) == (2, 2)
    # an outcome no definition has (failed) changes nothing
    async with api.services.db.write() as conn:
        assert not await service.apply_pbx_outcome(conn, task["id"], "failed", call_id=call_id,
                                                   call_key="pbx-call-2", at=api.clock())


async def test_outcome_definitions_are_edited_by_admins(api):
    anna = await api.login("anna")
    admin = await api.login("root", "admin")
    body = await ok(await anna.get("/api/outcomes"))
    codes = [o["code"] for o in body["items"]]
    assert codes == ["no_answer", "busy", "unavailable", "invalid_number", "callback",
                     "refused", "confirmed", "paid"]
    first = body["items"][0]
    assert first == {"code": "no_answer", "label_ru": "Не отвечает", "label_en": "No answer",
                     "label": "Не отвечает", "final": False, "failed_attempt": True,
                     "archives": False, "requires_next_at": False, "next_task_kind": None,
                     "hotkey": "1", "position": 0, "active": True, "builtin": True}
    new = {"code": "sms_sent", "label_ru": "Отправлено SMS", "label_en": "SMS sent",
           "hotkey": "9", "position": 20}
    await refused(await anna.post("/api/outcomes", json=new), 403, "forbidden")
    made = await ok(await admin.post("/api/outcomes", json=new), 201)
    assert made["builtin"] is False and made["active"] is True and made["final"] is False
    await refused(await admin.post("/api/outcomes", json=new), 409, "conflict")
    for bad, field in (({**new, "code": "SMS Sent"}, "code"), ({**new, "code": "x" * 33}, "code"),
                       ({**new, "code": "ok2", "label_en": ""}, "label_en"),
                       ({"code": "ok3", "label_ru": "Да"}, "label_en"),
                       ({**new, "code": "ok4", "final": True, "failed_attempt": True}, "final"),
                       ({**new, "code": "ok5", "final": "true"}, "final")):
        err = await refused(await admin.post("/api/outcomes", json=bad), 422,
                            "validation_failed")
        assert field in err["details"]["fields"]
    # built-in ones are relabelled, never given another meaning nor removed
    got = await ok(await admin.patch("/api/outcomes/no_answer",
                                     json={"label_ru": "Не берёт трубку"}))
    assert got["label_ru"] == "Не берёт трубку" and got["failed_attempt"] is True
    await refused(await admin.patch("/api/outcomes/no_answer", json={"final": True}),
                  409, "builtin_outcome")
    await refused(await admin.patch("/api/outcomes/no_answer", json={"active": False}),
                  409, "builtin_outcome")
    delete = admin.client.delete
    await refused(await delete("/api/outcomes/paid", headers={"X-CSRF-Token": admin.csrf}),
                  409, "builtin_outcome")
    await refused(await admin.patch("/api/outcomes/sms_sent",
                                    json={"requires_next_at": True, "archives": True}),
                  422, "validation_failed")
    await refused(await admin.patch("/api/outcomes/sms_sent", json={"code": "other"}),
                  422, "validation_failed")
    await refused(await admin.patch("/api/outcomes/nope", json={"label_ru": "x"}),
                  404, "not_found")
    got = await ok(await admin.patch("/api/outcomes/sms_sent", json={"archives": True}))
    assert got["archives"] is True
    gone = await ok(await delete("/api/outcomes/sms_sent", headers={"X-CSRF-Token": admin.csrf}))
    assert gone["active"] is False
    # a deactivated outcome is listed (for the admin page) but cannot be recorded
    cid = await client(api)
    task = await new_task(anna, cid)
    await refused(await anna.post(f"/api/tasks/{task['id']}/outcome",
                                  json={"outcome": "sms_sent"}), 422, "validation_failed")
    assert "sms_sent" in [o["code"] for o in (await ok(await anna.get("/api/outcomes")))["items"]]


async def test_an_unknown_zone_whose_candidates_never_meet_is_still_placed(api_with):
    """Hours of 09:00-18:00 never open at once from Kaliningrad to Kamchatka: a +7 9xx
    mobile with no city is then reckoned in the shop's zone, never a 500 nor never called."""
    api = await api_with(calling_hours="mon-fri 09:00-18:00")
    anna = await api.login("anna")
    cid = await client(api, "Без города", city=None, phones=["+79261234567"])
    task = await new_task(anna, cid, due="2026-11-23T12:00:00+03:00")
    assert task["status"] == "open"
    moscow = ZoneInfo("Europe/Moscow")
    for stamp in (task["ready_at"], task["window_ends_at"]):
        local = datetime.fromisoformat(stamp).astimezone(moscow)
        assert local.weekday() < 5 and 9 <= local.hour <= 18, stamp
    got = await outcome(anna, task["id"], "no_answer")
    assert got["failures"] == 1 and got["status"] == "open"
    local = datetime.fromisoformat(got["ready_at"]).astimezone(moscow)
    assert local.weekday() < 5 and 9 <= local.hour < 18, got
