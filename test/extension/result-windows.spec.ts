import { Bound, CandidateMatch, inPool, isAfter, isoDate, Pool } from '../../src/extension/search/candidate-selection';
import {
  Cursor,
  decodeCursor,
  encodeCursor,
  PageCursors,
  readRanked,
  WindowSource,
} from '../../src/extension/search/result-windows';

/**
 * How results page, apart from the SQL: an in-memory WindowSource of scored matches (some no longer
 * in the timeline), paged with cursors of every size. Every live match comes exactly once, in tiers,
 * windows of the newest matches and, within a window, best first; a page costs a bounded number of
 * windows however deep it is.
 */

interface Doc extends CandidateMatch {
  score: number;
  live: boolean;
}

function random(seed: number) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function documents(seed: number, size: number): Doc[] {
  const next = random(seed);
  const docs = Array.from({ length: size }, (_, i) => ({
    assetId: `00000000-0000-4000-a000-${String(i).padStart(12, '0')}`,
    date: isoDate(Date.parse('2020-01-01T00:00:00Z') + Math.floor(next() * 500) * 3_600_000),
    word: next() < 0.6,
    // Few distinct scores, so ties are broken by date and id.
    score: Math.floor(next() * 4) / 4,
    live: next() < 0.9,
  }));
  return docs.sort((a, b) => (a.date === b.date ? (a.assetId < b.assetId ? 1 : -1) : a.date < b.date ? 1 : -1));
}

class MemoryWindows implements WindowSource {
  windowsAsked = 0;

  constructor(private readonly docs: readonly Doc[]) {}

  windows(pools: readonly Pool[], after: Bound | null, limit: number) {
    this.windowsAsked += pools.length;
    return Promise.resolve(
      new Map(
        pools.map((pool) => [
          pool,
          this.docs
            .filter((doc) => inPool(pool, doc) && isAfter(after, doc.date, doc.assetId))
            .slice(0, limit)
            .map(({ assetId, date, word }) => ({ assetId, date, word })),
        ]),
      ),
    );
  }

  score(matches: readonly CandidateMatch[]) {
    const byId = new Map(this.docs.map((doc) => [doc.assetId, doc]));
    return Promise.resolve(
      matches
        .map((match) => byId.get(match.assetId)!)
        .filter((doc) => doc.live)
        .map((doc) => ({
          assetId: doc.assetId,
          score: doc.score,
          fileCreatedAt: new Date(doc.date),
          originalFileName: `${doc.assetId}.jpg`,
        })),
    );
  }
}

/** The order every page must follow: per tier, windows of `size` newest matches, each best first. */
function expectedOrder(docs: readonly Doc[], tiers: readonly Pool[], windowSize: number): string[] {
  return tiers.flatMap((tier) => {
    const inTier = docs.filter((doc) => inPool(tier, doc));
    const order: string[] = [];
    for (let start = 0; start < inTier.length; start += windowSize) {
      const window = inTier.slice(start, start + windowSize).filter((doc) => doc.live);
      window.sort(
        (a, b) =>
          b.score - a.score || (a.date === b.date ? (a.assetId < b.assetId ? 1 : -1) : a.date < b.date ? 1 : -1),
      );
      order.push(...window.map((doc) => doc.assetId));
    }
    return order;
  });
}

describe('result windows', () => {
  it.each([
    [['words', 'other'] as Pool[], 10, 7],
    [['words', 'other'] as Pool[], 25, 25],
    [['all'] as Pool[], 40, 1],
    [['all'] as Pool[], 13, 100],
  ])('pages %j in windows of %i with pages of %i: every live match once, in order', async (tiers, windowSize, size) => {
    const docs = documents(windowSize * 31 + size, 700);
    const source = new MemoryWindows(docs);
    const seen: string[] = [];
    const ranks: number[] = [];
    let cursor: Cursor | null = null;
    let pages = 0;
    do {
      const before = source.windowsAsked;
      const page = await readRanked(source, tiers, cursor, size, windowSize);
      // A page reads the windows it shows (a tenth of each is dead), and one more to know whether
      // anything follows; the first window of both tiers is read at once.
      const windowsShown = Math.ceil(size / (windowSize * 0.8)) + 2;
      expect(source.windowsAsked - before).toBeLessThanOrEqual(windowsShown + tiers.length - 1);
      seen.push(...page.items.map((item) => item.assetId));
      ranks.push(...page.items.map((item) => item.rank));
      if (page.next) expect(page.items).toHaveLength(size);
      // Through its text form, as a client carries it.
      cursor = page.next && decodeCursor(encodeCursor(page.next));
      pages++;
    } while (cursor && pages < 1000);
    expect(seen).toEqual(expectedOrder(docs, tiers, windowSize));
    expect(ranks).toEqual(seen.map((_, i) => i + 1));
  });

  it('reads any page by number: from a remembered cursor, or on from the nearest one', async () => {
    const docs = documents(77, 300);
    const source = new MemoryWindows(docs);
    const order = expectedOrder(docs, ['words', 'other'], 20);
    const cursors = new PageCursors();
    const key = 'query';
    const pageByNumber = async (page: number, size: number) => {
      const nearest = cursors.nearest(key, page);
      const skip = (page - nearest.page) * size;
      const result = await readRanked(source, ['words', 'other'], nearest.cursor, skip + size, 20);
      if (result.next) cursors.remember(key, page + 1, result.next);
      return result.items.slice(skip).map((item) => item.assetId);
    };
    expect(await pageByNumber(4, 15)).toEqual(order.slice(45, 60));
    expect(await pageByNumber(5, 15)).toEqual(order.slice(60, 75));
    expect(cursors.nearest(key, 9).page).toBe(6);
    expect(await pageByNumber(9, 15)).toEqual(order.slice(120, 135));
  });

  it('forgets the least recently used queries, and expired ones', () => {
    const cursors = new PageCursors(2, 3, 1000);
    const cursor: Cursor = { pool: 'all', after: null, rank: 10 };
    cursors.remember('a', 2, cursor, 0);
    cursors.remember('b', 2, cursor, 0);
    cursors.remember('a', 3, cursor, 0);
    cursors.remember('c', 2, cursor, 0);
    expect(cursors.nearest('b', 5, 0)).toEqual({ page: 1, cursor: null });
    expect(cursors.nearest('a', 5, 0).page).toBe(3);
    expect(cursors.nearest('a', 5, 2000)).toEqual({ page: 1, cursor: null });
  });

  it('gives out cursors as opaque text and takes back nothing else', () => {
    const cursor: Cursor = {
      pool: 'other',
      rank: 40,
      after: { date: '2024-05-01T12:00:00.123456Z', assetId: '00000000-0000-4000-a000-000000000001' },
      last: {
        score: 0.30000000000000004,
        date: '2024-04-30T00:00:00.000001Z',
        assetId: '00000000-0000-4000-a000-00000000000f',
      },
    };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
    expect(decodeCursor(encodeCursor({ pool: 'all', rank: 0, after: { date: cursor.after!.date } }))).toEqual({
      pool: 'all',
      rank: 0,
      after: { date: cursor.after!.date },
    });
    const forged = (fields: unknown[]) => Buffer.from(JSON.stringify(fields)).toString('base64url');
    for (const bad of [
      '',
      'not a cursor',
      forged(['everything', 0, null, null, null, null, null]),
      forged(['all', -1, null, null, null, null, null]),
      forged(['all', 0, "2024-01-01'; DROP TABLE asset; --", null, null, null, null]),
      forged(['all', 0, null, null, 1, '2024-01-01T00:00:00.000000Z', 'x']),
      forged(['all', 0, null, null]),
    ])
      expect(decodeCursor(bad)).toBeNull();
  });
});
