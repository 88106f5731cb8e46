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

const newestFirst = (a: Doc, b: Doc) =>
  a.date === b.date ? (a.assetId < b.assetId ? 1 : -1) : a.date < b.date ? 1 : -1;
const bestFirst = (a: Doc, b: Doc) => b.score - a.score || newestFirst(a, b);

/**
 * The order every page must follow: the newest `size` matches and the newest `size` whole-word
 * matches, best first; then each next `size` matches by date (less the words already shown), best first.
 */
function expectedOrder(docs: readonly Doc[], words: boolean, windowSize: number): string[] {
  const live = (list: readonly Doc[]) => list.filter((doc) => doc.live);
  const wordDocs = words ? docs.filter((doc) => doc.word) : [];
  const first = new Set([...docs.slice(0, windowSize), ...wordDocs.slice(0, windowSize)]);
  const order = live([...first]).sort(bestFirst);
  const oldestShown = wordDocs.length >= windowSize ? wordDocs[windowSize - 1] : null;
  const shown = (doc: Doc) => words && doc.word && (!oldestShown || newestFirst(doc, oldestShown) <= 0);
  for (let start = windowSize; start < docs.length; start += windowSize)
    order.push(...live(docs.slice(start, start + windowSize).filter((doc) => !shown(doc))).sort(bestFirst));
  return order.map((doc) => doc.assetId);
}

describe('result windows', () => {
  it.each([
    [true, 10, 7],
    [true, 25, 25],
    [true, 40, 1],
    [false, 40, 1],
    [false, 13, 100],
    [true, 13, 100],
  ])(
    'pages (words: %s) in windows of %i with pages of %i: every live match once, in order',
    async (words, windowSize, size) => {
      const docs = documents(windowSize * 31 + size, 700);
      const source = new MemoryWindows(docs);
      const seen: string[] = [];
      const ranks: number[] = [];
      let cursor: Cursor | null = null;
      let pages = 0;
      do {
        const before = source.windowsAsked;
        const page = await readRanked(source, words, cursor, size, windowSize);
        // A page reads the windows it shows (a tenth of each is dead, some words were shown before),
        // and one more to know whether anything follows; the first window is two pools at once.
        const windowsShown = Math.ceil(size / (windowSize * 0.5)) + 2;
        expect(source.windowsAsked - before).toBeLessThanOrEqual(windowsShown + 1);
        seen.push(...page.items.map((item) => item.assetId));
        ranks.push(...page.items.map((item) => item.rank));
        if (page.next) expect(page.items).toHaveLength(size);
        // Through its text form, as a client carries it.
        cursor = page.next && decodeCursor(encodeCursor(page.next));
        pages++;
      } while (cursor && pages < 1000);
      expect(seen).toEqual(expectedOrder(docs, words, windowSize));
      expect(ranks).toEqual(seen.map((_, i) => i + 1));
    },
  );

  it('reads any page by number: from a remembered cursor, or on from the nearest one', async () => {
    const docs = documents(77, 300);
    const source = new MemoryWindows(docs);
    const order = expectedOrder(docs, true, 20);
    const cursors = new PageCursors();
    const key = 'query';
    const pageByNumber = async (page: number, size: number) => {
      const nearest = cursors.nearest(key, page);
      const skip = (page - nearest.page) * size;
      const result = await readRanked(source, true, nearest.cursor, skip + size, 20);
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
    const cursor: Cursor = { after: null, rank: 10 };
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
      rank: 40,
      wordsShown: { date: '2024-06-01T00:00:00.000000Z', assetId: '00000000-0000-4000-a000-0000000000aa' },
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
    const plain: Cursor = { rank: 0, after: { date: cursor.after!.date }, wordsShown: 'every' };
    expect(decodeCursor(encodeCursor(plain))).toEqual(plain);
    const forged = (fields: unknown[]) => Buffer.from(JSON.stringify(fields)).toString('base64url');
    for (const bad of [
      '',
      'not a cursor',
      forged([-1, null, null, null]),
      forged([0, ["2024-01-01'; DROP TABLE asset; --", null], null, null]),
      forged([0, null, 'some', null]),
      forged([0, null, null, [1, '2024-01-01T00:00:00.000000Z', 'x']]),
      forged([0, null, null]),
    ])
      expect(decodeCursor(bad)).toBeNull();
  });
});
