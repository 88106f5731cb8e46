# syntax=docker/dockerfile:1
# Immich's server image with immich-ai inside (the "patched" install), made the way Immich makes its
# own image, for Immich v3.1.0 (default) or v2.4.1: `--build-arg IMMICH_VERSION=v2.4.1` (compose:
# IMMICH_VERSION, Immich's own variable) picks the release; BuildKit builds only the stages that
# release's image needs. Another value fails the build at its last line (no stage of that name).
# Per release:
#   1. `patched-v<major>`: Immich's source at the release's commit, fetched with git (git checks every
#      object against the commit id, so the pinned id pins the content); this repository built
#      (`npm run build` makes the extension bundle) and `immich-ai patch` run on that source: all
#      patches or none, and a patch that does not apply stops the build naming its file and hunk.
#      The patched server is then built once more there, so that Immich's own generator
#      (`immich-ai patch --open-api`: its sync-open-api, and oazapfts at the release's version) writes
#      the OpenAPI spec and TypeScript SDK the web app imports; the build output is removed again.
#   2. the stages of that release's own server/Dockerfile, unchanged but for their names (prefixed
#      v<major>-) and where they read the source: `--from=patched-v<major> /immich/...` instead of
#      the build context. Immich's base images stay pinned by digest, its lockfile stays frozen (the
#      patches add no dependency). test/docker/upstream-images.spec.ts compares them with Immich's files.
#   3. the build metadata at the end, which names this build instead of Immich's: its About page, bug
#      and help links point at immich-all-in-one (IMMICH_AI_URL).
# Build context: this repository's root (docker/immich-ai.yml builds it). Building the web app needs
# about 3 GB of memory, as Immich's own build does.

# Immich's own variable (compose passes it from Immich's .env): v3.1.0 or v2.4.1.
ARG IMMICH_VERSION=v3.1.0

FROM node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS patched-v3
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates git \
  && rm -rf /var/lib/apt/lists/*
# v3.1.0 is commit 8aa95c67470a02a8ddedf03c2e52963af33065ff of immich-app/immich.
ARG IMMICH_REPOSITORY=https://github.com/immich-app/immich.git
ARG IMMICH_COMMIT=8aa95c67470a02a8ddedf03c2e52963af33065ff
RUN git init -q /immich \
  && cd /immich \
  && git fetch -q --depth 1 "$IMMICH_REPOSITORY" "$IMMICH_COMMIT" \
  && git -c advice.detachedHead=false checkout -q FETCH_HEAD \
  && test "$(git rev-parse HEAD)" = "$IMMICH_COMMIT" \
  && rm -rf .git
WORKDIR /immich-ai
# npm ci runs @scarf/scarf's install script (swagger-ui-dist depends on it), which reports the install
# to scarf.sh unless told not to; package.json says so too.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.immich-types.json nest-cli.json ./
COPY scripts/bundle-immich-extension.mjs ./scripts/
COPY migrations ./migrations
COPY src ./src
COPY patches ./patches
RUN npm run build && node dist/cli.js patch /immich
# Immich's generated files, regenerated: the patched server built with Immich's pins (mise.toml: pnpm
# 11.13.1, oazapfts 7.5.0), its spec written by its own sync-open-api, the SDK by oazapfts; then only
# the sources stay for the stages below.
RUN npm install --global --no-audit --no-fund pnpm@11.13.1 oazapfts@7.5.0 \
  && cd /immich \
  && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install --filter immich --filter @immich/sdk --filter @immich/plugin-sdk --frozen-lockfile \
  && pnpm --filter @immich/sdk --filter @immich/plugin-sdk --filter immich build \
  && node /immich-ai/dist/cli.js patch --open-api /immich \
  && rm -rf node_modules server/node_modules server/dist packages/*/node_modules packages/*/dist packages/*/build web/node_modules

# ---- Immich v3.1.0 server/Dockerfile from here, reading the patched tree ----
FROM ghcr.io/immich-app/base-server-dev:202607211135@sha256:83c9ff3f7390111596a2dcd24a746c3f8618d58259dbc7aae36618d153462f18 AS v3-builder
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
  CI=1 \
  COREPACK_HOME=/tmp \
  PNPM_HOME=/buildcache/pnpm-store \
  PATH="/buildcache/pnpm-store:$PATH"

RUN npm install --global corepack@latest && \
  corepack enable pnpm && \
  pnpm config set store-dir "$PNPM_HOME"

FROM v3-builder AS v3-server

WORKDIR /usr/src/app
COPY --from=patched-v3 /immich/server ./server/
COPY --from=patched-v3 /immich/packages/sdk ./packages/sdk/
COPY --from=patched-v3 /immich/packages/plugin-sdk ./packages/plugin-sdk/
RUN --mount=type=cache,id=pnpm-server,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v3,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v3,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  SHARP_IGNORE_GLOBAL_LIBVIPS=true pnpm --filter @immich/sdk --filter @immich/plugin-sdk --filter immich build && \
  SHARP_FORCE_GLOBAL_LIBVIPS=true  pnpm --filter immich --prod --no-optional deploy /output/server-pruned

FROM v3-builder AS v3-web

ARG BUILD_ID
ENV IMMICH_BUILD=${BUILD_ID}

WORKDIR /usr/src/app
COPY --from=patched-v3 /immich/web ./web/
COPY --from=patched-v3 /immich/i18n ./i18n/
COPY --from=patched-v3 /immich/packages ./packages/
RUN --mount=type=cache,id=pnpm-web,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v3,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v3,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  SHARP_IGNORE_GLOBAL_LIBVIPS=true pnpm --filter @immich/sdk --filter immich-web install --frozen-lockfile --force && \
  pnpm --filter @immich/sdk --filter immich-web build

FROM v3-builder AS v3-cli

COPY --from=patched-v3 /immich/packages ./packages/
RUN --mount=type=cache,id=pnpm-cli,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v3,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v3,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  pnpm --filter @immich/sdk --filter @immich/cli install --frozen-lockfile && \
  pnpm --filter @immich/sdk --filter @immich/cli build && \
  pnpm --filter @immich/cli --prod --no-optional deploy /output/cli-pruned

FROM v3-builder AS v3-plugins

ARG TARGETPLATFORM

COPY --from=ghcr.io/jdx/mise:2026.7.11@sha256:6599c81b0da6206cbf5151df97a36794d70aaec4574ceb92d13783b42080b055 /usr/local/bin/mise /usr/local/bin/mise

WORKDIR /app
COPY --from=patched-v3 /immich/mise.toml ./mise.toml
COPY --from=patched-v3 /immich/packages/plugin-core/mise.toml ./packages/plugin-core/
ENV MISE_TRUSTED_CONFIG_PATHS=/app/mise.toml
ENV MISE_DATA_DIR=/buildcache/mise
ENV MISE_DISABLE_TOOLS=flutter
RUN --mount=type=cache,id=mise-tools-${TARGETPLATFORM},target=/buildcache/mise \
  mise install

COPY --from=patched-v3 /immich/packages/sdk ./packages/sdk/
COPY --from=patched-v3 /immich/packages/plugin-core ./packages/plugin-core/
COPY --from=patched-v3 /immich/packages/plugin-sdk ./packages/plugin-sdk/

# Build plugins
RUN --mount=type=cache,id=pnpm-packages,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v3,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v3,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v3,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  --mount=type=cache,id=mise-tools-${TARGETPLATFORM},target=/buildcache/mise \
  mise //:plugins

FROM ghcr.io/immich-app/base-server-prod:202607211135@sha256:ced131da7523544fe975cfd25abd67386e712e39496340b437cd95a08d0a18f3 AS immich-v3.1.0

WORKDIR /usr/src/app
ENV NODE_ENV=production \
  NVIDIA_DRIVER_CAPABILITIES=all \
  NVIDIA_VISIBLE_DEVICES=all

COPY --from=v3-server /output/server-pruned ./server
COPY --from=v3-web /usr/src/app/web/build /build/www
COPY --from=v3-cli /output/cli-pruned ./cli
COPY --from=v3-plugins /app/packages/plugin-core/dist /build/plugins/immich-plugin-core/dist
COPY --from=v3-plugins /app/packages/plugin-core/manifest.json /build/plugins/immich-plugin-core/manifest.json
RUN ln -s ../../cli/bin/immich server/bin/immich
COPY --from=patched-v3 /immich/LICENSE /licenses/LICENSE.txt
COPY --from=patched-v3 /immich/LICENSE /LICENSE

ENV PATH="${PATH}:/usr/src/app/server/bin"

# ---- the build metadata: this build, not Immich's (Immich's About page and bug links read these) ----
ARG IMMICH_AI_URL
ENV IMMICH_BUILD_IMAGE=immich-server-immich-ai:v3.1.0
ENV IMMICH_BUILD_IMAGE_URL=${IMMICH_AI_URL}
ENV IMMICH_REPOSITORY=immich-app/immich
ENV IMMICH_REPOSITORY_URL=https://github.com/immich-app/immich
ENV IMMICH_SOURCE_REF=v3.1.0
ENV IMMICH_SOURCE_COMMIT=8aa95c67470a02a8ddedf03c2e52963af33065ff
ENV IMMICH_SOURCE_URL=https://github.com/immich-app/immich/commit/8aa95c67470a02a8ddedf03c2e52963af33065ff
ENV IMMICH_THIRD_PARTY_SOURCE_URL=${IMMICH_AI_URL}
ENV IMMICH_THIRD_PARTY_BUG_FEATURE_URL=${IMMICH_AI_URL}/issues
ENV IMMICH_THIRD_PARTY_DOCUMENTATION_URL=${IMMICH_AI_URL}/blob/main/docs/install.md
ENV IMMICH_THIRD_PARTY_SUPPORT_URL=${IMMICH_AI_URL}/blob/main/docs/troubleshooting.md

VOLUME /data
EXPOSE 2283
ENTRYPOINT ["tini", "--", "/bin/bash", "-c"]
CMD ["start.sh"]

HEALTHCHECK CMD immich-healthcheck

FROM node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS patched-v2
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates git \
  && rm -rf /var/lib/apt/lists/*
# v2.4.1 is commit 50d7956c0770de5543c7b7da80ff2b9c29649720 of immich-app/immich.
ARG IMMICH_REPOSITORY=https://github.com/immich-app/immich.git
ARG IMMICH_COMMIT=50d7956c0770de5543c7b7da80ff2b9c29649720
RUN git init -q /immich \
  && cd /immich \
  && git fetch -q --depth 1 "$IMMICH_REPOSITORY" "$IMMICH_COMMIT" \
  && git -c advice.detachedHead=false checkout -q FETCH_HEAD \
  && test "$(git rev-parse HEAD)" = "$IMMICH_COMMIT" \
  && rm -rf .git
WORKDIR /immich-ai
# npm ci runs @scarf/scarf's install script (swagger-ui-dist depends on it), which reports the install
# to scarf.sh unless told not to; package.json says so too.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.immich-types.json nest-cli.json ./
COPY scripts/bundle-immich-extension.mjs ./scripts/
COPY migrations ./migrations
COPY src ./src
COPY patches ./patches
RUN npm run build && node dist/cli.js patch /immich
# Immich's generated files, regenerated: the patched server built with Immich's pnpm, its spec written by
# its own sync-open-api, the SDK by oazapfts 6.2.1 (which reproduces v2.4.1's SDK byte for byte); then
# only the sources stay for the stages below.
RUN npm install --global --no-audit --no-fund pnpm@10.24.0 oazapfts@6.2.1 \
  && cd /immich \
  && SHARP_IGNORE_GLOBAL_LIBVIPS=true CI=1 pnpm install --filter immich --frozen-lockfile \
  && pnpm --filter immich build \
  && node /immich-ai/dist/cli.js patch --open-api /immich \
  && rm -rf node_modules server/node_modules server/dist open-api/typescript-sdk/node_modules

# ---- Immich v2.4.1 server/Dockerfile from here, reading the patched tree ----
FROM ghcr.io/immich-app/base-server-dev:202511261514@sha256:cbcca5851fd11042463f09797e6d6068d94adbb108749e62aa69159df59c0591 AS v2-builder
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
  CI=1 \
  COREPACK_HOME=/tmp \
  PNPM_HOME=/buildcache/pnpm-store \
  PATH="/buildcache/pnpm-store:$PATH"

RUN npm install --global corepack@latest && \
  corepack enable pnpm && \
  pnpm config set store-dir "$PNPM_HOME"

FROM v2-builder AS v2-server

WORKDIR /usr/src/app
COPY --from=patched-v2 /immich/server ./server/
RUN --mount=type=cache,id=pnpm-server,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v2,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v2,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  SHARP_IGNORE_GLOBAL_LIBVIPS=true pnpm --filter immich --frozen-lockfile build && \
  SHARP_FORCE_GLOBAL_LIBVIPS=true pnpm --filter immich --frozen-lockfile --prod --no-optional deploy /output/server-pruned

FROM v2-builder AS v2-web

WORKDIR /usr/src/app
COPY --from=patched-v2 /immich/web ./web/
COPY --from=patched-v2 /immich/i18n ./i18n/
COPY --from=patched-v2 /immich/open-api ./open-api/
RUN --mount=type=cache,id=pnpm-web,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v2,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v2,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  SHARP_IGNORE_GLOBAL_LIBVIPS=true pnpm --filter @immich/sdk --filter immich-web --frozen-lockfile --force install && \
  pnpm --filter @immich/sdk --filter immich-web build

FROM v2-builder AS v2-cli

COPY --from=patched-v2 /immich/cli ./cli/
COPY --from=patched-v2 /immich/open-api ./open-api/
RUN --mount=type=cache,id=pnpm-cli,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v2,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v2,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  pnpm --filter @immich/sdk --filter @immich/cli --frozen-lockfile install && \
  pnpm --filter @immich/sdk --filter @immich/cli build && \
  pnpm --filter @immich/cli --prod --no-optional deploy /output/cli-pruned

FROM v2-builder AS v2-plugins

ARG TARGETPLATFORM

COPY --from=ghcr.io/jdx/mise:2025.11.3@sha256:ac26f5978c0e2783f3e68e58ce75eddb83e41b89bf8747c503bac2aa9baf22c5 /usr/local/bin/mise /usr/local/bin/mise

WORKDIR /usr/src/app
COPY --from=patched-v2 /immich/plugins/mise.toml ./plugins/
ENV MISE_TRUSTED_CONFIG_PATHS=/usr/src/app/plugins/mise.toml
ENV MISE_DATA_DIR=/buildcache/mise
RUN --mount=type=cache,id=mise-tools-${TARGETPLATFORM},target=/buildcache/mise \
  mise install --cd plugins

COPY --from=patched-v2 /immich/plugins ./plugins/
# Build plugins
RUN --mount=type=cache,id=pnpm-plugins,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched-v2,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched-v2,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched-v2,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  --mount=type=cache,id=mise-tools-${TARGETPLATFORM},target=/buildcache/mise \
  cd plugins && mise run build

FROM ghcr.io/immich-app/base-server-prod:202511261514@sha256:c04c1c38dd90e53455b180aedf93c3c63474c8d20ffe2c6d7a3a61a2181e6d29 AS immich-v2.4.1

WORKDIR /usr/src/app
ENV NODE_ENV=production \
  NVIDIA_DRIVER_CAPABILITIES=all \
  NVIDIA_VISIBLE_DEVICES=all

COPY --from=v2-server /output/server-pruned ./server
COPY --from=v2-web /usr/src/app/web/build /build/www
COPY --from=v2-cli /output/cli-pruned ./cli
COPY --from=v2-plugins /usr/src/app/plugins/dist /build/corePlugin/dist
COPY --from=v2-plugins /usr/src/app/plugins/manifest.json /build/corePlugin/manifest.json
RUN ln -s ../../cli/bin/immich server/bin/immich
COPY --from=patched-v2 /immich/LICENSE /licenses/LICENSE.txt
COPY --from=patched-v2 /immich/LICENSE /LICENSE

ENV PATH="${PATH}:/usr/src/app/server/bin"

# ---- the build metadata: this build, not Immich's (Immich's About page and bug links read these) ----
ARG IMMICH_AI_URL
ENV IMMICH_BUILD_IMAGE=immich-server-immich-ai:v2.4.1
ENV IMMICH_BUILD_IMAGE_URL=${IMMICH_AI_URL}
ENV IMMICH_REPOSITORY=immich-app/immich
ENV IMMICH_REPOSITORY_URL=https://github.com/immich-app/immich
ENV IMMICH_SOURCE_REF=v2.4.1
ENV IMMICH_SOURCE_COMMIT=50d7956c0770de5543c7b7da80ff2b9c29649720
ENV IMMICH_SOURCE_URL=https://github.com/immich-app/immich/commit/50d7956c0770de5543c7b7da80ff2b9c29649720
ENV IMMICH_THIRD_PARTY_SOURCE_URL=${IMMICH_AI_URL}
ENV IMMICH_THIRD_PARTY_BUG_FEATURE_URL=${IMMICH_AI_URL}/issues
ENV IMMICH_THIRD_PARTY_DOCUMENTATION_URL=${IMMICH_AI_URL}/blob/main/docs/install.md
ENV IMMICH_THIRD_PARTY_SUPPORT_URL=${IMMICH_AI_URL}/blob/main/docs/troubleshooting.md

VOLUME /data
EXPOSE 2283
ENTRYPOINT ["tini", "--", "/bin/bash", "-c"]
CMD ["start.sh"]

HEALTHCHECK CMD immich-healthcheck

# ---- the image: the chosen release's ----
FROM immich-${IMMICH_VERSION}
