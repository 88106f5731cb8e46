import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ocrTruth } from '../support/fixtures';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import { RunningApp, startApp } from '../inference/helpers';
import {
  api,
  eventually,
  flushRedis,
  mediaWithPreviews,
  RunningSidecar,
  startSidecar,
  testRedisDb,
} from './support/sidecar';
import { forwardTo, StandIn, startStandIn } from './support/stand-in-inference';

/**
 * A worker killed in the middle of a job (kill -9: no chance to clean up). Its lock expires, another
 * worker finds the job stalled and runs it again: the text is stored once, not lost, not doubled.
 */

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

describe('a worker killed mid-job', () => {
  let database: TestDatabase;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let inference: RunningApp;
  let standIn: StandIn;
  let user: SeededUser;
  let child: ChildProcess | undefined;
  let survivor: RunningSidecar | undefined;
  let slow = true;

  beforeAll(async () => {
    database = await createTestDatabase('crash');
    media = await mediaWithPreviews(['f03']);
    user = await seedUser(database.db);
    inference = await startApp({ ocrWorkers: 0, tasks: ['ocr'] });
    // The first read hangs (the worker dies during it); later ones go straight through.
    standIn = await startStandIn((request, response, body) =>
      forwardTo(() => inference.url, slow ? 60_000 : 0)(request, response, body),
    );
    await flushRedis();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await survivor?.close();
    await standIn?.close();
    await inference?.close();
    await database?.drop();
    await media?.remove();
  });

  it('is run again by another worker and stored exactly once', async () => {
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f03 });
    child = spawn(process.execPath, [CLI, 'serve', 'extension'], {
      env: {
        ...process.env,
        DB_URL: database.url,
        REDIS_HOSTNAME: '127.0.0.1',
        REDIS_DBINDEX: String(testRedisDb()),
        HTTP_HOST: '127.0.0.1',
        PORT: '0',
        INFERENCE_URL: standIn.url,
        IMMICH_MEDIA_LOCATION: media.root,
        JOB_LOCK_MS: '2000',
        JOB_STALLED_CHECK_MS: '1000',
        NEW_ASSET_POLL_MS: '0',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await eventually(async () => /listening on (http:\/\/\S+)/.exec(output)?.[1], 30_000).catch(() => {
      throw new Error(`the sidecar did not start:\n${output}`);
    });

    expect((await api({ url }, user.apiKey).post(`/api/assets/${assetId}/reprocess`, { ocr: true })).status).toBe(202);
    await eventually(async () => standIn.requests === 1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    slow = false;

    survivor = await startSidecar(database, { INFERENCE_URL: standIn.url, IMMICH_MEDIA_LOCATION: media.root });
    const document = await eventually(
      () =>
        database.db
          .selectFrom('immich_ai.ocr_document')
          .select(['status', 'lineCount'])
          .where('assetId', '=', assetId)
          .executeTakeFirst(),
      30_000,
    );
    expect(document).toEqual({ status: 'done', lineCount: ocrTruth.f03.length });
    const { n } = await database.db
      .selectFrom('immich_ai.ocr_line')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('assetId', '=', assetId)
      .executeTakeFirstOrThrow();
    expect(n).toBe(ocrTruth.f03.length);
    expect(standIn.requests).toBe(2);
  }, 90_000);
});
