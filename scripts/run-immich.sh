#!/usr/bin/env bash
# Starts a built Immich server tree (scripts/immich-server.sh) for the tests, when no vendor folder
# provides its own run-immich.sh (scripts/upstream-sources.sh path run-immich.sh says which is used).
# Creates the database when missing, then runs server/dist/main.js in the foreground. SIGTERM or SIGINT
# stops Immich and every process it started (it forks its API worker and an exiftool helper).
# For v3.1.0, put Node 24 first on PATH (scripts/immich-server.sh toolchain).
#
# Environment: IMMICH_DIR (the immich-v<release> folder, required), IMMICH_DB (default immich),
# PGHOST_ADDR / PGPORT_N (default 127.0.0.1 / 5432; user postgres, trust auth), REDIS_HOST / REDIS_P
# (default 127.0.0.1 / 6379), REDIS_DBINDEX (default 0), IMMICH_PORT (default 2283), IMMICH_HOST
# (default: every address), MEDIA_DIR (default /tmp/immich-media), ML_URL (default
# http://127.0.0.1:3003), IMMICH_LOG_LEVEL (default log), IMMICH_BUILD_DATA (default: the build data
# of scripts/upstream-sources.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${IMMICH_DIR:?set IMMICH_DIR to a built immich-v<release> folder (scripts/immich-server.sh dir)}"
db="${IMMICH_DB:-immich}"
pg_host="${PGHOST_ADDR:-127.0.0.1}"
pg_port="${PGPORT_N:-5432}"

sql() { psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
if [ "$(sql -c "SELECT 1 FROM pg_database WHERE datname = '${db//\'/\'\'}'")" != 1 ]; then
  sql -c "CREATE DATABASE \"${db//\"/\"\"}\""
fi

export DB_URL="postgres://postgres@$pg_host:$pg_port/$db"
export DB_VECTOR_EXTENSION=pgvector
export REDIS_HOSTNAME="${REDIS_HOST:-127.0.0.1}"
export REDIS_PORT="${REDIS_P:-6379}"
export REDIS_DBINDEX="${REDIS_DBINDEX:-0}"
export IMMICH_MEDIA_LOCATION="${MEDIA_DIR:-/tmp/immich-media}"
export IMMICH_BUILD_DATA="${IMMICH_BUILD_DATA:-$("$ROOT/scripts/upstream-sources.sh" path immich-build-data)}"
export IMMICH_MACHINE_LEARNING_URL="${ML_URL:-http://127.0.0.1:3003}"
export IMMICH_PORT="${IMMICH_PORT:-2283}"
export IMMICH_ENV="${IMMICH_ENV:-production}"
export IMMICH_LOG_LEVEL="${IMMICH_LOG_LEVEL:-log}"
export NO_COLOR="${NO_COLOR:-1}"
if [ -n "${IMMICH_HOST:-}" ]; then export IMMICH_HOST; fi
mkdir -p "$IMMICH_MEDIA_LOCATION"

cd "$IMMICH_DIR/server"
# Immich in a process group of its own (setsid): its workers and helpers join it, so one signal to the
# group reaches all of them, whatever this script's own group is.
# (A background job of a script is not a group leader, so setsid makes the session in place: $! is
# Immich's process and its group's id.)
setsid node dist/main.js &
immich=$!
# Whether a process of Immich's session is still running (an exited one stays a zombie until reaped).
running() { ps --sid "$immich" -o stat= 2> /dev/null | grep -qv '^Z'; }
stop() {
  trap - TERM INT
  kill -TERM -- "-$immich" 2> /dev/null || true
  for _ in $(seq 1 40); do
    running || exit 143
    sleep 0.25
  done
  kill -KILL -- "-$immich" 2> /dev/null || true
  exit 143
}
trap stop TERM INT
# Immich exiting on its own takes what is left of its group with it.
trap 'kill -TERM -- "-$immich" 2> /dev/null || true' EXIT
# wait returns early (above 128) when a trapped signal arrives; the trap then stops Immich.
wait "$immich"
