# syntax=docker/dockerfile:1
# Immich's own database image plus zhparser, so Postgres cuts Chinese text into words (`sql/zhparser.sql`
# makes the `chinese` text search configuration on it). Everything of Immich's image is kept: its
# PostgreSQL 14 with VectorChord, pgvecto.rs and pgvector, its entrypoint (DB_STORAGE_TYPE), its tuning
# and its healthcheck. Build from the repository root: docker build -f docker/postgres.Dockerfile .
#
# The base is the image Immich v2.4.1's docker-compose.yml pins, by digest.
ARG IMMICH_POSTGRES=ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0@sha256:bcf63357191b76a916ae5eb93464d65c07511da41e3bf7a8416db519b40b1c23

FROM ${IMMICH_POSTGRES} AS build
# Sources from GitHub, each pinned by the sha256 of its archive's tar stream (GitHub makes archives with
# `git archive`; it does not promise the gzip bytes stay the same, the tar inside is what git makes of
# the commit, and its header carries the commit id). The sums were computed from the commits:
#   SCWS 1.2.3: the `1.2.3` tag of hightman/scws, commit a04ef5e6 (2016-02-24):
#     git archive --format=tar --prefix=scws-1.2.3/ a04ef5e655213eb6b07fb57761d0eac72c281ad4 | sha256sum
#     (also the tar inside ../shared/vendor/scws-1.2.3.tar.gz; test/docker/upstream-images.spec.ts checks both)
#   zhparser 2.4: amutu/zhparser master at commit 2e995c4d (2026-06-29), which carries the dictionary
#   dict.utf8.xdb it installs (git blob 5afe1078, the same file as SCWS's simplified-Chinese dictionary):
#     git archive --format=tar --prefix=zhparser-2e995c4df672563992b4d7a147b8fa2d0d4cda6c/ 2e995c4df672563992b4d7a147b8fa2d0d4cda6c | sha256sum
ARG SCWS_VERSION=1.2.3
# Not used by a command: the sum covers it (the archive's header names the commit).
ARG SCWS_COMMIT=a04ef5e655213eb6b07fb57761d0eac72c281ad4
ARG SCWS_TAR_SHA256=c9afee7893f6eab355f8b90aae31fcb80da0903daec1359418e88e534a9dbdd4
ARG ZHPARSER_COMMIT=2e995c4df672563992b4d7a147b8fa2d0d4cda6c
ARG ZHPARSER_TAR_SHA256=c93e8aefccaa170dd5f90bc5a7dea8f968c64c8d50c3e47fc9aa323bd4b325f4
RUN apt-get update \
  && apt-get install -y --no-install-recommends autoconf automake build-essential ca-certificates curl libtool \
    "postgresql-server-dev-${PG_MAJOR}" \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /build
RUN curl -fsSL "https://github.com/hightman/scws/archive/refs/tags/${SCWS_VERSION}.tar.gz" | gzip -dc > scws.tar \
  && echo "${SCWS_TAR_SHA256}  scws.tar" | sha256sum -c - \
  && tar -xf scws.tar \
  && cd "scws-${SCWS_VERSION}" \
  && sh ./acprep \
  && ./configure --prefix=/usr/local/scws \
  && make -j"$(nproc)" \
  && make install \
  && mkdir -p /out/usr/local/scws/lib \
  && cp -a /usr/local/scws/lib/libscws.so* /out/usr/local/scws/lib/
# with_llvm=no: no JIT bitcode, so no clang is needed (the parser is not worth inlining).
RUN curl -fsSL "https://github.com/amutu/zhparser/archive/${ZHPARSER_COMMIT}.tar.gz" | gzip -dc > zhparser.tar \
  && echo "${ZHPARSER_TAR_SHA256}  zhparser.tar" | sha256sum -c - \
  && tar -xf zhparser.tar \
  && cd "zhparser-${ZHPARSER_COMMIT}" \
  && make SCWS_HOME=/usr/local/scws with_llvm=no \
  && make install SCWS_HOME=/usr/local/scws with_llvm=no DESTDIR=/out

FROM ${IMMICH_POSTGRES}
# zhparser.so, its SQL and dictionary under PostgreSQL's folders, libscws where zhparser's rpath points.
COPY --from=build /out/ /
# Run once, by Postgres's entrypoint, when the data folder is new (as POSTGRES_USER, in POSTGRES_DB). An
# existing database gets it with one command (docs/install.md, "Chinese words in Postgres").
COPY sql/zhparser.sql /docker-entrypoint-initdb.d/10-zhparser.sql
