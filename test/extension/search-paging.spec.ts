import { SelectQueryBuilder, sql } from 'kysely';
import { migrateToLatest } from '../../src/extension/database/migrator';
import { ExtensionDatabase } from '../../src/extension/database/schema';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { parseQuery } from '../../src/extension/search/query-parser';
import { Cursor } from '../../src/extension/search/result-windows';
import { AssetFilter, RankedAsset, SearchRepository, SearchScope } from '../../src/extension/search/search.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { capturingDatabase } from '../support/captured-queries';
import { createTestDatabase, seedAsset, seedUser, TestDatabase } from '../support/immich-database';

/**
 * Every match is reachable: "ocr:发票" in a library of 2,000 receipts pages through all of them, by
 * page number (Immich) or by cursor (our API), at a cost per page that does not grow with depth; and
 * what is shown is checked on Immich's own asset row. Real Postgres, the real SQL.
 */

const DAY = 86_400_000;
const START = Date.parse('2020-01-01T00:00:00Z');
const WINDOW = 200;

type AssetQuery = SelectQueryBuilder<ExtensionDatabase, 'asset', { id: string; ownerId: string }>;

describe('paging through every match', () => {
  let database: TestDatabase;
  let search: SearchRepository;
  let me: string;
  let other: string;
  /** My live matches: whole-word ones (发票) and substring-only ones (出发|票价), with their dates. */
  const words = new Map<string, number>();
  const substrings = new Map<string, number>();

  beforeAll(async () => {
    database = await createTestDatabase('paging');
    await migrateToLatest(database.db);
    me = (await seedUser(database.db)).id;
    other = (await seedUser(database.db)).id;
    const segmenter = new ZhparserSegmenter();
    const documents = new OcrDocumentRepository(database.db, segmenter);
    const add = async (ownerId: string, text: string, date: number, extra: { deletedAt?: Date } = {}) => {
      const assetId = await seedAsset(database.db, { ownerId, fileCreatedAt: new Date(date), ...extra });
      const line = { text, boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] };
      await documents.replace(assetId, { source: 'inference', model: 'test', attempts: 1, lines: [line] });
      return assetId;
    };
    // 2,000 receipts over five years; every 25th group of 40 shares one instant (a burst, an import),
    // so windows end inside runs of equal dates. Some say 发票 twice (a higher score).
    for (let i = 0; i < 2000; i++) {
      const date = Math.floor(i / 40) % 25 === 3 ? START + 700 * DAY : START + i * 0.9 * DAY;
      const isWord = i % 5 !== 0;
      const text = isWord ? `增值税 发票 号码 ${i}${i % 7 === 0 ? ' 发票联' : ''}` : `出发票价 ${i}`;
      (isWord ? words : substrings).set(await add(me, text, date), date);
    }
    // Never shown: other text, another user's receipts, receipts in the trash (older than all).
    for (let i = 0; i < 300; i++) await add(me, `收据 ${i}`, START + i * 5 * DAY);
    for (let i = 0; i < 200; i++) await add(other, `增值税 发票 ${i}`, START + i * 7 * DAY);
    for (let i = 0; i < 20; i++) await add(me, `增值税 发票 ${i}`, START - (i + 1) * DAY, { deletedAt: new Date() });
    await sql`ANALYZE`.execute(database.db);
    search = new SearchRepository(database.db, segmenter);
  }, 300_000);

  afterAll(() => database?.drop());

  const query = parseQuery('ocr:发票');
  const scope = (page: number, size: number, cursor?: Cursor): SearchScope => ({
    userIds: [me],
    page,
    size,
    textCandidates: WINDOW,
    ...(cursor ? { cursor } : {}),
  });

  /** Every page by number, until the last. */
  async function byNumber(repository: SearchRepository, size: number): Promise<RankedAsset[][]> {
    const pages: RankedAsset[][] = [];
    for (let page = 1; page <= 100; page++) {
      const result = await repository.searchOcr(query, scope(page, size));
      pages.push(result.items);
      if (!result.hasNextPage) break;
    }
    return pages;
  }

  it('reaches every one of 2,000 matches by page number, each once', async () => {
    const items = (await byNumber(search, 100)).flat();
    const ids = items.map((item) => item.assetId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual([...words.keys(), ...substrings.keys()].sort());
    expect(items.map((item) => item.ocrRank)).toEqual(items.map((_, i) => i + 1));
  });

  it('ranks the newest matches with the newest whole-word ones first, then each next window by date', async () => {
    const items = (await byNumber(search, 100)).flat();
    // Keyset order, newest first, over every match (all of them live here).
    const dateOf = new Map([...words, ...substrings]);
    const all = [...dateOf.keys()].sort((a, b) => dateOf.get(b)! - dateOf.get(a)! || (a < b ? 1 : -1));
    const wordIds = all.filter((id) => words.has(id));
    const first = new Set([...all.slice(0, WINDOW), ...wordIds.slice(0, WINDOW)]);
    const windows = [first];
    for (let start = WINDOW; start < all.length; start += WINDOW)
      windows.push(new Set(all.slice(start, start + WINDOW).filter((id) => !(first.has(id) && words.has(id)))));
    let at = 0;
    for (const window of windows) {
      const shown = items.slice(at, at + window.size);
      expect(new Set(shown.map((item) => item.assetId))).toEqual(window);
      // Best first within a window.
      const scores = shown.map((item) => item.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      at += window.size;
    }
    expect(at).toBe(items.length);
    // The first window reaches back past the newest 200 matches for whole words, and ranks them first.
    expect(first.size).toBeGreaterThan(WINDOW);
    expect(words.has(items[0].assetId)).toBe(true);
  });

  it('gives the same pages by cursor as by number, and any page to a process that served none before', async () => {
    const numbered = await byNumber(search, 37);
    const byCursor: RankedAsset[][] = [];
    let cursor: Cursor | undefined;
    do {
      const result = await search.searchOcr(query, scope(1, 37, cursor));
      byCursor.push(result.items);
      cursor = result.nextCursor ?? undefined;
    } while (cursor && byCursor.length < 100);
    expect(byCursor).toEqual(numbered);
    const fresh = new SearchRepository(database.db, new ZhparserSegmenter());
    const deep = await fresh.searchOcr(query, scope(40, 37));
    expect(deep.items).toEqual(numbered[39]);
  });

  it('costs a deep page what the first costs: a bounded number of statements, none with an offset', async () => {
    const { db, captured } = capturingDatabase(database.url);
    try {
      const counted = new SearchRepository(db, new ZhparserSegmenter());
      const statements: number[] = [];
      let cursor: Cursor | undefined;
      do {
        captured.length = 0;
        const result = await counted.searchOcr(query, scope(1, 50, cursor));
        statements.push(captured.length);
        // Depths within a window are an OFFSET of at most REFERENCE_DEPTH windows; nothing deeper.
        for (const statement of captured)
          for (const [, offset] of statement.sql.matchAll(/offset \$(\d+)/gi))
            expect(Number(statement.parameters[Number(offset) - 1])).toBeLessThan(30 * WINDOW);
        cursor = result.nextCursor ?? undefined;
      } while (cursor);
      expect(statements).toHaveLength(40);
      // One or two windows a page (each: depths, a walk, up to four index passes, scoring), from the
      // first page to the fortieth.
      expect(Math.max(...statements)).toBeLessThanOrEqual(2 * 7 + 3);
      expect(Math.max(...statements.slice(-10))).toBeLessThanOrEqual(Math.max(...statements.slice(0, 10)) + 7);
    } finally {
      await db.destroy();
    }
  });

  it('pages through only, and every one of, the matches a filter allows, broad or selective', async () => {
    const mine = [...words.keys(), ...substrings.keys()];
    const favourites = mine.filter((_, i) => i % 7 === 0);
    await sql`UPDATE asset SET "isFavorite" = true WHERE id = ANY(${favourites}::uuid[])`.execute(database.db);
    const assets =
      (where: (qb: AssetQuery) => AssetQuery): AssetFilter =>
      (db) =>
        where(db.selectFrom('asset').select(['asset.id', 'asset.ownerId']));
    /** Every page of `ocr:发票` among a filter's assets, by number, at `size` a page. */
    const filtered = async (filter: AssetFilter, size: number) => {
      const items: RankedAsset[] = [];
      for (let page = 1; page <= 100; page++) {
        const result = await search.searchOcr(query, { ...scope(page, size), assets: filter });
        items.push(...result.items);
        if (!result.hasNextPage) break;
      }
      return items.map((item) => item.assetId);
    };
    try {
      const favourite = assets((qb) => qb.where(sql<boolean>`"isFavorite"`).where('deletedAt', 'is', null));
      const ids = await filtered(favourite, 23);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual([...favourites].sort());
      // Two photos of 2,300 documents: found on the first page, nothing else.
      const two = [mine[3], mine[1800]];
      expect(
        (
          await filtered(
            assets((qb) => qb.where('id', 'in', two)),
            10,
          )
        ).sort(),
      ).toEqual([...two].sort());
      // A filter's own trash and visibility rules replace ours (Immich's withDeleted, the Locked Folder)...
      const trashed = assets((qb) => qb.where('deletedAt', 'is not', null));
      expect(await filtered(trashed, 50)).toHaveLength(20);
      // ...but never its owners: another user's receipts stay theirs.
      const everyone = assets((qb) => qb.where('ownerId', '=', other));
      expect(await filtered(everyone, 50)).toEqual([]);
    } finally {
      await sql`UPDATE asset SET "isFavorite" = false`.execute(database.db);
    }
  });

  it("re-checks the owner on Immich's asset row, not only the copy on our document", async () => {
    const segmenter = new ZhparserSegmenter();
    const documents = new OcrDocumentRepository(database.db, segmenter);
    const owner = (await seedUser(database.db)).id;
    const newOwner = (await seedUser(database.db)).id;
    const assetId = await seedAsset(database.db, { ownerId: owner });
    await documents.replace(assetId, {
      source: 'inference',
      model: 'test',
      attempts: 1,
      lines: [{ text: '停车票 ABC123', boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] }],
    });
    const asOwner = { userIds: [owner], page: 1, size: 10 };
    expect((await search.searchOcr(parseQuery('ocr:停车票'), asOwner)).items.map((i) => i.assetId)).toEqual([assetId]);
    // Immich's row changes hands; our document still names the first owner.
    await sql`UPDATE asset SET "ownerId" = ${newOwner} WHERE id = ${assetId}`.execute(database.db);
    expect((await search.searchOcr(parseQuery('ocr:停车票'), asOwner)).items).toEqual([]);
    const weights = { weightOcr: 1, weightClip: 1, rrfK: 60, candidates: 50 };
    expect((await search.searchMixed(parseQuery('停车票'), null, asOwner, weights)).items).toEqual([]);
  });
});
