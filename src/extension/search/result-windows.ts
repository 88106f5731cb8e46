import { Bound, CandidateMatch, isAfter as isAfterBound, Pool } from './candidate-selection';

/**
 * How `ocr:` results page: every match is reachable, each page at a bounded cost.
 *
 * Results come in windows, each ranked by relevance as a whole. The first window is the newest
 * `windowSize` matches and the newest `windowSize` whole-word matches (so a word the user typed is
 * never crowded out by newer substring matches); each later window is the next `windowSize` matches
 * by date, less the whole-word matches the first window already showed. So the first page is the
 * best of the newest matches, and scrolling on reaches back through the library a window at a time.
 * A page costs one or two windows (the candidate search and scoring of `windowSize` matches)
 * however deep it is: a Cursor says where it starts by the keys of the documents around it, never
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

/** Where a page starts: in the window after `after` (null: the first), past `last` (from its start if absent). */
export interface Cursor {
  after: Bound | null;
  /**
   * The whole-word matches the first window showed: those from its oldest on (`every`: all of them).
   * Absent when the query has no word form.
   */
  wordsShown?: Bound | 'every';
  last?: RankKey;
  /** How many results come before this position (for each result's rank). */
  rank: number;
}

export interface WindowSource {
  /**
   * The newest `limit` matches after `after` of each pool, newest first (pools searched together),
   * each with whether it holds the query's words.
   */
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
const boundOf = (match: CandidateMatch): Bound => ({ date: match.date, assetId: match.assetId });

/** A window's matches, and where the next window starts (null: none follows). */
async function windowAt(
  source: WindowSource,
  cursor: Cursor,
  words: boolean,
  windowSize: number,
): Promise<{ matches: CandidateMatch[]; next: Cursor | null }> {
  const { after } = cursor;
  const found = await source.windows(after === null && words ? ['all', 'words'] : ['all'], after, windowSize);
  const all = found.get('all') ?? [];
  const oldest = all.at(-1);
  const next = (wordsShown: Cursor['wordsShown']): Cursor | null =>
    all.length >= windowSize && oldest
      ? { after: boundOf(oldest), ...(wordsShown ? { wordsShown } : {}), rank: 0 }
      : null;
  if (after === null) {
    const wordMatches = found.get('words') ?? [];
    const lastWord = wordMatches.at(-1);
    const wordsShown = !words ? undefined : wordMatches.length >= windowSize && lastWord ? boundOf(lastWord) : 'every';
    const ids = new Set(all.map((match) => match.assetId));
    return { matches: [...all, ...wordMatches.filter((match) => !ids.has(match.assetId))], next: next(wordsShown) };
  }
  const { wordsShown } = cursor;
  const shown = (match: CandidateMatch) =>
    match.word &&
    wordsShown !== undefined &&
    (wordsShown === 'every' || !isAfterBound(wordsShown, match.date, match.assetId));
  return { matches: all.filter((match) => !shown(match)), next: next(wordsShown) };
}

/** The first window's matches: the newest `windowSize` matches and the newest `windowSize` whole-word ones. */
export async function firstWindow(source: WindowSource, words: boolean, windowSize: number): Promise<CandidateMatch[]> {
  return (await windowAt(source, { after: null, rank: 0 }, words, windowSize)).matches;
}

/**
 * `count` results from `cursor` on (from the top when null), and where the next would start.
 * `words`: whether the query has a word form.
 */
export async function readRanked(
  source: WindowSource,
  words: boolean,
  cursor: Cursor | null,
  count: number,
  windowSize: number,
): Promise<RankedPage> {
  const found: Array<{ item: ScoredMatch; next: Cursor | null }> = [];
  // One past the page, to know whether another follows.
  const wanted = count + 1;
  let position: Cursor | null = cursor ?? { after: null, rank: 0 };
  while (position && found.length < wanted) {
    const { after, last, wordsShown }: Cursor = position;
    const { matches, next: following } = await windowAt(source, position, words, windowSize);
    const dates = new Map(matches.map((match) => [match.assetId, match.date]));
    const ranked = (await source.score(matches)).map((row) => ({ ...row, date: dates.get(row.assetId)! })).sort(byRank);
    const start = last ? ranked.filter((item) => byRank(item, last) <= 0).length : 0;
    const here = (item: RankKey): Cursor => ({
      after,
      ...(wordsShown ? { wordsShown } : {}),
      last: { score: item.score, date: item.date, assetId: item.assetId },
      rank: 0,
    });
    // Inside the first window no cursor needs wordsShown: the first window is read whole again.
    for (let i = start; i < ranked.length && found.length < wanted; i++)
      found.push({ item: ranked[i], next: i === ranked.length - 1 ? following : here(ranked[i]) });
    position = following;
  }

  const base = cursor?.rank ?? 0;
  const items = found.slice(0, count).map(({ item }, index) => ({ ...item, rank: base + index + 1 }));
  const next = found.length > count ? found[count - 1].next : null;
  return { items, next: next && { ...next, rank: base + count } };
}

/** A cursor as an opaque URL-safe string, and back (null for anything that is not one of ours). */
export function encodeCursor(cursor: Cursor): string {
  const { after, wordsShown, last, rank } = cursor;
  const shown =
    wordsShown === undefined ? null : wordsShown === 'every' ? 'every' : [wordsShown.date, wordsShown.assetId];
  const fields = [
    rank,
    after && [after.date, after.assetId ?? null],
    shown,
    last && [last.score, last.date, last.assetId],
  ];
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isDate = (value: unknown): value is string => typeof value === 'string' && DATE.test(value);
const isId = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export function decodeCursor(text: string): Cursor | null {
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 4) return null;
  const [rank, after, shown, last] = fields as unknown[];
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 0) return null;
  const cursor: Cursor = { after: null, rank };
  if (after !== null) {
    if (!Array.isArray(after) || after.length !== 2 || !isDate(after[0])) return null;
    if (after[1] !== null && !isId(after[1])) return null;
    cursor.after = { date: after[0], ...(after[1] !== null ? { assetId: after[1] as string } : {}) };
  }
  if (shown === 'every') cursor.wordsShown = 'every';
  else if (shown !== null) {
    if (!Array.isArray(shown) || shown.length !== 2 || !isDate(shown[0]) || !isId(shown[1])) return null;
    cursor.wordsShown = { date: shown[0], assetId: shown[1] };
  }
  if (last !== null) {
    if (!Array.isArray(last) || last.length !== 3) return null;
    const [score, date, assetId] = last as unknown[];
    if (typeof score !== 'number' || !Number.isFinite(score) || !isDate(date) || !isId(assetId)) return null;
    cursor.last = { score, date, assetId };
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
