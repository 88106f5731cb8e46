/**
 * OCR search benchmark: our search against Immich v2.4.1's and the seed's, on the same synthetic library
 * in a database with Immich's real schema, at a million documents.
 *
 *   npm run bench:search -- [flags]
 *   (= npx tsc -p tsconfig.bench.json && node dist-bench/bench/search.js [flags])
 *
 * Flags:
 *   --docs N               synthetic OCR documents, one per asset (default 1000000)
 *   --embeddings N         CLIP embeddings in smart_search, for the first N assets (default 200000)
 *   --queries-per-kind N   timed queries per kind for ours, Immich and seed-indexed (default 50)
 *   --seed-queries N       how many of them per kind also run the seed's statement as shipped, which
 *                          segments every document of the user on every search (default 3)
 *   --mixed-queries N      mixed-ranking (OCR + CLIP) queries per kind, plus as many CLIP-only (default 10)
 *   --text-candidates N    matches our search ranks together (SEARCH_TEXT_CANDIDATES; default the app's)
 *   --pages N              deep pages: the first --paging-queries queries of each kind paged on by
 *                          cursor to page N, and page N asked for by number cold (default 10; 0: none)
 *   --paging-queries N     (default 5)
 *   --reach N              every match reachable: the N queries with the fewest relevant documents
 *                          from 500 to 20,000 paged to their end, 100 a page, against the ground
 *                          truth (default 10; 0: none)
 *   --scope WHO            whose photos are searched: largest (the user with 40% of them, default) or all
 *   --segmenter NAME       zhparser (default) or jieba: how our documents and queries are segmented
 *   --keep                 keep the database afterwards (named after --docs, --embeddings and --segmenter)
 *   --database NAME        name the bench database (for several kept databases of one scale side by side)
 *   --reuse                use a kept database of the same scale when there is one: no loading
 *   --rum                  also measure the RUM index (postgresql-15-rum) against our candidate search:
 *                          builds two RUM indexes after our own measurements, drops them at the end
 *                          (bench/search/rum.ts)
 *   --explain              print EXPLAIN (ANALYZE, BUFFERS) of our slowest query of each kind
 *   --pg-settings WHICH    immich (default): the settings of Immich's own Postgres image that a
 *                          database can carry (work_mem 16MB, random_page_cost 1.2,
 *                          effective_io_concurrency 200), set on the bench database; its
 *                          shared_buffers (512MB) is the server's to set, and is reported.
 *                          server: the server's settings as they are
 *   --json                 one JSON object on stdout instead of the tables
 *
 * The database is a copy of the tests' template (Immich v2.4.1's migrations; `npm test` builds it once)
 * on TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), plus our migrations. Documents
 * (receipts, invoices, menus, signs, parking tickets and plates, parcels, chats, English receipts and
 * notes, bilingual labels) come from a seeded PRNG, spread over four users (40/30/20/10%), dated over
 * twelve years, 1% in the trash; see bench/search/load.ts for how each table is filled. Every index is
 * built after loading (build time and size reported), then VACUUM ANALYZE, so the planner makes its
 * real choices; then every relation is read into the OS cache (pg_prewarm) and each engine runs a few
 * warm-up queries before the timed ones.
 *
 * Queries are drawn from the generated documents of the searched user (so each has relevant documents)
 * and judged against a ground truth computed in TypeScript from the generated text (bench/search/truth.ts).
 * Engines are described in bench/search/engines.ts. Progress goes to stderr, the report to stdout.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { createDatabase } from '../src/extension/database/create-database';
import type { ExtensionDatabase } from '../src/extension/database/schema';
import { DEFAULT_TEXT_CANDIDATES, SearchRepository } from '../src/extension/search/search.repository';
import { chooseSegmenter, JiebaSegmenter, Segmenter } from '../src/extension/search/segmenter';
import { int, parseFlags, printUsageAndExit, table } from './support';
import {
  applyDatabaseSettings,
  buildIndexes,
  createBenchDatabase,
  databaseExists,
  dbUrl,
  dropBenchDatabase,
  dropIndexes,
  IMMICH_IMAGE_SHARED_BUFFERS_MB,
  IndexBuild,
  loaderDatabase,
  relationSizes,
  repoRoot,
  runMigrations,
} from './search/database';
import { createSearcher, ENGINES, EngineName, PAGE_SIZE, tokenizeForSearch } from './search/engines';
import { docLines, DocumentGenerator, GeneratedDoc, Rng } from './search/generate';
import {
  checkAgainstRepository,
  CLUSTERS,
  clusterCentres,
  insertUsers,
  loadDocuments,
  loadEmbeddings,
  queryEmbedding,
  since,
  UserRow,
} from './search/load';
import { runMixedQueries, runOcrQueries, runPaging, runReach, Samples, warmUp } from './search/measure';
import { BenchQuery, Kind, KIND_LABELS, KINDS, QueryDrawer } from './search/queries';
import {
  indexTable,
  loadTable,
  mixedTable,
  ocrTables,
  pagingTable,
  reachTable,
  rumTable,
  SummaryTable,
  Phase,
  summariseAll,
  tableSizes,
  verdict,
} from './search/report';
import { canonDocument, GroundTruth } from './search/truth';
import { explainSlowest } from './search/explain';
import { buildRumIndexes, dropRumIndexes, RumBuild, runRum } from './search/rum';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  docs: number;
  embeddings: number;
  queriesPerKind: number;
  seedQueries: number;
  mixedQueries: number;
  textCandidates: number;
  pages: number;
  pagingQueries: number;
  reach: number;
  scope: 'largest' | 'all';
  segmenter: 'zhparser' | 'jieba';
  keep: boolean;
  database?: string;
  reuse: boolean;
  explain: boolean;
  rum: boolean;
  pgSettings: 'immich' | 'server';
  json: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  try {
    return readFlags(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function readFlags(argv: string[]): Options {
  const flags = parseFlags(argv, {
    docs: { type: 'string' },
    embeddings: { type: 'string' },
    'queries-per-kind': { type: 'string' },
    'seed-queries': { type: 'string' },
    'mixed-queries': { type: 'string' },
    'text-candidates': { type: 'string' },
    pages: { type: 'string' },
    'paging-queries': { type: 'string' },
    reach: { type: 'string' },
    scope: { type: 'string' },
    segmenter: { type: 'string' },
    keep: { type: 'boolean' },
    database: { type: 'string' },
    reuse: { type: 'boolean' },
    explain: { type: 'boolean' },
    rum: { type: 'boolean' },
    'pg-settings': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (flags.help) printUsageAndExit(__filename);
  const docs = int('--docs', flags.docs, 1000) ?? 1_000_000;
  const embeddings = int('--embeddings', flags.embeddings, 0) ?? 200_000;
  if (embeddings > docs) throw new Error(`--embeddings (${embeddings}) cannot exceed --docs (${docs})`);
  const scope = flags.scope ?? 'largest';
  if (scope !== 'largest' && scope !== 'all') throw new Error(`--scope needs largest or all, got ${scope}`);
  const segmenter = flags.segmenter ?? 'zhparser';
  if (segmenter !== 'zhparser' && segmenter !== 'jieba')
    throw new Error(`--segmenter needs zhparser or jieba, got ${segmenter}`);
  if (flags.database !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(flags.database))
    throw new Error(`--database needs a plain lower-case name, got ${flags.database}`);
  const pgSettings = flags['pg-settings'] ?? 'immich';
  if (pgSettings !== 'immich' && pgSettings !== 'server')
    throw new Error(`--pg-settings needs immich or server, got ${pgSettings}`);
  return {
    docs,
    embeddings,
    queriesPerKind: int('--queries-per-kind', flags['queries-per-kind'], 1) ?? 50,
    seedQueries: int('--seed-queries', flags['seed-queries'], 0) ?? 3,
    mixedQueries: int('--mixed-queries', flags['mixed-queries'], 0) ?? 10,
    textCandidates: int('--text-candidates', flags['text-candidates'], 1) ?? DEFAULT_TEXT_CANDIDATES,
    pages: int('--pages', flags.pages, 0) ?? 10,
    pagingQueries: int('--paging-queries', flags['paging-queries'], 1) ?? 5,
    reach: int('--reach', flags.reach, 0) ?? 10,
    scope,
    segmenter,
    keep: flags.keep ?? false,
    database: flags.database,
    reuse: flags.reuse ?? false,
    explain: flags.explain ?? false,
    rum: flags.rum ?? false,
    pgSettings,
    json: flags.json ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// The library

/** Bump when the generator or the loader changes, so a kept database of an older recipe is not reused. */
const RECIPE = 1;
const SEED = 20_240_501;
const USER_SHARES = [0.4, 0.3, 0.2, 0.1];
const TRASHED = 0.01;
/** About this many documents of the searched user are kept whole, to draw queries from. */
const SAMPLE_SIZE = 6000;
const WARMUP_PER_KIND = 3;

const users: UserRow[] = (() => {
  const rng = new Rng(SEED + 1);
  return USER_SHARES.map((_, i) => ({ id: rng.uuid(), email: `bench-user-${i + 1}@example.com` }));
})();

/** What the benchmark needs to know about the library, gathered while the documents are generated. */
class Library {
  readonly canon: string[] = [];
  readonly ids: string[] = [];
  readonly sample: GeneratedDoc[] = [];
  readonly embedded: string[] = [];
  readonly vocabulary = new Set<string>();
  readonly perUser = USER_SHARES.map(() => 0);
  private readonly pick = new Rng(SEED + 2);

  constructor(
    private readonly inScope: (doc: GeneratedDoc) => boolean,
    private readonly sampleRate: number,
    private readonly embeddings: number,
  ) {}

  add(doc: GeneratedDoc): void {
    this.perUser[doc.owner]++;
    if (doc.index < this.embeddings) this.embedded.push(doc.id);
    for (const line of doc.lines) for (const seg of line) if (seg.k === 'zh') this.vocabulary.add(seg.t);
    if (!this.inScope(doc) || doc.trashed) return;
    this.canon.push(canonDocument(docLines(doc)));
    this.ids.push(doc.id);
    if (this.pick.next() < this.sampleRate) this.sample.push(doc);
  }
}

interface LoadReport {
  recipe: number;
  docs: number;
  embeddings: number;
  segmenter: string;
  phases: Phase[];
  builds: IndexBuild[];
  repositoryCheck: { checked: number; mismatches: number };
}

const log = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const quietLogger = { log: () => undefined, warn: () => undefined } as unknown as Logger;

async function useSegmenter(db: Kysely<ExtensionDatabase>, name: Options['segmenter']): Promise<Segmenter> {
  return name === 'jieba' ? new JiebaSegmenter() : chooseSegmenter(db, 'zhparser', quietLogger);
}

const TABLES = ['asset', 'immich_ai.ocr_document', 'ocr_search', 'seed.ocr_info', 'smart_search'];

async function load(
  name: string,
  options: Options,
  library: Library,
  generator: DocumentGenerator,
): Promise<LoadReport> {
  const phases: Phase[] = [];
  const phase = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    phases.push({ name: label, seconds: since(started) });
    log(`${label}: ${since(started).toFixed(1)} s`);
    return value;
  };
  await createBenchDatabase(name);
  const db = loaderDatabase(name);
  try {
    await phase('create database, our migrations', () => runMigrations(db));
    const segmenter = await useSegmenter(db, options.segmenter);
    // The seed's migration: the database's default configuration, its table and (after loading) its index.
    await sql`ALTER DATABASE ${sql.id(name)} SET default_text_search_config = 'chinese'`.execute(db);
    await sql`CREATE SCHEMA bench`.execute(db);
    await sql`CREATE TABLE bench.meta (key text PRIMARY KEY, value jsonb NOT NULL)`.execute(db);
    await sql`CREATE SCHEMA seed`.execute(db);
    await sql`
      CREATE TABLE seed.ocr_info (
        "assetId" uuid NOT NULL CONSTRAINT ocr_info_pk PRIMARY KEY CONSTRAINT ocr_info_assets_id_fk REFERENCES asset ON DELETE CASCADE,
        text text NOT NULL, "ocrJson" jsonb)`.execute(db);
    await insertUsers(db, users);

    const dropped = [];
    for (const table of ['asset', 'immich_ai.ocr_document', 'ocr_search', 'smart_search']) {
      dropped.push(...(await dropIndexes(db, table)));
    }
    const started = performance.now();
    await phase(`load ${options.docs.toLocaleString('en')} documents`, () =>
      loadDocuments(
        db,
        segmenter,
        users.map((u) => u.id),
        options.docs,
        () => {
          const doc = generator.next();
          library.add(doc);
          return doc;
        },
        (done) => {
          if (done % 50_000 < 4000 || done === options.docs) {
            const rate = done / since(started);
            log(`loaded ${done} documents (${rate.toFixed(0)}/s, ${((options.docs - done) / rate).toFixed(0)} s left)`);
          }
        },
      ),
    );
    const centres = clusterCentres(SEED + 3);
    await phase(`load ${options.embeddings.toLocaleString('en')} embeddings`, () =>
      loadEmbeddings(db, centres, library.embedded, (done) => log(`embeddings: ${done}`)),
    );
    const ours = dropped.filter((i) => i.table === 'immich_ai.ocr_document');
    const immichText = dropped.filter((i) => i.table === 'ocr_search');
    const clip = dropped.filter((i) => i.table === 'smart_search');
    const assetIndexes = dropped.filter((i) => i.table === 'asset');
    const builds: IndexBuild[] = [];
    await phase('build our indexes', async () => builds.push(...(await buildIndexes(db, ours, log))));
    await phase("build Immich's ocr_search index", async () =>
      builds.push(...(await buildIndexes(db, immichText, log))),
    );
    await phase("build the seed's index", async () =>
      builds.push(
        ...(await buildIndexes(
          db,
          [
            {
              table: 'seed.ocr_info',
              name: 'ocr_info_idx_vec_text',
              definition: `CREATE INDEX ocr_info_idx_vec_text ON seed.ocr_info USING gin (to_tsvector('chinese'::regconfig, text))`,
            },
          ],
          log,
        )),
      ),
    );
    await phase("build Immich's clip_index (HNSW)", async () => builds.push(...(await buildIndexes(db, clip, log))));
    await phase(`rebuild Immich's ${assetIndexes.length} asset indexes`, async () =>
      builds.push(...(await buildIndexes(db, assetIndexes, log))),
    );
    await phase('VACUUM ANALYZE', async () => {
      for (const table of [...TABLES, '"user"']) await sql`VACUUM ANALYZE ${sql.raw(table)}`.execute(db);
    });
    const checkSample = library.sample.slice(0, 25);
    const mismatches = await checkAgainstRepository(db, segmenter, checkSample);
    const report: LoadReport = {
      recipe: RECIPE,
      docs: options.docs,
      embeddings: options.embeddings,
      segmenter: segmenter.name,
      phases,
      builds,
      repositoryCheck: { checked: checkSample.length, mismatches },
    };
    await sql`INSERT INTO bench.meta (key, value) VALUES ('load', ${JSON.stringify(report)}::jsonb)`.execute(db);
    return report;
  } finally {
    await db.destroy();
  }
}

async function keptLoad(name: string, options: Options): Promise<LoadReport | null> {
  if (!(await databaseExists(name))) return null;
  const db = loaderDatabase(name);
  try {
    const { rows } = await sql<{ value: LoadReport }>`SELECT value FROM bench.meta WHERE key = 'load'`.execute(db);
    const report = rows[0]?.value;
    const same =
      report &&
      report.recipe === RECIPE &&
      report.docs === options.docs &&
      report.embeddings === options.embeddings &&
      report.segmenter === options.segmenter;
    return same ? report : null;
  } catch {
    return null; // not a finished load
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Checks on the comparison itself

/** Compares our copy of tokenizeForSearch with Immich's built server, when scripts/immich-server.sh has built one. */
function checkImmichTokenizer(texts: readonly string[]): string {
  let dir: string;
  try {
    dir = execFileSync(join(repoRoot(), 'scripts', 'immich-server.sh'), ['dir'], {
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  } catch {
    return 'not checked (Immich server not built: scripts/immich-server.sh prepare)';
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const immich = require(join(dir, 'server', 'dist', 'utils', 'database.js')) as {
    tokenizeForSearch(text: string): string[];
  };
  const differ = texts.filter((text) => immich.tokenizeForSearch(text).join(' ') !== tokenizeForSearch(text).join(' '));
  return `${texts.length - differ.length}/${texts.length} texts tokenised as Immich's own function does${differ.length ? ` (differs: ${JSON.stringify(differ[0])})` : ''}`;
}

/** Where the reported settings come from, and how shared_buffers compares with Immich's image. */
function settingsSource(which: 'immich' | 'server', sharedBuffersMb: number): string {
  if (which === 'server') return "the server's, untouched: --pg-settings server";
  return (
    `work_mem, random_page_cost and effective_io_concurrency as Immich's Postgres image sets them, on the database; ` +
    `shared_buffers is the server's: ${sharedBuffersMb >= IMMICH_IMAGE_SHARED_BUFFERS_MB ? 'as in' : 'below'} Immich's image (${IMMICH_IMAGE_SHARED_BUFFERS_MB}MB)`
  );
}

async function prewarm(db: Kysely<ExtensionDatabase>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_prewarm`.execute(db);
  await sql`
    SELECT pg_prewarm(c.oid, 'read') FROM pg_class c
    WHERE c.oid IN (SELECT unnest(${TABLES}::regclass[])
      UNION SELECT indexrelid FROM pg_index WHERE indrelid = ANY(${TABLES}::regclass[])
      UNION SELECT reltoastrelid FROM pg_class WHERE oid = ANY(${TABLES}::regclass[]) AND reltoastrelid <> 0)`.execute(
    db,
  );
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const name = options.database ?? `immich_ai_bench_search_${options.docs}_${options.embeddings}_${options.segmenter}`;
  const scopeUsers = options.scope === 'largest' ? [0] : USER_SHARES.map((_, i) => i);
  const scopeShare = scopeUsers.reduce((sum, u) => sum + USER_SHARES[u], 0);
  const library = new Library(
    (doc) => scopeUsers.includes(doc.owner),
    Math.min(1, SAMPLE_SIZE / (options.docs * scopeShare)),
    options.embeddings,
  );
  const generator = new DocumentGenerator({ seed: SEED, userShares: USER_SHARES, trashed: TRASHED });
  const started = performance.now();
  const loadAtStart = os.loadavg().map(round2);

  let report = options.reuse ? await keptLoad(name, options) : null;
  const reused = report !== null;
  try {
    if (report) {
      log(`reusing database ${name} (loaded earlier); generating the same documents for the ground truth`);
      for (let i = 0; i < options.docs; i++) library.add(generator.next());
    } else {
      log(`creating database ${name}`);
      report = await load(name, options, library, generator);
    }
    await measure(name, options, report, reused, library, scopeUsers, started, loadAtStart);
  } finally {
    if (!options.keep) {
      log(`dropping database ${name}`);
      await dropBenchDatabase(name);
    } else {
      log(`kept database ${name} (run again with --reuse --keep to search it again)`);
    }
  }
}

async function measure(
  name: string,
  options: Options,
  report: LoadReport,
  reused: boolean,
  library: Library,
  scopeUsers: number[],
  started: number,
  loadAtStart: number[],
): Promise<void> {
  // Set on the database before the pool connects: a session takes them when it starts.
  await applyDatabaseSettings(name, options.pgSettings);
  const db = createDatabase(dbUrl(name), { max: 2, applicationName: 'immich-ai-bench-search', queryTimeoutMs: 0 });
  try {
    const segmenter = await useSegmenter(db, options.segmenter);
    const userIds = scopeUsers.map((u) => users[u].id);
    const weights = { weightOcr: 1, weightClip: 1, rrfK: 60, candidates: 200 };
    const repository = new SearchRepository(db, segmenter);
    const searcher = createSearcher(db, segmenter, repository, userIds, weights, options.textCandidates);

    // Queries, drawn from the searched user's documents, and their relevant sets.
    const drawer = new QueryDrawer(library.sample, library.vocabulary, SEED + 4);
    const warm: BenchQuery[] = [];
    const queries = new Map<Kind, BenchQuery[]>();
    for (const kind of KINDS) {
      const warmKind = drawer.draw(kind, WARMUP_PER_KIND);
      warm.push(...warmKind);
      queries.set(kind, drawer.draw(kind, options.queriesPerKind, new Set(warmKind.map((q) => q.text))));
    }
    const truth = new GroundTruth(library.canon, library.ids);
    const relevant = new Map<string, number>();
    const truthStarted = performance.now();
    for (const query of [...queries.values()].flat()) relevant.set(query.text, truth.relevantCount(query.clauses));
    log(`ground truth for ${relevant.size} queries over ${truth.size} documents: ${since(truthStarted).toFixed(1)} s`);

    // Checks that the comparison is fair.
    const tokenizerCheck = checkImmichTokenizer([
      ...library.sample.slice(0, 2000).flatMap(docLines),
      ...[...queries.values()].flat().map((q) => q.text),
    ]);
    // seed-indexed reads to_tsvector('chinese', text) where the seed reads to_tsvector(f_unaccent(text)):
    // how often do the two differ in lexemes?
    const { rows: unaccent } = await sql<{ changed: number; checked: number }>`
      SELECT count(*) FILTER (WHERE strip(to_tsvector('chinese', f_unaccent(text))) <> strip(to_tsvector('chinese', text)))::int AS changed,
        count(*)::int AS checked
      FROM seed.ocr_info WHERE "assetId" = ANY(${library.sample.map((doc) => doc.id)}::uuid[])`.execute(db);
    const rowCounts: Record<string, number> = {};
    for (const table of TABLES) {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.raw(table)}`.execute(db);
      rowCounts[table] = rows[0].n;
    }
    const sizes = await relationSizes(db, TABLES);

    log('reading every relation into the OS cache (pg_prewarm)');
    await prewarm(db);
    const engines: EngineName[] = ['ours', 'immich', 'seed-indexed', 'seed'];
    log(`warm-up: ${warm.length} queries`);
    await warmUp(searcher, warm, ['ours', 'immich', 'seed-indexed']);
    await warmUp(searcher, warm.slice(0, 1), ['seed']);

    log(
      `timed OCR queries: ${options.queriesPerKind} per kind (${options.seedQueries} per kind for the seed as shipped)`,
    );
    const ocrStarted = performance.now();
    const samples: Samples = await runOcrQueries(
      searcher,
      truth,
      queries,
      relevant,
      { engines, limit: { seed: options.seedQueries } },
      log,
    );
    const ocrSeconds = since(ocrStarted);

    const mixedQueries = new Map<Kind | 'clip-only', string[]>();
    for (const kind of KINDS)
      mixedQueries.set(
        kind,
        (queries.get(kind) ?? []).slice(0, options.mixedQueries).map((q) => q.text),
      );
    mixedQueries.set(
      'clip-only',
      Array.from({ length: options.mixedQueries }, () => ''),
    );
    const centres = clusterCentres(SEED + 3);
    const embeddingRng = new Rng(SEED + 5);
    if (options.mixedQueries > 0 && options.embeddings > 0) {
      log('warm-up: mixed');
      await runMixedQueries(searcher, new Map([['clip-only', ['', '', '']]]), () =>
        queryEmbedding(centres, embeddingRng.int(CLUSTERS), embeddingRng),
      );
      log('timed mixed queries');
      Object.assign(
        samples,
        await runMixedQueries(searcher, mixedQueries, () =>
          queryEmbedding(centres, embeddingRng.int(CLUSTERS), embeddingRng),
        ),
      );
    }
    if (options.pages > 1) {
      log(
        `deep pages: ${options.pagingQueries} queries per kind, pages 2-${options.pages} by cursor, page ${options.pages} cold`,
      );
      Object.assign(
        samples,
        await runPaging(searcher, queries, { queries: options.pagingQueries, pages: options.pages }),
      );
    }
    const reachable = [...queries.values()]
      .flat()
      .map((query) => ({ ...query, relevant: relevant.get(query.text) ?? 0 }))
      .filter((query) => query.relevant >= 500 && query.relevant <= 20_000)
      .sort((a, b) => a.relevant - b.relevant)
      .slice(0, options.reach);
    log(`every match reachable: ${reachable.length} queries paged to their end`);
    const reach = await runReach(searcher, truth, reachable);
    let rum: { builds: RumBuild[]; plans: string[]; summary: SummaryTable } | { error: string } | null = null;
    if (options.rum) {
      if (options.scope !== 'largest') throw new UsageError('--rum measures one user: leave --scope at largest');
      log('RUM: timing ours, building the RUM indexes, timing RUM');
      try {
        const result = await runRum(db, repository, userIds[0], queries, async () => {
          const builds = await buildRumIndexes(db, log);
          await prewarm(db);
          return builds;
        });
        rum = { builds: result.builds, plans: result.plans, summary: summariseAll(result.samples) };
      } catch (error) {
        // The figures above stand without it.
        rum = { error: error instanceof Error ? error.message : String(error) };
        log(`RUM failed: ${rum.error}`);
      } finally {
        await dropRumIndexes(db);
      }
    }
    const explained = options.explain ? await explainSlowest(dbUrl(name), segmenter, userIds, samples.ours ?? {}) : '';

    // ---- report ----
    const summary = summariseAll(samples);
    const oursAll = summary.ours?.all;
    const worst = KINDS.map((kind) => ({ kind, p95: summary.ours?.[kind]?.p95 ?? NaN })).sort(
      (a, b) => b.p95 - a.p95,
    )[0];
    const targets = {
      docs: options.docs,
      embeddings: options.embeddings,
      ocrP95: oursAll?.p95 ?? NaN,
      worstKind: worst,
      mixedP95: summary.mixed?.all?.p95 ?? NaN,
      recallBelowImmich: KINDS.filter(
        (kind) => (summary.ours?.[kind]?.recall ?? 0) < (summary.immich?.[kind]?.recall ?? 0),
      ),
      charRecall: {
        ours: summary.ours?.char?.recall ?? NaN,
        immich: summary.immich?.char?.recall ?? NaN,
        oursEmpty: summary.ours?.char?.empty ?? NaN,
      },
    };
    const machine = {
      node: process.version,
      cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      loadAverage: { start: loadAtStart, end: os.loadavg().map(round2) },
      postgres: (await sql<{ v: string }>`SELECT version() AS v`.execute(db)).rows[0].v.split(',')[0],
      settings: (
        await sql<{ name: string; value: string }>`
          SELECT name, current_setting(name) AS value FROM pg_settings
          WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'effective_io_concurrency', 'jit', 'max_parallel_workers_per_gather')
          ORDER BY name`.execute(db)
      ).rows.map((r) => `${r.name}=${r.value}`),
      sharedBuffersMb: (
        await sql<{ mb: number }>`SELECT pg_size_bytes(current_setting('shared_buffers')) / 1048576 AS mb`.execute(db)
      ).rows[0].mb,
      vector: (await sql<{ v: string }>`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`.execute(db))
        .rows[0]?.v,
    };
    const scopeText =
      options.scope === 'largest'
        ? `user 1 of 4 (${library.perUser[0].toLocaleString('en')} assets, ${truth.size.toLocaleString('en')} not trashed)`
        : `all 4 users (${truth.size.toLocaleString('en')} assets not trashed)`;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ options, machine, database: name, reused, load: report, rowCounts, sizes, checks: { tokenizerCheck, unaccent: unaccent[0] }, scope: scopeText, summary, targets, samples, reach, rum, examples: Object.fromEntries([...queries].map(([k, list]) => [k, list.slice(0, 3).map((q) => q.text)])), ocrSeconds, totalSeconds: since(started) })}\n`,
      );
    } else {
      const out: string[] = [];
      out.push(
        `search benchmark: ${options.docs.toLocaleString('en')} OCR documents, ${options.embeddings.toLocaleString('en')} CLIP embeddings, segmenter ${report.segmenter}`,
        `machine: ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.postgres}, pgvector ${machine.vector}; load average ${machine.loadAverage.start.join(' ')} at the start, ${machine.loadAverage.end.join(' ')} at the end`,
        `postgres settings: ${machine.settings.join(', ')} (${settingsSource(options.pgSettings, Number(machine.sharedBuffersMb))})`,
        `searched: ${scopeText}; our search scores at most ${options.textCandidates} candidate matches per query (SEARCH_TEXT_CANDIDATES); documents per user ${library.perUser.map((n) => n.toLocaleString('en')).join(' / ')}`,
        `database: ${name}${reused ? ' (kept from an earlier run: load figures are from that run)' : ''}`,
        '',
        'Loading',
        loadTable(report.phases),
        '',
        'Indexes (built after loading, maintenance_work_mem 2GB)',
        indexTable(sizes, report.builds),
        '',
        'Tables',
        tableSizes(sizes, rowCounts),
        '',
        'Checks',
        `- loader vs OcrDocumentRepository.replace on ${report.repositoryCheck.checked} documents: ${report.repositoryCheck.mismatches} differ`,
        `- Immich tokenizeForSearch copy: ${tokenizerCheck}`,
        `- seed-indexed vs seed: ${unaccent[0].changed} of ${unaccent[0].checked} sampled documents get other lexemes from to_tsvector(f_unaccent(text)) than from to_tsvector('chinese', text) (f_unaccent turns the full-width colon into ':', and zhparser drops a number after '：'); otherwise the two statements match the same documents`,
        '',
        'Query kinds (examples)',
        ...KINDS.map(
          (kind) =>
            `- ${kind}: ${KIND_LABELS[kind]}; e.g. ${(queries.get(kind) ?? [])
              .slice(0, 3)
              .map((q) => JSON.stringify(q.text))
              .join(', ')}`,
        ),
        '',
        ocrTables(summary, ENGINES),
        '',
        `Mixed ranking (searchMixed: OCR + CLIP fused, candidates ${weights.candidates}, HNSW on ${options.embeddings.toLocaleString('en')} embeddings; query embedding near a random cluster centre)`,
        mixedTable(summary),
        '',
        `Deep pages (ours, page of ${PAGE_SIZE}): pages 2-${options.pages} of the first ${options.pagingQueries} queries of each kind, each from the cursor of the page before; and page ${options.pages} asked for by number on a repository that remembers no cursor`,
        pagingTable(summary),
        '',
        'Every match reachable (ours: each query paged to its end by cursor, 100 a page)',
        reachTable(reach),
        '',
        ...ENGINES.filter((e) => summary[e]?.all?.firstError).map(
          (e) => `${e}: first error: ${summary[e]!.all!.firstError}`,
        ),
        ...(rum && 'error' in rum ? [`RUM: failed (${rum.error})`, ''] : []),
        ...(rum && 'builds' in rum
          ? [
              'RUM (bench/search/rum.ts): its two indexes, built after our measurements, then dropped',
              table(
                ['index', 'build s', 'size MB'],
                rum.builds.map((b) => [b.name, b.seconds.toFixed(1), (b.bytes / 1024 / 1024).toFixed(1)]),
              ),
              '',
              'RUM against our candidate search: one window of 200 newest matches (from the top, and before the middle of the library), and RUM ranking (best 10); ms',
              rumTable(rum.summary),
              'Index each RUM statement ran on (first query of each kind):',
              ...rum.plans.map((plan) => `- ${plan}`),
              '',
            ]
          : []),
        `timed OCR queries took ${ocrSeconds.toFixed(0)} s; whole run ${since(started).toFixed(0)} s`,
        '',
        `targets: ${verdict(targets)}`,
      );
      if (explained) out.push('', explained);
      process.stdout.write(`${out.join('\n')}\n`);
    }
  } finally {
    await db.destroy();
  }
}

const round2 = (v: number) => Math.round(v * 100) / 100;

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
