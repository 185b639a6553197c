#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts PostgreSQL, runs pytest (SQLite + PostgreSQL,
# the AMI traces over TCP, the browser tests in headless Chromium). A PostgreSQL server this script
# started is stopped again when it ends, whatever the outcome; one already running is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if ! bash scripts/test-postgres.sh status; then
  trap 'bash scripts/test-postgres.sh stop' EXIT
fi
CALLCENTER_TEST_PG_URL=$(bash scripts/test-postgres.sh)
export CALLCENTER_TEST_PG_URL
.venv/bin/python -m pytest -p no:cacheprovider "$@"
