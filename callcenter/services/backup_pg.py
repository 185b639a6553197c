"""PostgreSQL backups with pg_dump / pg_restore.

Consistency rule: a REPEATABLE READ transaction exports its snapshot
(``pg_export_snapshot()``), counts every table in it, and ``pg_dump --snapshot`` dumps that
same snapshot while the transaction stays open. "Verified" means: ``pg_restore --list`` reads
the archive, and — when this role may create databases — the archive restored into a scratch
database ``<db>_verify_<pid>`` (dropped after) has, table by table, the counts of the snapshot.
Without CREATEDB the check falls back to ``--list`` and the manifest says so.

The password goes to the tools in ``PGPASSWORD``, never on their command line.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from callcenter.services.backup_sqlite import BackupFileError


class ToolMissing(Exception):
    pass


def connect_args(url: str) -> dict:
    u = make_url(url)
    return {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username,
            "password": u.password, "database": u.database}


def tool_env(args: dict) -> dict:
    env = dict(os.environ)
    env.update(PGHOST=str(args["host"]), PGPORT=str(args["port"]))
    if args["user"]:
        env["PGUSER"] = args["user"]
    if args["password"]:
        env["PGPASSWORD"] = args["password"]
    else:
        env.pop("PGPASSWORD", None)
    return env


async def _major(binary: str) -> int:
    proc = await asyncio.create_subprocess_exec(binary, "--version",
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    m = re.search(rb"(\d+)(?:\.\d+)?", out)
    return int(m[1]) if m else 0


async def find_tool(name: str, server_major: int) -> str:
    """The ``pg_dump``/``pg_restore`` whose major version is ≥ the server's (the lowest such,
    PATH first, then /usr/lib/postgresql/*/bin)."""
    candidates = [p for p in [shutil.which(name)] if p]
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    best: tuple[int, str] | None = None
    for c in candidates:
        major = await _major(c)
        if major >= server_major and (best is None or major < best[0]):
            best = (major, c)
    if best is None:
        raise ToolMissing(f"no {name} of version {server_major} or newer found "
                          "(install postgresql-client)")
    return best[1]


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    names = [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    return {n: await conn.fetchval(f'SELECT count(*) FROM "{n}"') for n in names}


async def _revision(conn: asyncpg.Connection) -> str | None:
    # looked up first: a failed query would abort the snapshot's transaction
    if await conn.fetchval("SELECT to_regclass('public.alembic_version')") is None:
        return None
    return await conn.fetchval("SELECT version_num FROM alembic_version")


async def _run(*argv: str, env: dict) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode:
        raise BackupFileError(f"{Path(argv[0]).name} failed: "
                              f"{err.decode(errors='replace').strip()[:500]}")


async def make_backup(url: str, target: Path) -> dict:
    args = connect_args(url)
    conn = await asyncpg.connect(**args)
    try:
        major = (conn.get_server_version().major)
        pg_dump = await find_tool("pg_dump", major)
        work = target.with_name(target.name + ".partial")
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            counts = await _counts(conn)
            revision = await _revision(conn)
            try:
                await _run(pg_dump, "-Fc", "--no-owner", f"--snapshot={snapshot}",
                           "-f", str(work), args["database"], env=tool_env(args))
                fd = os.open(work, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(work, target)
            finally:
                if work.exists():
                    work.unlink()
    finally:
        await conn.close()
    return {"counts": counts, "revision": revision, "server_major": major}


async def verify_backup(url: str, backup: Path, expected: dict[str, int]) -> dict:
    """--list, then a scratch restore and its counts when permitted. Returns {"method",
    "counts"?}; raises BackupFileError when the archive is unusable or counts differ."""
    args = connect_args(url)
    env = tool_env(args)
    conn = await asyncpg.connect(**args)
    try:
        major = conn.get_server_version().major
        pg_restore = await find_tool("pg_restore", major)
        await _run(pg_restore, "--list", str(backup), env=env)
        scratch = f"{args['database']}_verify_{os.getpid()}"
        try:
            await conn.execute(f'CREATE DATABASE "{scratch}"')
        except asyncpg.PostgresError as exc:
            return {"method": "list", "note": f"scratch database not permitted: {exc}"}
        try:
            await _run(pg_restore, "--no-owner", "--exit-on-error", "-d", scratch,
                       str(backup), env=env)
            check = await asyncpg.connect(**{**args, "database": scratch})
            try:
                counts = await _counts(check)
            finally:
                await check.close()
        finally:
            await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    finally:
        await conn.close()
    if counts != expected:
        raise BackupFileError("row counts of the restored copy differ from the snapshot's")
    return {"method": "scratch_restore", "counts": counts}


async def restore_backup(url: str, backup: Path) -> dict:
    args = connect_args(url)
    conn = await asyncpg.connect(**args)
    try:
        pg_restore = await find_tool("pg_restore", conn.get_server_version().major)
    finally:
        await conn.close()
    env = tool_env(args)
    await _run(pg_restore, "--list", str(backup), env=env)
    await _run(pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
               "--exit-on-error", "-d", args["database"], str(backup), env=env)
    conn = await asyncpg.connect(**args)
    try:
        return {"counts": await _counts(conn), "revision": await _revision(conn)}
    finally:
        await conn.close()
