/**
 * --rum: the RUM index (Debian's postgresql-15-rum; docker/postgres.Dockerfile can add it) against our
 * candidate search, on the same documents and queries. RUM can return tsvector matches ordered by an
 * attached column straight from the index (`ORDER BY "fileCreatedAt" <=| bound`), or by rank
 * (`ORDER BY "searchVector" <=> query`). Two indexes, built here after our own measurements (so the
 * planner never weighs them for ours) and dropped at the end:
 *
 *   date   rum ("searchVector" rum_tsvector_addon_ops, "fileCreatedAt") WITH (attach, to)
 *   rank   rum ("searchVector" rum_tsvector_ops)
 *
 * Timed, per query of the kinds RUM can serve (no letter/digit substring, which is pg_trgm's):
 *   ours window        SearchRepository.newestMatches: the newest 200 matches (one window)
 *   rum date           the same 200 from the date index, newest first
 *   ours window deep   the newest 200 matches before the middle of the library (a deep window)
 *   rum date deep      the same from the date index
 *   rum rank           the best 10 by RUM's rank, straight from the rank index
 * Each query is run once per engine, engines interleaved, after one warm-up query per engine.
 */
import { performance } from 'node:perf_hooks';
import { Kysely, sql } from 'kysely';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { isoDate } from '../../src/extension/search/candidate-selection';
import { parseQuery, ParsedQuery } from '../../src/extension/search/query-parser';
import type { SearchRepository } from '../../src/extension/search/search.repository';
import { latinTerms, termPhrase } from '../../src/extension/search/text-terms';
import type { Sample, Samples } from './measure';
import type { BenchQuery, Kind } from './queries';

export const RUM_ENGINES = ['ours window', 'rum date', 'ours window deep', 'rum date deep', 'rum rank'] as const;

export interface RumBuild {
  name: string;
  seconds: number;
  bytes: number;
}

const INDEXES = [
  {
    name: 'ocr_document_rum_date_idx',
    definition: sql`CREATE INDEX ocr_document_rum_date_idx ON immich_ai.ocr_document
      USING rum ("searchVector" rum_tsvector_addon_ops, "fileCreatedAt") WITH (attach = 'fileCreatedAt', to = 'searchVector')`,
  },
  {
    name: 'ocr_document_rum_rank_idx',
    definition: sql`CREATE INDEX ocr_document_rum_rank_idx ON immich_ai.ocr_document USING rum ("searchVector" rum_tsvector_ops)`,
  },
];

export async function buildRumIndexes(
  db: Kysely<ExtensionDatabase>,
  log: (message: string) => void,
): Promise<RumBuild[]> {
  await sql`CREATE EXTENSION IF NOT EXISTS rum`.execute(db);
  const builds: RumBuild[] = [];
  for (const index of INDEXES) {
    log(`building ${index.name}`);
    await sql`DROP INDEX IF EXISTS immich_ai.${sql.id(index.name)}`.execute(db);
    await sql`SET maintenance_work_mem = '1GB'`.execute(db);
    const started = performance.now();
    await index.definition.execute(db);
    const seconds = (performance.now() - started) / 1000;
    const { rows } = await sql<{ bytes: string }>`
      SELECT pg_relation_size(${`immich_ai.${index.name}`}::regclass) AS bytes`.execute(db);
    builds.push({ name: index.name, seconds, bytes: Number(rows[0].bytes) });
    log(`built ${index.name} in ${seconds.toFixed(1)} s`);
  }
  await sql`ANALYZE immich_ai.ocr_document`.execute(db);
  return builds;
}

export async function dropRumIndexes(db: Kysely<ExtensionDatabase>): Promise<void> {
  for (const index of INDEXES) await sql`DROP INDEX IF EXISTS immich_ai.${sql.id(index.name)}`.execute(db);
}

/**
 * One tsquery for the whole query (RUM orders by one): what OcrMatch.where() asks of "searchVector";
 * null when a term is also matched as a letter/digit substring (pg_trgm, which RUM cannot serve).
 */
function wholeQuery(query: ParsedQuery): string | null {
  if (query.clauses.some((clause) => clause.anyOf.some((term) => latinTerms(term.text).length > 0))) return null;
  return query.clauses
    .map((clause) => {
      const any = clause.anyOf.map((term) => `(${termPhrase(term.terms)})`).join(' | ');
      return clause.negated ? `!(${any})` : `(${any})`;
    })
    .join(' & ');
}

export async function runRum(
  db: Kysely<ExtensionDatabase>,
  repository: SearchRepository,
  userId: string,
  queries: ReadonlyMap<Kind, BenchQuery[]>,
): Promise<Samples> {
  const samples: Samples = Object.fromEntries(RUM_ENGINES.map((engine) => [engine, {}]));
  const { rows } = await sql<{ middle: string }>`
    SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY "fileCreatedAt") AT TIME ZONE 'UTC',
      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS middle
    FROM immich_ai.ocr_document WHERE "ownerId" = ${userId}`.execute(db);
  const middle = rows[0].middle;
  const future = isoDate(Date.parse('2100-01-01T00:00:00Z'));
  const runners = (text: string) => {
    const query = parseQuery(`ocr:${text}`);
    const tsquery = wholeQuery(query);
    if (!tsquery) return null;
    const byDate = (bound: string) =>
      db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('jit', 'off', true)`.execute(trx);
        return sql`
          SELECT d."assetId" FROM immich_ai.ocr_document d
          WHERE d."searchVector" @@ ${tsquery}::tsquery AND d."ownerId" = ${userId}::uuid
            AND d."fileCreatedAt" <= ${bound}::timestamptz
          ORDER BY d."fileCreatedAt" <=| ${bound}::timestamptz
          LIMIT 200`.execute(trx);
      });
    return {
      'ours window': () => repository.newestMatches(query, [userId], ['all'], null, 200),
      'rum date': () => byDate(future),
      'ours window deep': () => repository.newestMatches(query, [userId], ['all'], { date: middle }, 200),
      'rum date deep': () => byDate(middle),
      'rum rank': () =>
        db.transaction().execute(async (trx) => {
          await sql`SELECT set_config('jit', 'off', true)`.execute(trx);
          return sql`
            SELECT d."assetId" FROM immich_ai.ocr_document d
            WHERE d."searchVector" @@ ${tsquery}::tsquery AND d."ownerId" = ${userId}::uuid
            ORDER BY d."searchVector" <=> ${tsquery}::tsquery
            LIMIT 10`.execute(trx);
        }),
    } satisfies Record<(typeof RUM_ENGINES)[number], () => Promise<unknown>>;
  };
  let warm = false;
  for (const [kind, list] of queries) {
    for (const query of list) {
      const run = runners(query.text);
      if (!run) continue;
      if (!warm) {
        for (const engine of RUM_ENGINES) await run[engine]();
        warm = true;
      }
      for (const engine of RUM_ENGINES) {
        const started = performance.now();
        let error: string | undefined;
        try {
          await run[engine]();
        } catch (caught) {
          error = caught instanceof Error ? caught.message : String(caught);
        }
        const sample: Sample = {
          query: query.text,
          relevant: NaN,
          ms: performance.now() - started,
          recall: NaN,
          precision: NaN,
          returned: 0,
          ...(error ? { error } : {}),
        };
        (samples[engine][kind] ??= []).push(sample);
      }
    }
  }
  return samples;
}
