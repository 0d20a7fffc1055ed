#!/usr/bin/env bash
# Project-owned PostgreSQL + PostGIS cluster: never touches a system cluster.
# Usage: scripts/pg.sh ensure-postgis | init | start | stop | status | url | psql [args]
# Settings (env): WANGGE_PG_PORT (54329), WANGGE_PG_DIR (.pgdata), WANGGE_PG_BIN.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${WANGGE_PG_PORT:-54329}"
DATA="${WANGGE_PG_DIR:-$ROOT/.pgdata}"
RUN="$ROOT/.pgrun"
LOCAL="$ROOT/.local"
ENVFILE="$LOCAL/db.env"
PGBIN="${WANGGE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
DBUSER=wangge
DBNAME=wangge

as_pg() {  # PostgreSQL refuses to run as root: run its tools as 'postgres'
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

have_postgis() {
  local share; share="$("$PGBIN/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15)"
  ls "$share"/extension/postgis.control >/dev/null 2>&1
}

ensure_postgis() {
  [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found (WANGGE_PG_BIN)"; exit 1; }
  if ! have_postgis; then
    local ver; ver="$(basename "$(dirname "$PGBIN")")"
    echo "PostGIS missing: installing postgresql-$ver-postgis-3 from Debian's packages"
    if [ "$(id -u)" != 0 ]; then echo "need root to apt-get install postgresql-$ver-postgis-3"; exit 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$ver-postgis-3" >/dev/null
  fi
}

init() {
  ensure_postgis
  mkdir -p "$LOCAL" "$RUN"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA" "$RUN"
    chmod 700 "$DATA"
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$DATA/postgresql.conf" <<CONF
# wangge: project-owned cluster
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
shared_buffers = 512MB
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
fsync = on
synchronous_commit = off
CONF
  fi
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN"
  if [ ! -s "$ENVFILE" ]; then
    local pw; pw="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
    umask 077
    printf 'DATABASE_URL=postgresql+psycopg2://%s:%s@127.0.0.1:%s/%s\n' "$DBUSER" "$pw" "$PORT" "$DBNAME" > "$ENVFILE"
    printf 'WANGGE_DB_PASSWORD=%s\n' "$pw" >> "$ENVFILE"
  fi
}

running() { as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  init
  if ! running; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null
  fi
  bootstrap
}

psql_admin() { as_pg "$PGBIN/psql" -h "$RUN" -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

bootstrap() {
  local pw; pw="$(grep '^WANGGE_DB_PASSWORD=' "$ENVFILE" | cut -d= -f2-)"
  # template1 carries PostGIS, so every database the app role creates has it
  psql_admin -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  psql_admin -d postgres -v pw="$pw" -v u="$DBUSER" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'u', :'pw') \gexec
SQL
  if ! psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DBNAME'" | grep -q 1; then
    psql_admin -d postgres -c "CREATE DATABASE $DBNAME OWNER $DBUSER" >/dev/null
  fi
}

stop() { if [ -s "$DATA/PG_VERSION" ] && running; then as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; echo "stopped PostgreSQL on port $PORT"; fi; }

case "${1:-}" in
  ensure-postgis) ensure_postgis ;;
  init) init ;;
  start) start; echo "PostgreSQL + PostGIS on 127.0.0.1:$PORT (data: $DATA)" ;;
  stop) stop ;;
  status) if running; then echo "running on $PORT"; else echo "stopped"; exit 3; fi ;;
  url) grep '^DATABASE_URL=' "$ENVFILE" | cut -d= -f2- ;;
  psql) shift; psql_admin -d "$DBNAME" "$@" ;;
  *) echo "usage: $0 ensure-postgis|init|start|stop|status|url|psql"; exit 2 ;;
esac
