"""A listen-in that runs through an AMI reconnect stays on the board: the resync's
CoreShowChannels lists the supervisor's channel running ChanSpy (the simulator answers the CRM's
own listen-in Originate with a spy leg, callcenter/ami/sim_spy.py), and its ChanSpyStop still
ends it. SQLite; the database plays no part."""

from __future__ import annotations

import pytest

from tests.board.conftest import until
from tests.supervise.conftest import desk as spy_desk  # noqa: F401  (the fixture)


async def supervised_by(client, operator_id: int):
    board = await (await client.get("/api/board")).json()
    (row,) = [o for o in board["operators"] if o["user_id"] == operator_id]
    return board, (row["call"] or {}).get("supervised_by")


@pytest.fixture
def db_url(sqlite_url):
    return sqlite_url


async def test_a_listen_in_survives_a_reconnect(spy_desk):  # noqa: F811
    desk = spy_desk
    boss = await desk.browser("boss")
    me = await (await boss.get("/api/me")).json()
    boss.session.headers["X-CSRF-Token"] = me["csrf_token"]
    anna = desk.users["101"]
    resp = await boss.post("/api/supervise", json={"operator_id": anna["id"], "mode": "whisper"})
    assert resp.status == 202, await resp.text()
    await until(lambda: any(s.spying for s in desk.sim.spies.values()), what="ChanSpyStart")
    wanted = {"user_id": desk.users["boss"]["id"], "name": "Светлана Главная",
              "mode": "whisper"}

    async def spied():
        _, found = await supervised_by(boss, anna["id"])
        return found == wanted

    await until(spied, what="supervised_by on the board")

    desk.sim.disconnect_all()
    await until(lambda: not desk.telephony.ami.connected, what="the drop")
    await desk.telephony.ami.wait_connected(15)

    async def fresh():
        board, found = await supervised_by(boss, anna["id"])
        return (board, found) if not board["stale"] else None

    board, found = await until(fresh, what="the board fresh after the resync")
    # rebuilt from the listing: the supervisor by their phone, the mode from ChanSpy's options
    assert found == wanted
    assert desk.sim.hangup_spies() == 1

    async def gone():
        _, found = await supervised_by(boss, anna["id"])
        return found is None

    await until(gone, what="supervised_by gone after the supervisor hung up")
    await boss.close()
