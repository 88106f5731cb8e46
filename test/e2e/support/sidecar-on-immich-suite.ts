import { sql } from 'kysely';
import { api, eventually, RunningSidecar, startSidecar } from '../../extension/support/sidecar';
import { readJson } from '../../inference/helpers';
import { ocrTruth } from '../../support/fixtures';
import type { TestDatabase } from '../../support/immich-database';
import type { ImmichRelease } from '../../support/immich-release';
import { ImmichStack, startImmichStack } from './immich-stack';

/**
 * The product as a self-hoster runs it: a stock Immich (the real server, built from the vendored
 * source) whose machine-learning URL is our gateway (OCR and CLIP to our inference service, faces to
 * a stand-in for Immich ML), and the sidecar beside it on the same Postgres and Redis. Photos go in
 * through Immich's upload API; search, regenerate and deletion are checked through both APIs. One
 * suite, run for each supported release.
 */

interface Hit {
  assetId: string;
  lines: Array<{ text: string }>;
}

export function describeSidecarOnImmich(version: ImmichRelease): void {
  describe(`the sidecar beside a stock Immich v${version}`, () => {
    const names = Object.keys(ocrTruth);
    let stack: ImmichStack;
    let assets: Record<string, string>;
    let apiKey: string;
    let sidecar: RunningSidecar;

    beforeAll(async () => {
      stack = await startImmichStack({ version, label: `sidecar_${version.replace(/\./g, '_')}`, photos: names });
      assets = stack.assets;
      apiKey = await stack.admin.createApiKey();
      sidecar = await startSidecar({ url: stack.databaseUrl } as TestDatabase, {
        INFERENCE_URL: stack.ml.gatewayUrl,
        IMMICH_MEDIA_LOCATION: stack.immich.mediaDir,
        NEW_ASSET_POLL_MS: '500',
      });
    }, 400_000);

    afterAll(async () => {
      await sidecar?.close();
      await stack?.stop();
    });

    const search = async (q: string, key = apiKey) => {
      const response = await api(sidecar, key).get(`/api/ocr/search?q=${encodeURIComponent(q)}`);
      expect(response.status).toBe(200);
      return (await readJson<{ hits: Hit[] }>(response)).hits;
    };
    const document = async (assetId: string) => {
      const response = await api(sidecar, apiKey).get(`/api/assets/${assetId}/ocr`);
      return readJson<{ status: string; source: string; processedAt: string }>(response);
    };

    it('ran every upload through our gateway (OCR, CLIP, faces) without a failed Immich job', async () => {
      expect(await stack.admin.version()).toBe(version);
      const queues = await stack.admin.request<Record<string, { jobCounts: Record<string, number> }>>('GET', '/jobs');
      expect(Object.entries(queues).filter(([, { jobCounts }]) => jobCounts.failed > 0)).toEqual([]);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smart_search`.execute(stack.db);
      expect(rows[0].n).toBe(names.length);
    });

    it("indexes Immich's own OCR of every uploaded photo without reading any photo again", async () => {
      for (const name of names) {
        const body = await eventually(async () => {
          const ocr = await document(assets[name]);
          return ocr.status === 'done' && ocr;
        }, 60_000);
        expect(body.source).toBe('immich');
      }
    }, 120_000);

    it('finds the right photo first for a text from every fixture, with an API key made in Immich', async () => {
      for (const name of names) {
        for (const truth of ocrTruth[name])
          expect([truth, (await search(`ocr:${truth}`))[0]?.assetId]).toEqual([truth, assets[name]]);
      }
      expect((await search('ocr:雪')).map((hit) => hit.assetId)).toEqual([assets.f08]);
    });

    it("accepts Immich's own session token, and shows another user none of the first user's photos", async () => {
      const response = await fetch(`${sidecar.url}/api/ocr/search?q=${encodeURIComponent('ocr:西湖')}`, {
        headers: { authorization: `Bearer ${stack.admin.token}` },
      });
      expect(response.status).toBe(200);
      const other = await stack.admin.createUser('other@example.com', 'other-password', 'Other');
      const otherKey = await other.createApiKey();
      expect(await search('ocr:西湖', otherKey)).toEqual([]);
      expect((await api(sidecar, otherKey).get(`/api/assets/${assets.f08}/ocr`)).status).toBe(404);
    });

    it('regenerates OCR from the photo itself, and CLIP into the smart_search row Immich searches', async () => {
      const before = await document(assets.f06);
      const { db } = stack;
      {
        const embedding = async () =>
          (
            await db
              .selectFrom('smart_search')
              .select('embedding')
              .where('assetId', '=', assets.f06)
              .executeTakeFirstOrThrow()
          ).embedding;
        const oldEmbedding = await embedding();
        await db
          .updateTable('smart_search')
          .set({ embedding: `[${Array(512).fill(0).join(',')}]` })
          .where('assetId', '=', assets.f06)
          .execute();
        const response = await api(sidecar, apiKey).post(`/api/assets/${assets.f06}/reprocess`, {
          ocr: true,
          clip: true,
        });
        expect(response.status).toBe(202);
        const after = await eventually(async () => {
          const ocr = await document(assets.f06);
          return ocr.source === 'inference' && ocr.processedAt !== before.processedAt && ocr;
        }, 60_000);
        expect(after.status).toBe('done');
        await eventually(async () => (await embedding()) === oldEmbedding, 30_000);
        // Immich's own smart search finds it with the renewed row.
        const smart = await stack.admin.request<{ assets: { items: Array<{ id: string }> } }>('POST', '/search/smart', {
          query: '订单',
        });
        expect(smart.assets.items.map((item) => item.id)).toContain(assets.f06);
      }
      expect((await search('ocr:20240506123'))[0].assetId).toBe(assets.f06);
    }, 120_000);

    it('forgets a photo deleted in Immich', async () => {
      await stack.admin.request('DELETE', '/assets', { ids: [assets.f01], force: true }, [204]);
      await eventually(async () => (await search('ocr:浦东新区')).length === 0, 60_000);
      await eventually(
        async () =>
          !(await stack.db
            .selectFrom('immich_ai.ocr_document')
            .select('assetId')
            .where('assetId', '=', assets.f01)
            .executeTakeFirst()),
        60_000,
      );
    }, 90_000);
  });
}
