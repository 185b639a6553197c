"""Backup of a realistic SQLite database: the online, verified backup (`callcenter backup`'s
code) against the floors — a plain `sqlite3 .backup` (Connection.backup in one step) and a raw
file copy — with the sizes, and the gzip level's effect.

The database is bench_reports' history (calls with their agents, clients, tasks, orders), built
once and cached under /tmp/callcenter-bench/. Goal: a 1,000,000-call database backs up and
verifies in under 2 minutes.

    python bench/bench_backup.py [--calls 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import prepare_sqlite  # noqa: E402
from fixtures import WORK, verdict  # noqa: E402

from callcenter.services.backup import BackupService  # noqa: E402

GOAL_S = 120.0


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 calls")
    args = parser.parse_args()
    calls = 100_000 if args.quick else args.calls
    source = await prepare_sqlite(calls)
    size = source.stat().st_size
    print(f"database: {calls:,} calls, {_mb(size)}")
    out_dir = WORK / "backups"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)

    began = time.perf_counter()
    shutil.copyfile(source, out_dir / "copy.sqlite3")
    copy_s = time.perf_counter() - began
    began = time.perf_counter()
    src, dst = sqlite3.connect(source), sqlite3.connect(out_dir / "plain.sqlite3")
    src.backup(dst)
    src.close()
    dst.close()
    plain_s = time.perf_counter() - began

    service = BackupService(None, lambda: datetime.now(timezone.utc),
                            url=f"sqlite+aiosqlite:///{source}", backup_dir=str(out_dir),
                            keep_days=0, backup_time="", timezone="UTC")
    began = time.perf_counter()
    manifest = await service.create()
    ours_s = time.perf_counter() - began
    ok = manifest["verified"] and ours_s < GOAL_S
    print(f"floor: file copy            {copy_s:6.1f} s")
    print(f"floor: sqlite3 .backup      {plain_s:6.1f} s")
    print(f"backup+gzip+verify+sha256   {ours_s:6.1f} s  -> {_mb(manifest['size'])} "
          f"({manifest['size'] / size:.0%} of the database), verified {manifest['verified']} "
          f"(goal < {GOAL_S:.0f} s) {verdict(ok)}")
    print("summary:")
    print(f"  backup of {calls:,} calls ({_mb(size)}): {ours_s:.1f} s, {_mb(manifest['size'])}; "
          f"floors: copy {copy_s:.1f} s, .backup {plain_s:.1f} s")
    print("all goals met" if ok else "goals missed: backup time")
    shutil.rmtree(out_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
