/**
 * Tables and the one-line verdict: per kind and engine, latency percentiles (nearest rank), mean
 * recall@10 and precision@10, empty answers and errors; then mixed ranking, loading and sizes.
 */
import { percentile, round, table } from '../support';
import type { IndexBuild, RelationSize } from './database';
import type { EngineName } from './engines';
import type { Reach, Sample, Samples } from './measure';
import { Kind, KINDS } from './queries';

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  /** Mean recall@10 (errors count as 0). */
  recall: number;
  /** Mean precision@10 over the queries that returned something. */
  precision: number;
  /** Queries that returned nothing, without an error. */
  empty: number;
  errors: number;
  /** Median |relevant| of the queries. */
  relevant: number;
  /** The first error message, as an example. */
  firstError?: string;
}

const mean = (values: number[]) => {
  const finite = values.filter(Number.isFinite);
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
};

export function summarise(samples: readonly Sample[] = []): Summary {
  return {
    n: samples.length,
    p50: percentile(
      samples.map((s) => s.ms),
      50,
    ),
    p95: percentile(
      samples.map((s) => s.ms),
      95,
    ),
    recall: mean(samples.map((s) => s.recall)),
    precision: mean(samples.map((s) => s.precision)),
    empty: samples.filter((s) => !s.error && s.returned === 0).length,
    errors: samples.filter((s) => s.error).length,
    relevant: percentile(
      samples.map((s) => s.relevant),
      50,
    ),
    firstError: samples.find((s) => s.error)?.error,
  };
}

export type SummaryTable = Record<string, Partial<Record<Kind | 'clip-only' | 'all', Summary>>>;

export function summariseAll(samples: Samples): SummaryTable {
  const out: SummaryTable = {};
  for (const [engine, byKind] of Object.entries(samples)) {
    out[engine] = {};
    for (const [kind, list] of Object.entries(byKind)) out[engine][kind as Kind] = summarise(list);
    out[engine].all = summarise(Object.values(byKind).flat());
  }
  return out;
}

const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '-');
const ratio = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const rows = [...KINDS, 'all'] as const;

export function ocrTables(summary: SummaryTable, engines: readonly EngineName[]): string {
  const present = engines.filter((e) => summary[e]);
  const cell = (engine: EngineName, kind: Kind | 'all') => summary[engine]?.[kind];
  const latency = table(
    ['kind', ...present.flatMap((e) => [`${e} n`, `${e} p50`, `${e} p95`])],
    rows.map((kind) => [
      kind,
      ...present.flatMap((e) => {
        const s = cell(e, kind);
        return s ? [String(s.n), ms(s.p50), ms(s.p95)] : ['0', '-', '-'];
      }),
    ]),
  );
  const quality = (pick: (s: Summary) => number) =>
    table(
      ['kind', 'median |R|', ...present],
      rows.map((kind) => [
        kind,
        String(cell(present[0], kind)?.relevant ?? '-'),
        ...present.map((e) => ratio(cell(e, kind) ? pick(cell(e, kind)!) : NaN)),
      ]),
    );
  const failures = table(
    ['kind', ...present.map((e) => `${e} empty/err`)],
    rows.map((kind) => [kind, ...present.map((e) => `${cell(e, kind)?.empty ?? 0}/${cell(e, kind)?.errors ?? 0}`)]),
  );
  return [
    'Latency, OCR-only search (ms from Node: statement + round trip; page of 10)',
    latency,
    '',
    'recall@10: |relevant in first 10| / min(10, |relevant|), mean over queries (errors count 0)',
    quality((s) => s.recall),
    '',
    'precision@10: share of the first results (up to 10) that are relevant, mean over queries that returned any',
    quality((s) => s.precision),
    '',
    'Queries that returned nothing / that failed (error or timeout)',
    failures,
  ].join('\n');
}

export function mixedTable(summary: SummaryTable): string {
  const byKind = summary.mixed ?? {};
  return table(
    ['query kind', 'n', 'p50 ms', 'p95 ms', 'errors'],
    Object.entries(byKind).map(([kind, s]) => [kind, String(s!.n), ms(s!.p50), ms(s!.p95), String(s!.errors)]),
  );
}

/** Deep pages by kind: the cursor pages, and the page asked for cold by number. */
export function pagingTable(summary: SummaryTable): string {
  const kinds = [...KINDS, 'all'] as const;
  const cell = (engine: string, kind: Kind | 'all') => summary[engine]?.[kind];
  return table(
    ['kind', 'pages n', 'p50 ms', 'p95 ms', 'cold n', 'cold p50', 'cold p95', 'errors'],
    kinds
      .filter((kind) => cell('paged', kind) || cell('cold page', kind))
      .map((kind) => {
        const paged = cell('paged', kind);
        const cold = cell('cold page', kind);
        return [
          kind,
          String(paged?.n ?? 0),
          ms(paged?.p50 ?? NaN),
          ms(paged?.p95 ?? NaN),
          String(cold?.n ?? 0),
          ms(cold?.p50 ?? NaN),
          ms(cold?.p95 ?? NaN),
          String((paged?.errors ?? 0) + (cold?.errors ?? 0)),
        ];
      }),
  );
}

export function reachTable(reach: readonly Reach[]): string {
  return table(
    ['query', 'kind', '|R|', 'found', 'not relevant', 'twice', 'pages', 'total ms', 'slowest page ms'],
    reach.map((r) => [
      JSON.stringify(r.query),
      r.kind,
      String(r.relevant),
      String(r.found),
      String(r.irrelevant),
      String(r.duplicates),
      String(r.pages),
      ms(r.totalMs),
      ms(r.maxPageMs),
    ]),
  );
}

/** RUM against ours, by kind: p50 / p95 of each engine of bench/search/rum.ts. */
export function rumTable(summary: SummaryTable): string {
  const engines = Object.keys(summary);
  const kinds = [...KINDS, 'all'] as const;
  return table(
    ['kind', 'n', ...engines.map((e) => `${e} p50 / p95`), 'errors'],
    kinds
      .filter((kind) => summary[engines[0]]?.[kind])
      .map((kind) => [
        kind,
        String(summary[engines[0]]?.[kind]?.n ?? 0),
        ...engines.map((e) => `${ms(summary[e]?.[kind]?.p50 ?? NaN)} / ${ms(summary[e]?.[kind]?.p95 ?? NaN)}`),
        String(engines.reduce((sum, e) => sum + (summary[e]?.[kind]?.errors ?? 0), 0)),
      ]),
  );
}

export interface Phase {
  name: string;
  seconds: number;
}

export function loadTable(phases: readonly Phase[]): string {
  return table(
    ['phase', 'seconds'],
    phases.map((p) => [p.name, round(p.seconds, 1).toFixed(1)]),
  );
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Index sizes with their build times (when this run or the kept database's load built them). */
export function indexTable(sizes: readonly RelationSize[], builds: readonly IndexBuild[]): string {
  const indexes = sizes.filter((s) => s.kind === 'index');
  return table(
    ['table', 'index', 'build s', 'size MB'],
    indexes.map((s) => {
      const build = builds.find((b) => b.name === s.name);
      return [s.table, s.name, build ? build.seconds.toFixed(1) : '-', mb(s.bytes)];
    }),
    2,
  );
}

export function tableSizes(sizes: readonly RelationSize[], rowCounts: Record<string, number>): string {
  const tables = sizes.filter((s) => s.kind === 'table');
  return table(
    ['table', 'rows', 'heap+TOAST MB', 'indexes MB'],
    tables.map((t) => [
      t.name,
      String(rowCounts[t.name] ?? '-'),
      mb(t.bytes),
      mb(sizes.filter((s) => s.kind === 'index' && s.table === t.name).reduce((sum, s) => sum + s.bytes, 0)),
    ]),
  );
}

export interface Targets {
  docs: number;
  embeddings: number;
  ocrP95: number;
  worstKind: { kind: string; p95: number };
  mixedP95: number;
  /** Kinds where our recall@10 is below Immich's. */
  recallBelowImmich: string[];
  charRecall: { ours: number; immich: number; oursEmpty: number };
}

export function verdict(t: Targets): string {
  const at = (n: number, target: number, unit: string) =>
    n === target ? `at ${unit}` : `at ${n.toLocaleString('en')} (target scale ${unit})`;
  const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const charOk = t.charRecall.ours >= 0.9 && t.charRecall.oursEmpty === 0;
  return [
    `OCR-only p95 <= 50 ms ${at(t.docs, 1_000_000, '1M')}: ${mark(t.ocrP95 <= 50)} (${ms(t.ocrP95)} ms over all kinds; worst kind ${t.worstKind.kind} ${ms(t.worstKind.p95)} ms)`,
    `mixed p95 <= 150 ms ${at(t.embeddings, 200_000, '200k')}: ${mark(t.mixedP95 <= 150)} (${ms(t.mixedP95)} ms)`,
    `recall@10 >= Immich on every kind: ${mark(t.recallBelowImmich.length === 0)}${t.recallBelowImmich.length ? ` (below on ${t.recallBelowImmich.join(', ')})` : ''}`,
    `one-character queries work: ${mark(charOk)} (recall@10 ours ${ratio(t.charRecall.ours)}, Immich ${ratio(t.charRecall.immich)})`,
  ].join(' | ');
}
