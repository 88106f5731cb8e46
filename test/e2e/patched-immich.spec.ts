import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Client } from 'pg';
import { createDatabase } from '../../src/extension/database/create-database';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { eventually, flushRedis, testRedisDb } from '../extension/support/sidecar';
import { ocrFixture, ocrTruth } from '../support/fixtures';
import { PG_ADMIN_URL } from '../support/immich-database';
import { ImmichClient, ImmichServer, startImmich } from '../support/immich-server';
import { MlStack, startMlStack } from './support/ml-stack';
import type { Kysely } from 'kysely';

/**
 * Immich v2.4.1 with our patches, built from the vendored source by `immich-ai patch` and Immich's own
 * build (scripts/immich-server.sh prepare-patched), run for real on a fresh database with our gateway as
 * its machine-learning URL. Everything a user does goes through Immich's REST API; our tables are
 * looked at directly only to prove rows are replaced and removed.
 */

const ROOT = join(__dirname, '..', '..');

describe('the patched Immich v2.4.1 server', () => {
  const names = Object.keys(ocrTruth);
  const assets: Record<string, string> = {};
  const databaseName = `immich_ai_patched_${process.pid}`;
  let ml: MlStack;
  let immich: ImmichServer;
  let admin: ImmichClient;
  let db: Kysely<ExtensionDatabase>;

  beforeAll(async () => {
    const immichDir = execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['patched-dir'], {
      encoding: 'utf8',
    }).trim();
    ml = await startMlStack();
    await flushRedis();
    immich = await startImmich({
      immichDir,
      database: databaseName,
      redisDbIndex: testRedisDb(),
      mlUrl: ml.gatewayUrl,
    });
    admin = await ImmichClient.admin(immich.url);
    for (const name of names) assets[name] = await admin.upload(ocrFixture(name), `${name}.jpg`);
    await eventually(async () => admin.queuesIdle(), 240_000, 1000);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${databaseName}`;
    db = createDatabase(url.toString(), { max: 2 });
    // Immich's OCR job hands each photo's text to our queue; wait until every one is indexed.
    await eventually(async () => {
      const { n } = (
        await sql<{ n: number }>`SELECT count(*)::int AS n FROM immich_ai.ocr_document WHERE status = 'done'`.execute(
          db,
        )
      ).rows[0];
      return n === names.length;
    }, 120_000);
  }, 480_000);

  afterAll(async () => {
    await db?.destroy();
    await immich?.stop();
    await ml?.close();
    const client = new Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await client.end();
  });

  const lineIds = async (assetId: string) =>
    (
      await db.selectFrom('immich_ai.ocr_line').select('id').where('assetId', '=', assetId).orderBy('lineNo').execute()
    ).map((row) => row.id);

  it('says in its features that our search is there', async () => {
    const features = await admin.request<Record<string, boolean>>('GET', '/server/features');
    expect(features.immichAiOcrSearch).toBe(true);
  });

  it('answers `ocr:` in its own smart search with the right photo first for a text from every fixture', async () => {
    for (const name of names) {
      for (const truth of ocrTruth[name])
        expect([truth, (await admin.smartSearch(`ocr:${truth}`))[0]]).toEqual([truth, assets[name]]);
    }
  });

  it('finds a one-character query, with the prefix in any case and full-width', async () => {
    expect(await admin.smartSearch('ocr:雪')).toEqual([assets.f08]);
    expect((await admin.smartSearch('OCR:exit'))[0]).toBe(assets.f04);
    expect((await admin.smartSearch('Ocr：锦江'))[0]).toBe(assets.f02);
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
      (await db.selectFrom('smart_search').select('embedding').where('assetId', '=', assets.f07).executeTakeFirst())
        ?.embedding;
    const original = await embedding();
    await db.deleteFrom('smart_search').where('assetId', '=', assets.f07).execute();
    await admin.request('POST', '/assets/jobs', { name: 'refresh-smart-search', assetIds: [assets.f07] }, [204]);
    expect(await eventually(embedding, 60_000)).toBe(original);
  });

  it("checks Immich's permissions: another user can neither search nor regenerate the first user's photos", async () => {
    const other = await admin.createUser('other@example.com', 'other-password', 'Other');
    const otherKey = other.withApiKey(await other.createApiKey());
    expect(await otherKey.smartSearch('ocr:西湖')).toEqual([]);
    expect(await otherKey.ocrFieldSearch('西湖')).toEqual([]);
    await otherKey.request('POST', '/assets/jobs', { name: 'refresh-ocr', assetIds: [assets.f08] }, [400]);
  });

  it('removes our rows when a photo is deleted in Immich', async () => {
    await admin.request('DELETE', '/assets', { ids: [assets.f01], force: true }, [204]);
    await eventually(async () => (await admin.smartSearch('ocr:浦东新区')).length === 0, 60_000);
    await eventually(async () => (await lineIds(assets.f01)).length === 0, 60_000);
  });
});
