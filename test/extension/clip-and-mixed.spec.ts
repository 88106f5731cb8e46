import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { readJson, RunningApp, solidJpeg, startApp, testClipRoot } from '../inference/helpers';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import { api, eventually, flushRedis, RunningSidecar, startSidecar } from './support/sidecar';

/**
 * CLIP regenerate writes Immich's smart_search row, and plain queries fuse CLIP neighbours with OCR
 * text (reciprocal-rank fusion). The cn-clip stand-in models put a red photo nearest to "红色".
 */

interface Hit {
  assetId: string;
  score: number;
  ocr: { rank: number } | null;
  clip: { rank: number; distance: number } | null;
}

describe('CLIP regenerate and mixed ranking', () => {
  let clip: Awaited<ReturnType<typeof testClipRoot>>;
  let inference: RunningApp;
  let database: TestDatabase;
  let sidecar: RunningSidecar;
  let user: SeededUser;
  let mediaRoot: string;
  const asset: Record<string, string> = {};
  const colours: Record<string, [number, number, number]> = {
    red: [220, 20, 20],
    green: [20, 200, 20],
    blue: [20, 20, 220],
  };

  beforeAll(async () => {
    clip = await testClipRoot();
    inference = await startApp({ ocrWorkers: 0, tasks: ['clip'], clip: { root: clip.root, modelName: 'ViT-B-16' } });
    database = await createTestDatabase('clip');
    mediaRoot = await mkdtemp(join(tmpdir(), 'immich-ai-clip-media-'));
    user = await seedUser(database.db);
    for (const [name, rgb] of Object.entries(colours)) {
      const path = join(mediaRoot, `${name}-preview.jpeg`);
      await writeFile(path, await solidJpeg(rgb, 320, 240));
      asset[name] = await seedAsset(database.db, { ownerId: user.id, previewPath: path });
    }
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: inference.url,
      IMMICH_MEDIA_LOCATION: mediaRoot,
      CLIP_MODEL_NAME: 'ViT-B-16__openai',
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await inference?.close();
    await database?.drop();
    await rm(mediaRoot, { recursive: true, force: true });
    await clip?.remove();
  });

  const embeddings = async () =>
    Object.fromEntries(
      (
        await sql<{ assetId: string; embedding: string }>`SELECT "assetId", embedding::text FROM smart_search`.execute(
          database.db,
        )
      ).rows.map((row) => [row.assetId, JSON.parse(row.embedding) as number[]]),
    );
  const search = async (q: string) => {
    const response = await api(sidecar, user.apiKey).get(`/api/ocr/search?q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    return readJson<{ mode: string; degraded?: string; hits: Hit[] }>(response);
  };

  it("regenerates CLIP into Immich's smart_search for the selected photos", async () => {
    const response = await api(sidecar, user.apiKey).post('/api/assets/reprocess', {
      assetIds: Object.values(asset),
      ocr: false,
      clip: true,
    });
    expect(response.status).toBe(202);
    const stored = await eventually(async () => {
      const rows = await embeddings();
      return Object.keys(rows).length === 3 && rows;
    });
    for (const vector of Object.values(stored)) {
      expect(vector).toHaveLength(512);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 3);
    }
    expect(await database.db.selectFrom('immich_ai.ocr_document').selectAll().execute()).toEqual([]);
  });

  it('ranks by meaning for a plain query: the red photo first for "红色"', async () => {
    const body = await search('红色');
    expect(body.mode).toBe('mixed');
    expect(body.degraded).toBeUndefined();
    expect(body.hits[0]).toEqual(
      expect.objectContaining({ assetId: asset.red, ocr: null, clip: expect.objectContaining({ rank: 1 }) }),
    );
  });

  it('fuses OCR and CLIP: a photo that both rankings find comes first', async () => {
    // The blue photo carries the words "红色" in it: OCR rank 1, and some CLIP rank below the red one.
    await new OcrDocumentRepository(database.db, new ZhparserSegmenter()).replace(asset.blue, {
      source: 'inference',
      model: 'test',
      attempts: 1,
      lines: [{ text: '红色 警告', boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] }],
    });
    const body = await search('红色');
    expect(body.hits.map((hit) => hit.assetId)).toEqual([asset.blue, asset.red, asset.green]);
    const [blue, red] = body.hits;
    expect(blue.ocr?.rank).toBe(1);
    expect(blue.clip?.rank).toBeGreaterThan(1);
    // Reciprocal-rank fusion with k = 60 and both weights 1.
    expect(blue.score).toBeCloseTo(1 / 61 + 1 / (60 + blue.clip!.rank), 6);
    expect(red.score).toBeCloseTo(1 / 61, 6);
    const ocrOnly = await search('ocr:红色');
    expect(ocrOnly.hits.map((hit) => hit.assetId)).toEqual([asset.blue]);
  });

  it('renews the row when the photo changed', async () => {
    const before = (await embeddings())[asset.red];
    await writeFile(join(mediaRoot, 'red-preview.jpeg'), await solidJpeg(colours.green, 320, 240));
    expect(
      (await api(sidecar, user.apiKey).post(`/api/assets/${asset.red}/reprocess`, { ocr: false, clip: true })).status,
    ).toBe(202);
    const after = await eventually(async () => {
      const vector = (await embeddings())[asset.red];
      return vector.some((value, i) => Math.abs(value - before[i]) > 1e-4) && vector;
    });
    const green = (await embeddings())[asset.green];
    expect(after.reduce((sum, v, i) => sum + v * green[i], 0)).toBeCloseTo(1, 3);
  });

  it("refuses an embedding whose dimension Immich's table does not hold, saying why", async () => {
    await sql`DROP INDEX clip_index`.execute(database.db);
    await sql`DELETE FROM smart_search`.execute(database.db);
    await sql`ALTER TABLE smart_search ALTER COLUMN embedding TYPE vector(768)`.execute(database.db);
    expect(
      (await api(sidecar, user.apiKey).post(`/api/assets/${asset.green}/reprocess`, { ocr: false, clip: true })).status,
    ).toBe(202);
    const failure = await eventually(async () => {
      const status = await readJson<{ failures: Array<{ job: string; assetId: string; error: string }> }>(
        await api(sidecar, user.apiKey).get('/api/jobs'),
      );
      return status.failures.find((item) => item.assetId === asset.green);
    });
    expect(failure.job).toBe('clip');
    expect(failure.error).toMatch(/gives 512 dimensions but Immich's smart_search holds 768/);
    expect(await embeddings()).toEqual({});
  });
});
