"""Client search: "ё" as "е", the last digits of a number, every page of results, and the
indexes that keep it fast on a large base (the query plans, on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, insert, select, text

from callcenter.storage.database import Database
from callcenter.storage.migrate import alembic_config, upgrade
from callcenter.storage.tables import client_phones, clients
from tests.conftest import FrozenClock

NOW = FrozenClock()()


async def make(s, **fields):
    resp = await s.post("/api/clients", json=fields)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def found(s, q, **params):
    resp = await s.get("/api/clients", params={"q": q, **params})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def ids(s, q):
    return sorted(c["id"] for c in (await found(s, q))["items"])


async def test_yo_and_ye_find_each_other_in_any_case(api):
    s = await api.login("anna")
    yo = await make(s, name="Анна Соловьёва")
    ye = await make(s, name="Мария Соловьева")
    other = await make(s, name="Пётр Семёнов")
    both = sorted([yo["id"], ye["id"]])
    for q in ("Соловьева", "соловьёва", "СОЛОВЬЁВА", "Соловьёв", "соловьев"):
        assert await ids(s, q) == both, q
    assert await ids(s, "петр семенов") == [other["id"]]
    assert await ids(s, "ПЁТР") == [other["id"]]
    assert await ids(s, "Семенова") == []


@pytest.mark.parametrize("query", [
    "0101", "01-01", "01 01", "5550101", "555-01-01", "555 01 01", "(926) 555-01-01",
    "8 926 555-01-01", "+7 926 555 01 01", "79265550101", "9265550101",
])
async def test_the_last_digits_or_the_whole_number_find_the_client(api, query):
    s = await api.login("anna")
    olga = await make(s, name="Ольга Смирнова", phones=["+7 926 555-01-01"])
    await make(s, name="Иван Петров", phones=["+79265550102", "+79161010177"])
    result = await found(s, query)
    assert [c["id"] for c in result["items"]] == [olga["id"]], query
    assert result["items"][0]["matched_on"] == "phone"


async def test_fewer_than_four_digits_are_not_a_number_and_others_end_differently(api):
    s = await api.login("anna")
    await make(s, name="Ольга Смирнова", phones=["+79265550101"])
    ivan = await make(s, name="Иван Петров", phones=["+79161239999"])
    assert await ids(s, "101") == []
    assert await ids(s, "0102") == []
    assert await ids(s, "9999") == [ivan["id"]]  # the upper end of the digits' range
    assert await ids(s, "99999") == []


async def test_every_page_of_results_is_reachable(api):
    s = await api.login("anna")
    made = {(await make(s, name=f"Пётр Кузнецов {i}"))["id"] for i in range(23)}
    await make(s, name="Ольга Смирнова")
    seen = []
    for offset in (0, 10, 20):
        page = await found(s, "кузнецов", limit=10, offset=offset)
        assert page["total"] == 23
        seen += [c["id"] for c in page["items"]]
    assert len(seen) == 23 and set(seen) == made
    assert seen == sorted(seen, reverse=True)  # newest first, no overlap between pages
    assert (await found(s, "кузнецов", limit=10, offset=30))["items"] == []


def _capture(db: Database):
    """The SQL statements (with their parameters) the database's reader runs."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.read_engine.sync_engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(db.read_engine.sync_engine, "before_cursor_execute",
                                      record)


async def _seed_many(db: Database, count: int) -> None:
    async with db.write() as conn:
        rows = [{"id": 100_000 + i, "name": f"Клиент {i}", "search_name": f"клиент {i}",
                 "tags": [], "do_not_call": False, "created_at": NOW, "updated_at": NOW}
                for i in range(count)]
        await conn.execute(insert(clients), rows)
        await conn.execute(insert(client_phones), [
            {"client_id": 100_000 + i, "number": f"+7916{i:07d}", "e164": f"+7916{i:07d}",
             "position": 0} for i in range(count)])
        if db.engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE client_phones"))
        else:
            await conn.execute(text("ANALYZE"))


async def _plan(db: Database, statement: str, parameters) -> str:
    async with db.read() as conn:
        if db.engine.dialect.name == "postgresql":
            rows = await conn.exec_driver_sql("EXPLAIN " + statement, tuple(parameters))
            return "\n".join(r[0] for r in rows)
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
        return "\n".join(str(r[-1]) for r in rows)


async def test_a_search_by_the_last_digits_uses_the_reversed_digits_index(api):
    db = api.services.db
    await _seed_many(db, 20_000)
    s = await api.login("anna")
    seen, stop = _capture(db)
    try:
        result = await found(s, "0101")
    finally:
        stop()
    assert result["total"] == 2  # +79160000101 and +79160010101
    searches = [(q, p) for q, p in seen if "client_phones.digits_reversed >=" in q]
    assert searches, "the search did not look at the reversed digits"
    for statement, parameters in searches:
        plan = await _plan(db, statement, parameters)
        assert "ix_client_phones_digits_reversed" in plan, plan
        assert "Seq Scan on client_phones" not in plan and "SCAN client_phones" not in plan, plan


async def test_a_search_by_a_number_uses_the_e164_index(api):
    db = api.services.db
    await _seed_many(db, 20_000)
    s = await api.login("anna")
    seen, stop = _capture(db)
    try:
        assert (await found(s, "+7 916 000-01-01"))["total"] == 1
    finally:
        stop()
    searches = [(q, p) for q, p in seen if "client_phones.e164 >=" in q]
    assert searches
    for statement, parameters in searches:
        plan = await _plan(db, statement, parameters)
        assert "ix_client_phones_e164" in plan, plan


async def test_the_migration_fills_the_reversed_digits_and_folds_yo(db_url):
    """A database with phones and names from before the migration: it fills the new column and
    rewrites the names, so the old clients are found like new ones."""
    script = ScriptDirectory.from_config(alembic_config())
    before = script.get_revision("0009").down_revision
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM client_phones"))
            await conn.execute(text("DELETE FROM clients"))
        from alembic import command

        def down(sync_conn):
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, before)

        async with db.engine.begin() as conn:
            await conn.run_sync(down)
        async with db.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO clients (id, name, search_name, tags, do_not_call, created_at, "
                "updated_at) VALUES (1, 'Алёна Ёлкина', 'алёна ёлкина', '[]', false, "
                ":now, :now)"), {"now": NOW.replace(tzinfo=None)})
            await conn.execute(text(
                "INSERT INTO client_phones (client_id, number, e164, position) "
                "VALUES (1, '8 926 555-01-01', '+79265550101', 0)"))
        await upgrade(db)
        async with db.read() as conn:
            phone = (await conn.execute(select(client_phones.c.digits_reversed))).scalar_one()
            name = (await conn.execute(select(clients.c.search_name))).scalar_one()
        assert phone == "10105556297"
        assert name == "алена елкина"
    finally:
        await db.dispose()


async def test_a_search_too_long_is_refused_with_its_limits(api):
    s = await api.login("anna")
    resp = await s.get("/api/clients", params={"q": " ".join(["иван"] * 11)})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "search_too_long"
    assert error["details"] == {"param": "q", "max_words": 10, "max_chars": 200}
