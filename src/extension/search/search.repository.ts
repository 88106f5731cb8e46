import { Inject, Injectable } from '@nestjs/common';
import { Expression, Kysely, RawBuilder, sql } from 'kysely';
import { DEFAULT_TEXT_CANDIDATES } from '../../config/extension.config';
import { DummyValue, GenerateSql } from '../database/generate-sql';
import { EXTENSION_DB, SEGMENTER } from '../database/database.tokens';
import { ExtensionDatabase, SEARCHABLE_VISIBILITY } from '../database/schema';
import { Bound, CandidateMatch, CandidateSource, DocumentRange, Pool, selectCandidates } from './candidate-selection';
import { OcrMatch } from './ocr-match';
import { parseQuery, ParsedQuery } from './query-parser';
import { Cursor, firstWindow, PageCursors, readRanked, ScoredMatch, WindowSource } from './result-windows';
import { searchKeysQuery } from './search-keys';
import type { Segmenter } from './segmenter';
import { CLIP_INDEX, describeVectorIndex, VectorIndex, vectorScanSettings } from './vector-index';

export interface SearchScope {
  /** Whose assets: the caller (and, inside Immich, partners who share their timeline). */
  userIds: readonly string[];
  /** Page number and size; an OCR search with a cursor starts there instead of at the page. */
  page: number;
  size: number;
  cursor?: Cursor;
  /**
   * How many matches are ranked together (SEARCH_TEXT_CANDIDATES): OCR results come in windows of this
   * many matches, newest window first, each ranked by relevance (result-windows.ts). Scoring every
   * match of a common term at once cost seconds at 1M documents (bench/search.ts).
   */
  textCandidates?: number;
  /**
   * Only these assets (inside Immich: Immich's own query of the assets a request's filters allow, as
   * its search builds it): every stage searches these alone, so a page still holds `size` of them and
   * every one is reachable. They are the request's visibility and trash rules too; owners are still
   * checked against `userIds`.
   */
  assets?: AssetFilter;
}

/**
 * A query of the assets a search may show, selecting their `id` and `ownerId`, built on the Kysely
 * instance it is given (Immich's, which the extension shares inside Immich). Compiled into our
 * statements as a subquery: its values stay parameters.
 */
// The database's type is the host's (Immich's DB), which this package does not know.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AssetFilter = (db: Kysely<any>) => Expression<{ id: string; ownerId: string }>;

export { DEFAULT_TEXT_CANDIDATES };

export interface RankedAsset {
  assetId: string;
  fileCreatedAt: Date;
  originalFileName: string;
  score: number;
  ocrRank: number | null;
  ocrScore: number | null;
  clipRank: number | null;
  clipDistance: number | null;
}

export interface FusionWeights {
  weightOcr: number;
  weightClip: number;
  rrfK: number;
  candidates: number;
}

export interface SearchPage {
  items: RankedAsset[];
  hasNextPage: boolean;
  /** Where the next page of an OCR search starts (null: this was the last). */
  nextCursor?: Cursor | null;
}

const exampleQuery = parseQuery('ocr: 发票 "order 2024" -draft');
const exampleScope: SearchScope = { userIds: [DummyValue.UUID], page: 1, size: 20 };
const exampleEmbedding = [0.1, 0.2, 0.3];
const exampleWeights: FusionWeights = { weightOcr: 1, weightClip: 1, rrfK: 60, candidates: 200 };
const exampleBound: Bound = { date: '2026-01-01T00:00:00.000000Z', assetId: DummyValue.UUID_2 };
const exampleRange: DocumentRange = { from: '2025-03-15T00:00:00.000000Z', before: exampleBound };
const exampleFilter: AssetFilter = (db: Kysely<ExtensionDatabase>) =>
  db
    .selectFrom('asset')
    .select(['asset.id', 'asset.ownerId'])
    .where('asset.ownerId', '=', DummyValue.UUID)
    .where('asset.visibility', '=', 'archive');
const exampleFilteredScope: SearchScope = { ...exampleScope, assets: exampleFilter };

/**
 * A date in a Bound's form: exact (microseconds, UTC), whatever the session's settings. Written only
 * for the rows a statement returns: Postgres computes the select list of every row an OFFSET skips or
 * a sort orders (4.4 ms for the 6,000 rows of a depth, against 2.1 without it; bench/search.ts).
 */
const keyDate = (table: string) =>
  sql<string>`to_char(${sql.ref(`${table}.fileCreatedAt`)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** One owner as a plain equality: only then can the (owner, date) index hand rows over in date order. */
function ownerCondition(userIds: readonly string[]) {
  return userIds.length === 1
    ? sql`d."ownerId" = ${userIds[0]}::uuid`
    : sql`d."ownerId" = ANY(${[...userIds]}::uuid[])`;
}

/** Documents before a bound, newest first: the date bounds the index scan, the id splits that date. */
function beforeCondition(bound: Bound | null): RawBuilder<boolean>[] {
  if (!bound) return [];
  if (bound.assetId === undefined) return [sql`d."fileCreatedAt" < ${bound.date}::timestamptz`];
  return [
    sql`d."fileCreatedAt" <= ${bound.date}::timestamptz`,
    sql`(d."fileCreatedAt", d."assetId") < (${bound.date}::timestamptz, ${bound.assetId}::uuid)`,
  ];
}

/**
 * A range of the scope's documents: a walk names the owner (the (owner, date) index hands its rows
 * over in date order); the search index is asked through its keys column (migrations/0003, 0004),
 * so the index itself keeps only this scope's documents of the range's months.
 */
function rangeCondition(userIds: readonly string[], range: DocumentRange, method: 'walk' | 'index') {
  // The keys cover whole months: from the month of `from` to that of the bound (a millisecond on,
  // so a bound with microseconds or an id never loses its own month).
  const keys = () =>
    searchKeysQuery(
      userIds,
      range.from ? new Date(range.from) : null,
      range.before ? new Date(Date.parse(range.before.date) + 1) : null,
    );
  return sql.join(
    [
      method === 'walk' ? ownerCondition(userIds) : sql`d."searchKeys" @@ ${keys()}::tsquery`,
      ...(range.from ? [sql`d."fileCreatedAt" >= ${range.from}::timestamptz`] : []),
      ...beforeCondition(range.before),
    ],
    sql` AND `,
  );
}

/** Which of a query's matches a pool keeps, as SQL over `d`; null when it keeps all of them. */
function poolCondition(match: OcrMatch, pool: Pool): RawBuilder<boolean> | null {
  return pool === 'words' ? match.wordsHeld() : null;
}

/** Whether a match holds the query's words (result-windows.ts leaves out those already shown). */
function wordFlag(match: OcrMatch, pool: Pool | null): RawBuilder<boolean> {
  return pool === 'words' ? sql<boolean>`true` : (match.wordsHeld() ?? sql<boolean>`false`);
}

/** ` AND ` the asset id in `column` is one a filter allows; nothing without a filter. */
function andAllowed(
  db: Kysely<ExtensionDatabase>,
  assets: AssetFilter | undefined,
  column: string,
): RawBuilder<boolean> {
  return assets ? sql`AND ${sql.ref(column)} IN (SELECT allowed.id FROM ${assets(db)} AS allowed)` : sql``;
}

/**
 * An asset row a search may show: the scope's owner always; unless a filter already chose the assets
 * (its own visibility and trash rules), not in the trash and in the timeline or archive.
 */
function liveCondition(userIds: readonly string[], filtered: boolean): RawBuilder<boolean> {
  const owner = sql<boolean>`asset."ownerId" = ANY(${[...userIds]}::uuid[])`;
  if (filtered) return owner;
  return sql<boolean>`${owner} AND asset."deletedAt" IS NULL AND asset.visibility IN (${sql.join(SEARCHABLE_VISIBILITY)})`;
}

/** The ranking SQL: OCR full text alone, and OCR fused with CLIP nearest neighbours. */
@Injectable()
export class SearchRepository {
  private vectorIndex?: Promise<VectorIndex>;
  /** Where each page of a query asked for by number starts (Immich's search pages by number). */
  private readonly pageCursors = new PageCursors();

  constructor(
    @Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>,
    @Inject(SEGMENTER) private readonly segmenter: Segmenter,
  ) {}

  /**
   * OCR-only: every match, in windows of the newest `textCandidates` matches (the first also holds
   * the newest whole-word matches), each ranked best first (result-windows.ts). A page starts at its
   * cursor, or at its number.
   */
  @GenerateSql(
    { params: [exampleQuery, exampleScope] },
    { name: 'filtered', params: [exampleQuery, exampleFilteredScope] },
  )
  async searchOcr(query: ParsedQuery, scope: SearchScope): Promise<SearchPage> {
    const match = new OcrMatch(this.segmenter, query);
    if (!match.searchable || scope.userIds.length === 0) return { items: [], hasNextPage: false, nextCursor: null };
    const windowSize = scope.textCandidates ?? DEFAULT_TEXT_CANDIDATES;
    const key = [
      [...scope.userIds].sort().join(','),
      windowSize,
      scope.size,
      this.segmenter.name,
      JSON.stringify(query.clauses),
      this.filterKey(scope.assets),
    ].join('|');
    // A page asked for by number starts where the nearest page remembered left off, read on to it.
    const { page: known, cursor: start } =
      scope.cursor !== undefined
        ? { page: scope.page, cursor: scope.cursor }
        : this.pageCursors.nearest(key, scope.page);
    const skip = (scope.page - known) * scope.size;

    const { items, next } = await this.db.transaction().execute(async (trx) => {
      await this.planSearch(trx);
      return readRanked(this.windowSource(trx, match, scope), hasWords(match), start, skip + scope.size, windowSize);
    });
    if (next && scope.cursor === undefined) this.pageCursors.remember(key, scope.page + 1, next);
    return {
      items: items.slice(skip).map((item) => ({
        assetId: item.assetId,
        fileCreatedAt: new Date(item.fileCreatedAt),
        originalFileName: item.originalFileName,
        score: item.score,
        ocrRank: item.rank,
        ocrScore: item.score,
        clipRank: null,
        clipDistance: null,
      })),
      hasNextPage: next !== null,
      nextCursor: next,
    };
  }

  /**
   * Reciprocal-rank fusion in one statement: the best `candidates` OCR results of the first window
   * (as searchOcr ranks them) and the nearest `candidates` by CLIP cosine distance (Immich's smart_search and its index),
   * each scored weight / (k + rank), summed per asset. Without OCR terms or without an embedding, the
   * other side ranks alone. Every result is checked once more on Immich's asset row.
   */
  @GenerateSql(
    { params: [exampleQuery, exampleEmbedding, exampleScope, exampleWeights] },
    { name: 'filtered', params: [exampleQuery, exampleEmbedding, exampleFilteredScope, exampleWeights] },
  )
  async searchMixed(
    query: ParsedQuery,
    embedding: readonly number[] | null,
    scope: SearchScope,
    weights: FusionWeights,
  ): Promise<SearchPage> {
    const match = new OcrMatch(this.segmenter, query);
    if ((!match.searchable && !embedding) || scope.userIds.length === 0) return { items: [], hasNextPage: false };
    const vector = embedding ? `[${embedding.join(',')}]` : null;
    // Each ranking contributes at most SEARCH_CANDIDATES, whatever page is asked for, so a deep page
    // costs what the first does; the fused list (at most twice that) ends the pages.
    const candidates = weights.candidates;
    if ((scope.page - 1) * scope.size >= 2 * candidates) return { items: [], hasNextPage: false };

    return this.db.transaction().execute(async (trx) => {
      await this.planSearch(trx);
      const matches = match.searchable
        ? await firstWindow(
            this.windowSource(trx, match, scope),
            hasWords(match),
            scope.textCandidates ?? DEFAULT_TEXT_CANDIDATES,
          )
        : [];
      if (vector) await this.tuneVectorScan(await this.vectorIndexOf(trx), candidates, trx);
      // The first window's best, ranked as searchOcr ranks it.
      const ocr = match.searchable
        ? sql`
            SELECT best."assetId", best.score,
              row_number() OVER (ORDER BY best.score DESC, best."fileCreatedAt" DESC, best."assetId" DESC) AS rank
            FROM (
              SELECT scored."assetId", scored.score, scored."fileCreatedAt"
              FROM (${this.scored(
                match,
                scope.userIds,
                matches.map((m) => m.assetId),
                !!scope.assets,
              )}) scored
              ORDER BY scored.score DESC, scored."fileCreatedAt" DESC, scored."assetId" DESC
              LIMIT ${candidates}
            ) best`
        : sql`SELECT NULL::uuid AS "assetId", NULL::float8 AS score, NULL::bigint AS rank WHERE false`;
      const live = liveCondition(scope.userIds, !!scope.assets);
      // Only a filter's assets are CLIP's candidates too (the vector scan reads on past the others).
      const allowed = andAllowed(trx, scope.assets, 's.assetId');
      const clip = vector
        ? sql`
            SELECT nearest."assetId", nearest.distance, row_number() OVER (ORDER BY nearest.distance, nearest."assetId") AS rank
            FROM (
              SELECT s."assetId", s.embedding <=> ${vector}::vector AS distance
              FROM public.smart_search s
              JOIN public.asset ON asset.id = s."assetId"
              WHERE ${live} ${allowed}
              ORDER BY distance
              LIMIT ${candidates}
            ) nearest`
        : sql`SELECT NULL::uuid AS "assetId", NULL::float8 AS distance, NULL::bigint AS rank WHERE false`;
      const { rows } = await sql<RankedAsset>`
        WITH ocr AS MATERIALIZED (${ocr}),
        clip AS MATERIALIZED (${clip}),
        fused AS (
          SELECT coalesce(ocr."assetId", clip."assetId") AS "assetId",
            coalesce(${weights.weightOcr}::float8 / (${weights.rrfK} + ocr.rank), 0)
              + coalesce(${weights.weightClip}::float8 / (${weights.rrfK} + clip.rank), 0) AS score,
            ocr.rank::int AS "ocrRank", ocr.score AS "ocrScore", clip.rank::int AS "clipRank", clip.distance AS "clipDistance"
          FROM ocr FULL JOIN clip ON clip."assetId" = ocr."assetId"
        )
        SELECT fused.*, asset."fileCreatedAt", asset."originalFileName"
        FROM fused JOIN public.asset ON asset.id = fused."assetId"
        WHERE ${live}
        ORDER BY fused.score DESC, fused."ocrScore" DESC NULLS LAST, asset."fileCreatedAt" DESC, asset.id
        LIMIT ${scope.size + 1} OFFSET ${(scope.page - 1) * scope.size}`.execute(trx);
      return page(
        rows.map((row) => ({ ...row, fileCreatedAt: new Date(row.fileCreatedAt), score: Number(row.score) })),
        scope.size,
      );
    });
  }

  /**
   * The owners of the assets a filter allows: the scope of a search that Immich scopes by its filter
   * alone (its metadata search in albums, whose photos may be anyone's).
   */
  @GenerateSql({ params: [exampleFilter] })
  async ownersOf(assets: AssetFilter): Promise<string[]> {
    const { rows } = await sql<{ ownerId: string }>`
      SELECT DISTINCT allowed."ownerId" FROM ${assets(this.db)} AS allowed`.execute(this.db);
    return rows.map((row) => row.ownerId);
  }

  /**
   * The newest `limit` matches of each pool after `after` (candidate-selection.ts: the walk, then
   * the search index in windows), newest first: one window of each pool's results.
   */
  @GenerateSql({ params: [exampleQuery, [DummyValue.UUID], ['all', 'words'], null, 200] })
  newestMatches(
    query: ParsedQuery,
    userIds: readonly string[],
    pools: readonly Pool[],
    after: Bound | null,
    limit: number,
    db: Kysely<ExtensionDatabase> = this.db,
    match = new OcrMatch(this.segmenter, query),
    assets?: AssetFilter,
  ): Promise<Map<Pool, CandidateMatch[]>> {
    // A filter leaves the depths (which only size the windows) as they are: it changes what each
    // window finds, never whether the last one reaches the oldest document.
    const source: CandidateSource = {
      depths: (before, depths) => this.scopeDepths(userIds, before, depths, db),
      walk: (range, only) => this.walkMatches(query, userIds, range, only, db, match, assets),
      index: (range, pools) => this.indexMatches(query, userIds, range, pools, db, match, assets),
    };
    return selectCandidates(source, { pools, before: after, limit });
  }

  /**
   * The date of the scope's n-th newest document before `before` for each depth n (null where it has
   * fewer), and of its oldest document (null when it has none), in one statement.
   */
  @GenerateSql({ params: [[DummyValue.UUID], exampleBound, [600, 6000]] })
  async scopeDepths(
    userIds: readonly string[],
    before: Bound | null,
    depths: readonly number[],
    db: Kysely<ExtensionDatabase> = this.db,
  ): Promise<{ dates: (string | null)[]; oldest: string | null }> {
    const inScope = sql.join([ownerCondition(userIds), ...beforeCondition(before)], sql` AND `);
    const { rows } = await sql<Record<string, string | null>>`
      SELECT ${sql.join([
        ...depths.map(
          (depth, index) => sql`(
            SELECT ${keyDate('x')} FROM (
              SELECT d."fileCreatedAt" FROM immich_ai.ocr_document d WHERE ${inScope}
              ORDER BY d."fileCreatedAt" DESC OFFSET ${depth - 1} LIMIT 1) x) AS ${sql.id(`depth${index}`)}`,
        ),
        // Per owner, so each is one probe of the (owner, date) index from its old end.
        sql`(
          SELECT min(first.date) FROM unnest(${[...userIds]}::uuid[]) AS owners(id)
          CROSS JOIN LATERAL (
            SELECT ${keyDate('d')} AS date FROM immich_ai.ocr_document d WHERE d."ownerId" = owners.id
            ORDER BY d."fileCreatedAt" ASC LIMIT 1) first) AS oldest`,
      ])}`.execute(db);
    return {
      dates: depths.map((_, index) => rows[0]?.[`depth${index}`] ?? null),
      oldest: rows[0]?.oldest ?? null,
    };
  }

  /**
   * The walk: the scope's documents in a range, newest first through the (owner, date) index, each
   * tested (cheap when the text is common: the first few hundred documents hold enough). For one
   * pool, its matches up to `limit`; for none, every match with whether it holds the query's words.
   */
  @GenerateSql(
    { name: 'one pool', params: [exampleQuery, [DummyValue.UUID], exampleRange, { pool: 'words', limit: 200 }] },
    { name: 'every match', params: [exampleQuery, [DummyValue.UUID], exampleRange, null] },
    {
      name: 'filtered',
      params: [exampleQuery, [DummyValue.UUID], exampleRange, null, undefined, undefined, exampleFilter],
    },
  )
  async walkMatches(
    query: ParsedQuery,
    userIds: readonly string[],
    range: DocumentRange,
    only: { pool: Pool; limit: number } | null,
    db: Kysely<ExtensionDatabase> = this.db,
    match = new OcrMatch(this.segmenter, query),
    assets?: AssetFilter,
  ): Promise<CandidateMatch[]> {
    const pool = only && poolCondition(match, only.pool);
    const word = wordFlag(match, only?.pool ?? null);
    // OFFSET 0 keeps the walk a walk: flattened, the planner would weigh the search index for it too.
    // The index's date order streams; only documents of one date are sorted by id (incremental sort).
    const { rows } = await sql<CandidateMatch>`
      SELECT d."assetId", ${keyDate('d')} AS date, ${word} AS word FROM (
        SELECT d."assetId", d."fileCreatedAt", d."searchVector", d."searchLatin" FROM immich_ai.ocr_document d
        WHERE ${rangeCondition(userIds, range, 'walk')}
        ORDER BY d."fileCreatedAt" DESC
        OFFSET 0
      ) d
      WHERE ${match.where()}${pool ? sql` AND ${pool}` : sql``} ${andAllowed(db, assets, 'd.assetId')}
      ORDER BY d."fileCreatedAt" DESC, d."assetId" DESC
      ${only ? sql`LIMIT ${only.limit}` : sql``}`.execute(db);
    return rows;
  }

  /**
   * The newest matches of each pool in a range, from the search index (one GIN index: words,
   * characters, trigrams, keys) in one pass: every pool's matches are among all matches, so all come
   * out of one index scan (a scan per pool cost as many times over: each rechecks every match on the
   * heap). Newest first, per pool.
   */
  @GenerateSql(
    { name: 'one pool', params: [exampleQuery, [DummyValue.UUID], exampleRange, [{ pool: 'words', limit: 200 }]] },
    {
      name: 'two pools',
      params: [
        exampleQuery,
        [DummyValue.UUID],
        exampleRange,
        [
          { pool: 'all', limit: 150 },
          { pool: 'words', limit: 190 },
        ],
      ],
    },
    {
      name: 'filtered',
      params: [
        exampleQuery,
        [DummyValue.UUID],
        exampleRange,
        [{ pool: 'all', limit: 200 }],
        undefined,
        undefined,
        exampleFilter,
      ],
    },
  )
  async indexMatches(
    query: ParsedQuery,
    userIds: readonly string[],
    range: DocumentRange,
    pools: readonly { pool: Pool; limit: number }[],
    db: Kysely<ExtensionDatabase> = this.db,
    match = new OcrMatch(this.segmenter, query),
    assets?: AssetFilter,
  ): Promise<Map<Pool, CandidateMatch[]>> {
    const found = new Map<Pool, CandidateMatch[]>(pools.map(({ pool }) => [pool, []]));
    // The filter's assets are tested per match found (or, where the planner sees few of them, read first).
    const inRange = sql`${rangeCondition(userIds, range, 'index')} ${andAllowed(db, assets, 'd.assetId')}`;
    if (pools.length === 1) {
      const [{ pool, limit }] = pools;
      const only = poolCondition(match, pool);
      const { rows } = await sql<CandidateMatch>`
        SELECT x."assetId", ${keyDate('x')} AS date, x.word FROM (
          SELECT d."assetId", d."fileCreatedAt", ${wordFlag(match, pool)} AS word FROM immich_ai.ocr_document d
          WHERE ${inRange} AND ${match.where()}${only ? sql` AND ${only}` : sql``}
          ORDER BY d."fileCreatedAt" DESC, d."assetId" DESC
          LIMIT ${limit}) x
        ORDER BY x."fileCreatedAt" DESC, x."assetId" DESC`.execute(db);
      found.set(pool, rows);
      return found;
    }
    const pick = ({ pool, limit }: { pool: Pool; limit: number }) => sql`
      (SELECT ${sql.lit(pool)} AS pool, m."assetId", m.word, m."fileCreatedAt" FROM m
       WHERE ${pool === 'words' ? sql`m.word` : sql`true`}
       ORDER BY m."fileCreatedAt" DESC, m."assetId" DESC LIMIT ${limit})`;
    const { rows } = await sql<CandidateMatch & { pool: Pool }>`
      WITH m AS MATERIALIZED (
        SELECT d."assetId", d."fileCreatedAt", ${wordFlag(match, null)} AS word
        FROM immich_ai.ocr_document d
        WHERE ${inRange} AND ${match.where()}
      )
      SELECT p.pool, p."assetId", ${keyDate('p')} AS date, p.word FROM (${sql.join(pools.map(pick), sql` UNION ALL `)}) p
      ORDER BY p.pool, p."fileCreatedAt" DESC, p."assetId" DESC`.execute(db);
    for (const { pool, ...row } of rows) found.get(pool)!.push(row);
    return found;
  }

  /**
   * The matches that are still the scope's and in the timeline or archive, on Immich's own asset row,
   * with their score. Asset rows are fetched one index probe per match (OFFSET 0 keeps the planner
   * from flattening the lateral subquery): joined as a plain table, it hashed the whole asset table
   * instead, 50 ms at 200,000 assets (bench/search.ts --explain).
   */
  @GenerateSql({ params: [exampleQuery, [DummyValue.UUID], [DummyValue.UUID_2]] })
  async scoreMatches(
    query: ParsedQuery,
    userIds: readonly string[],
    assetIds: readonly string[],
    db: Kysely<ExtensionDatabase> = this.db,
    match = new OcrMatch(this.segmenter, query),
    filtered = false,
  ): Promise<Omit<ScoredMatch, 'date'>[]> {
    if (assetIds.length === 0) return [];
    const { rows } = await sql<Omit<ScoredMatch, 'date'>>`
      SELECT scored."assetId", scored."takenAt" AS "fileCreatedAt", scored."originalFileName", scored.score
      FROM (${this.scored(match, userIds, assetIds, filtered)}) scored`.execute(db);
    return rows.map((row) => ({ ...row, score: Number(row.score) }));
  }

  /**
   * The matches still the scope's and in the timeline or archive (or, `filtered`, the scope's: a filter
   * chose them), on Immich's asset row, with their score: our copy of the date ("fileCreatedAt", what
   * windows are cut by) and Immich's ("takenAt").
   */
  private scored(match: OcrMatch, userIds: readonly string[], assetIds: readonly string[], filtered: boolean) {
    return sql`
      SELECT d."assetId", d."fileCreatedAt", live."fileCreatedAt" AS "takenAt", live."originalFileName",
        ${match.score()} AS score
      FROM unnest(${[...assetIds]}::uuid[]) AS candidates("assetId")
      JOIN immich_ai.ocr_document d ON d."assetId" = candidates."assetId"
      CROSS JOIN LATERAL (
        SELECT asset."fileCreatedAt", asset."originalFileName" FROM public.asset
        WHERE asset.id = d."assetId" AND ${liveCondition(userIds, filtered)}
        OFFSET 0
      ) live`;
  }

  /** Settings of the kNN scan for Immich's CLIP index, by the extension that built it (vector-index.ts). */
  @GenerateSql(
    { name: 'VectorChord', params: [{ extension: 'vectorchord', probes: '2' }, 200] },
    { name: 'pgvector', params: [{ extension: 'pgvector', iterativeScan: true }, 200] },
  )
  async tuneVectorScan(index: VectorIndex, candidates: number, db: Kysely<ExtensionDatabase> = this.db): Promise<void> {
    const settings = vectorScanSettings(index, candidates);
    if (settings.length === 0) return;
    // Names are ours (literals, so the generated SQL shows them); values are parameters.
    await sql`SELECT ${sql.join(settings.map(([name, value]) => sql`set_config(${sql.lit(name)}, ${value}, true)`))}`.execute(
      db,
    );
  }

  /** Immich's CLIP index, as its definition says, asked once (Immich, too, reads it at start only). */
  protected detectVectorIndex(db: Kysely<ExtensionDatabase>): Promise<VectorIndex> {
    return sql<{ definition: string | null; version: string | null }>`
      SELECT (SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = ${CLIP_INDEX}) AS definition,
        (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS version`
      .execute(db)
      .then(({ rows }) => describeVectorIndex(rows[0]?.definition ?? null, rows[0]?.version ?? null));
  }

  private vectorIndexOf(trx: Kysely<ExtensionDatabase>): Promise<VectorIndex> {
    // Asked on the transaction's own connection: a second one could wait forever on a full pool.
    this.vectorIndex ??= this.detectVectorIndex(trx).catch((error: unknown) => {
      this.vectorIndex = undefined;
      throw error;
    });
    return this.vectorIndex;
  }

  /** The candidate search and scoring of one query, on one connection. */
  private windowSource(trx: Kysely<ExtensionDatabase>, match: OcrMatch, scope: SearchScope): WindowSource {
    const { userIds, assets } = scope;
    return {
      windows: (pools, after, limit) =>
        this.newestMatches(match.query, userIds, pools, after, limit, trx, match, assets),
      score: (matches) =>
        this.scoreMatches(
          match.query,
          userIds,
          matches.map((m) => m.assetId),
          trx,
          match,
          !!assets,
        ),
    };
  }

  /** What tells one filter's pages from another's: its SQL and values ('' without one). */
  private filterKey(assets: AssetFilter | undefined): string {
    if (!assets) return '';
    const { sql: text, parameters } = sql`${assets(this.db)}`.compile(this.db);
    return JSON.stringify([text, parameters]);
  }

  /**
   * Search statements are short and many: compiling them with JIT cost 70-150 ms a query on 1M
   * documents (bench/search.ts) and never paid back.
   */
  private async planSearch(trx: Kysely<ExtensionDatabase>): Promise<void> {
    await sql`SELECT set_config('jit', 'off', true)`.execute(trx);
  }
}

/** Whether a query has a word form (then its first window adds the newest whole-word matches). */
const hasWords = (match: OcrMatch): boolean => match.wordsHeld() !== null;

function page(rows: RankedAsset[], size: number): SearchPage {
  return { items: rows.slice(0, size), hasNextPage: rows.length > size };
}
