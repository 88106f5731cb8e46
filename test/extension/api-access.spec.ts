import { randomUUID } from 'node:crypto';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { JobQueueRepository } from '../../src/extension/queue/job-queue.repository';
import { JobName } from '../../src/extension/queue/queue.constants';
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
import { api, eventually, flushRedis, mediaWithPreviews, RunningSidecar, startSidecar } from './support/sidecar';
import { answer, startStandIn, StandIn } from './support/stand-in-inference';

/**
 * Who may see and touch what, as Immich decides it: the Locked Folder, ids in any case, previews
 * that are links, the queue's numbers per user, every way Immich accepts credentials, and headers
 * that keep user data out of caches. Probed the way an attacker on the LAN (or a curious user) would.
 */

const line = (text: string) => ({
  text,
  boxScore: 0.9,
  textScore: 0.95,
  box: [0.1, 0.1, 0.9, 0.1, 0.9, 0.2, 0.1, 0.2],
});

const DIMENSIONS = 512;
const unit = (seed: number) => {
  const vector = Array.from({ length: DIMENSIONS }, (_, i) => Math.sin(seed * 7.1 + i * 0.37));
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
};

describe('extension API: access as Immich grants it', () => {
  let database: TestDatabase;
  let sidecar: RunningSidecar;
  let inference: StandIn;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let alice: SeededUser;
  let bob: SeededUser;
  let admin: SeededUser;
  const asset: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase('access');
    media = await mediaWithPreviews(['f01', 'f02', 'f03']);
    // Answers any OCR or CLIP request, and counts them: a locked photo must cause none.
    inference = await startStandIn((request, response, body) => {
      const entries = /name="entries"\r\n\r\n(.*)\r\n/.exec(body.toString('latin1'))?.[1] ?? '{}';
      if (entries.includes('"clip"')) return answer(200, { clip: JSON.stringify(unit(1)) })(request, response);
      return answer(200, {
        ocr: { text: ['read'], box: [0, 0, 1, 0, 1, 1, 0, 1], boxScore: [0.9], textScore: [0.9] },
        imageHeight: 1080,
        imageWidth: 1440,
      })(request, response);
    });
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: inference.url,
      IMMICH_MEDIA_LOCATION: media.root,
      SEARCH_CANDIDATES: '10',
    });
    alice = await seedUser(database.db, { name: 'Alice' });
    bob = await seedUser(database.db, { name: 'Bob' });
    admin = await seedUser(database.db, { name: 'Admin', isAdmin: true });
    const documents = new OcrDocumentRepository(database.db, new ZhparserSegmenter());
    asset.invoice = await seedAsset(database.db, { ownerId: alice.id, previewPath: media.paths.f01 });
    // Indexed while in the timeline, then moved to the Locked Folder.
    asset.locked = await seedAsset(database.db, { ownerId: alice.id, previewPath: media.paths.f02 });
    for (const id of [asset.invoice, asset.locked])
      await documents.replace(id, {
        source: 'inference',
        model: 'test',
        attempts: 1,
        lines: [line('增值税发票 secret')],
      });
    await sql`UPDATE asset SET visibility = 'locked' WHERE id = ${asset.locked}`.execute(database.db);
    // Never indexed, already locked.
    asset.lockedNew = await seedAsset(database.db, {
      ownerId: alice.id,
      previewPath: media.paths.f03,
      visibility: 'locked',
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await inference?.close();
    await database?.drop();
    await media?.remove();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${sidecar.url}${path}`, { headers });
  const post = (path: string, headers: Record<string, string>, body: unknown) =>
    fetch(`${sidecar.url}${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const idle = () =>
    eventually(async () => {
      const { queue } = await readJson<{ queue: Record<string, number> }>(
        await api(sidecar, admin.apiKey).get('/api/jobs'),
      );
      return queue.waiting + queue.active + queue.delayed === 0;
    });

  describe('the Locked Folder', () => {
    it('is closed to API keys and to sessions without an unlocked PIN: 404, as if the photo did not exist', async () => {
      const plain = { authorization: `Bearer ${await seedSession(database.db, alice.id)}` };
      const pinExpired = {
        authorization: `Bearer ${await seedSession(database.db, alice.id, { pinExpiresAt: new Date(Date.now() - 1000) })}`,
      };
      const readKey = { 'x-api-key': await seedApiKey(database.db, alice.id, ['asset.read', 'asset.update']) };
      for (const headers of [{ 'x-api-key': alice.apiKey }, readKey, plain, pinExpired]) {
        for (const id of [asset.locked, asset.lockedNew]) {
          expect((await get(`/api/assets/${id}/ocr`, headers)).status).toBe(404);
          expect((await get(`/api/assets/${id}/preview`, headers)).status).toBe(404);
          expect((await post(`/api/assets/${id}/reprocess`, headers, { ocr: true, clip: true })).status).toBe(404);
        }
        const bulk = await post('/api/assets/reprocess', headers, { assetIds: [asset.invoice, asset.lockedNew] });
        expect(bulk.status).toBe(404);
      }
      expect(inference.requests).toBe(0);
    });

    it('opens to a session whose PIN was entered, which may read but not process a locked photo', async () => {
      const unlocked = {
        authorization: `Bearer ${await seedSession(database.db, alice.id, { pinExpiresAt: new Date(Date.now() + 600_000) })}`,
      };
      const ocr = await get(`/api/assets/${asset.locked}/ocr`, unlocked);
      expect(ocr.status).toBe(200);
      expect((await readJson<{ text: string }>(ocr)).text).toBe('增值税发票 secret');
      expect((await get(`/api/assets/${asset.locked}/preview`, unlocked)).status).toBe(200);
      const regenerate = await post(`/api/assets/${asset.lockedNew}/reprocess`, unlocked, { ocr: true, clip: true });
      expect(regenerate.status).toBe(409);
      expect((await readJson<{ message: string }>(regenerate)).message).toMatch(
        /Locked Folder are not read or embedded/,
      );
      // An unlocked PIN is Alice's, not a key to Bob's photos.
      const bobUnlocked = {
        authorization: `Bearer ${await seedSession(database.db, bob.id, { pinExpiresAt: new Date(Date.now() + 600_000) })}`,
      };
      expect((await get(`/api/assets/${asset.locked}/ocr`, bobUnlocked)).status).toBe(404);
    });

    it('never shows a locked photo in search results', async () => {
      const response = await api(sidecar, alice.apiKey).get(`/api/ocr/search?q=${encodeURIComponent('ocr:增值税')}`);
      const hits = (await readJson<{ hits: Array<{ assetId: string }> }>(response)).hits.map((hit) => hit.assetId);
      expect(hits).toEqual([asset.invoice]);
    });

    it('is neither read nor embedded by a job, however the job was queued', async () => {
      // As Immich's refresh-ocr would queue them inside Immich, or a job queued before the move.
      const queue = sidecar.app.get(JobQueueRepository);
      await queue.addAssetJobs(JobName.Ocr, [asset.lockedNew], { force: true });
      await queue.addAssetJobs(JobName.Clip, [asset.lockedNew]);
      await idle();
      expect(inference.requests).toBe(0);
      const rows = await sql<{ n: number }>`
        SELECT (SELECT count(*) FROM smart_search WHERE "assetId" = ${asset.lockedNew})
             + (SELECT count(*) FROM immich_ai.ocr_document WHERE "assetId" = ${asset.lockedNew}) AS n`.execute(
        database.db,
      );
      expect(Number(rows.rows[0].n)).toBe(0);
      // The same jobs on a photo in the timeline do read it: the stand-in is reachable.
      await queue.addAssetJobs(JobName.Clip, [asset.invoice]);
      await idle();
      expect(inference.requests).toBe(1);
    });
  });

  it('reads asset ids in any case, as Postgres does, and queues one job per photo whatever the case', async () => {
    const upper = asset.invoice.toUpperCase();
    const ocr = await api(sidecar, alice.apiKey).get(`/api/assets/${upper}/ocr`);
    expect(ocr.status).toBe(200);
    expect((await readJson<{ assetId: string }>(ocr)).assetId).toBe(asset.invoice);
    expect((await api(sidecar, alice.apiKey).get(`/api/assets/${upper}/preview`)).status).toBe(200);
    const regenerate = await api(sidecar, alice.apiKey).post('/api/assets/reprocess', {
      assetIds: [asset.invoice, upper],
      ocr: false,
      clip: true,
    });
    expect(regenerate.status).toBe(202);
    expect(await readJson(regenerate)).toEqual({ jobs: { ocr: [], clip: [`clip-${asset.invoice}`] } });
    expect((await api(sidecar, bob.apiKey).get(`/api/assets/${upper}/ocr`)).status).toBe(404);
    await idle();
  });

  describe('previews', () => {
    it('refuses a preview that is a link leading out of the media folder, and serves one whose link stays inside', async () => {
      const outside = join(media.root, 'thumbs', 'escape-preview.jpeg');
      await symlink('/etc/hostname', outside);
      const inside = join(media.root, 'thumbs', 'inside-preview.jpeg');
      await symlink(media.paths.f01, inside);
      const escaping = await seedAsset(database.db, { ownerId: alice.id, previewPath: outside });
      const linked = await seedAsset(database.db, { ownerId: alice.id, previewPath: inside });
      const refused = await api(sidecar, alice.apiKey).get(`/api/assets/${escaping}/preview`);
      expect(refused.status).toBe(404);
      expect(await refused.text()).not.toMatch(/hostname|\/etc|thumbs/);
      const served = await api(sidecar, alice.apiKey).get(`/api/assets/${linked}/preview`);
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await served.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    });

    it('answers 404 for a preview file that is missing, and for a folder where a file should be', async () => {
      const gone = await seedAsset(database.db, { ownerId: alice.id, previewPath: join(media.root, 'gone.jpeg') });
      const folder = await seedAsset(database.db, { ownerId: alice.id, previewPath: join(media.root, 'thumbs') });
      for (const id of [gone, folder]) {
        const response = await api(sidecar, alice.apiKey).get(`/api/assets/${id}/preview`);
        expect(response.status).toBe(404);
        expect(await readJson(response)).toEqual({
          statusCode: 404,
          message: 'The preview cannot be served',
          error: 'Not Found',
        });
      }
    });
  });

  it('shows a user the queue of their own photos only; an admin sees the whole queue', async () => {
    for (let i = 0; i < 3; i++) await seedAsset(database.db, { ownerId: bob.id, previewPath: media.paths.f01 });
    const writeFailure = async (assetId: string) =>
      new OcrDocumentRepository(database.db, new ZhparserSegmenter()).recordFailure(assetId, 'inference', 'boom', 3);
    const bobFailed = await seedAsset(database.db, { ownerId: bob.id, previewPath: media.paths.f01 });
    await writeFailure(bobFailed);
    type Status = { scope: string; queue: { waiting: number }; documents: { done: number; failed: number } };
    const aliceView = await readJson<Status>(await api(sidecar, alice.apiKey).get('/api/jobs'));
    const bobView = await readJson<Status>(await api(sidecar, bob.apiKey).get('/api/jobs'));
    const adminView = await readJson<Status>(await api(sidecar, admin.apiKey).get('/api/jobs'));
    expect(bobView).toMatchObject({ scope: 'own', queue: { waiting: 3 }, documents: { done: 0, failed: 1 } });
    expect(aliceView.scope).toBe('own');
    expect(aliceView.documents).toEqual({ done: 2, failed: 0 });
    expect(aliceView.queue.waiting).toBe(
      Number(
        (
          await sql<{ n: number }>`
            SELECT count(*) AS n FROM asset a
            WHERE a."ownerId" = ${alice.id} AND a.visibility IN ('timeline', 'archive') AND a."deletedAt" IS NULL
              AND EXISTS (SELECT 1 FROM asset_file f WHERE f."assetId" = a.id AND f.type = 'preview')
              AND NOT EXISTS (SELECT 1 FROM immich_ai.ocr_document d WHERE d."assetId" = a.id)`.execute(database.db)
        ).rows[0].n,
      ),
    );
    expect(adminView.scope).toBe('all');
    expect(adminView.documents.failed).toBe(1);
  });

  describe("Immich's ways of passing credentials", () => {
    const search = `/api/ocr/search?q=${encodeURIComponent('ocr:增值税')}`;
    const hits = async (response: Response) => {
      expect(response.status).toBe(200);
      return (await readJson<{ hits: Array<{ assetId: string }> }>(response)).hits.map((hit) => hit.assetId);
    };

    it('accepts ?apiKey=, ?sessionKey= and x-immich-session-token, and keeps them out of the parameters', async () => {
      const token = await seedSession(database.db, alice.id);
      expect(await hits(await get(`${search}&apiKey=${encodeURIComponent(alice.apiKey)}`))).toEqual([asset.invoice]);
      expect(await hits(await get(`${search}&sessionKey=${encodeURIComponent(token)}`))).toEqual([asset.invoice]);
      expect(await hits(await get(search, { 'x-immich-session-token': token }))).toEqual([asset.invoice]);
      expect((await get(`${search}&apiKey=wrong`)).status).toBe(401);
    });

    it('refuses shared-link credentials by name: this API is for signed-in users', async () => {
      for (const [path, headers] of [
        [search, { 'x-immich-share-key': 'abc' }],
        [`${search}&key=abc`, {}],
        [search, { 'x-immich-share-slug': 'trip' }],
        [`${search}&slug=trip`, { 'x-api-key': alice.apiKey }],
      ] as Array<[string, Record<string, string>]>) {
        const response = await get(path, headers);
        expect(response.status).toBe(401);
        expect((await readJson<{ message: string }>(response)).message).toMatch(/Shared links cannot be used/);
      }
    });
  });

  it('marks every answer that carries user data as not to be cached or sniffed, errors included', async () => {
    for (const response of [
      await api(sidecar, alice.apiKey).get(`/api/ocr/search?q=x`),
      await api(sidecar, alice.apiKey).get(`/api/assets/${asset.invoice}/ocr`),
      await api(sidecar, alice.apiKey).get(`/api/assets/${asset.invoice}/preview`),
      await api(sidecar, alice.apiKey).get('/api/jobs'),
      await api(sidecar, alice.apiKey).get(`/api/assets/${randomUUID()}/ocr`),
      await get('/api/jobs'),
    ]) {
      expect([
        response.url,
        response.headers.get('cache-control'),
        response.headers.get('x-content-type-options'),
      ]).toEqual([response.url, 'no-store', 'nosniff']);
      await response.arrayBuffer();
    }
  });

  it('refuses JSON nested 10,000 deep with 400 before validating it', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const body of [deep, `{"assetIds": ${deep}}`]) {
      const response = await post('/api/assets/reprocess', { 'x-api-key': alice.apiKey }, body);
      expect(response.status).toBe(400);
      expect((await readJson<{ message: string }>(response)).message).toMatch(/nested deeper than/);
    }
    // Strings full of brackets are not nesting.
    const fine = await post('/api/assets/reprocess', { 'x-api-key': alice.apiKey }, { assetIds: ['[[[[[[[[[[[['] });
    expect(fine.status).toBe(400);
    expect(JSON.stringify(await readJson(fine))).toMatch(/UUID/);
  });

  it('bounds the cost of any page of a mixed search by SEARCH_CANDIDATES', async () => {
    const carol = await seedUser(database.db, { name: 'Carol' });
    for (let i = 0; i < 30; i++) {
      const id = await seedAsset(database.db, { ownerId: carol.id, previewPath: media.paths.f01 });
      await sql`INSERT INTO smart_search ("assetId", embedding) VALUES (${id}, ${`[${unit(i + 2).join(',')}]`}::vector)`.execute(
        database.db,
      );
    }
    const page = async (n: number, size: number) =>
      readJson<{ hasNextPage: boolean; hits: unknown[] }>(
        await api(sidecar, carol.apiKey).get(`/api/ocr/search?q=photo&page=${n}&size=${size}`),
      );
    // CLIP alone contributes its 10 nearest (SEARCH_CANDIDATES), however deep the page.
    const first = await page(1, 10);
    expect([first.hits.length, first.hasNextPage]).toEqual([10, false]);
    const second = await page(2, 5);
    expect([second.hits.length, second.hasNextPage]).toEqual([5, false]);
    expect(await page(3, 5)).toEqual(expect.objectContaining({ hasNextPage: false, hits: [] }));
    expect(await page(1000, 100)).toEqual(expect.objectContaining({ hasNextPage: false, hits: [] }));
  });
});
