/**
 * Which documents a search ranks: the newest matches of a query in a scope, read newest first from a
 * position on, in stages that reach further back only while they come up short. This file decides
 * the stages; a CandidateSource (SearchRepository, in SQL) runs them, so the plan is tested apart from
 * the SQL (test/extension/candidate-selection.spec.ts).
 *
 * Documents are ordered newest first by (date, assetId): a Bound in that order is exact, so a page
 * that ends at a document goes on at the next one, whatever dates the library shares.
 */

/**
 * A position in a scope's documents, newest first. With an assetId, exactly that document's place
 * (keyset); without, the start of its date. Dates are ISO 8601 in UTC with microseconds, as
 * Postgres stores them, so a bound never falls between two documents it should separate.
 */
export interface Bound {
  date: string;
  assetId?: string;
}

/** Which matches a pool keeps: `all`, or `words`: those that hold every term as a whole word (OcrMatch.wordsHeld). */
export type Pool = 'all' | 'words';

/** One matching document, and whether it holds the query's words (false when the query has no word form). */
export interface CandidateMatch {
  assetId: string;
  date: string;
  word: boolean;
}

/** A range of the scope's documents: dated at or after `from` (null: no lower end), before `before`. */
export interface DocumentRange {
  from: string | null;
  before: Bound | null;
}

export interface CandidateSource {
  /**
   * The date of the scope's n-th document before `before` for each depth n (null where it has fewer),
   * and of its oldest document (null when it has none).
   */
  depths(before: Bound | null, depths: readonly number[]): Promise<{ dates: (string | null)[]; oldest: string | null }>;
  /**
   * The matches in a range, newest first, read one document at a time in date order (cheap while
   * matches are common): one pool's, at most `limit`; or (null) all of them.
   */
  walk(range: DocumentRange, only: { pool: Pool; limit: number } | null): Promise<CandidateMatch[]>;
  /** The newest `limit` matches of each pool in a range, from the search index in one pass. */
  index(range: DocumentRange, pools: readonly { pool: Pool; limit: number }[]): Promise<Map<Pool, CandidateMatch[]>>;
}

/**
 * The stages, in documents per candidate wanted. A common term fills its pools among the newest
 * documents, so walking those (one index, stopped at the limit) answers it without the search index;
 * a rarer one goes on to the search index's windows, whose search keys keep each window to this
 * scope's months. What these stages were measured against (one statement, fixed index slices, a
 * second walk): bench/results/history.md, "Search".
 */
export const WALK_DEPTH = 3;
/** A second known depth (besides the walk's end) to tell how many documents a date range holds. */
export const REFERENCE_DEPTH = 30;
/**
 * After the walk the search index searches windows of older documents, each sized this many times
 * what the rate of matches so far says would fill the pools; after MAX_WINDOWS, all that is left.
 */
export const WINDOW_MARGIN = 2;
export const MAX_WINDOWS = 3;

/**
 * The date the `depth`-th document should have, extrapolated from two known depths (documents per
 * millisecond between them): an OFFSET that deep in the (owner, date) index cost 30-40 ms at 240,000
 * (bench/search.ts). A guess moves only where a window ends, never what is found. Null when there is
 * nothing to go by or the window would reach back forever.
 */
export function datedDepth(
  depth: number,
  [nearDepth, near]: [number, string | null],
  [farDepth, far]: [number, string | null],
): string | null {
  if (!Number.isFinite(depth) || !near || !far) return null;
  const [nearMs, farMs] = [Date.parse(near), Date.parse(far)];
  if (nearMs <= farMs) return null;
  const perMs = (farDepth - nearDepth) / (nearMs - farMs);
  const ms = Math.floor(farMs - (depth - farDepth) / perMs);
  return ms >= FIRST_MS && ms < END_MS ? isoDate(ms) : null;
}

/** The dates a Bound can hold: years 1 to 9999, where ISO strings sort as their dates do. */
const FIRST_MS = Date.parse('0001-01-01T00:00:00Z');
const END_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A date in a Bound's form (microseconds, as Postgres writes them). */
export const isoDate = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

/**
 * The newest `limit` matches of each pool after `before`, newest first. All pools share each stage:
 * the walk reads each document once and keeps, per match, whether it holds the words; an index pass
 * serves every pool still short. A pool that comes back with fewer than `limit` has no more matches.
 */
export async function selectCandidates(
  source: CandidateSource,
  { pools, before, limit }: { pools: readonly Pool[]; before: Bound | null; limit: number },
): Promise<Map<Pool, CandidateMatch[]>> {
  const walkDepth = limit * WALK_DEPTH;
  const {
    dates: [walkEnd, referenceEnd],
    oldest,
  } = await source.depths(before, [walkDepth, REFERENCE_DEPTH * limit]);
  const found = new Map<Pool, CandidateMatch[]>(pools.map((pool) => [pool, []]));
  const short = () => pools.filter((pool) => found.get(pool)!.length < limit);
  const keep = (matches: Iterable<CandidateMatch>) => {
    for (const match of matches)
      for (const pool of pools) {
        const ids = found.get(pool)!;
        if (ids.length < limit && inPool(pool, match)) ids.push(match);
      }
  };

  // One pool stops the walk at `limit`; several read the whole range, each match once for all.
  keep(await source.walk({ from: walkEnd, before }, pools.length === 1 ? { pool: pools[0], limit } : null));
  // Done when the walk filled every pool, or when it walked all there is.
  if (short().length === 0 || !walkEnd) return found;

  // The search index, in windows of older and older documents, each as deep as the rate of matches
  // so far says would fill the pools (WINDOW_MARGIN times over); after MAX_WINDOWS, or when a pool
  // has no rate to go by (nothing found yet), one pass over everything older.
  let searched = walkDepth;
  let end: string = walkEnd;
  for (let pass = 0; short().length > 0; pass++) {
    const depth =
      pass === MAX_WINDOWS
        ? Infinity
        : Math.max(
            ...short().map((pool) => {
              const count = found.get(pool)!.length;
              return count === 0
                ? Infinity
                : searched + Math.ceil(((limit - count) * searched * WINDOW_MARGIN) / count);
            }),
          );
    let from = datedDepth(depth, [walkDepth, walkEnd], [REFERENCE_DEPTH * limit, referenceEnd]);
    if (from && oldest && Date.parse(from) <= Date.parse(oldest)) from = null;
    const rest = short().map((pool) => ({ pool, limit: limit - found.get(pool)!.length }));
    // The last pass starts at the oldest document: its keys then still leave out the months searched.
    const matches = await source.index({ from: from ?? oldest, before: { date: end } }, rest);
    for (const { pool } of rest) found.get(pool)!.push(...(matches.get(pool) ?? []));
    if (!from) break;
    searched = depth;
    end = from;
  }
  return found;
}

export function inPool(pool: Pool, match: CandidateMatch): boolean {
  return pool === 'all' || match.word;
}

/** Whether a document sorts after (is older than) a bound, newest first. */
export function isAfter(bound: Bound | null, date: string, assetId: string): boolean {
  if (!bound) return true;
  if (date !== bound.date) return date < bound.date;
  return bound.assetId !== undefined && assetId < bound.assetId;
}
