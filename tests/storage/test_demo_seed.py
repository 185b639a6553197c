"""The demo seed fills an empty database once, with data the screen pop will find."""

from datetime import datetime, timezone

from callcenter.services.demo import seed_demo
from callcenter.storage import clients as repo
from callcenter.storage import users as users_repo
from callcenter.storage.database import Database

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
