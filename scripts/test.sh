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
if [ $# -gt 0 ]; then  # what was asked for, in this process
  status=0
  .venv/bin/python -m pytest -p no:cacheprovider "$@" || status=$?
  exit "$status"
fi
# The whole suite. Most tests wait on sockets, servers and subprocesses rather than on a core:
# all but the browser tests run in two workers (pytest-xdist, a test file each at a time;
# CALLCENTER_TEST_WORKERS sets how many). The browser tests run after them in one process:
# Playwright's sync API keeps an event loop running in the process that drives the browser,
# where no async test could run after it.
status=0
.venv/bin/python -m pytest -p no:cacheprovider -n "${CALLCENTER_TEST_WORKERS:-2}" \
  --dist loadfile --ignore=tests/browser || status=$?
.venv/bin/python -m pytest -p no:cacheprovider tests/browser || status=$((status ? status : $?))
exit "$status"
