#!/usr/bin/env bash
# Installs callcenter and runs it with the embedded SQLite database and demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/callcenter demo "$@"
