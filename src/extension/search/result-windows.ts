import { Bound, CandidateMatch, Pool } from './candidate-selection';

/**
 * How `ocr:` results page: every match is reachable, each page at a bounded cost.
 *
 * Matches come in tiers: those that hold every term as a whole word, then the rest (one tier when
 * the query has no word form). Each tier is cut into windows of its `windowSize` newest matches,
 * newest window first; a window is ranked by relevance as a whole. So the first page is the best of
 * the newest matches, as before, and scrolling on reaches back through the library, a window at a
 * time. A page costs one or two windows (the candidate search and scoring of `windowSize` matches)
 * however deep it is: a Cursor says where it starts, by the keys of the documents around it, never
 * by an offset (keyset paging).
 */

/** A ranked match: its place in the window's ranking is (score, date, assetId), all descending. */
export interface RankKey {
  score: number;
  date: string;
  assetId: string;
}

export interface ScoredMatch extends RankKey {
  fileCreatedAt: Date;
  originalFileName: string;
}

/** Where a page starts: in `pool`'s window that begins after `after`, past `last` (from its start if absent). */
export interface Cursor {
  pool: Pool;
  after: Bound | null;
  last?: RankKey;
  /** How many results come before this position (for each result's rank). */
  rank: number;
}

export interface WindowSource {
  /** The newest `limit` matches after `after` of each pool, newest first (pools searched together). */
  windows(pools: readonly Pool[], after: Bound | null, limit: number): Promise<Map<Pool, CandidateMatch[]>>;
  /** The matches still in the user's timeline or archive, scored; the others are left out. */
  score(matches: readonly CandidateMatch[]): Promise<Omit<ScoredMatch, 'date'>[]>;
}

export interface RankedPage {
  items: Array<ScoredMatch & { rank: number }>;
  /** Where the next page starts; null when this one holds the last match. */
  next: Cursor | null;
}

const byRank = (a: RankKey, b: RankKey): number =>
  b.score - a.score || compareDesc(a.date, b.date) || compareDesc(a.assetId, b.assetId);
const compareDesc = (a: string, b: string): number => (a === b ? 0 : a < b ? 1 : -1);

/**
 * `count` results from `cursor` on (from the top when null). The first window of a query is searched
 * for both tiers at once: one pass over the newest documents serves both, and a page that reaches
 * past the whole-word matches then needs no second search.
 */
export async function readRanked(
  source: WindowSource,
  tiers: readonly Pool[],
  cursor: Cursor | null,
  count: number,
  windowSize: number,
): Promise<RankedPage> {
  const found: Array<{ item: ScoredMatch; next: Cursor | null }> = [];
  const cached = new Map<string, CandidateMatch[]>();
  const windowOf = async (pool: Pool, after: Bound | null) => {
    const key = `${pool}:${after?.date}:${after?.assetId}`;
    if (!cached.has(key)) {
      const pools = after === null && pool === tiers[0] ? tiers : [pool];
      for (const [each, matches] of await source.windows(pools, after, windowSize))
        cached.set(`${each}:${after?.date}:${after?.assetId}`, matches);
    }
    return cached.get(key)!;
  };

  let position: Cursor | null = cursor ?? { pool: tiers[0], after: null, rank: 0 };
  while (position && found.length <= count) {
    const { pool, after, last }: Cursor = position;
    const matches = await windowOf(pool, after);
    const dates = new Map(matches.map((match) => [match.assetId, match.date]));
    const ranked = (await source.score(matches)).map((row) => ({ ...row, date: dates.get(row.assetId)! })).sort(byRank);
    // The window after this one: the tier's next, or the next tier's first once this tier ran out.
    const oldest = matches.at(-1);
    const tier = tiers.indexOf(pool);
    const following: Cursor | null =
      matches.length >= windowSize && oldest
        ? { pool, after: { date: oldest.date, assetId: oldest.assetId }, rank: 0 }
        : tier + 1 < tiers.length
          ? { pool: tiers[tier + 1], after: null, rank: 0 }
          : null;
    const start = last ? ranked.filter((item) => byRank(item, last) <= 0).length : 0;
    for (let i = start; i < ranked.length && found.length <= count; i++) {
      const item = ranked[i];
      const next: Cursor | null =
        i === ranked.length - 1
          ? following
          : { pool, after, last: { score: item.score, date: item.date, assetId: item.assetId }, rank: 0 };
      found.push({ item, next });
    }
    position = following;
  }

  const base = cursor?.rank ?? 0;
  const items = found.slice(0, count).map(({ item }, index) => ({ ...item, rank: base + index + 1 }));
  const next = found.length > count ? found[count - 1].next : null;
  return { items, next: next && { ...next, rank: base + count } };
}

/** A cursor as an opaque URL-safe string, and back (null for anything that is not one of ours). */
export function encodeCursor(cursor: Cursor): string {
  const { pool, after, last, rank } = cursor;
  const fields = [
    pool,
    rank,
    after?.date ?? null,
    after?.assetId ?? null,
    last?.score ?? null,
    last?.date ?? null,
    last?.assetId ?? null,
  ];
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeCursor(text: string): Cursor | null {
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 7) return null;
  const [pool, rank, afterDate, afterId, score, lastDate, lastId] = fields as unknown[];
  const date = (value: unknown) => typeof value === 'string' && DATE.test(value);
  const id = (value: unknown) => typeof value === 'string' && UUID.test(value);
  if (pool !== 'all' && pool !== 'words' && pool !== 'other') return null;
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 0) return null;
  const cursor: Cursor = { pool, rank, after: null };
  if (afterDate !== null || afterId !== null) {
    if (!date(afterDate) || !(afterId === null || id(afterId))) return null;
    cursor.after = { date: afterDate as string, ...(afterId ? { assetId: afterId as string } : {}) };
  }
  if (score !== null || lastDate !== null || lastId !== null) {
    if (typeof score !== 'number' || !Number.isFinite(score) || !date(lastDate) || !id(lastId)) return null;
    cursor.last = { score, date: lastDate as string, assetId: lastId as string };
  }
  return cursor;
}

/**
 * Page numbers (Immich's search pages by number) mapped to cursors: each page served remembers where
 * the next one starts, so scrolling on costs what a cursor does. A page nobody came from (another
 * process, an expired entry) is found by reading on from the nearest page remembered, or the first.
 */
export class PageCursors {
  private readonly entries = new Map<string, { expires: number; pages: Map<number, Cursor> }>();

  constructor(
    private readonly maxQueries = 500,
    private readonly maxPages = 200,
    private readonly ttlMs = 30 * 60_000,
  ) {}

  /** The cursor of the page nearest at or before `page` that is remembered (page 1: the start). */
  nearest(key: string, page: number, now = Date.now()): { page: number; cursor: Cursor | null } {
    const entry = this.entries.get(key);
    if (!entry || entry.expires < now) return { page: 1, cursor: null };
    let best = { page: 1, cursor: null as Cursor | null };
    for (const [known, cursor] of entry.pages) if (known <= page && known > best.page) best = { page: known, cursor };
    return best;
  }

  remember(key: string, page: number, cursor: Cursor, now = Date.now()): void {
    const entry = this.entries.get(key) ?? { expires: 0, pages: new Map<number, Cursor>() };
    this.entries.delete(key);
    entry.expires = now + this.ttlMs;
    entry.pages.delete(page);
    entry.pages.set(page, cursor);
    if (entry.pages.size > this.maxPages) entry.pages.delete(entry.pages.keys().next().value!);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxQueries) this.entries.delete(this.entries.keys().next().value!);
  }
}
