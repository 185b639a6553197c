#!/usr/bin/env bash
# A private PostgreSQL server for the tests. It lives in ${CALLCENTER_TEST_PG_DIR:-/tmp/callcenter-test-postgres},
# listens on 127.0.0.1:${CALLCENTER_TEST_PG_PORT:-54329}, and trusts local connections: it is for tests only.
#   scripts/test-postgres.sh          start it if it is not running (idempotent) and print its URL
#   scripts/test-postgres.sh status   exit 0 if a server answers on that port
#   scripts/test-postgres.sh stop     stop the server in that folder
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
case "${1:-start}" in
  status)
    exec "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" ;;
  stop)
    # one that is not running is stopped already
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|status|stop]" >&2; exit 2 ;;
esac
if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    "${as_pg[@]}" "$bindir/initdb" -D "$data" -U callcenter --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # 300 connections: the scaling tests and benchmarks run several server processes, each with
  # its own pools
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
fi
echo "postgresql+asyncpg://callcenter@127.0.0.1:$port/postgres"
