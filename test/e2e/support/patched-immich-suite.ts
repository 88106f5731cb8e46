import { sql } from 'kysely';
import { eventually } from '../../extension/support/sidecar';
import { ocrTruth } from '../../support/fixtures';
import type { ImmichRelease } from '../../support/immich-release';
import type { ImmichClient } from '../../support/immich-server';
import { ImmichStack, startImmichStack } from './immich-stack';

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

    it('removes our rows when a photo is deleted in Immich', async () => {
      await admin.request('DELETE', '/assets', { ids: [assets.f01], force: true }, [204]);
      await eventually(async () => (await admin.smartSearch('ocr:浦东新区')).length === 0, 60_000);
      await eventually(async () => (await lineIds(assets.f01)).length === 0, 60_000);
    });
  });
}
