"""The demo seed fills an empty database once, with data the screen pop will find."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from callcenter.config import load_settings
from callcenter.domain.calling_hours import parse_calling_hours
from callcenter.domain.client_zone import resolve_client_zone
from callcenter.domain.demo_data import TASK_KINDS
from callcenter.domain.redial import window_for
from callcenter.services.demo import seed_demo
from callcenter.storage import clients as repo
from callcenter.storage import tasks as tasks_repo
from callcenter.storage import users as users_repo
from callcenter.storage.database import Database
from callcenter.storage.tables import calls, clients, task_attempts, tasks

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


async def test_seed_once_with_operators_and_findable_clients(db_url):
    db = Database(db_url)
    try:
        creds = await seed_demo(db, clients=200, now=NOW)
        assert set(creds["users"]) == {"101", "102", "supervisor", "admin"}
        async with db.read() as conn:
            assert await repo.count_clients(conn) == 200
            anna = await users_repo.get_user_by_extension(conn, "PJSIP/101")
            assert anna["role"] == "operator"
            hits = await repo.client_ids_by_phone(conn, ["+79161234567"])
            (ivan,) = await repo.get_clients(conn, [hits[0][0]])
            assert ivan["name"] == "Иван Петров"
            assert await repo.client_ids_by_phone(conn, ["+79031112233"]) == []
        again = await seed_demo(db, clients=200, now=NOW)
        assert again.get("already_seeded") is True
        async with db.read() as conn:
            assert await repo.count_clients(conn) == 200
    finally:
        await db.dispose()


async def test_the_operators_day_is_seeded_placed_in_the_calling_windows(db_url):
    """Every open task is placed: handed out from ready_at (its due time moved into the
    client's calling window, the next one when that window has closed) until window_ends_at, the
    end of that window; a do-not-call client has none; Next task finds something at the seed's
    moment; the archive is not empty."""
    db = Database(db_url)
    settings = load_settings({}, environ={})
    hours = parse_calling_hours(settings.calling_hours, settings.holidays)
    try:
        await seed_demo(db, clients=120, now=NOW)
        async with db.read() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(
                select(tasks, clients.c.do_not_call, clients.c.name.label("client_name"),
                       clients.c.timezone.label("client_zone"), clients.c.city, clients.c.region)
                .select_from(tasks.outerjoin(clients, clients.c.id == tasks.c.client_id)))]
            missed = {r.id: r for r in await conn.execute(select(calls))}
            attempts = (await conn.execute(select(func.count()).select_from(task_attempts))
                        ).scalar_one()
        opened = [r for r in rows if r["status"] == "open"]
        assert {r["kind"] for r in opened} == set(TASK_KINDS)
        assert {r["failures"] for r in opened if r["kind"] == "redial"} == {1, 2, 3}
        assert attempts >= 6
        zones = set()
        for r in opened:
            assert not r["do_not_call"], r
            phone = r["phone_e164"]
            zone = resolve_client_zone(r["client_zone"], r["city"], r["region"], phone,
                                       fallback=(settings.timezone,))
            window = window_for(r["due_at"], zone, hours)
            at = r["due_at"] if window.closes_at > NOW else NOW  # its window gone: the next
            window = window_for(at, zone, hours)
            assert r["ready_at"] == max(at, window.opens_at), r
            assert r["window_ends_at"] > NOW, r
            assert r["window_ends_at"] == window.closes_at, r
            assert window.opens_at <= r["ready_at"] < r["window_ends_at"], r
            assert r["timezone"] == ",".join(zone.zones)
            zones.add(r["timezone"])
            if r["kind"] == "missed_call":
                assert missed[r["call_id"]].outcome == "missed"
                assert missed[r["call_id"]].caller_e164 == phone
        assert {"Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Novosibirsk",
                "Asia/Vladivostok", "America/New_York"} <= zones
        assert any("," in z for z in zones)  # the mobile with no known zone: the candidates
        archived = [r for r in rows if r["status"] == "archived"]
        assert {r["closed_reason"] for r in archived} == {
            "ladder_exhausted", "invalid_number", "do_not_call"}
        assert [r["client_name"] for r in rows if r["do_not_call"]] == ["Тамара Фролова"]
        async with db.read() as conn:
            anna = await users_repo.get_user_by_extension(conn, "PJSIP/101")
        async with db.write() as conn:
            claimed = await tasks_repo.claim_next(conn, anna["id"], NOW,
                                                  NOW + timedelta(minutes=10))
        assert claimed is not None
    finally:
        await db.dispose()


async def test_the_seed_has_four_weeks_of_history_for_the_reports(db_url):
    """History calls are before the seed's day, answered by the demo operators (their user ids)
    and matched to the clients they were with; every operator has state changes."""
    from callcenter.storage.tables import agent_state_changes

    db = Database(db_url)
    try:
        await seed_demo(db, clients=120, now=NOW)
        async with db.read() as conn:
            rows = [r._mapping for r in await conn.execute(
                select(calls).where(calls.c.call_key.like("demo-history-%")))]
            anna = await users_repo.get_user_by_extension(conn, "PJSIP/101")
            changes = (await conn.execute(select(func.count()).select_from(agent_state_changes)
                                          .where(agent_state_changes.c.user_id == anna["id"]))
                       ).scalar_one()
        assert len(rows) > 500
        assert all(r["started_at"] < NOW for r in rows)
        answered = [r for r in rows if r["outcome"] == "answered"]
        assert {r["answered_by_user_id"] for r in answered} >= {anna["id"]}
        assert sum(r["client_id"] is not None for r in rows) == len(rows)
        assert changes > 100
    finally:
        await db.dispose()
