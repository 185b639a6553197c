#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts PostgreSQL, runs pytest (SQLite + PostgreSQL,
# the AMI traces over TCP, the browser tests in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
CALLCENTER_TEST_PG_URL=$(bash scripts/test-postgres.sh)
export CALLCENTER_TEST_PG_URL
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
