#!/usr/bin/env bash
# The third-party sources the tests build from: Immich's source of each release, pgvector, SCWS and
# zhparser, plus the files that start a built Immich (run-immich.sh, immich-build-data/).
#
# Where a vendor folder is present (IMMICH_VENDOR_DIR, else ../shared/vendor beside this repository)
# its files are used as they are and nothing is downloaded. Without one, each source is fetched from
# upstream the first time it is asked for, checked, and cached, the way docker/*.Dockerfile fetch
# them, at the pins of scripts/upstream-sources.env:
#   - Immich: `git fetch --depth 1` of the release's commit (git checks every object against its id),
#     then `git archive` of the folders the tests build (server/, web/, i18n/, open-api/, plugins/,
#     packages/, the root files, the package.json of the other workspace folders) as
#     immich-v<release>.tar.xz with the top folder immich-v<release>/, laid out as the vendored archive;
#   - pgvector, SCWS, zhparser: GitHub's archive of the tag or commit, refused unless the sha256 of its
#     tar stream is the pinned one.
# A download that fails its check is deleted: the cache holds checked files only.
#
#   scripts/upstream-sources.sh path NAME   prints the path of NAME (a file name of the vendor folder:
#                                           immich-v<release>.tar.xz for each release pinned,
#                                           pgvector-0.8.6.tar.gz, scws-1.2.3.tar.gz, zhparser.tar.gz,
#                                           scws-dict-chs-utf8.tar.bz2 (vendor folder only),
#                                           run-immich.sh, immich-build-data), fetching it when needed
#   scripts/upstream-sources.sh fetch       fetches everything the tests need (no-op with a vendor
#                                           folder, beyond checking it has each file); prints where
#                                           the sources are
#
# Environment: IMMICH_VENDOR_DIR (a vendor folder to use), IMMICH_AI_CACHE (default
# ~/.cache/immich-ai; the fetched sources go to its upstream/ folder), IMMICH_AI_UPSTREAM_ARCHIVES
# (default https://github.com: where <owner>/<repo>/archive/... is fetched from),
# IMMICH_AI_UPSTREAM_IMMICH_GIT (default https://github.com/immich-app/immich.git).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${IMMICH_AI_CACHE:-$HOME/.cache/immich-ai}"
UPSTREAM="$CACHE/upstream"
ARCHIVES="${IMMICH_AI_UPSTREAM_ARCHIVES:-https://github.com}"
IMMICH_GIT="${IMMICH_AI_UPSTREAM_IMMICH_GIT:-https://github.com/immich-app/immich.git}"

log() { printf 'upstream-sources: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# The pins: NAME=value lines (read, not sourced: the file holds data only).
while IFS='=' read -r name value; do
  case "$name" in '' | '#'*) continue ;; esac
  [[ "$name" =~ ^(IMMICH_[0-9_]+_COMMIT|(PGVECTOR|SCWS|ZHPARSER)_[A-Z0-9_]+)$ ]] \
    || fail "scripts/upstream-sources.env: cannot read the line '$name=$value'"
  printf -v "$name" '%s' "$value"
done < "$ROOT/scripts/upstream-sources.env"

# The vendor folder in use, or nothing when the sources come from upstream.
VENDOR=""
if [ -n "${IMMICH_VENDOR_DIR:-}" ]; then
  [ -d "$IMMICH_VENDOR_DIR" ] || fail "IMMICH_VENDOR_DIR=$IMMICH_VENDOR_DIR is not a folder"
  VENDOR="$(cd "$IMMICH_VENDOR_DIR" && pwd)"
elif [ -d "$ROOT/../shared/vendor" ]; then
  VENDOR="$(cd "$ROOT/../shared/vendor" && pwd)"
fi

# What is written while fetching: removed on any exit, so a failed or interrupted fetch leaves only
# the files that were checked and moved into place.
PARTIAL=()
cleanup() { [ ${#PARTIAL[@]} -eq 0 ] || rm -rf "${PARTIAL[@]}"; }
trap cleanup EXIT
# partial file|dir: sets PART to a new path under the cache, removed at exit unless moved into place
# (no subshell, so that the list of partial paths is this shell's).
partial() {
  if [ "$1" = dir ]; then PART="$(mktemp -d "$UPSTREAM/.partial.XXXXXX")"; else PART="$(mktemp "$UPSTREAM/.partial.XXXXXX")"; fi
  PARTIAL+=("$PART")
}

# One fetch at a time per cache (the CI prepares Immich's trees side by side): the lock is taken
# before the first fetch and held until exit; a waiting run then finds the file in place.
LOCKED=""
lock() {
  [ -n "$LOCKED" ] && return 0
  mkdir -p "$UPSTREAM"
  exec 9>"$UPSTREAM/.lock"
  flock 9
  LOCKED=1
}

# fetch_archive URL TAR_SHA256 DEST: GitHub's archive, kept only when its tar has the pinned sum.
fetch_archive() {
  local url=$1 sum=$2 dest=$3 tmp got start=$SECONDS
  log "fetching $url"
  partial file; tmp=$PART
  curl -fsSL --retry 3 --connect-timeout 30 -o "$tmp" "$url" || fail "could not download $url"
  got="$(gzip -dc < "$tmp" | sha256sum | cut -c1-64)" || fail "$url is not a gzip archive; nothing was kept"
  if [ "$got" != "$sum" ]; then
    fail "refused $url: the sha256 of its tar is $got, but scripts/upstream-sources.env pins $sum." \
      "Nothing was kept. If upstream re-made the archive, compare its content with the pinned commit before" \
      "changing the pin; or point IMMICH_VENDOR_DIR at a folder that holds the sources (README: Development)."
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$dest"
  log "checked (sha256 of the tar $sum) in $((SECONDS - start)) s: $dest"
}

# immich_paths GIT_DIR: what of the fetched tree goes into the archive: the folders the tests build,
# the root files, and the package.json of every other folder (pnpm's frozen lockfile wants the whole
# workspace's manifests).
immich_paths() {
  local git_dir=$1 meta name type
  while IFS=$'\t' read -r meta name; do
    type="$(echo "$meta" | cut -d' ' -f2)"
    case "$type:$name" in
      blob:*) echo "$name" ;;
      tree:server | tree:web | tree:i18n | tree:open-api | tree:plugins | tree:packages) echo "$name" ;;
      tree:*) if git --git-dir="$git_dir" cat-file -e "FETCH_HEAD:$name/package.json" 2>/dev/null; then echo "$name/package.json"; fi ;;
    esac
  done < <(git --git-dir="$git_dir" ls-tree FETCH_HEAD)
}

# fetch_immich RELEASE COMMIT DEST
fetch_immich() {
  local release=$1 commit=$2 dest=$3 git_dir tmp got paths start=$SECONDS
  [[ "$commit" =~ ^[0-9a-f]{40}$ ]] || fail "scripts/upstream-sources.env: Immich v$release's commit must be a full 40-digit id"
  log "fetching Immich v$release (commit $commit) from $IMMICH_GIT"
  partial dir; git_dir=$PART
  git init -q --bare "$git_dir"
  git --git-dir="$git_dir" fetch -q --depth 1 "$IMMICH_GIT" "$commit" \
    || fail "could not fetch commit $commit from $IMMICH_GIT; nothing was kept"
  got="$(git --git-dir="$git_dir" rev-parse 'FETCH_HEAD^{commit}')"
  [ "$got" = "$commit" ] || fail "refused: $IMMICH_GIT gave commit $got for $commit; nothing was kept"
  mapfile -t paths < <(immich_paths "$git_dir")
  partial file; tmp=$PART
  git --git-dir="$git_dir" archive --format=tar --prefix="immich-v$release/" FETCH_HEAD -- "${paths[@]}" | xz -T0 -1 > "$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$dest"
  rm -rf "$git_dir"
  log "Immich v$release (commit $commit, checked by git) in $((SECONDS - start)) s: $dest"
}

# build_data DEST: what Immich reads from IMMICH_BUILD_DATA to start: tiny geodata (ours), and the core
# plugin of v2.4.1 (its manifest, an empty wasm module). v3 only logs when its plugin is missing.
build_data() {
  local dest=$1 archive tmp
  resolve immich-v2.4.1.tar.xz; archive=$RESOLVED
  partial dir; tmp=$PART
  cp -R "$ROOT/test/fixtures/immich-build-data/." "$tmp/"
  mkdir -p "$tmp/corePlugin/dist"
  tar -xJOf "$archive" immich-v2.4.1/plugins/manifest.json > "$tmp/corePlugin/manifest.json"
  printf '\0asm\1\0\0\0' > "$tmp/corePlugin/dist/plugin.wasm"
  chmod 755 "$tmp"
  mv "$tmp" "$dest"
}

# resolve NAME: sets RESOLVED to the path of NAME, fetched into the cache when missing (in this shell:
# a subshell would not clean up after itself). A cached file's name carries its pin, so a new pin
# fetches again.
resolve() {
  local name=$1 dest release commit
  if [ -n "$VENDOR" ]; then
    [ -e "$VENDOR/$name" ] || fail "missing $VENDOR/$name (the vendor folder is used as it is; nothing is downloaded)"
    RESOLVED="$VENDOR/$name"
    return 0
  fi
  case "$name" in
    immich-v*.tar.xz)
      release=${name#immich-v} release=${release%.tar.xz} commit="IMMICH_${release//./_}_COMMIT"
      commit=${!commit:-}
      [ -n "$commit" ] || fail "no commit pinned for Immich v$release in scripts/upstream-sources.env"
      dest="$UPSTREAM/immich-v$release-${commit:0:12}.tar.xz" ;;
    "pgvector-$PGVECTOR_VERSION.tar.gz") dest="$UPSTREAM/pgvector-$PGVECTOR_VERSION-${PGVECTOR_TAR_SHA256:0:12}.tar.gz" ;;
    "scws-$SCWS_VERSION.tar.gz") dest="$UPSTREAM/scws-$SCWS_VERSION-${SCWS_TAR_SHA256:0:12}.tar.gz" ;;
    zhparser.tar.gz) dest="$UPSTREAM/zhparser-${ZHPARSER_TAR_SHA256:0:12}.tar.gz" ;;
    immich-build-data) dest="$UPSTREAM/immich-build-data-${IMMICH_2_4_1_COMMIT:0:12}" ;;
    # Ours: a built Immich started for the tests.
    run-immich.sh) RESOLVED="$ROOT/scripts/run-immich.sh"; return 0 ;;
    scws-dict-chs-utf8.tar.bz2) fail "$name is only used from a vendor folder: the fetched zhparser carries the dictionary" ;;
    *) fail "no upstream source named $name" ;;
  esac
  if [ ! -e "$dest" ]; then
    lock
    if [ ! -e "$dest" ]; then
      case "$name" in
        immich-v*.tar.xz) fetch_immich "$release" "$commit" "$dest" ;;
        pgvector-*) fetch_archive "$ARCHIVES/pgvector/pgvector/archive/refs/tags/v$PGVECTOR_VERSION.tar.gz" "$PGVECTOR_TAR_SHA256" "$dest" ;;
        scws-*) fetch_archive "$ARCHIVES/hightman/scws/archive/refs/tags/$SCWS_VERSION.tar.gz" "$SCWS_TAR_SHA256" "$dest" ;;
        zhparser.tar.gz) fetch_archive "$ARCHIVES/amutu/zhparser/archive/$ZHPARSER_COMMIT.tar.gz" "$ZHPARSER_TAR_SHA256" "$dest" ;;
        immich-build-data) build_data "$dest" ;;
      esac
    fi
  fi
  RESOLVED=$dest
}

case "${1:-}" in
  path)
    [ $# -eq 2 ] || fail "usage: $0 path NAME"
    resolve "$2"; echo "$RESOLVED" ;;
  fetch)
    # Every Immich release pinned, then the rest.
    releases=()
    for pin in $(compgen -v | grep -E '^IMMICH_[0-9_]+_COMMIT$'); do
      release=${pin#IMMICH_} release=${release%_COMMIT}
      releases+=("immich-v${release//_/.}.tar.xz")
    done
    for name in "${releases[@]}" "pgvector-$PGVECTOR_VERSION.tar.gz" "scws-$SCWS_VERSION.tar.gz" zhparser.tar.gz \
      run-immich.sh immich-build-data; do
      resolve "$name"
    done
    if [ -n "$VENDOR" ]; then echo "$VENDOR"; else echo "$UPSTREAM"; fi ;;
  *) fail "usage: $0 path NAME | fetch" ;;
esac
