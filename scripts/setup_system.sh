#!/usr/bin/env bash
# Install the Debian packages Wangge needs, only those that are missing (idempotent).
# Usage: scripts/setup_system.sh [demo|test]
set -euo pipefail
MODE="${1:-demo}"
PGVER="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
[ -n "$PGVER" ] || { echo "PostgreSQL server is not installed (expected /usr/lib/postgresql/N)"; exit 1; }
need=()
[ -f "/usr/share/postgresql/$PGVER/extension/postgis.control" ] || need+=("postgresql-$PGVER-postgis-3")
command -v ogr2ogr >/dev/null || need+=(gdal-bin)                       # interop tests, bench reference
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
installed fonts-noto-cjk || need+=(fonts-noto-cjk)                  # Chinese text in printed maps
if [ "$MODE" = test ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)                         # browser tests (Playwright)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing Debian packages: ${need[*]} (run as root to install)"; exit 1; fi
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
