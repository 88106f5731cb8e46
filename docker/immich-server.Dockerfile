# syntax=docker/dockerfile:1
# Immich v2.4.1's server image with immich-ai inside (the "patched" install), made the way Immich makes
# its own image:
#   1. `patched`: Immich's source at the v2.4.1 tag, fetched with git and checked against the tag's
#      commit (git checks every object against the commit id, so the pinned id pins the content);
#      this repository built (`npm run build` makes the extension bundle) and `immich-ai patch` run on
#      that source: all patches or none, and a patch that does not apply stops the build naming its
#      file and hunk.
#   2. the stages of Immich's own server/Dockerfile at v2.4.1, unchanged but for where they read the
#      source (`--from=patched /immich/...` instead of the build context) and for the build metadata
#      at the end, which names this build instead of Immich's. Immich's base images stay pinned by
#      digest, its lockfile stays frozen (the patches add no dependency).
#      test/docker/upstream-images.spec.ts compares these stages with Immich's file.
# Build context: this repository's root (docker/immich-ai.yml builds it). Building the web app needs
# about 3 GB of memory, as Immich's own build does.

# The release patches/ is for, and its commit.
ARG IMMICH_RELEASE=v2.4.1
ARG IMMICH_COMMIT=50d7956c0770de5543c7b7da80ff2b9c29649720

FROM node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS patched
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates git \
  && rm -rf /var/lib/apt/lists/*
ARG IMMICH_REPOSITORY=https://github.com/immich-app/immich.git
ARG IMMICH_RELEASE
ARG IMMICH_COMMIT
# What the compose file passes: Immich's own variable from Immich's .env, so that the machine-learning
# image and this source are one release.
ARG IMMICH_VERSION=${IMMICH_RELEASE}
RUN if [ "$IMMICH_VERSION" != "$IMMICH_RELEASE" ]; then \
    echo "immich-ai: the patches are for Immich $IMMICH_RELEASE, and IMMICH_VERSION is $IMMICH_VERSION: set IMMICH_VERSION=$IMMICH_RELEASE in Immich's .env" >&2; \
    exit 1; \
  fi \
  && git init -q /immich \
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
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/bundle-immich-extension.mjs ./scripts/
COPY migrations ./migrations
COPY src ./src
COPY patches ./patches
RUN npm run build && node dist/cli.js patch /immich

# ---- Immich v2.4.1 server/Dockerfile from here, reading the patched tree ----
FROM ghcr.io/immich-app/base-server-dev:202511261514@sha256:cbcca5851fd11042463f09797e6d6068d94adbb108749e62aa69159df59c0591 AS builder
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
  CI=1 \
  COREPACK_HOME=/tmp \
  PNPM_HOME=/buildcache/pnpm-store \
  PATH="/buildcache/pnpm-store:$PATH"

RUN npm install --global corepack@latest && \
  corepack enable pnpm && \
  pnpm config set store-dir "$PNPM_HOME"

FROM builder AS server

WORKDIR /usr/src/app
COPY --from=patched /immich/server ./server/
RUN --mount=type=cache,id=pnpm-server,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  SHARP_IGNORE_GLOBAL_LIBVIPS=true pnpm --filter immich --frozen-lockfile build && \
  SHARP_FORCE_GLOBAL_LIBVIPS=true pnpm --filter immich --frozen-lockfile --prod --no-optional deploy /output/server-pruned

FROM builder AS web

WORKDIR /usr/src/app
COPY --from=patched /immich/web ./web/
COPY --from=patched /immich/i18n ./i18n/
COPY --from=patched /immich/open-api ./open-api/
RUN --mount=type=cache,id=pnpm-web,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  SHARP_IGNORE_GLOBAL_LIBVIPS=true pnpm --filter @immich/sdk --filter immich-web --frozen-lockfile --force install && \
  pnpm --filter @immich/sdk --filter immich-web build

FROM builder AS cli

COPY --from=patched /immich/cli ./cli/
COPY --from=patched /immich/open-api ./open-api/
RUN --mount=type=cache,id=pnpm-cli,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  pnpm --filter @immich/sdk --filter @immich/cli --frozen-lockfile install && \
  pnpm --filter @immich/sdk --filter @immich/cli build && \
  pnpm --filter @immich/cli --prod --no-optional deploy /output/cli-pruned

FROM builder AS plugins

ARG TARGETPLATFORM

COPY --from=ghcr.io/jdx/mise:2025.11.3@sha256:ac26f5978c0e2783f3e68e58ce75eddb83e41b89bf8747c503bac2aa9baf22c5 /usr/local/bin/mise /usr/local/bin/mise

WORKDIR /usr/src/app
COPY --from=patched /immich/plugins/mise.toml ./plugins/
ENV MISE_TRUSTED_CONFIG_PATHS=/usr/src/app/plugins/mise.toml
ENV MISE_DATA_DIR=/buildcache/mise
RUN --mount=type=cache,id=mise-tools-${TARGETPLATFORM},target=/buildcache/mise \
  mise install --cd plugins

COPY --from=patched /immich/plugins ./plugins/
# Build plugins
RUN --mount=type=cache,id=pnpm-plugins,target=/buildcache/pnpm-store \
  --mount=type=bind,from=patched,source=/immich/package.json,target=package.json \
  --mount=type=bind,from=patched,source=/immich/.pnpmfile.cjs,target=.pnpmfile.cjs \
  --mount=type=bind,from=patched,source=/immich/pnpm-lock.yaml,target=pnpm-lock.yaml \
  --mount=type=bind,from=patched,source=/immich/pnpm-workspace.yaml,target=pnpm-workspace.yaml \
  --mount=type=cache,id=mise-tools-${TARGETPLATFORM},target=/buildcache/mise \
  cd plugins && mise run build

FROM ghcr.io/immich-app/base-server-prod:202511261514@sha256:c04c1c38dd90e53455b180aedf93c3c63474c8d20ffe2c6d7a3a61a2181e6d29

WORKDIR /usr/src/app
ENV NODE_ENV=production \
  NVIDIA_DRIVER_CAPABILITIES=all \
  NVIDIA_VISIBLE_DEVICES=all

COPY --from=server /output/server-pruned ./server
COPY --from=web /usr/src/app/web/build /build/www
COPY --from=cli /output/cli-pruned ./cli
COPY --from=plugins /usr/src/app/plugins/dist /build/corePlugin/dist
COPY --from=plugins /usr/src/app/plugins/manifest.json /build/corePlugin/manifest.json
RUN ln -s ../../cli/bin/immich server/bin/immich
COPY --from=patched /immich/LICENSE /licenses/LICENSE.txt
COPY --from=patched /immich/LICENSE /LICENSE

ENV PATH="${PATH}:/usr/src/app/server/bin"

# ---- the build metadata: this build, not Immich's (Immich's About page and bug links read these) ----
ARG IMMICH_RELEASE
ARG IMMICH_COMMIT
ARG IMMICH_AI_URL
ENV IMMICH_BUILD_IMAGE=immich-server-immich-ai:${IMMICH_RELEASE}
ENV IMMICH_BUILD_IMAGE_URL=${IMMICH_AI_URL}
ENV IMMICH_REPOSITORY=immich-app/immich
ENV IMMICH_REPOSITORY_URL=https://github.com/immich-app/immich
ENV IMMICH_SOURCE_REF=${IMMICH_RELEASE}
ENV IMMICH_SOURCE_COMMIT=${IMMICH_COMMIT}
ENV IMMICH_SOURCE_URL=https://github.com/immich-app/immich/commit/${IMMICH_COMMIT}
ENV IMMICH_THIRD_PARTY_SOURCE_URL=${IMMICH_AI_URL}
ENV IMMICH_THIRD_PARTY_BUG_FEATURE_URL=${IMMICH_AI_URL}/issues
ENV IMMICH_THIRD_PARTY_DOCUMENTATION_URL=${IMMICH_AI_URL}/blob/main/docs/install.md
ENV IMMICH_THIRD_PARTY_SUPPORT_URL=${IMMICH_AI_URL}/blob/main/docs/troubleshooting.md

VOLUME /data
EXPOSE 2283
ENTRYPOINT ["tini", "--", "/bin/bash", "-c"]
CMD ["start.sh"]

HEALTHCHECK CMD immich-healthcheck
