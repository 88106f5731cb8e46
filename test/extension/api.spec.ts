import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:net';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { readJson } from '../inference/helpers';
import {
  createTestDatabase,
  seedApiKey,
  seedAsset,
  seedSession,
  seedUser,
  SeededUser,
  TestDatabase,
} from '../support/immich-database';
import { api, eventually, flushRedis, RunningSidecar, startSidecar } from './support/sidecar';

/**
 * The sidecar's HTTP API as a client (or an attacker on the LAN) meets it: Immich's credentials,
 * permissions, ownership, validation of every parameter, hostile queries, docs and health.
 */

const line = (text: string) => ({
  text,
  boxScore: 0.9,
  textScore: 0.95,
  box: [0.1, 0.1, 0.9, 0.1, 0.9, 0.2, 0.1, 0.2],
});

describe('extension API', () => {
  let database: TestDatabase;
  let sidecar: RunningSidecar;
  let alice: SeededUser;
  let bob: SeededUser;
  let admin: SeededUser;
  let deadInference: Server;
  const asset: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase('api');
    // A port that accepts and immediately closes: the inference service "down" for CLIP queries.
    deadInference = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => deadInference.listen(0, '127.0.0.1', resolve));
    const port = (deadInference.address() as { port: number }).port;
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: `http://127.0.0.1:${port}`,
      JOB_WORKER: 'false',
      INFERENCE_TIMEOUT_MS: '2000',
    });

    alice = await seedUser(database.db, { name: 'Alice' });
    bob = await seedUser(database.db, { name: 'Bob' });
    admin = await seedUser(database.db, { name: 'Admin', isAdmin: true });
    const documents = new OcrDocumentRepository(database.db, new ZhparserSegmenter());
    const add = async (
      key: string,
      ownerId: string,
      text: string,
      extra: Parameters<typeof seedAsset>[1] = { ownerId },
    ) => {
      asset[key] = await seedAsset(database.db, { ...extra, ownerId, previewPath: '/data/thumbs/x.jpeg' });
      await documents.replace(asset[key], { source: 'inference', model: 'test', attempts: 1, lines: [line(text)] });
    };
    await add('aliceInvoice', alice.id, '增值税发票 Invoice 2024');
    await add('aliceTrashed', alice.id, '增值税发票 trashed', { ownerId: alice.id, deletedAt: new Date() });
    await add('aliceHidden', alice.id, '增值税发票 hidden', { ownerId: alice.id, visibility: 'hidden' });
    await add('aliceArchived', alice.id, '增值税发票 archived', { ownerId: alice.id, visibility: 'archive' });
    await add('bobInvoice', bob.id, '增值税发票 Bob');
  });

  afterAll(async () => {
    await sidecar?.close();
    await database?.drop();
    await new Promise((resolve) => deadInference?.close(resolve));
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${sidecar.url}${path}`, { headers });
  const searchIds = async (key: string, q: string) => {
    const response = await api(sidecar, key).get(`/api/ocr/search?q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    return (await readJson<{ hits: Array<{ assetId: string }> }>(response)).hits.map((hit) => hit.assetId);
  };

  describe('authentication, as Immich does it', () => {
    it('refuses a request without credentials, or with a wrong key or token (401)', async () => {
      expect((await get('/api/ocr/search?q=x')).status).toBe(401);
      expect((await get('/api/ocr/search?q=x', { 'x-api-key': 'not-a-key' })).status).toBe(401);
      expect((await get('/api/ocr/search?q=x', { authorization: 'Bearer not-a-token' })).status).toBe(401);
      const body = await readJson<{ message: string }>(await get('/api/ocr/search?q=x', { 'x-api-key': 'x' }));
      expect(body.message).toBe('Invalid API key');
    });

    it('accepts an API key, a Bearer session token, x-immich-user-token and the immich_access_token cookie', async () => {
      const token = await seedSession(database.db, alice.id);
      const ways: Array<Record<string, string>> = [
        { 'x-api-key': alice.apiKey },
        { authorization: `Bearer ${token}` },
        { 'x-immich-user-token': token },
        { cookie: `theme=dark; immich_access_token=${token}` },
      ];
      for (const headers of ways) {
        const response = await get(`/api/ocr/search?q=${encodeURIComponent('ocr:发票')}`, headers);
        expect(response.status).toBe(200);
        expect(
          (await readJson<{ hits: Array<{ assetId: string }> }>(response)).hits.map((hit) => hit.assetId),
        ).toContain(asset.aliceInvoice);
      }
    });

    it('refuses an expired session', async () => {
      const token = await seedSession(database.db, alice.id, { expiresAt: new Date(Date.now() - 1000) });
      expect((await get('/api/ocr/search?q=x', { authorization: `Bearer ${token}` })).status).toBe(401);
    });

    it("checks an API key's permissions: asset.read to search, asset.update to regenerate", async () => {
      const readOnly = await seedApiKey(database.db, alice.id, ['asset.read']);
      const none = await seedApiKey(database.db, alice.id, ['album.read']);
      expect((await api(sidecar, none).get('/api/ocr/search?q=x')).status).toBe(403);
      expect((await api(sidecar, readOnly).get('/api/ocr/search?q=x')).status).toBe(200);
      const refused = await api(sidecar, readOnly).post(`/api/assets/${asset.aliceInvoice}/reprocess`, { ocr: true });
      expect(refused.status).toBe(403);
      expect((await readJson<{ message: string }>(refused)).message).toBe('Missing required permission: asset.update');
    });
  });

  describe('ownership', () => {
    it("searches only the caller's own assets, never trashed or hidden ones", async () => {
      const found = await searchIds(alice.apiKey, 'ocr:增值税');
      expect(found.sort()).toEqual([asset.aliceInvoice, asset.aliceArchived].sort());
      expect(await searchIds(bob.apiKey, 'ocr:增值税')).toEqual([asset.bobInvoice]);
    });

    it("answers another user's asset exactly like a missing one (404), for reads and writes", async () => {
      const missing = randomUUID();
      for (const id of [asset.aliceInvoice, missing, asset.aliceTrashed]) {
        const key = id === asset.aliceTrashed ? alice.apiKey : bob.apiKey;
        expect((await api(sidecar, key).get(`/api/assets/${id}/ocr`)).status).toBe(404);
        expect((await api(sidecar, key).post(`/api/assets/${id}/reprocess`, { ocr: true })).status).toBe(404);
      }
      const bulk = await api(sidecar, bob.apiKey).post('/api/assets/reprocess', {
        assetIds: [asset.bobInvoice, asset.aliceInvoice],
      });
      expect(bulk.status).toBe(404);
      const owner = await api(sidecar, alice.apiKey).get(`/api/assets/${asset.aliceInvoice}/ocr`);
      expect(owner.status).toBe(200);
      const body = await readJson<{ status: string; lines: Array<{ text: string; box: number[] }> }>(owner);
      expect(body.status).toBe('done');
      expect(body.lines).toEqual([
        expect.objectContaining({ text: '增值税发票 Invoice 2024', box: [0.1, 0.1, 0.9, 0.1, 0.9, 0.2, 0.1, 0.2] }),
      ]);
    });

    it('queues a regenerate for owned assets (202 with the job ids) and shows it as waiting', async () => {
      const response = await api(sidecar, alice.apiKey).post(`/api/assets/${asset.aliceInvoice}/reprocess`, {
        ocr: true,
        clip: true,
      });
      expect(response.status).toBe(202);
      expect(await readJson(response)).toEqual({
        jobs: { ocr: [`ocr-${asset.aliceInvoice}`], clip: [`clip-${asset.aliceInvoice}`] },
      });
      // The whole queue is an admin's to see (a user sees the count of their own photos not read yet).
      const status = await readJson<{ queue: { waiting: number } }>(await api(sidecar, admin.apiKey).get('/api/jobs'));
      expect(status.queue.waiting).toBe(2);
    });
  });

  describe('validation: every parameter has a range (400), bodies are bounded (413)', () => {
    it.each([
      ['/api/ocr/search', 'q missing'],
      [`/api/ocr/search?q=${'x'.repeat(501)}`, 'q longer than 500'],
      ['/api/ocr/search?q=a&q=b', 'q repeated'],
      ['/api/ocr/search?q=a&page=0', 'page 0'],
      ['/api/ocr/search?q=a&page=1001', 'page over 1000'],
      ['/api/ocr/search?q=a&page=1.5', 'page not whole'],
      ['/api/ocr/search?q=a&size=101', 'size over 100'],
      ['/api/ocr/search?q=a&size=abc', 'size not a number'],
      ['/api/ocr/search?q=a&extra=1', 'unknown parameter'],
      ['/api/assets/not-a-uuid/ocr', 'asset id not a UUID'],
    ])('GET %s -> 400 (%s)', async (path) => {
      const response = await api(sidecar, alice.apiKey).get(path);
      expect(response.status).toBe(400);
      const body = await readJson<{ message: unknown }>(response);
      expect(body.message).toBeDefined();
    });

    it.each<[object, string]>([
      [{ ocr: 'yes' }, 'ocr not a boolean'],
      [{ ocr: true, unknown: 1 }, 'unknown field'],
    ])('POST reprocess %j -> 400 (%s)', async (body) => {
      expect((await api(sidecar, alice.apiKey).post(`/api/assets/${asset.aliceInvoice}/reprocess`, body)).status).toBe(
        400,
      );
    });

    it('refuses bulk lists that are empty, too long or not UUIDs', async () => {
      for (const assetIds of [[], Array.from({ length: 1001 }, () => randomUUID()), ['x'], 'x']) {
        expect((await api(sidecar, alice.apiKey).post('/api/assets/reprocess', { assetIds })).status).toBe(400);
      }
    });

    it('refuses malformed JSON (400) and an oversized body from its header (413)', async () => {
      const post = (body: string) =>
        fetch(`${sidecar.url}/api/assets/reprocess`, {
          method: 'POST',
          headers: { 'x-api-key': alice.apiKey, 'content-type': 'application/json' },
          body,
        });
      expect((await post('{"assetIds": [')).status).toBe(400);
      expect((await post(JSON.stringify({ assetIds: ['x'.repeat(200_000)] }))).status).toBe(413);
    });

    it('never fails on hostile search text', async () => {
      const hostile = [
        "'",
        '"',
        '\\',
        '&|!:*()',
        "a & b | !c:* (d)'",
        '🐱🐶',
        'x\u0000y',
        'ocr:',
        'ocr:"',
        '-',
        'OR OR',
        `ocr:${'发'.repeat(495)}`,
      ];
      for (const q of hostile)
        expect([
          q,
          (await api(sidecar, alice.apiKey).get(`/api/ocr/search?q=${encodeURIComponent(q)}`)).status,
        ]).toEqual([q, 200]);
    });
  });

  it('ranks OCR alone, and says so, when CLIP is unavailable for a plain query', async () => {
    const response = await api(sidecar, alice.apiKey).get(`/api/ocr/search?q=${encodeURIComponent('增值税')}`);
    expect(response.status).toBe(200);
    const body = await readJson<{ mode: string; degraded: string; hits: Array<{ assetId: string; clip: unknown }> }>(
      response,
    );
    expect(body.mode).toBe('mixed');
    expect(body.degraded).toMatch(/^CLIP unavailable, OCR text only: inference service/);
    expect(body.degraded).not.toMatch(/127\.0\.0\.1|localhost/);
    expect(body.hits.map((hit) => hit.assetId).sort()).toEqual([asset.aliceInvoice, asset.aliceArchived].sort());
  });

  it('pages results', async () => {
    const page = async (n: number) =>
      readJson<{ hasNextPage: boolean; hits: Array<{ assetId: string; ocr: { rank: number } }> }>(
        await api(sidecar, alice.apiKey).get(`/api/ocr/search?q=${encodeURIComponent('ocr:增值税')}&size=1&page=${n}`),
      );
    const [first, second] = [await page(1), await page(2)];
    expect(first.hasNextPage).toBe(true);
    expect(second.hasNextPage).toBe(false);
    expect([first.hits[0].ocr.rank, second.hits[0].ocr.rank]).toEqual([1, 2]);
    expect(first.hits[0].assetId).not.toBe(second.hits[0].assetId);
  });

  it('pages `ocr:` results by cursor, and refuses a cursor it did not give out', async () => {
    const search = async (query: Record<string, string>) =>
      api(sidecar, alice.apiKey).get(
        `/api/ocr/search?${new URLSearchParams({ q: 'ocr:增值税', size: '1', ...query })}`,
      );
    const first = await readJson<{
      nextCursor: string | null;
      hits: Array<{ assetId: string; ocr: { rank: number } }>;
    }>(await search({}));
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await readJson<{
      nextCursor: string | null;
      hits: Array<{ assetId: string; ocr: { rank: number } }>;
    }>(await search({ cursor: first.nextCursor! }));
    expect(second.nextCursor).toBeNull();
    expect(second.hits.map((hit) => hit.ocr.rank)).toEqual([2]);
    expect(second.hits[0].assetId).not.toBe(first.hits[0].assetId);
    for (const cursor of ['x', 'W10', first.nextCursor!.slice(0, -2), 'a'.repeat(1001)])
      expect((await search({ cursor })).status).toBe(400);
    // Mixed ranking pages by number only.
    const mixed = await api(sidecar, alice.apiKey).get(
      `/api/ocr/search?${new URLSearchParams({ q: '增值税', cursor: first.nextCursor! })}`,
    );
    expect(mixed.status).toBe(400);
  });

  it('lets only admins queue OCR for the whole library, one run at a time', async () => {
    expect((await api(sidecar, alice.apiKey).post('/api/jobs/ocr', { scope: 'missing' })).status).toBe(403);
    expect((await api(sidecar, admin.apiKey).post('/api/jobs/ocr', { scope: 'everything' })).status).toBe(400);
    const noDoc = await seedAsset(database.db, { ownerId: bob.id, previewPath: '/data/thumbs/y.jpeg' });
    const started = await api(sidecar, admin.apiKey).post('/api/jobs/ocr', { scope: 'missing' });
    expect(started.status).toBe(202);
    await eventually(async () => {
      const status = await readJson<{ queue: { waiting: number }; feeding?: unknown }>(
        await api(sidecar, admin.apiKey).get('/api/jobs'),
      );
      return !status.feeding && status.queue.waiting === 3;
    });
    expect(noDoc).toBeTruthy();
  });

  it('serves its OpenAPI description and a health check without credentials', async () => {
    const docs = await get('/api/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
    const spec = await readJson<{ paths: Record<string, unknown> }>(await get('/api/docs-json'));
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/ocr/search',
        '/api/assets/{id}/ocr',
        '/api/assets/{id}/reprocess',
        '/api/assets/reprocess',
        '/api/jobs',
        '/api/jobs/ocr',
        '/api/health',
      ]),
    );
    const health = await get('/api/health');
    expect(health.status).toBe(200);
    expect(await readJson(health)).toEqual({
      status: 'ok',
      database: 'ok',
      redis: 'ok',
      segmenter: 'zhparser',
      worker: false,
    });
  });
});
