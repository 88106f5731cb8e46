#!/usr/bin/env bash
# Builds pgvector and zhparser (on the SCWS segmenter and its simplified-Chinese dictionary) and installs
# them into this machine's PostgreSQL, for the tests: Debian's packages have neither. The sources come
# from scripts/upstream-sources.sh: the vendor folder's archives when there is one, else upstream's,
# checked against scripts/upstream-sources.env and cached.
#
# Root (it writes PostgreSQL's folders and /usr/local/scws). Does nothing when both are installed
# (FORCE=1 builds again). On Debian and Ubuntu it installs what the build needs with apt-get
# (postgresql-server-dev-<major>, a C toolchain, autotools); elsewhere it names what is missing.
# DESTDIR=<folder> installs under that folder instead: a trial that leaves the machine as it was.
# Files only: `CREATE EXTENSION` and the `chinese` text search configuration are our migrations' job;
# pg_trgm ships with PostgreSQL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'install-pg-extensions: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

PG_CONFIG="${PG_CONFIG:-$(command -v pg_config || true)}"
[ -n "$PG_CONFIG" ] || fail "no pg_config on PATH: install PostgreSQL 15 or later (Debian: postgresql), or set PG_CONFIG"
DEST="${DESTDIR:-}"
SCWS_HOME="${SCWS_HOME:-/usr/local/scws}"

installed() {
  local share lib
  share="$DEST$("$PG_CONFIG" --sharedir)" lib="$DEST$("$PG_CONFIG" --pkglibdir)"
  [ -f "$share/extension/vector.control" ] && [ -f "$share/extension/zhparser.control" ] \
    && [ -f "$lib/zhparser.so" ] && [ -f "$share/tsearch_data/dict.utf8.xdb" ] \
    && [ -e "$DEST$SCWS_HOME/lib/libscws.so" ]
}
major="$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
if [ "${FORCE:-0}" != 1 ] && installed; then
  log "pgvector and zhparser are installed for PostgreSQL $major"
  exit 0
fi

# What the build needs.
missing=()
[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] || missing+=("postgresql-server-dev-$major")
command -v make > /dev/null && command -v cc > /dev/null || missing+=(build-essential)
command -v autoreconf > /dev/null && command -v libtoolize > /dev/null || missing+=(autoconf automake libtool)
command -v bzip2 > /dev/null || missing+=(bzip2)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get > /dev/null && [ "$(id -u)" = 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
  else
    fail "missing for the build (Debian's names): ${missing[*]}"
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build_log="$work/build.log"
# quiet COMMAND...: runs it with its output in the build log, shown when it fails.
quiet() { "$@" >> "$build_log" 2>&1 || { log "failed: $*"; tail -n 40 "$build_log" >&2; exit 1; }; }
# unpack NAME FOLDER: a source archive of scripts/upstream-sources.sh, without its top folder.
unpack() {
  local archive
  archive="$("$ROOT/scripts/upstream-sources.sh" path "$1")"
  mkdir -p "$2"
  tar -xf "$archive" -C "$2" --strip-components=1
}
jobs="$(nproc 2> /dev/null || echo 2)"
pins="$ROOT/scripts/upstream-sources.env"
pgvector_version="$(sed -n 's/^PGVECTOR_VERSION=//p' "$pins")"
scws_version="$(sed -n 's/^SCWS_VERSION=//p' "$pins")"
# with_llvm=no: no JIT bitcode, so no clang is needed; OPTFLAGS="": no -march=native, so the build
# runs on any x86-64 machine.
pgxs=(PG_CONFIG="$PG_CONFIG" with_llvm=no)

start=$SECONDS
log "pgvector $pgvector_version"
unpack "pgvector-$pgvector_version.tar.gz" "$work/pgvector"
quiet make -C "$work/pgvector" -j"$jobs" "${pgxs[@]}" OPTFLAGS=""
quiet make -C "$work/pgvector" install "${pgxs[@]}" OPTFLAGS="" DESTDIR="$DEST"

if [ "${FORCE:-0}" = 1 ] || [ ! -e "$DEST$SCWS_HOME/lib/libscws.so" ]; then
  log "SCWS $scws_version into $DEST$SCWS_HOME"
  unpack "scws-$scws_version.tar.gz" "$work/scws"
  (
    cd "$work/scws"
    # A git archive has no configure script: autotools make it (SCWS's acprep).
    [ -x configure ] || quiet sh ./acprep
    quiet ./configure --prefix="$SCWS_HOME"
    quiet make -j"$jobs"
    quiet make install DESTDIR="$DEST"
  )
fi

log "zhparser"
unpack zhparser.tar.gz "$work/zhparser"
# zhparser at the pinned commit carries SCWS's dictionary; the vendored archive leaves it to SCWS's own.
if [ ! -f "$work/zhparser/dict.utf8.xdb" ]; then
  mkdir -p "$work/dict"
  tar -xjf "$("$ROOT/scripts/upstream-sources.sh" path scws-dict-chs-utf8.tar.bz2)" -C "$work/dict"
  cp "$(find "$work/dict" -name dict.utf8.xdb | head -n 1)" "$work/zhparser/dict.utf8.xdb"
fi
quiet make -C "$work/zhparser" "${pgxs[@]}" SCWS_HOME="$DEST$SCWS_HOME"
quiet make -C "$work/zhparser" install "${pgxs[@]}" SCWS_HOME="$DEST$SCWS_HOME" DESTDIR="$DEST"

installed || fail "the build ended but the files are not where PostgreSQL $major looks for them"
log "installed for PostgreSQL $major in $((SECONDS - start)) s: vector, zhparser (pg_trgm ships with PostgreSQL)"
