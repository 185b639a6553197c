#!/usr/bin/env bash
# Starts a private PostgreSQL server for the tests (idempotent) and prints its URL.
# It lives in var/test-postgres, listens on 127.0.0.1:${CALLCENTER_TEST_PG_PORT:-54329},
# and trusts local connections: it is for tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CALLCENTER_TEST_PG_PORT:-54329}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL is not installed (scripts/setup.sh --test installs it)" >&2; exit 1; }
data=${CALLCENTER_TEST_PG_DIR:-/tmp/callcenter-test-postgres}
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # the server refuses to run as root
  as_pg=(runuser -u postgres --)
fi
if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    "${as_pg[@]}" "$bindir/initdb" -D "$data" -U callcenter --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi
echo "postgresql+asyncpg://callcenter@127.0.0.1:$port/postgres"
