#!/usr/bin/env bash
# Immich v2.4.1's server, built from the vendored source for our tests (Immich's own migrations make
# the test databases; later, the patched server runs end to end). Cached: a second run prints the
# folder and exits at once.
#
#   scripts/immich-server.sh prepare           extract, install (pnpm, frozen lockfile) and build; prints the folder
#   scripts/immich-server.sh dir               prints the folder (fails when it is not built yet)
#   scripts/immich-server.sh prepare-patched   the same with our patches applied by `immich-ai patch` (after
#                                              `npm run build`); rebuilt whenever the patches or the bundle change
#   scripts/immich-server.sh patched-dir       prints that folder
#   scripts/immich-server.sh prepare-web       the patched web app, built (about 4 minutes, 3 GB of memory);
#                                              rebuilt whenever patches/web changes
#   scripts/immich-server.sh web-dir           prints that tree (its web/build is what the server serves)
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

PATCHED="$CACHE/immich-v$VERSION-patched"
WEB="$CACHE/immich-v$VERSION-web"
web_key() { cat "$ROOT"/patches/web/*.patch | sha256sum | cut -c1-16; }
# What the patched build depends on: our patches and the bundle `npm run build` makes.
patched_key() {
  cat "$ROOT"/patches/server/*.patch "$ROOT/dist/immich/extension.cjs" "$ROOT/dist/immich/extension.d.cts" | sha256sum | cut -c1-16
}

case "${1:-prepare}" in
  dir)
    [ -f "$STAMP" ] || { log "not built yet: run scripts/immich-server.sh prepare"; exit 1; }
    echo "$DIR"; exit 0 ;;
  patched-dir)
    [ -f "$PATCHED/.immich-ai-key" ] && [ "$(cat "$PATCHED/.immich-ai-key")" = "$(patched_key)" ] \
      || { log "patched server missing or stale: run scripts/immich-server.sh prepare-patched"; exit 1; }
    echo "$PATCHED"; exit 0 ;;
  web-dir)
    [ -f "$WEB/.immich-ai-web-key" ] && [ "$(cat "$WEB/.immich-ai-web-key")" = "$(web_key)" ] \
      || { log "patched web missing or stale: run scripts/immich-server.sh prepare-web"; exit 1; }
    echo "$WEB"; exit 0 ;;
  prepare|prepare-patched|prepare-web) ;;
  *) log "usage: $0 prepare|dir|prepare-patched|patched-dir|prepare-web|web-dir"; exit 2 ;;
esac

ARCHIVE="$VENDOR/immich-v$VERSION.tar.xz"
[ -f "$ARCHIVE" ] || { log "missing $ARCHIVE (set IMMICH_VENDOR_DIR to the folder holding it)"; exit 1; }

# extract_install_build TARGET [patch]: a fresh tree from the archive, installed and built.
extract_install_build() {
  local target=$1 start=$SECONDS tmp
  rm -rf "$target" && mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
  tar -xJf "$ARCHIVE" -C "$tmp"
  mv "$tmp/immich-v$VERSION" "$target" && rmdir "$tmp"
  log "extracted in $((SECONDS - start)) s"
  if [ "${2:-}" = patch ]; then
    node "$ROOT/dist/cli.js" patch "$target" >&2
  fi
  if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    npm install -g --no-audit --no-fund "pnpm@$PNPM_VERSION" >&2
  fi
  (cd "$target" && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install --filter immich --frozen-lockfile --reporter=append-only >&2)
  log "installed in $((SECONDS - start)) s"
  (cd "$target/server" && pnpm run build >&2)
  log "built in $((SECONDS - start)) s"
}

if [ "${1:-prepare}" = prepare-web ]; then
  [ -f "$ROOT/dist/immich/extension.cjs" ] || { log "run npm run build first (the bundle is missing)"; exit 1; }
  key="$(web_key)"
  if [ -f "$WEB/.immich-ai-web-key" ] && [ "$(cat "$WEB/.immich-ai-web-key")" = "$key" ]; then echo "$WEB"; exit 0; fi
  start=$SECONDS
  rm -rf "$WEB" && mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
  tar -xJf "$ARCHIVE" -C "$tmp"
  mv "$tmp/immich-v$VERSION" "$WEB" && rmdir "$tmp"
  node "$ROOT/dist/cli.js" patch "$WEB" >&2
  if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    npm install -g --no-audit --no-fund "pnpm@$PNPM_VERSION" >&2
  fi
  (cd "$WEB" && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install --filter 'immich-web...' --frozen-lockfile --reporter=append-only >&2)
  # The web imports the SDK's compiled build/, which the archive does not ship.
  (cd "$WEB" && pnpm --filter @immich/sdk build >&2 && pnpm --filter immich-web build >&2)
  log "web built in $((SECONDS - start)) s"
  echo "$key" > "$WEB/.immich-ai-web-key"
  echo "$WEB"; exit 0
fi

if [ "${1:-prepare}" = prepare-patched ]; then
  [ -f "$ROOT/dist/immich/extension.cjs" ] || { log "run npm run build first (the bundle is missing)"; exit 1; }
  key="$(patched_key)"
  if [ -f "$PATCHED/.immich-ai-key" ] && [ "$(cat "$PATCHED/.immich-ai-key")" = "$key" ]; then echo "$PATCHED"; exit 0; fi
  extract_install_build "$PATCHED" patch
  echo "$key" > "$PATCHED/.immich-ai-key"
  echo "$PATCHED"; exit 0
fi

if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi
extract_install_build "$DIR"
touch "$STAMP"
echo "$DIR"
