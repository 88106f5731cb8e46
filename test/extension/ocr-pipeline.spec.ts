import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import { QUEUE_NAME } from '../../src/extension/queue/queue.constants';
import { ocrTruth } from '../support/fixtures';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import { readJson, RunningApp, startApp, testClipRoot } from '../inference/helpers';
import { api, eventually, flushRedis, mediaWithPreviews, RunningSidecar, startSidecar } from './support/sidecar';

/**
 * End to end on the fixture photos, all real: Immich's schema in Postgres, previews on disk, BullMQ on
 * Redis, the inference service reading the photos with the PP-OCR models. previews -> queue -> rows
 * -> `ocr:` search finds every fixture text -> regenerate replaces rows -> asset deleted -> rows gone.
 */

interface SearchBody {
  mode: string;
  hits: Array<{ assetId: string; lines: Array<{ text: string; box: number[]; highlights: Array<[number, number]> }> }>;
}

/** How many OCR runs the inference service has done (from its Prometheus metrics). */
async function ocrRuns(inference: RunningApp): Promise<number> {
  const text = await (await fetch(`${inference.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('inference_task_duration_seconds_count{') && line.includes('task="ocr"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('OCR pipeline on the fixture photos', () => {
  const names = Object.keys(ocrTruth);
  const assets: Record<string, string> = {};
  let inference: RunningApp;
  let clip: Awaited<ReturnType<typeof testClipRoot>>;
  let database: TestDatabase;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let sidecar: RunningSidecar;
  let user: SeededUser;

  beforeAll(async () => {
    clip = await testClipRoot();
    inference = await startApp({ ocrWorkers: 0, clip: { root: clip.root, modelName: 'ViT-B-16' } });
    database = await createTestDatabase('pipeline');
    media = await mediaWithPreviews(names);
    user = await seedUser(database.db);
    for (const [i, name] of names.entries()) {
      assets[name] = await seedAsset(database.db, {
        ownerId: user.id,
        previewPath: media.paths[name],
        fileCreatedAt: new Date(Date.UTC(2024, 0, 1 + i)),
      });
    }
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: inference.url,
      IMMICH_MEDIA_LOCATION: media.root,
      NEW_ASSET_POLL_MS: '500',
      SEGMENTER: 'zhparser',
    });
  }, 120_000);

  afterAll(async () => {
    await sidecar?.close();
    await inference?.close();
    await database?.drop();
    await media?.remove();
    await clip?.remove();
  });

  const documents = () =>
    database.db
      .selectFrom('immich_ai.ocr_document')
      .select(['assetId', 'status', 'source', 'lineCount', 'processedAt'])
      .execute();
  const lines = (assetId: string) =>
    database.db
      .selectFrom('immich_ai.ocr_line')
      .select(['id', 'text', 'lineNo'])
      .where('assetId', '=', assetId)
      .orderBy('lineNo')
      .execute();
  const search = async (q: string) => {
    const response = await api(sidecar, user.apiKey).get(`/api/ocr/search?q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    return readJson<SearchBody>(response);
  };

  it('finds new assets by polling, reads each once and stores its lines', async () => {
    const done = await eventually(async () => {
      const rows = await documents();
      return rows.length === names.length && rows.every((row) => row.status === 'done') && rows;
    }, 90_000);
    expect(done.every((row) => row.source === 'inference' && row.lineCount > 0)).toBe(true);
    for (const name of names) {
      const stored = (await lines(assets[name])).map((line) => line.text.replace(/\s+/g, ''));
      // Every line of the photo was read (spaces aside, which search ignores too).
      for (const truth of ocrTruth[name]) expect(stored).toContain(truth.replace(/\s+/g, ''));
    }
    expect(await ocrRuns(inference)).toBe(names.length);
  }, 120_000);

  it('finds the right photo first for a text from every fixture, with the matching line highlighted', async () => {
    for (const name of names) {
      for (const truth of ocrTruth[name]) {
        const body = await search(`ocr:${truth}`);
        expect(body.mode).toBe('ocr');
        expect(body.hits[0]?.assetId).toBe(assets[name]);
        const [line] = body.hits[0].lines;
        expect(line.highlights.length).toBeGreaterThan(0);
        expect(line.box).toHaveLength(8);
      }
    }
  });

  it('answers one-character and any-case-prefix queries', async () => {
    expect((await search('ocr:雪')).hits.map((hit) => hit.assetId)).toEqual([assets.f08]);
    expect((await search('OCR：exit')).hits[0].assetId).toBe(assets.f04);
    expect((await search('Ocr: 锦江')).hits[0].assetId).toBe(assets.f02);
    expect((await search('ocr: 55556666')).hits[0].assetId).toBe(assets.f06);
  });

  it('regenerate reads the photo again and replaces its rows, never duplicating them', async () => {
    const assetId = assets.f03;
    const before = await lines(assetId);
    const runs = await ocrRuns(inference);
    const response = await api(sidecar, user.apiKey).post(`/api/assets/${assetId}/reprocess`, { ocr: true });
    expect(response.status).toBe(202);
    expect(await readJson(response)).toEqual({ jobs: { ocr: [`ocr-${assetId}`], clip: [] } });
    const after = await eventually(async () => {
      const rows = await lines(assetId);
      return rows.length > 0 && rows[0].id !== before[0].id && rows;
    });
    expect(after.map((line) => line.text)).toEqual(before.map((line) => line.text));
    expect(await ocrRuns(inference)).toBe(runs + 1);
    const total = await database.db
      .selectFrom('immich_ai.ocr_line')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    const expected = (await documents()).reduce((sum, row) => sum + row.lineCount, 0);
    expect(total.n).toBe(expected);
  });

  it('merges two regenerate requests made while the job waits into one job', async () => {
    const assetId = assets.f07;
    const runs = await ocrRuns(inference);
    const before = (await lines(assetId))[0].id;
    // Held in the queue until both requests are in (one arriving once the job runs is a second run:
    // test/extension/queue-requeue.spec.ts).
    const queue = sidecar.app.get<Queue>(getQueueToken(QUEUE_NAME));
    await queue.pause();
    const [a, b] = await Promise.all([
      api(sidecar, user.apiKey).post(`/api/assets/${assetId}/reprocess`, { ocr: true }),
      api(sidecar, user.apiKey).post('/api/assets/reprocess', { assetIds: [assetId], ocr: true }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    await queue.resume();
    await eventually(async () => (await lines(assetId))[0]?.id !== before);
    await eventually(async () => {
      const status = await readJson<{ queue: { waiting: number; active: number } }>(
        await api(sidecar, user.apiKey).get('/api/jobs'),
      );
      return status.queue.waiting + status.queue.active === 0;
    });
    expect(await ocrRuns(inference)).toBe(runs + 1);
  });

  it('removes an asset’s text with the asset', async () => {
    const assetId = assets.f01;
    await database.db.deleteFrom('asset').where('id', '=', assetId).execute();
    expect(await lines(assetId)).toEqual([]);
    expect((await documents()).some((row) => row.assetId === assetId)).toBe(false);
    expect((await search('ocr:浦东新区')).hits).toEqual([]);
  });

  it("indexes Immich's own OCR instead of reading the photo again", async () => {
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f05 });
    await sql`INSERT INTO asset_ocr ("assetId", x1, y1, x2, y2, x3, y3, x4, y4, "boxScore", "textScore", text)
      VALUES (${assetId}, 0.1, 0.1, 0.9, 0.1, 0.9, 0.2, 0.1, 0.2, 0.95, 0.97, '兰州拉面 牛肉面 12元')`.execute(
      database.db,
    );
    await sql`INSERT INTO asset_job_status ("assetId", "ocrAt") VALUES (${assetId}, now())`.execute(database.db);
    const runs = await ocrRuns(inference);
    await eventually(async () => (await documents()).find((row) => row.assetId === assetId && row.status === 'done'));
    expect((await documents()).find((row) => row.assetId === assetId)?.source).toBe('immich');
    expect(await ocrRuns(inference)).toBe(runs);
    expect((await search('ocr:拉面')).hits[0].assetId).toBe(assetId);
  });
});
