/**
 * Runs the queries through each engine, one at a time, and keeps what each took and what it returned:
 * latency (the whole call from Node, round trip included), recall@10 and precision@10 against the
 * ground truth, empty answers and errors (an error or a timeout counts as recall 0).
 */
import { performance } from 'node:perf_hooks';
import { EngineName, PAGE_SIZE, Searcher } from './engines';
import { BenchQuery, Kind, KINDS } from './queries';
import { GroundTruth, precisionAt10, recallAt10 } from './truth';

export interface Sample {
  query: string;
  relevant: number;
  ms: number;
  recall: number;
  precision: number;
  returned: number;
  error?: string;
}

export type Samples = Record<string, Partial<Record<Kind | 'clip-only', Sample[]>>>;

export interface RunPlan {
  engines: readonly EngineName[];
  /** How many queries of each kind an engine runs (the first N); unlimited when absent. */
  limit: Partial<Record<EngineName, number>>;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: string }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Each query through every engine in turn (engines interleaved, so caches treat them alike).
 * `relevant`: |relevant| per query text.
 */
export async function runOcrQueries(
  searcher: Searcher,
  truth: GroundTruth,
  queries: ReadonlyMap<Kind, BenchQuery[]>,
  relevant: ReadonlyMap<string, number>,
  plan: RunPlan,
  progress: (message: string) => void,
): Promise<Samples> {
  const samples: Samples = {};
  for (const kind of KINDS) {
    const list = queries.get(kind) ?? [];
    for (const [i, query] of list.entries()) {
      const count = relevant.get(query.text) ?? 0;
      for (const engine of plan.engines) {
        if (i >= (plan.limit[engine] ?? Infinity)) continue;
        const run = await timed(() => searcher.search(engine, query.text));
        const ids = run.value ?? [];
        const sample: Sample = {
          query: query.text,
          relevant: count,
          ms: run.ms,
          recall: run.error ? 0 : recallAt10(truth, query.clauses, count, ids),
          precision: run.error ? NaN : precisionAt10(truth, query.clauses, ids),
          returned: ids.length,
          ...(run.error ? { error: run.error } : {}),
        };
        ((samples[engine] ??= {})[kind] ??= []).push(sample);
      }
    }
    progress(`${kind}: ${list.length} queries`);
  }
  return samples;
}

/** Warm-up: every query once through every engine, nothing kept. */
export async function warmUp(
  searcher: Searcher,
  queries: readonly BenchQuery[],
  engines: readonly EngineName[],
): Promise<void> {
  for (const query of queries) {
    for (const engine of engines) await timed(() => searcher.search(engine, query.text));
  }
}

/** Mixed ranking (OCR text fused with CLIP): latency only; `embeddingFor` gives each query its embedding. */
export async function runMixedQueries(
  searcher: Searcher,
  queries: ReadonlyMap<Kind | 'clip-only', string[]>,
  embeddingFor: () => number[],
): Promise<Samples> {
  const samples: Samples = { mixed: {} };
  for (const [kind, list] of queries) {
    for (const query of list) {
      const run = await timed(() => searcher.mixed(query, embeddingFor()));
      (samples.mixed[kind] ??= []).push({
        query,
        relevant: NaN,
        ms: run.ms,
        recall: NaN,
        precision: NaN,
        returned: run.value?.length ?? 0,
        ...(run.error ? { error: run.error } : {}),
      });
    }
  }
  return samples;
}

/**
 * Deep pages: the first `queries` queries of each kind, paged on by cursor from page 2 to `pages`
 * (one sample per page), and page `pages` asked for by number on a repository that remembers no
 * cursor (one sample per query: what a page costs a process that served none before it).
 */
export async function runPaging(
  searcher: Searcher,
  queries: ReadonlyMap<Kind, BenchQuery[]>,
  { queries: perKind, pages }: { queries: number; pages: number },
): Promise<Samples> {
  const samples: Samples = { paged: {}, 'cold page': {} };
  for (const kind of KINDS) {
    for (const query of (queries.get(kind) ?? []).slice(0, perKind)) {
      let { next } = await searcher.page(query.text, null, PAGE_SIZE);
      for (let page = 2; page <= pages && next; page++) {
        const run = await timed(() => searcher.page(query.text, next, PAGE_SIZE));
        next = run.value?.next ?? null;
        (samples.paged[kind] ??= []).push(pageSample(query.text, run.ms, run.value?.ids.length ?? 0, run.error));
      }
      const cold = await timed(() => searcher.coldPage(query.text, pages, PAGE_SIZE));
      (samples['cold page'][kind] ??= []).push(pageSample(query.text, cold.ms, cold.value?.length ?? 0, cold.error));
    }
  }
  return samples;
}

const pageSample = (query: string, ms: number, returned: number, error?: string): Sample => ({
  query,
  relevant: NaN,
  ms,
  recall: NaN,
  precision: NaN,
  returned,
  ...(error ? { error } : {}),
});

export interface Reach {
  query: string;
  kind: Kind;
  relevant: number;
  found: number;
  irrelevant: number;
  duplicates: number;
  pages: number;
  totalMs: number;
  maxPageMs: number;
}

/**
 * Every match reachable: each query paged to its end by cursor, 100 a page; what came back against
 * the ground truth.
 */
export async function runReach(
  searcher: Searcher,
  truth: GroundTruth,
  queries: readonly (BenchQuery & { relevant: number })[],
): Promise<Reach[]> {
  const out: Reach[] = [];
  for (const query of queries) {
    const seen = new Set<string>();
    let duplicates = 0;
    let irrelevant = 0;
    let pages = 0;
    let totalMs = 0;
    let maxPageMs = 0;
    let cursor: Awaited<ReturnType<Searcher['page']>>['next'] = null;
    do {
      const started = performance.now();
      const { ids, next } = await searcher.page(query.text, cursor, 100);
      const ms = performance.now() - started;
      totalMs += ms;
      maxPageMs = Math.max(maxPageMs, ms);
      pages++;
      for (const id of ids) {
        if (seen.has(id)) duplicates++;
        seen.add(id);
        if (!truth.isRelevant(query.clauses, id)) irrelevant++;
      }
      cursor = next;
    } while (cursor && pages < 10_000);
    out.push({
      query: query.text,
      kind: query.kind,
      relevant: query.relevant,
      found: seen.size,
      irrelevant,
      duplicates,
      pages,
      totalMs,
      maxPageMs,
    });
  }
  return out;
}
