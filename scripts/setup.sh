#!/usr/bin/env bash
# Installs what callcenter needs on Debian (idempotent): system packages, a virtualenv, the package.
#   scripts/setup.sh          what running the product needs
#   scripts/setup.sh --test   also what the test suite needs (PostgreSQL, Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

# ffmpeg converts recordings; pango and the DejaVu fonts (Cyrillic) let WeasyPrint render PDFs
packages=(ffmpeg libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
# the tests also run Debian's nginx in front of several server processes
[ "${1:-}" = "--test" ] && packages+=(postgresql chromium nginx)

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
# Another apt or dpkg (unattended-upgrades on a fresh machine, most often) may hold the locks:
# wait for it, up to 10 minutes, instead of failing at once. dpkg's lock is waited on by apt
# itself; `apt-get update` gives up on the lists lock at once, so it is retried here.
lock_wait=600
retry_every=${CALLCENTER_APT_RETRY_SECONDS:-5}
apt_update() {
  local started=$SECONDS told="" out
  while ! out=$($sudo apt-get -o DPkg::Lock::Timeout=$lock_wait update -qq 2>&1); do
    if ! grep -qi "could not get lock" <<<"$out" || [ $((SECONDS - started)) -ge "$lock_wait" ]; then
      echo "$out" >&2
      return 1
    fi
    [ -z "$told" ] && told=1 && echo "waiting for another apt/dpkg to finish (up to ${lock_wait}s)…"
    sleep "$retry_every"
  done
}
apt_install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=$lock_wait install -y -qq "$@" >/dev/null
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt_update
  apt_install "${missing[@]}"
  # installing nginx starts the distribution's own server on port 80 where systemd runs; the
  # tests start their own nginx with their own configuration, so that one is stopped again
  if [[ " ${missing[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null \
      && systemctl is-active --quiet nginx 2>/dev/null; then
    $sudo systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv 2>/dev/null || {
    echo "python3-venv is missing; installing it"
    apt_update && apt_install python3-venv
    "$python" -m venv .venv
  }
fi
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
stamp=".venv/.installed${extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extra}"
  touch "$stamp"
fi
