"""The CRM on another machine than the PBX: the call log reconciled from the cdr table Asterisk's
cdr_pgsql writes, on a real PostgreSQL server, filled with the real sample rows."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.cdr.conftest import lines_of, start_crm
from tests.cdr.test_cdr_domain import EXPECTED
from tests.conftest import PG_URL

# cdr_pgsql's table as Asterisk's documentation creates it, with the 1.8+ columns
CREATE_CDR = """
CREATE TABLE cdr (
    calldate timestamp NOT NULL,
    clid varchar (80) NOT NULL,
    src varchar (80) NOT NULL,
    dst varchar (80) NOT NULL,
    dcontext varchar (80) NOT NULL,
    channel varchar (80) NOT NULL,
    dstchannel varchar (80) NOT NULL,
    lastapp varchar (80) NOT NULL,
    lastdata varchar (80) NOT NULL,
    duration int NOT NULL,
    billsec int NOT NULL,
    disposition varchar (45) NOT NULL,
    amaflags int NOT NULL,
    accountcode varchar (20) NOT NULL,
    uniqueid varchar (150) NOT NULL,
    userfield varchar (255) NOT NULL,
    peeraccount varchar(20) NOT NULL,
    linkedid varchar(150) NOT NULL,
    sequence int NOT NULL
)
"""
INSERT = ("INSERT INTO cdr (calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, "
          "lastdata, duration, billsec, disposition, amaflags, accountcode, uniqueid, userfield, "
          "peeraccount, linkedid, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
          "$11, $12, $13, $14, $15, $16, $17, $18, $19)")


def master_rows(lines):
    """Master.csv rows as cdr_pgsql inserts the same CDRs (calldate in UTC, timezone = UTC)."""
    out = []
    for f in csv.reader(lines):
        out.append((datetime.fromisoformat(f[9]), f[4], f[1], f[2], f[3], f[5], f[6], f[7], f[8],
                    int(f[12]), int(f[13]), f[14], 3, f[0], f[16], f[17], f[18], f[19],
                    int(f[20])))
    return out


@pytest.fixture
async def pbx_cdr_db():
    """A database of the PBX's own, with an empty cdr table."""
    if PG_URL is None:
        pytest.skip("no PostgreSQL server (set CALLCENTER_TEST_PG_URL)")
    url = make_url(PG_URL)
    name = f"asterisk_cdr_{uuid.uuid4().hex[:8]}"
    kw = dict(user=url.username, password=url.password, host=url.host, port=url.port or 5432)
    admin = await asyncpg.connect(database=url.database or "postgres", **kw)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(database=name, **kw)
    await conn.execute(CREATE_CDR)
    yield conn, url.set(database=name).render_as_string(hide_password=False)
    await conn.close()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def test_calls_are_reconciled_from_the_cdr_table(db_url, aiohttp_client, pbx_cdr_db):
    conn, cdr_url = pbx_cdr_db
    lines = lines_of("Master.csv")
    await conn.executemany(INSERT, master_rows(lines[:23]))
    crm = await start_crm(db_url, aiohttp_client, asterisk_cdr_file="",
                          asterisk_cdr_db_url=cdr_url, asterisk_cdr_db_table="cdr")
    found = await crm.wait_for_calls(12)
    first_batch = {k for k in EXPECTED if k not in ("1796155787.3", "1796155799.6")}
    assert set(found) == first_batch
    for key in first_batch:
        direction, outcome, _op, _number, talk, _rung = EXPECTED[key]
        row = found[key]
        assert (row["direction"], row["outcome"], row["talk_seconds"]) == \
            (direction, outcome, talk), key
    assert found["1796155220.0"]["client_id"] == crm.seeded["ivan"]
    # no answer column: end - billsec, and billsec is whole seconds (the CSV says 20:00:38)
    answered = found["1796155234.2"]["answered_at"]
    assert abs((answered - datetime.fromisoformat("2026-12-01T20:00:38+00:00")).total_seconds()) <= 1

    # the PBX restarted (sequence from 0 again) and wrote two more calls
    await conn.executemany(INSERT, master_rows(lines[23:]))
    report = await crm.telephony.cdr.reconcile()
    assert report.stored == 2 and not report.failed
    found = await crm.calls()
    assert set(found) == set(EXPECTED)
    # a late row of a call already reconciled makes no second call
    late = list(master_rows(lines[2:3])[0])
    late[6] = "PJSIP/103-000000ff"
    await conn.execute(INSERT, *late)
    report = await crm.telephony.cdr.reconcile()
    assert report.stored == 0
    assert (await crm.calls()).keys() == found.keys()
    tasks = await crm.tasks()
    callbacks = [t for t in tasks if t["kind"] == "missed_call" and t["status"] == "open"]
    assert [t["phone_e164"] for t in callbacks] == ["+79031112233"]
