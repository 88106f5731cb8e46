import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { migrateToLatest } from '../../src/extension/database/migrator';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { parseQuery } from '../../src/extension/search/query-parser';
import { periodLexemes, searchKeysQuery } from '../../src/extension/search/search-keys';
import { SearchRepository } from '../../src/extension/search/search.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { createTestDatabase, seedAsset, seedUser, TestDatabase, releaseAssetColumns } from '../support/immich-database';

/**
 * The search keys (migrations/0003) narrow an index search to one user's documents of a date range
 * inside the index. They may keep a little more than the range (whole months), never less, and never
 * another user's documents: checked against the generated column in Postgres on random ranges.
 */

describe('periodLexemes', () => {
  const d = (iso: string) => new Date(iso);

  it('covers a range with its months, a whole year as one lexeme', () => {
    expect(periodLexemes(d('2023-11-20T00:00:00Z'), d('2025-02-03T00:00:00Z'))).toEqual([
      'm202311',
      'm202312',
      'y2024',
      'm202501',
      'm202502',
    ]);
  });

  it('treats the end as exclusive and works in UTC', () => {
    // Ends exactly at the start of March: February is the last month.
    expect(periodLexemes(d('2024-02-10T00:00:00Z'), d('2024-03-01T00:00:00Z'))).toEqual(['m202402']);
    // 00:30 on 1 December in UTC+2 is still November in UTC.
    expect(periodLexemes(d('2026-12-01T00:30:00+02:00'), d('2026-12-01T00:40:00+02:00'))).toEqual(['m202611']);
    expect(periodLexemes(d('2024-05-01T00:00:00Z'), d('2024-05-01T00:00:00Z'))).toEqual([]);
  });
});

describe('searchKeysQuery on the generated column', () => {
  let database: TestDatabase;
  const owners: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('search_keys');
    await migrateToLatest(database.db);
    for (let i = 0; i < 2; i++) owners.push((await seedUser(database.db)).id);
  });

  afterAll(() => database?.drop());

  it('keeps every document of the owner in the range, and no other owner’s, on 300 random ranges', async () => {
    // Seeded PRNG: the same cases every run; dates cluster on month and year edges, where covers go wrong.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const edge = () => {
      const year = 2019 + Math.floor(random() * 6);
      const month = Math.floor(random() * 12);
      const offsetMs = (random() - 0.5) * 3 * 86_400_000;
      return new Date(Date.UTC(year, month, 1) + offsetMs);
    };
    const docs = Array.from({ length: 400 }, () => ({ owner: owners[random() < 0.5 ? 0 : 1], date: edge() }));
    const release = await releaseAssetColumns(database.db);
    await sql`
      WITH a AS (
        INSERT INTO asset (id, ${release.names}, "ownerId", type, "originalPath", "fileCreatedAt", "fileModifiedAt",
          "localDateTime", checksum, "originalFileName")
        SELECT t.id, ${release.values}, t.owner, 'IMAGE', '/data/' || t.id, t.created, t.created, t.created,
          decode(md5(t.id::text), 'hex'), t.id || '.jpg'
        FROM unnest(${docs.map(() => randomUUID())}::uuid[], ${docs.map((doc) => doc.owner)}::uuid[],
          ${docs.map((doc) => doc.date.toISOString())}::timestamptz[]) AS t(id, owner, created)
        RETURNING id, "ownerId", "fileCreatedAt"
      )
      INSERT INTO immich_ai.ocr_document ("assetId", "ownerId", "fileCreatedAt", status, source, segmenter)
      SELECT id, "ownerId", "fileCreatedAt", 'done', 'inference', 'test' FROM a`.execute(database.db);

    const cases = Array.from({ length: 300 }, (_, i) => {
      const [a, b] = [edge(), edge()].sort((x, y) => x.getTime() - y.getTime());
      // Every fifth case has no lower bound: the owner alone.
      return { owner: owners[i % 2], from: i % 5 === 0 ? null : a, before: b };
    });
    const { rows } = await sql<{ case: number; missed: number; foreign: number; kept: number; inRange: number }>`
      SELECT c.n AS case,
        count(*) FILTER (WHERE d."ownerId" = c.owner AND (c.from IS NULL OR d."fileCreatedAt" >= c.from)
          AND d."fileCreatedAt" < c.before AND NOT d."searchKeys" @@ c.keys)::int AS missed,
        count(*) FILTER (WHERE d."ownerId" <> c.owner AND d."searchKeys" @@ c.keys)::int AS foreign,
        count(*) FILTER (WHERE d."searchKeys" @@ c.keys)::int AS kept,
        count(*) FILTER (WHERE d."ownerId" = c.owner AND (c.from IS NULL OR d."fileCreatedAt" >= c.from)
          AND d."fileCreatedAt" < c.before)::int AS "inRange"
      FROM unnest(${cases.map((_, i) => i)}::int[], ${cases.map((c) => c.owner)}::uuid[],
        ${cases.map((c) => c.from?.toISOString() ?? null)}::timestamptz[], ${cases.map((c) => c.before.toISOString())}::timestamptz[],
        ${cases.map((c) => searchKeysQuery([c.owner], c.from, c.before))}::tsquery[]) AS c(n, owner, "from", before, keys)
      CROSS JOIN immich_ai.ocr_document d
      GROUP BY c.n ORDER BY c.n`.execute(database.db);
    expect(rows).toHaveLength(300);
    expect(rows.filter((row) => row.missed > 0 || row.foreign > 0)).toEqual([]);
    // The keys narrow: over all bounded cases they keep far fewer documents than the owner has.
    const bounded = rows.filter((_, i) => cases[i].from !== null);
    const kept = bounded.reduce((sum, row) => sum + row.kept, 0);
    const inRange = bounded.reduce((sum, row) => sum + row.inRange, 0);
    expect(kept).toBeGreaterThanOrEqual(inRange);
    expect(kept).toBeLessThan(bounded.length * 200 * 0.75);
  });

  it('two owners: either one’s documents, no one else’s', async () => {
    const query = searchKeysQuery(owners, null, null);
    const { rows } = await sql<{ n: number; total: number }>`
      SELECT count(*) FILTER (WHERE "searchKeys" @@ ${query}::tsquery)::int AS n, count(*)::int AS total
      FROM immich_ai.ocr_document`.execute(database.db);
    expect(rows[0].n).toBe(rows[0].total);
    const stranger = searchKeysQuery([randomUUID()], null, null);
    const none = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM immich_ai.ocr_document WHERE "searchKeys" @@ ${stranger}::tsquery`.execute(
      database.db,
    );
    expect(none.rows[0].n).toBe(0);
  });
});

describe('candidate search through the keys, over years and beside another user', () => {
  let database: TestDatabase;
  let search: SearchRepository;
  const mine = new Map<string, Date>();
  let me: string;

  beforeAll(async () => {
    database = await createTestDatabase('search_windows');
    await migrateToLatest(database.db);
    me = (await seedUser(database.db)).id;
    const other = (await seedUser(database.db)).id;
    const segmenter = new ZhparserSegmenter();
    const documents = new OcrDocumentRepository(database.db, segmenter);
    // 700 photos each over three years, the two users' dates interleaved; every 9th holds the term
    // (a rate that leaves the first walk short, so the index windows run), and so do all of the
    // other user's, which must never come back.
    const start = Date.UTC(2022, 0, 1);
    for (let i = 0; i < 700; i++) {
      for (const [owner, offset] of [
        [me, 0],
        [other, 43_200_000],
      ] as const) {
        const fileCreatedAt = new Date(start + i * 1.5 * 86_400_000 + offset);
        const assetId = await seedAsset(database.db, { ownerId: owner, fileCreatedAt });
        const holds = owner === other || i % 9 === 0;
        await documents.replace(assetId, {
          source: 'inference',
          model: 'test',
          attempts: 1,
          lines: [
            { text: holds ? `钥匙 ${i}` : `门票 ${i}`, boxScore: 1, textScore: 1, box: [0, 0, 1, 0, 1, 1, 0, 1] },
          ],
        });
        if (owner === me && holds) mine.set(assetId, fileCreatedAt);
      }
    }
    await sql`ANALYZE`.execute(database.db);
    search = new SearchRepository(database.db, segmenter);
  }, 120_000);

  afterAll(() => database?.drop());

  it.each([1, 5, 20, 60])('finds the %i newest of the user’s matches and nothing of the other user’s', async (k) => {
    const { items } = await search.searchOcr(parseQuery('ocr:钥匙'), {
      userIds: [me],
      page: 1,
      size: 1000,
      textCandidates: k,
    });
    const newest = [...mine].sort((a, b) => b[1].getTime() - a[1].getTime()).slice(0, k);
    const found = new Set(items.map((item) => item.assetId));
    expect(items.every((item) => mine.has(item.assetId))).toBe(true);
    for (const [assetId] of newest) expect(found).toContain(assetId);
  });
});
