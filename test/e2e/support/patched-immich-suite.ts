import { sql } from 'kysely';
import sharp from 'sharp';
import { eventually, flushRedis, testRedisDb } from '../../extension/support/sidecar';
import { ocrTruth } from '../../support/fixtures';
import { dropDatabase } from '../../support/immich-database';
import { type ImmichRelease, immichBuild, major } from '../../support/immich-release';
import { ImmichClient, type ImmichServer, SearchResponse, startImmich } from '../../support/immich-server';
import { ADMIN, ImmichStack, startImmichStack } from './immich-stack';

/**
 * Immich with our patches, built from the vendored source by `immich-ai patch` and Immich's own build
 * (scripts/immich-server.sh prepare-patched), run for real on a fresh database with our gateway as its
 * machine-learning URL. Everything a user does goes through Immich's REST API; our tables are looked
 * at directly only to prove rows are replaced and removed. One suite, run for each supported release.
 */
export function describePatchedImmich(version: ImmichRelease): void {
  describe(`the patched Immich v${version} server`, () => {
    const names = Object.keys(ocrTruth);
    let stack: ImmichStack;
    let assets: Record<string, string>;
    let admin: ImmichClient;

    beforeAll(async () => {
      stack = await startImmichStack({
        version,
        label: `patched_${version.replace(/\./g, '_')}`,
        photos: names,
        patched: true,
      });
      ({ assets, admin } = stack);
      // Immich's OCR job hands each photo's text to our queue; wait until every one is indexed.
      await eventually(async () => {
        const { rows } = await sql<{
          n: number;
        }>`SELECT count(*)::int AS n FROM immich_ai.ocr_document WHERE status = 'done'`.execute(stack.db);
        return rows[0].n === names.length;
      }, 120_000);
    }, 480_000);

    afterAll(() => stack?.stop());

    const lineIds = async (assetId: string) =>
      (
        await stack.db
          .selectFrom('immich_ai.ocr_line')
          .select('id')
          .where('assetId', '=', assetId)
          .orderBy('lineNo')
          .execute()
      ).map((row) => row.id);

    it(`is Immich v${version}, and says in its features that our search is there`, async () => {
      expect(await admin.version()).toBe(version);
      const features = await admin.request<Record<string, boolean>>('GET', '/server/features');
      expect(features.immichAiOcrSearch).toBe(true);
    });

    it('ran every upload through our gateway without a failed job', async () => {
      const queues = await admin.request<Record<string, { jobCounts: Record<string, number> }>>('GET', '/jobs');
      const failed = Object.entries(queues).filter(([, { jobCounts }]) => jobCounts.failed > 0);
      expect(failed).toEqual([]);
    });

    it('answers `ocr:` in its own smart search with the right photo first for a text from every fixture', async () => {
      for (const name of names) {
        for (const truth of ocrTruth[name])
          expect([truth, (await admin.smartSearch(`ocr:${truth}`))[0]]).toEqual([truth, assets[name]]);
      }
    });

    it('finds a one-character query and substrings, with the prefix in any case and full-width', async () => {
      expect(await admin.smartSearch('ocr:雪')).toEqual([assets.f08]);
      expect(await admin.smartSearch('ocr:东新')).toEqual([assets.f01]);
      expect(await admin.smartSearch('ocr:0506')).toEqual([assets.f06]);
      expect((await admin.smartSearch('OCR:exit'))[0]).toBe(assets.f04);
      expect((await admin.smartSearch('Ocr：锦江'))[0]).toBe(assets.f02);
    });

    it('ranks a plain query by OCR and CLIP together: the photo with the text first, the others after it', async () => {
      // CLIP (the small generated test models) alone ranks the photos in no useful order and OCR alone
      // finds one; fused, the text's photo leads a list that has every photo.
      for (const name of names) {
        const text = ocrTruth[name][0];
        const ids = await admin.smartSearch(text);
        expect([text, ids[0]]).toEqual([text, assets[name]]);
        expect(ids).toHaveLength(names.length);
      }
    });

    it('answers the OCR field of its metadata search (the search panel) with our ranking', async () => {
      expect((await admin.ocrFieldSearch('20240506123'))[0]).toBe(assets.f06);
      expect(await admin.ocrFieldSearch('雪')).toEqual([assets.f08]);
    });

    it('re-runs OCR for a photo on `refresh-ocr`, replacing its rows', async () => {
      const before = await lineIds(assets.f03);
      await admin.request('POST', '/assets/jobs', { name: 'refresh-ocr', assetIds: [assets.f03] }, [204]);
      const after = await eventually(async () => {
        const ids = await lineIds(assets.f03);
        return ids.length === before.length && ids[0] !== before[0] && ids;
      }, 60_000);
      expect(after).toHaveLength(ocrTruth.f03.length);
      expect((await admin.smartSearch('ocr:面包'))[0]).toBe(assets.f03);
    });

    it('renews the smart_search row on `refresh-smart-search`', async () => {
      const embedding = async () =>
        (
          await stack.db
            .selectFrom('smart_search')
            .select('embedding')
            .where('assetId', '=', assets.f07)
            .executeTakeFirst()
        )?.embedding;
      const original = await embedding();
      await stack.db.deleteFrom('smart_search').where('assetId', '=', assets.f07).execute();
      await admin.request('POST', '/assets/jobs', { name: 'refresh-smart-search', assetIds: [assets.f07] }, [204]);
      expect(await eventually(embedding, 60_000)).toBe(original);
    });

    it("checks Immich's permissions: another user can neither search nor regenerate the first user's photos", async () => {
      const other = await admin.createUser('other@example.com', 'other-password', 'Other');
      const otherKey = other.withApiKey(await other.createApiKey());
      expect(await otherKey.smartSearch('ocr:西湖')).toEqual([]);
      expect(await otherKey.ocrFieldSearch('西湖')).toEqual([]);
      const before = await lineIds(assets.f08);
      await otherKey.request('POST', '/assets/jobs', { name: 'refresh-ocr', assetIds: [assets.f08] }, [400]);
      await otherKey.request('POST', '/assets/jobs', { name: 'refresh-smart-search', assetIds: [assets.f08] }, [400]);
      expect(await lineIds(assets.f08)).toEqual(before);
    });

    it("shows our queue on a route Immich's users reach (all of it to an admin, their own to others), and an admin re-queues OCR from there", async () => {
      interface Status {
        scope: 'all' | 'own';
        queue: Record<string, number>;
        documents: { done: number; failed: number };
      }
      expect(await admin.request<Status>('GET', '/immich-ai/jobs')).toMatchObject({
        scope: 'all',
        documents: { done: names.length, failed: 0 },
        queue: { failed: 0 },
      });
      const viewer = await admin.createUser('viewer@example.com', 'viewer-password', 'Viewer');
      expect(await viewer.request<Status>('GET', '/immich-ai/jobs')).toMatchObject({
        scope: 'own',
        documents: { done: 0, failed: 0 },
      });
      await viewer.request('POST', '/immich-ai/jobs/ocr', { scope: 'all' }, [403]);
      await admin.request('POST', '/immich-ai/jobs/ocr', { scope: 'everything' }, [400]);

      const oldest = async () =>
        new Date(
          (await sql<{ at: Date }>`SELECT min("processedAt") AS at FROM immich_ai.ocr_document`.execute(stack.db))
            .rows[0].at,
        );
      const before = new Date();
      expect(await admin.request('POST', '/immich-ai/jobs/ocr', { scope: 'all' }, [202])).toEqual({
        scope: 'all',
        started: true,
      });
      // Every photo is read again, and the counts say so.
      await eventually(async () => (await oldest()) > before, 120_000);
      expect(await admin.request<Status>('GET', '/immich-ai/jobs')).toMatchObject({
        documents: { done: names.length, failed: 0 },
      });
    }, 150_000);

    if (major(version) >= 3) {
      it("reads an edited photo again as Immich shows it (v3's editor): text, boxes and CLIP of the edited preview", async () => {
        const id = assets.f04;
        const document = () =>
          stack.db
            .selectFrom('immich_ai.ocr_document')
            .select(['source', 'processedAt'])
            .where('assetId', '=', id)
            .executeTakeFirstOrThrow();
        const embedding = async () =>
          (await stack.db.selectFrom('smart_search').select('embedding').where('assetId', '=', id).executeTakeFirst())
            ?.embedding;
        const before = { document: await document(), embedding: await embedding() };
        // Rotated a quarter turn in Immich's editor, through its API: the lines now run top to bottom.
        await admin.request('PUT', `/assets/${id}/edits`, { edits: [{ action: 'rotate', parameters: { angle: 90 } }] });
        const edited = await eventually(async () => {
          const { rows } = await sql<{ path: string }>`
            SELECT path FROM asset_file WHERE "assetId" = ${id} AND type = 'preview' AND "isEdited"`.execute(stack.db);
          const now = await document();
          return (
            rows.length === 1 &&
            now.source === 'inference' &&
            new Date(now.processedAt!) > new Date(before.document.processedAt!) &&
            rows[0].path
          );
        }, 90_000);
        const { width, height } = await sharp(edited).metadata();
        expect(height).toBeGreaterThan(width!); // the landscape photo, turned
        const lines = await stack.db
          .selectFrom('immich_ai.ocr_line')
          .select(['text', 'x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4'])
          .where('assetId', '=', id)
          .execute();
        expect(lines.map((line) => line.text).sort()).toEqual([...ocrTruth.f04].sort());
        for (const line of lines) {
          // In the edited preview's pixels each box is taller than wide (normalised 0..1 to that preview).
          const xs = [line.x1, line.x2, line.x3, line.x4].map((x) => x * width!);
          const ys = [line.y1, line.y2, line.y3, line.y4].map((y) => y * height!);
          expect([line.text, Math.max(...ys) - Math.min(...ys) > Math.max(...xs) - Math.min(...xs)]).toEqual([
            line.text,
            true,
          ]);
        }
        expect((await admin.smartSearch('ocr:安全通道'))[0]).toBe(id);
        expect((await admin.smartSearch('ocr:exit'))[0]).toBe(id);
        // CLIP read the turned picture too.
        expect(
          await eventually(async () => ((await embedding()) !== before.embedding ? await embedding() : false), 60_000),
        ).toBeTruthy();
      }, 180_000);
    }

    it("honours the request's other filters with `ocr:` and the OCR field, as Immich's own search does", async () => {
      // One word of every photo's text: unfiltered, every photo matches, so each filter alone decides.
      const every = '天气 OR 火锅 OR 面包 OR 安全 OR 测试 OR 订单 OR meeting OR 西湖';
      const only = (...photos: string[]) => photos.map((name) => assets[name]).sort();
      const allBut = (...photos: string[]) => only(...names.filter((name) => !photos.includes(name)));
      /** `ocr:` in smart search, the OCR field, and Immich's own metadata search of the filters alone. */
      const answers = async (client: ImmichClient, filters: Record<string, unknown>) => ({
        filters,
        smart: (await client.smartSearch(`ocr:${every}`, filters)).sort(),
        field: (await client.ocrFieldSearch(every, filters)).sort(),
        immich: (await client.metadataSearch(filters)).sort(),
      });
      const expectOnly = async (filters: Record<string, unknown>, expected: string[], client = admin) =>
        expect(await answers(client, filters)).toEqual({ filters, smart: expected, field: expected, immich: expected });

      // Seeded through Immich's API where it has one, in its tables where it has none (dates, type, EXIF).
      await admin.request('PUT', '/assets', { ids: [assets.f02, assets.f03], isFavorite: true }, [204]);
      await admin.request('PUT', '/assets', { ids: [assets.f05], visibility: 'archive' }, [204]);
      const album = await admin.request<{ id: string }>('POST', '/albums', {
        albumName: 'filters',
        assetIds: [assets.f06, assets.f07],
      });
      const person = await admin.request<{ id: string }>('POST', '/people', { name: 'Ann' });
      await admin.request('POST', '/faces', {
        assetId: assets.f02,
        personId: person.id,
        imageWidth: 100,
        imageHeight: 100,
        x: 10,
        y: 10,
        width: 20,
        height: 20,
      });
      const tag = await admin.request<{ id: string }>('POST', '/tags', { name: 'receipt' });
      // A tag goes into the photo's sidecar and Immich reads the tags back from it, replacing them; a
      // read-back that started before the tag was written drops it (Immich's own search then misses it
      // too). Settled: queues idle twice, half a second apart (one job queues the next), and Immich's
      // own search finds the tag; else tag again.
      const pause = () => new Promise((done) => setTimeout(done, 500));
      const settled = async () => (await admin.queuesIdle()) && (await pause(), await admin.queuesIdle());
      await eventually(settled, 60_000);
      await eventually(async () => {
        await admin.request('PUT', `/tags/${tag.id}/assets`, { ids: [assets.f03] });
        await eventually(settled, 60_000);
        return (await admin.metadataSearch({ tagIds: [tag.id] })).includes(assets.f03);
      }, 120_000);
      await sql`UPDATE asset SET "fileCreatedAt" = '2020-06-01T00:00:00Z' WHERE id = ${assets.f08}`.execute(stack.db);
      await sql`UPDATE asset_exif SET make = 'Canon', model = 'EOS R5', city = 'Hangzhou', state = 'Zhejiang',
        country = 'China' WHERE "assetId" = ${assets.f08}`.execute(stack.db);
      await sql`UPDATE asset SET type = 'VIDEO' WHERE id = ${assets.f07}`.execute(stack.db);

      const timeline = { visibility: 'timeline' };
      await expectOnly({ isFavorite: true }, only('f02', 'f03'));
      await expectOnly({ isFavorite: false, ...timeline }, allBut('f02', 'f03', 'f05'));
      await expectOnly({ visibility: 'archive' }, only('f05'));
      await expectOnly({ albumIds: [album.id] }, only('f06', 'f07'));
      await expectOnly({ personIds: [person.id] }, only('f02'));
      await expectOnly({ tagIds: [tag.id] }, only('f03'));
      await expectOnly({ takenBefore: '2021-01-01T00:00:00.000Z' }, only('f08'));
      await expectOnly({ takenAfter: '2021-01-01T00:00:00.000Z', ...timeline }, allBut('f05', 'f08'));
      await expectOnly({ type: 'VIDEO' }, only('f07'));
      await expectOnly({ type: 'IMAGE', ...timeline }, allBut('f05', 'f07'));
      for (const camera of [{ make: 'Canon' }, { model: 'EOS R5' }, { make: 'Canon', model: 'EOS R5' }])
        await expectOnly(camera, only('f08'));
      await expectOnly({ make: 'Nikon' }, []);
      for (const place of [{ city: 'Hangzhou' }, { state: 'Zhejiang' }, { country: 'China' }])
        await expectOnly(place, only('f08'));
      await expectOnly({ isFavorite: true, tagIds: [tag.id] }, only('f03'));

      // Ranked by the text among the allowed photos, paged to the last of them, in Immich's shape.
      expect(await admin.smartSearch('ocr:面包', { isFavorite: true })).toEqual([assets.f03]);
      expect(await admin.ocrFieldSearch('火锅店', { isFavorite: true })).toEqual([assets.f02]);
      expect(await admin.smartSearch('ocr:火锅店', { isFavorite: false })).not.toContain(assets.f02);
      const pages: SearchResponse['assets'][] = [];
      for (let page = 1; page <= 3 && (page === 1 || pages.at(-1)!.nextPage); page++) {
        const body = await admin.request<SearchResponse>('POST', '/search/smart', {
          query: `ocr:${every}`,
          isFavorite: true,
          size: 1,
          page,
        });
        pages.push(body.assets);
      }
      expect(pages.map(({ count, total, nextPage }) => ({ count, total, nextPage }))).toEqual([
        { count: 1, total: 1, nextPage: '2' },
        { count: 1, total: 1, nextPage: null },
      ]);
      expect(pages.flatMap(({ items }) => items.map((item) => item.id)).sort()).toEqual(only('f02', 'f03'));
      expect(pages[0].items[0]).toMatchObject({
        type: 'IMAGE',
        originalFileName: expect.stringMatching(/^f0[23]\.jpg$/),
      });

      // The Locked Folder: a photo moved there (PIN set, session unlocked) never shows in a session
      // that is not unlocked; asking for it there is refused (Immich's check); the unlocked one finds it.
      await admin.request('POST', '/auth/pin-code', { pinCode: '123456' }, [200, 201, 204]);
      await admin.request('POST', '/auth/session/unlock', { pinCode: '123456' }, [200, 201, 204]);
      await admin.request('PUT', '/assets', { ids: [assets.f06], visibility: 'locked' }, [204]);
      const locked = { visibility: 'locked' };
      const another = await new ImmichClient(admin.url).login(ADMIN.email, ADMIN.password);
      for (const filters of [{}, timeline, { isFavorite: false }, { albumIds: [album.id] }]) {
        expect([filters, (await another.smartSearch(`ocr:${every}`, filters)).includes(assets.f06)]).toEqual([
          filters,
          false,
        ]);
        expect([filters, (await another.ocrFieldSearch(every, filters)).includes(assets.f06)]).toEqual([
          filters,
          false,
        ]);
      }
      await another.request('POST', '/search/smart', { query: `ocr:${every}`, ...locked }, [401, 403]);
      await another.request('POST', '/search/metadata', { ocr: every, ...locked }, [401, 403]);
      await expectOnly(locked, only('f06'));
      expect(await admin.smartSearch('ocr:订单', locked)).toEqual([assets.f06]);

      // Back as the other tests found them.
      await admin.request('PUT', '/assets', { ids: [assets.f05, assets.f06], visibility: 'timeline' }, [204]);
      await admin.request('POST', '/auth/session/lock', undefined, [200, 201, 204]);
      await sql`UPDATE asset SET type = 'IMAGE' WHERE id = ${assets.f07}`.execute(stack.db);
    }, 120_000);

    it('removes our rows when a photo is deleted in Immich', async () => {
      await admin.request('DELETE', '/assets', { ids: [assets.f01], force: true }, [204]);
      await eventually(async () => (await admin.smartSearch('ocr:浦东新区')).length === 0, 60_000);
      await eventually(async () => (await lineIds(assets.f01)).length === 0, 60_000);
    });
  });

  describe(`the patched Immich v${version} server with an invalid IMMICH_AI_ setting`, () => {
    const database = `immich_ai_patched_off_${version.replace(/\./g, '_')}_${process.pid}`;
    let immich: ImmichServer | undefined;

    afterAll(async () => {
      await immich?.stop();
      await dropDatabase(database);
    });

    it('starts and runs as a stock Immich, says why in its log, and our route answers 503 saying so', async () => {
      await flushRedis();
      immich = await startImmich({
        version,
        immichDir: immichBuild('patched-dir', version),
        database,
        redisDbIndex: testRedisDb(),
        mlUrl: 'http://127.0.0.1:9', // not needed here
        env: { IMMICH_AI_SEARCH_CANDIDATES: '5', IMMICH_AI_DB_PASSWORD: 'hidden-pw' },
      });
      const admin = await ImmichClient.admin(immich.url);
      expect(await admin.version()).toBe(version);
      // The web app hides our actions and hint: the server says our search is not there.
      const features = await admin.request<Record<string, boolean>>('GET', '/server/features');
      expect(features.immichAiOcrSearch).toBe(false);
      const off = await fetch(`${immich.url}/api/immich-ai/jobs`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      expect(off.status).toBe(503);
      const body = await off.text();
      expect(body).toMatch(/immich-ai is off/);
      expect(body).not.toMatch(/hidden-pw/);
      // Immich answers its own searches (the OCR field of metadata search, on its own OCR table).
      expect(await admin.ocrFieldSearch('发票')).toEqual([]);
      expect(immich.logged(/immich-ai is off until this is fixed/)).toMatch(/SEARCH_CANDIDATES=/);
    }, 180_000);
  });
}
