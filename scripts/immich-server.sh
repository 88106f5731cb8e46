#!/usr/bin/env bash
# Immich v2.4.1's server, built from the vendored source for our tests (Immich's own migrations make
# the test databases; later, the patched server runs end to end). Cached: a second run prints the
# folder and exits at once.
#
#   scripts/immich-server.sh prepare     extract, install (pnpm, frozen lockfile) and build; prints the folder
#   scripts/immich-server.sh dir         prints the folder (fails when it is not built yet)
#
# Environment: IMMICH_VENDOR_DIR (default ../shared/vendor beside this repository),
# IMMICH_AI_CACHE (default ~/.cache/immich-ai): where the built tree lives between runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="${IMMICH_VENDOR_DIR:-$ROOT/../shared/vendor}"
CACHE="${IMMICH_AI_CACHE:-$HOME/.cache/immich-ai}"
VERSION=2.4.1
PNPM_VERSION=10.24.0
DIR="$CACHE/immich-v$VERSION"
STAMP="$DIR/.immich-ai-server-built"

log() { printf 'immich-server: %s\n' "$*" >&2; }

case "${1:-prepare}" in
  dir)
    [ -f "$STAMP" ] || { log "not built yet: run scripts/immich-server.sh prepare"; exit 1; }
    echo "$DIR"; exit 0 ;;
  prepare) ;;
  *) log "usage: $0 prepare|dir"; exit 2 ;;
esac

if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi

ARCHIVE="$VENDOR/immich-v$VERSION.tar.xz"
[ -f "$ARCHIVE" ] || { log "missing $ARCHIVE (set IMMICH_VENDOR_DIR to the folder holding it)"; exit 1; }

start=$SECONDS
rm -rf "$DIR" && mkdir -p "$CACHE"
tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
tar -xJf "$ARCHIVE" -C "$tmp"
mv "$tmp/immich-v$VERSION" "$DIR" && rmdir "$tmp"
log "extracted in $((SECONDS - start)) s"

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  npm install -g --no-audit --no-fund "pnpm@$PNPM_VERSION" >&2
fi
cd "$DIR"
SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install --filter immich --frozen-lockfile --reporter=append-only >&2
log "installed in $((SECONDS - start)) s"
(cd server && pnpm run build >&2)
log "built in $((SECONDS - start)) s"
touch "$STAMP"
echo "$DIR"
