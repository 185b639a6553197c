"""SQLite backups: a consistent copy of a live database, its check, and putting one back.

Blocking code (``sqlite3``, files); the backup service runs it in a worker thread.

Consistency rule: the copy is taken with SQLite's online backup API, page by page, from a
connection that holds ONE read transaction for the whole copy. In WAL mode that transaction is a
snapshot: the server's writers go on committing meanwhile, the copy never restarts and holds
exactly the snapshot's data. The per-table row counts are read in that same transaction, so
"verified" means: the copy passes ``PRAGMA integrity_check`` and each table of the copy has the
row count the source had in the snapshot the copy was made from.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sqlite3
import zlib
from datetime import datetime
from pathlib import Path

PAGES_PER_STEP = 4096  # 16 MB of 4 KB pages per step; the server's writers never wait on it
GZIP_LEVEL = 3  # a guess between speed and size; other levels not yet measured (bench_backup.py)


class BackupFileError(Exception):
    """A backup file that cannot be used (unreadable, corrupt, wrong kind)."""


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def revision_of(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_backup(source: Path, target: Path) -> dict:
    """Copy ``source`` into ``target`` (gzip, written beside it and renamed into place
    atomically). Returns {"counts", "revision"} read in the copy's snapshot."""
    work = target.with_name(target.name + ".partial")
    plain = target.with_name(target.name + ".partial.sqlite3")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    try:
        src.execute("BEGIN")
        counts = table_counts(src)  # opens the snapshot the copy is made from
        revision = revision_of(src)
        dst = sqlite3.connect(plain)
        try:
            src.backup(dst, pages=PAGES_PER_STEP)
            # a single self-contained file: no -wal/-shm beside the copy when it is opened
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
        src.execute("COMMIT")
    finally:
        src.close()
    try:
        with open(plain, "rb") as raw, open(work, "wb") as out:
            with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL,
                               filename="", mtime=0) as gz:
                shutil.copyfileobj(raw, gz, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(work, target)
        _fsync_dir(target.parent)
    finally:
        plain.unlink(missing_ok=True)
        work.unlink(missing_ok=True)
    return {"counts": counts, "revision": revision}


def _decompress(backup: Path, plain: Path) -> None:
    try:
        with gzip.open(backup, "rb") as gz, open(plain, "wb") as out:
            shutil.copyfileobj(gz, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BackupFileError(f"{backup.name} cannot be decompressed: {exc}") from None


def _unlink_with_sidecars(path: Path) -> None:
    for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
        p.unlink(missing_ok=True)


def check_copy(plain: Path) -> dict:
    """integrity_check, counts and revision of a plain (decompressed) copy."""
    try:
        conn = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise BackupFileError("integrity check failed: " + "; ".join(result[:5]))
            return {"counts": table_counts(conn), "revision": revision_of(conn)}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupFileError(f"not a readable SQLite database: {exc}") from None


def verify_backup(backup: Path, scratch: Path) -> dict:
    """Decompress ``backup`` to ``scratch`` (removed after) and check it."""
    try:
        _decompress(backup, scratch)
        return check_copy(scratch)
    finally:
        _unlink_with_sidecars(scratch)


def database_in_use(path: Path) -> bool:
    """True when another connection has ``path`` open (a running server keeps its
    connections open): an exclusive-mode lock on the file is then refused."""
    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def restore_backup(backup: Path, database: Path, now: datetime) -> dict:
    """Put ``backup`` in place of ``database``; the old file is kept beside it as
    ``<name>.before-restore-YYYYmmdd-HHMMSS``. The database is untouched unless the backup
    decompresses and passes the integrity check."""
    plain = database.with_name(database.name + ".restoring")
    try:
        _decompress(backup, plain)
        info = check_copy(plain)
        kept = None
        if database.exists():
            kept = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
            # a clean, single-file copy of the current state (WAL folded in)
            old = sqlite3.connect(database)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
            shutil.copy2(database, kept)
        for suffix in ("-wal", "-shm"):
            Path(str(database) + suffix).unlink(missing_ok=True)
        os.replace(plain, database)
        _fsync_dir(database.parent)
        return {**info, "kept": str(kept) if kept else None}
    finally:
        _unlink_with_sidecars(plain)
