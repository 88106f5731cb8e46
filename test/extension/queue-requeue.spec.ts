import { execFileSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sql } from 'kysely';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { readJson } from '../inference/helpers';
import {
  createTestDatabase,
  seedAsset,
  seedUser,
  SeededUser,
  TestDatabase,
  releaseAssetColumns,
} from '../support/immich-database';
import { startPrivateRedis, type PrivateRedis } from '../support/private-services';
import { api, eventually, flushRedis, mediaWithPreviews, RunningSidecar, startSidecar } from './support/sidecar';
import { StandIn, startStandIn } from './support/stand-in-inference';

/**
 * The queue keeps its promises: "queue failed" and "queue all" run the photos again, a regenerate
 * that arrives while the photo is being read runs once more afterwards, and the new-asset poller
 * offers each photo once instead of the whole backlog at every poll.
 */

const OCR_ANSWER = JSON.stringify({
  ocr: { text: ['收据 receipt'], box: [0, 0, 1, 0, 1, 1, 0, 1], boxScore: [0.9], textScore: [0.9] },
  imageHeight: 1080,
  imageWidth: 1440,
});

/** An inference stand-in whose answers the test turns off (502) and on, and can hold until released. */
function controllable() {
  const state = { up: true, holding: false, held: [] as Array<() => void> };
  const handler = async (_request: IncomingMessage, response: ServerResponse) => {
    if (state.holding) await new Promise<void>((resolve) => state.held.push(resolve));
    if (!state.up) return void response.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"down"}');
    response.writeHead(200, { 'content-type': 'application/json' }).end(OCR_ANSWER);
  };
  return { state, handler };
}

describe('re-queueing', () => {
  let database: TestDatabase;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let admin: SeededUser;
  let user: SeededUser;
  let standIn: StandIn;
  let sidecar: RunningSidecar;
  const control = controllable();

  beforeAll(async () => {
    database = await createTestDatabase('requeue');
    media = await mediaWithPreviews(['f01']);
    admin = await seedUser(database.db, { isAdmin: true });
    user = await seedUser(database.db);
    standIn = await startStandIn(control.handler);
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: standIn.url,
      IMMICH_MEDIA_LOCATION: media.root,
      JOB_ATTEMPTS: '1',
      JOB_CONCURRENCY: '1',
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await standIn?.close();
    await database?.drop();
    await media?.remove();
  });

  const statusOf = async (assetId: string) =>
    (
      await sql<{ status: string; updatedAt: Date }>`
        SELECT status, "updatedAt" FROM immich_ai.ocr_document WHERE "assetId" = ${assetId}`.execute(database.db)
    ).rows[0];
  const queueIdle = () =>
    eventually(async () => {
      const { queue, feeding } = await readJson<{ queue: Record<string, number>; feeding?: unknown }>(
        await api(sidecar, admin.apiKey).get('/api/jobs'),
      );
      return !feeding && queue.waiting + queue.active + queue.delayed === 0;
    });

  it('"queue failed" and "queue all" read the photos again, however recently their jobs failed', async () => {
    const photos = await Promise.all(
      [1, 2, 3].map(() => seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f01 })),
    );
    control.state.up = false;
    expect((await api(sidecar, admin.apiKey).post('/api/jobs/ocr', { scope: 'missing' })).status).toBe(202);
    await eventually(async () => (await Promise.all(photos.map(statusOf))).every((doc) => doc?.status === 'failed'));
    await queueIdle();

    control.state.up = true;
    const before = standIn.requests;
    expect((await api(sidecar, admin.apiKey).post('/api/jobs/ocr', { scope: 'failed' })).status).toBe(202);
    await eventually(async () => (await Promise.all(photos.map(statusOf))).every((doc) => doc?.status === 'done'));
    expect(standIn.requests - before).toBe(3);

    await queueIdle();
    const again = standIn.requests;
    expect((await api(sidecar, admin.apiKey).post('/api/jobs/ocr', { scope: 'all' })).status).toBe(202);
    await queueIdle();
    // Every photo with a preview is read once more, the three done ones included.
    const everyPhoto = Number(
      (await sql<{ n: number }>`SELECT count(*) AS n FROM asset_file WHERE type = 'preview'`.execute(database.db))
        .rows[0].n,
    );
    expect(standIn.requests - again).toBe(everyPhoto);
  });

  it('runs a regenerate that arrives while the photo is being read once more after that run', async () => {
    const photo = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f01 });
    await queueIdle();
    control.state.holding = true;
    const before = standIn.requests;
    expect((await api(sidecar, user.apiKey).post(`/api/assets/${photo}/reprocess`, { ocr: true })).status).toBe(202);
    await eventually(async () => control.state.held.length === 1); // the job is inside its inference call
    // Asked twice more while it runs: one more run, not two, and not lost.
    for (let i = 0; i < 2; i++) {
      expect((await api(sidecar, user.apiKey).post(`/api/assets/${photo}/reprocess`, { ocr: true })).status).toBe(202);
    }
    control.state.holding = false;
    control.state.held.splice(0).forEach((release) => release());
    await eventually(async () => standIn.requests - before === 2);
    await queueIdle();
    expect(standIn.requests - before).toBe(2);
    expect((await statusOf(photo))?.status).toBe('done');
  });
});

describe('the new-asset poller', () => {
  let database: TestDatabase;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let redis: PrivateRedis;
  let user: SeededUser;
  let sidecar: RunningSidecar | undefined;
  let standIn: StandIn;
  // The worker takes one job and the inference service holds it: the rest of the backlog waits.
  const control = controllable();
  control.state.holding = true;
  const BACKLOG = 1500;

  beforeAll(async () => {
    database = await createTestDatabase('poller');
    media = await mediaWithPreviews(['f01']);
    user = await seedUser(database.db);
    redis = await startPrivateRedis();
    const release = await releaseAssetColumns(database.db);
    standIn = await startStandIn(control.handler);
    await sql`
      INSERT INTO asset (id, ${release.names}, "ownerId", type, "originalPath", "fileCreatedAt",
        "fileModifiedAt", "localDateTime", checksum, "originalFileName")
      SELECT gen_random_uuid(), ${release.values}, ${user.id}, 'IMAGE', '/data/upload/' || i, now(), now(), now(),
        sha256(i::text::bytea), i || '.jpg'
      FROM generate_series(1, ${BACKLOG}) AS i`.execute(database.db);
    await sql`
      INSERT INTO asset_file ("assetId", type, path)
      SELECT id, 'preview', ${media.paths.f01} FROM asset`.execute(database.db);
  });

  afterAll(async () => {
    await stop();
    await standIn?.close();
    await redis?.remove();
    await database?.drop();
    await media?.remove();
  });

  const redisCli = (...args: string[]) =>
    execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).trim();
  /** Commands Redis has run so far (INFO stats), to see what a poll costs it. */
  const redisCommands = () => Number(/total_commands_processed:(\d+)/.exec(redisCli('INFO', 'stats'))![1]);
  /** Polls finished so far: each one ends by storing its cursor. */
  const polls = () => Number(/cmdstat_set:calls=(\d+)/.exec(redisCli('INFO', 'commandstats'))?.[1] ?? 0);
  const queued = (assetId: string) => redisCli('EXISTS', `immich_ai_bull:immich-ai:ocr-${assetId}`) === '1';
  /** Jobs waiting or running. */
  const waiting = () =>
    Number(redisCli('LLEN', 'immich_ai_bull:immich-ai:wait')) +
    Number(redisCli('LLEN', 'immich_ai_bull:immich-ai:active'));
  const start = async () =>
    (sidecar = await startSidecar(database, {
      REDIS_PORT: String(redis.port),
      REDIS_DBINDEX: '0',
      INFERENCE_URL: standIn.url,
      IMMICH_MEDIA_LOCATION: media.root,
      JOB_CONCURRENCY: '1',
      NEW_ASSET_POLL_MS: '200',
    }));
  /** Lets the held job finish so the worker can stop, and holds the next ones again. */
  const stop = async () => {
    control.state.holding = false;
    control.state.held.splice(0).forEach((release) => release());
    await sidecar?.close();
    control.state.holding = true;
  };

  it('offers the backlog once, then only what is new, at a cost that does not grow with the backlog', async () => {
    await start();
    await eventually(async () => waiting() === BACKLOG);
    // Five more polls with the whole backlog still waiting: Redis hears almost nothing of them (offering
    // the backlog again is a command per job).
    const [commands, pollsBefore] = [redisCommands(), polls()];
    await eventually(async () => polls() >= pollsBefore + 5);
    expect((redisCommands() - commands) / (polls() - pollsBefore)).toBeLessThan(20);

    const fresh = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f01 });
    await eventually(async () => waiting() === BACKLOG + 1);
    expect(queued(fresh)).toBe(true);
  });

  it('queues a photo again when its preview changes after its text was read (an edit in Immich v3)', async () => {
    // A photo and its text, in one transaction: the poller never sees it unread.
    const edited = await database.db.transaction().execute(async (trx) => {
      const id = await seedAsset(trx, { ownerId: user.id, previewPath: media.paths.f01 });
      await new OcrDocumentRepository(trx, new ZhparserSegmenter()).replace(id, {
        source: 'inference',
        model: 'test',
        attempts: 1,
        lines: [{ text: '收据', boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] }],
      });
      return id;
    });
    const pollsBefore = polls();
    await eventually(async () => polls() >= pollsBefore + 3);
    expect(queued(edited)).toBe(false); // read already, unchanged since
    // Immich writes the edited preview (v3: a second row; here the row's file changes): its change
    // id and time move on, as Immich's trigger sets them.
    await sql`UPDATE asset_file SET path = ${media.paths.f01} || '?edited' WHERE "assetId" = ${edited}`.execute(
      database.db,
    );
    await eventually(async () => queued(edited));
  });

  it('goes on from where it stopped after a restart, without offering the backlog again', async () => {
    await stop();
    const before = redisCommands();
    await start();
    const fresh = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f01 });
    // One job of the backlog finished while stopping; the edited photo waits too.
    await eventually(async () => waiting() === BACKLOG + 2);
    expect(queued(fresh)).toBe(true);
    // Offering 1,500 jobs again would take thousands of commands.
    expect(redisCommands() - before).toBeLessThan(1_000);
  });
});
