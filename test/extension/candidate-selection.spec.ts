import {
  Bound,
  CandidateMatch,
  CandidateSource,
  datedDepth,
  DocumentRange,
  inPool,
  isAfter,
  isoDate,
  MAX_WINDOWS,
  Pool,
  selectCandidates,
  WALK_DEPTH,
} from '../../src/extension/search/candidate-selection';

/**
 * The candidate selection's plan, apart from the SQL that runs it: an in-memory CandidateSource
 * answers each stage exactly as its contract says, and the selection must come back with exactly the
 * newest matches of each pool after any position, in few stages.
 */

interface Doc {
  assetId: string;
  date: string;
  match: boolean;
  word: boolean;
}

const newestFirst = (a: Doc, b: Doc) => (a.date === b.date ? compare(b.assetId, a.assetId) : compare(b.date, a.date));
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Seeded PRNG: the same libraries every run. */
function random(seed: number) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function library(seed: number, size: number, matchRate: number, wordRate: number): Doc[] {
  const next = random(seed);
  const start = Date.parse('2015-01-01T00:00:00Z');
  const docs: Doc[] = [];
  for (let i = 0; i < size; i++) {
    // Dates cluster (bursts of photos, some in the same microsecond) so ties are common.
    const ms = start + Math.floor(next() * 3000) * 86_400_000 + (next() < 0.3 ? 0 : Math.floor(next() * 1000));
    const match = next() < matchRate;
    const id = `${Math.floor(next() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}-0000-4000-a000-${String(i).padStart(12, '0')}`;
    docs.push({ assetId: id, date: isoDate(ms), match, word: match && next() < wordRate });
  }
  return docs.sort(newestFirst);
}

const inRange = (doc: Doc, range: DocumentRange) =>
  (range.from === null || doc.date >= range.from) && isAfter(range.before, doc.date, doc.assetId);
const asMatch = (doc: Doc, word: boolean): CandidateMatch => ({ assetId: doc.assetId, date: doc.date, word });

/** Answers each stage from the documents, and records the stages asked for. */
class MemorySource implements CandidateSource {
  readonly calls: Array<{ stage: 'depths' | 'walk' | 'index'; range?: DocumentRange; pools?: Pool[] }> = [];

  constructor(private readonly docs: readonly Doc[]) {}

  depths(before: Bound | null, depths: readonly number[]) {
    this.calls.push({ stage: 'depths' });
    const below = this.docs.filter((doc) => isAfter(before, doc.date, doc.assetId));
    return Promise.resolve({
      dates: depths.map((depth) => below[depth - 1]?.date ?? null),
      oldest: this.docs.at(-1)?.date ?? null,
    });
  }

  walk(range: DocumentRange, only: { pool: Pool; limit: number } | null) {
    this.calls.push({ stage: 'walk', range, pools: only ? [only.pool] : undefined });
    const matches = this.docs
      .filter((doc) => doc.match && inRange(doc, range))
      .map((doc) => asMatch(doc, doc.word))
      .filter((match) => !only || inPool(only.pool, match));
    return Promise.resolve(only ? matches.slice(0, only.limit) : matches);
  }

  index(range: DocumentRange, pools: readonly { pool: Pool; limit: number }[]) {
    this.calls.push({ stage: 'index', range, pools: pools.map(({ pool }) => pool) });
    const matches = this.docs.filter((doc) => doc.match && inRange(doc, range)).map((doc) => asMatch(doc, doc.word));
    return Promise.resolve(
      new Map(pools.map(({ pool, limit }) => [pool, matches.filter((m) => inPool(pool, m)).slice(0, limit)])),
    );
  }
}

describe('candidate selection', () => {
  it('finds exactly the newest matches of each pool after any position, on 240 random libraries', async () => {
    const pools: Pool[][] = [['all'], ['words'], ['all', 'words']];
    for (let seed = 1; seed <= 240; seed++) {
      const next = random(seed * 7);
      const docs = library(seed, 50 + Math.floor(next() * 1500), [0.9, 0.3, 0.05, 0.005][seed % 4], next());
      const limit = [1, 3, 7, 20, 60][seed % 5];
      const asked = pools[seed % pools.length];
      // From the top, or from a document somewhere in the library (its exact place, or its date).
      const at = docs[Math.floor(next() * docs.length)];
      const before: Bound | null =
        seed % 3 === 0 ? null : seed % 3 === 1 ? { date: at.date, assetId: at.assetId } : { date: at.date };
      const source = new MemorySource(docs);
      const found = await selectCandidates(source, { pools: asked, before, limit });
      for (const pool of asked) {
        const expected = docs
          .filter((doc) => doc.match && isAfter(before, doc.date, doc.assetId) && inPool(pool, asMatch(doc, doc.word)))
          .slice(0, limit)
          .map((doc) => doc.assetId);
        expect({ seed, pool, ids: found.get(pool)!.map((m) => m.assetId) }).toEqual({ seed, pool, ids: expected });
      }
      // Never more than the walk and MAX_WINDOWS + 1 index passes.
      expect(source.calls.filter((call) => call.stage === 'index').length).toBeLessThanOrEqual(MAX_WINDOWS + 1);
    }
  });

  it('answers a common term with the walk alone', async () => {
    const docs = library(3, 5000, 0.9, 0.5);
    const source = new MemorySource(docs);
    await selectCandidates(source, { pools: ['all', 'words'], before: null, limit: 50 });
    expect(source.calls.map((call) => call.stage)).toEqual(['depths', 'walk']);
    // The walk reads the newest WALK_DEPTH documents per candidate, for both pools at once.
    expect(source.calls[1].range).toEqual({ from: docs[WALK_DEPTH * 50 - 1].date, before: null });
    expect(source.calls[1].pools).toBeUndefined();
  });

  it('searches older windows through the index for a rare term, each range below the last', async () => {
    const docs = library(5, 20_000, 0.004, 0);
    const source = new MemorySource(docs);
    const at = { date: docs[1000].date, assetId: docs[1000].assetId };
    const found = await selectCandidates(source, { pools: ['all'], before: at, limit: 20 });
    expect(found.get('all')).toHaveLength(20);
    const stages = source.calls.filter((call) => call.stage !== 'depths');
    expect(stages[0]).toEqual(
      expect.objectContaining({ stage: 'walk', range: expect.objectContaining({ before: at }) }),
    );
    expect(stages.length).toBeGreaterThan(1);
    // Each index pass starts (before) where the range above it ended (from): no gap, no overlap.
    for (let i = 1; i < stages.length; i++)
      expect(stages[i].range!.before).toEqual({ date: stages[i - 1].range!.from });
  });

  it('goes straight to one pass over all older documents when the walk found nothing', async () => {
    const docs = library(9, 3000, 0, 0);
    docs[2900].match = true;
    const source = new MemorySource(docs);
    const found = await selectCandidates(source, { pools: ['all'], before: null, limit: 10 });
    expect(found.get('all')!.map((m) => m.assetId)).toEqual([docs[2900].assetId]);
    const index = source.calls.filter((call) => call.stage === 'index');
    expect(index).toHaveLength(1);
    expect(index[0].range!.from).toBe(docs.at(-1)!.date);
  });

  it('extrapolates a window end from two known depths, and gives none without a rate', () => {
    const near = '2024-01-10T00:00:00.000000Z';
    const far = '2024-01-01T00:00:00.000000Z';
    // 100 documents over 9 days: 900 more reach 81 days further back.
    expect(datedDepth(1000, [0, near], [100, far])).toBe('2023-10-12T00:00:00.000000Z');
    expect(datedDepth(Infinity, [0, near], [100, far])).toBeNull();
    expect(datedDepth(1000, [0, far], [100, far])).toBeNull();
    expect(datedDepth(1e12, [0, near], [100, far])).toBeNull();
  });
});
