/**
 * A large backfill through the sidecar: a library of `--photos` (60,000) photos with previews and no
 * OCR yet, read by the queue's worker (8 jobs at once) against an inference stand-in that answers
 * after `--latency-ms` (50), with the new-asset poller running every `--poll-ms` (3000) as an install
 * would. Prints documents per second over `--seconds` (60, after a 10 s start) and Redis commands per
 * document and per second, for each build given: this one (`npm run build`), and with `--before
 * <dist>` an earlier build (`npm run build` of another checkout), one after the other in this process
 * on fresh copies of the same library; then the ratio.
 *
 *   npm run bench:backfill [-- --photos 60000 --before /path/to/old/dist]
 *
 * Needs the test Postgres (the Immich template database of `npm test`) and redis-server on PATH (a
 * private one per build, so the counts are the bench's own).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import type { loadExtensionConfig as LoadConfig } from '../src/config/extension.config';
import type { createSidecarApp as CreateSidecar } from '../src/extension/sidecar/create-sidecar-app';
import { solidJpeg } from '../test/inference/helpers';
import { createTestDatabase, releaseAssetColumns, seedUser, type TestDatabase } from '../test/support/immich-database';
import { startPrivateRedis } from '../test/support/private-services';
import { int, parseFlags, printUsageAndExit, round } from './support';

interface Build {
  name: string;
  loadExtensionConfig: typeof LoadConfig;
  createSidecarApp: typeof CreateSidecar;
}

function load(name: string, dist: string): Build {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const config = require(join(dist, 'config/extension.config')) as { loadExtensionConfig: typeof LoadConfig };
  const sidecar = require(join(dist, 'extension/sidecar/create-sidecar-app')) as {
    createSidecarApp: typeof CreateSidecar;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { name, loadExtensionConfig: config.loadExtensionConfig, createSidecarApp: sidecar.createSidecarApp };
}

/**
 * An inference service that reads every photo as one line after `latencyMs` (50 ms and 8 jobs at
 * once: at most 160 documents/s, about the rate of a GPU inference service).
 */
async function standIn(latencyMs: number): Promise<{ url: string; server: Server }> {
  const body = JSON.stringify({
    ocr: { text: ['收据 receipt'], box: [0, 0, 1, 0, 1, 1, 0, 1], boxScore: [0.9], textScore: [0.9] },
    imageHeight: 48,
    imageWidth: 64,
  });
  const server = createServer((request, response) => {
    request
      .resume()
      .on('end', () =>
        setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end(body), latencyMs),
      );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function library(photos: number, preview: string): Promise<TestDatabase> {
  const database = await createTestDatabase('bench-backfill');
  const user = await seedUser(database.db);
  const release = await releaseAssetColumns(database.db);
  await sql`
    INSERT INTO asset (id, ${release.names}, "ownerId", type, "originalPath", "fileCreatedAt", "fileModifiedAt",
      "localDateTime", checksum, "originalFileName")
    SELECT gen_random_uuid(), ${release.values}, ${user.id}, 'IMAGE', '/data/' || i, now(), now(), now(),
      sha256(i::text::bytea), i || '.jpg'
    FROM generate_series(1, ${photos}) AS i`.execute(database.db);
  await sql`INSERT INTO asset_file ("assetId", type, path) SELECT id, 'preview', ${preview} FROM asset`.execute(
    database.db,
  );
  return database;
}

async function run(
  build: Build,
  flags: { photos: number; pollMs: number; seconds: number; latencyMs: number },
  media: string,
) {
  const database = await library(flags.photos, join(media, 'preview.jpeg'));
  const redis = await startPrivateRedis();
  const inference = await standIn(flags.latencyMs);
  const commands = () =>
    Number(
      /total_commands_processed:(\d+)/.exec(
        execFileSync('redis-cli', ['-p', String(redis.port), 'INFO', 'stats'], { encoding: 'utf8' }),
      )![1],
    );
  const done = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM immich_ai.ocr_document`.execute(database.db)).rows[0].n);
  const sidecar = await build.createSidecarApp(
    build.loadExtensionConfig({
      DB_URL: database.url,
      REDIS_HOSTNAME: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      INFERENCE_URL: inference.url,
      IMMICH_MEDIA_LOCATION: media,
      NEW_ASSET_POLL_MS: String(flags.pollMs),
      JOB_CONCURRENCY: '8',
    }),
    { logger: ['error'] },
  );
  try {
    await sidecar.app.init();
    await new Promise((wait) => setTimeout(wait, 10_000));
    const [docs0, commands0, t0] = [await done(), commands(), performance.now()];
    await new Promise((wait) => setTimeout(wait, flags.seconds * 1000));
    const [docs1, commands1, seconds] = [await done(), commands(), (performance.now() - t0) / 1000];
    return {
      build: build.name,
      documentsPerSecond: round((docs1 - docs0) / seconds),
      redisCommandsPerDocument: round((commands1 - commands0) / Math.max(1, docs1 - docs0), 2),
      redisCommandsPerSecond: round((commands1 - commands0) / seconds),
      read: docs1,
    };
  } finally {
    await sidecar.close();
    inference.server.close();
    await redis.remove();
    await database.drop();
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), {
    photos: { type: 'string' },
    'poll-ms': { type: 'string' },
    seconds: { type: 'string' },
    'latency-ms': { type: 'string' },
    before: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) printUsageAndExit(__filename);
  const settings = {
    photos: int('--photos', flags.photos ?? '60000', 1),
    pollMs: int('--poll-ms', flags['poll-ms'] ?? '3000', 100),
    seconds: int('--seconds', flags.seconds ?? '60', 5),
    latencyMs: int('--latency-ms', flags['latency-ms'] ?? '50', 0),
  };
  const media = await mkdtemp(join(tmpdir(), 'immich-ai-backfill-'));
  await writeFile(join(media, 'preview.jpeg'), await solidJpeg([250, 250, 250]));
  const builds = [
    ...(flags.before ? [load('before', resolve(flags.before))] : []),
    // This checkout's `npm run build` (its migrations folder sits beside it, as installed).
    load('this build', join(__dirname, '..', '..', 'dist')),
  ];
  console.log(
    `backfill of ${settings.photos} photos, poll every ${settings.pollMs} ms, inference ${settings.latencyMs} ms ` +
      `per photo (8 at once), measured over ${settings.seconds} s`,
  );
  const results = [];
  for (const build of builds) {
    const result = await run(build, settings, media);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  if (results.length === 2) {
    console.log(
      `documents/s, this build / before: ${round(results[1].documentsPerSecond / results[0].documentsPerSecond, 2)}x`,
    );
  }
  await rm(media, { recursive: true, force: true });
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
