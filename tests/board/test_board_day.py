"""Today's counters follow local midnight in CALLCENTER_TIMEZONE, with the clock passed in;
and with AMI disabled the board says so and is not stale (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiohttp.test_utils import TestServer
from sqlalchemy import insert

from callcenter.app import create_app
from callcenter.http.keys import SERVICES
from callcenter.services.context import Actor
from callcenter.storage.tables import calls
from tests.board.conftest import until
from tests.conftest import FrozenClock, make_settings

# 23:30 in Moscow
NOW = datetime(2026, 11, 23, 20, 30, tzinfo=timezone.utc)


def answered(key: str, at: datetime, user: dict, talk: int) -> dict:
    return {"call_key": key, "direction": "inbound", "outcome": "answered",
            "answered_by_user_id": user["id"], "answered_by": user["extension"],
            "operators_rung": [user["extension"]], "handled_by": [], "variables": {},
            "started_at": at, "talk_seconds": talk, "status": "completed"}


async def test_counters_start_again_at_local_midnight(db_url):
    clock = FrozenClock(NOW)
    app = create_app(make_settings(db_url, timezone="Europe/Moscow"), clock=clock)
    server = TestServer(app)
    await server.start_server()
    try:
        services = app[SERVICES]
        anna = await services.accounts.create_user(Actor.system("test"), {
            "login": "anna", "name": "Анна", "role": "operator", "extension": "PJSIP/101",
            "password": "pw-secret-anna"})
        async with services.db.write() as conn:
            await conn.execute(insert(calls), [
                answered("yesterday", NOW - timedelta(days=1), anna, 100),
                answered("tonight", NOW - timedelta(hours=2), anna, 40),      # 21:30 MSK
                answered("morning", NOW - timedelta(hours=14), anna, 7),      # 09:30 MSK
                # 00:15 MSK the next day (stored ahead of the frozen clock): counted too,
                # and alone once that day begins
                answered("after-midnight", NOW + timedelta(minutes=45), anna, 30)])
        board = services.board
        board.today.recount_seconds = 3600.0  # only midnight makes it read again here
        board.refresh()
        await board.drain()
        snapshot = await board.snapshot(Actor.system("test"))
        (row,) = snapshot["operators"]
        # 23:30 MSK: the calls since 00:00 MSK, not yesterday's
        assert row["today"]["talk_seconds"] == 40 + 7 + 30
        assert row["today"]["calls"] == 3
        assert snapshot["stale"] is False and snapshot["stale_since"] is None
        assert snapshot["ami"]["status"] == "disabled"

        clock.advance(hours=1)  # 00:30 MSK, the next day

        async def next_day():
            (row,) = (await board.snapshot(Actor.system("test")))["operators"]
            return row["today"] if row["today"]["calls"] == 1 else None

        today = await until(next_day, what="the counters of the new day")
        assert today == {"calls": 1, "inbound": 1, "outbound": 0, "answered": 1,
                         "missed": 0, "talk_seconds": 30, "outcomes": {}}
    finally:
        await server.close()
