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
 * Ours is timed before the RUM indexes are built, RUM's after (forced onto its index); each query
 * once per engine, after one warm-up query per engine.
 */
import { performance } from 'node:perf_hooks';
import { Kysely, RawBuilder, sql } from 'kysely';
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

type RumEngine = (typeof RUM_ENGINES)[number];
const OURS: readonly RumEngine[] = ['ours window', 'ours window deep'];
const RUM: readonly RumEngine[] = ['rum date', 'rum date deep', 'rum rank'];

/** The statements each engine runs for one query (null: a query RUM cannot serve). */
function statements(db: Kysely<ExtensionDatabase>, repository: SearchRepository, userId: string, middle: string) {
  const future = isoDate(Date.parse('2100-01-01T00:00:00Z'));
  return (text: string) => {
    const query = parseQuery(`ocr:${text}`);
    const tsquery = wholeQuery(query);
    if (!tsquery) return null;
    // RUM's statements run on its index (no bitmap scan, no table scan): what RUM itself can do.
    const onRum = (statement: RawBuilder<unknown>) =>
      db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('jit', 'off', true), set_config('enable_bitmapscan', 'off', true),
          set_config('enable_seqscan', 'off', true)`.execute(trx);
        return statement.execute(trx);
      });
    const byDate = (bound: string) => sql`
      SELECT d."assetId" FROM immich_ai.ocr_document d
      WHERE d."searchVector" @@ ${tsquery}::tsquery AND d."ownerId" = ${userId}::uuid
        AND d."fileCreatedAt" <= ${bound}::timestamptz
      ORDER BY d."fileCreatedAt" <=| ${bound}::timestamptz
      LIMIT 200`;
    const byRank = sql`
      SELECT d."assetId" FROM immich_ai.ocr_document d
      WHERE d."searchVector" @@ ${tsquery}::tsquery AND d."ownerId" = ${userId}::uuid
      ORDER BY d."searchVector" <=> ${tsquery}::tsquery
      LIMIT 10`;
    const explain = (statement: RawBuilder<unknown>) =>
      onRum(sql`EXPLAIN (FORMAT JSON) ${statement}`).then((result) => JSON.stringify(result.rows));
    return {
      run: {
        'ours window': () => repository.newestMatches(query, [userId], ['all'], null, 200),
        'ours window deep': () => repository.newestMatches(query, [userId], ['all'], { date: middle }, 200),
        'rum date': () => onRum(byDate(future)),
        'rum date deep': () => onRum(byDate(middle)),
        'rum rank': () => onRum(byRank),
      } satisfies Record<RumEngine, () => Promise<unknown>>,
      explain: { 'rum date': () => explain(byDate(future)), 'rum rank': () => explain(byRank) },
    };
  };
}

/**
 * Ours first, before the RUM indexes exist (the planner would weigh them for our statements too),
 * then RUM's, each after one warm-up query; each query once per engine.
 */
export async function runRum(
  db: Kysely<ExtensionDatabase>,
  repository: SearchRepository,
  userId: string,
  queries: ReadonlyMap<Kind, BenchQuery[]>,
  build: () => Promise<RumBuild[]>,
): Promise<{ samples: Samples; builds: RumBuild[]; plans: string[] }> {
  const samples: Samples = Object.fromEntries(RUM_ENGINES.map((engine) => [engine, {}]));
  const { rows } = await sql<{ middle: string }>`
    SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY "fileCreatedAt") AT TIME ZONE 'UTC',
      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS middle
    FROM immich_ai.ocr_document WHERE "ownerId" = ${userId}`.execute(db);
  const of = statements(db, repository, userId, rows[0].middle);
  const eligible = [...queries].flatMap(([kind, list]) =>
    list.flatMap((query) => {
      const runners = of(query.text);
      return runners ? [{ kind, query, ...runners }] : [];
    }),
  );
  const time = async (engines: readonly RumEngine[]) => {
    if (eligible.length === 0) return;
    for (const engine of engines) await eligible[0].run[engine]();
    for (const { kind, query, run } of eligible)
      for (const engine of engines) {
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
  };
  await time(OURS);
  const builds = await build();
  // Which index each RUM statement ran on, for the first query of each kind.
  const plans: string[] = [];
  for (const kind of new Set(eligible.map((e) => e.kind))) {
    const first = eligible.find((e) => e.kind === kind)!;
    for (const [engine, explain] of Object.entries(first.explain)) {
      const indexes = [...new Set((await explain()).match(/ocr_document_\w+_idx/g) ?? [])];
      plans.push(`${kind} ${JSON.stringify(first.query.text)} ${engine}: ${indexes.join(', ') || 'no index'}`);
    }
  }
  await time(RUM);
  return { samples, builds, plans };
}
