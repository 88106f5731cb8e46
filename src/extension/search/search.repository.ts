import { Inject, Injectable } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { DEFAULT_TEXT_CANDIDATES } from '../../config/extension.config';
import { DummyValue, GenerateSql } from '../database/generate-sql';
import { EXTENSION_DB, SEGMENTER } from '../database/database.tokens';
import { ExtensionDatabase, SEARCHABLE_VISIBILITY } from '../database/schema';
import { OcrMatch } from './ocr-match';
import { parseQuery, ParsedQuery } from './query-parser';
import { searchKeysQuery } from './search-keys';
import type { Segmenter } from './segmenter';

export interface SearchScope {
  /** Whose assets: the caller (and, inside Immich, partners who share their timeline). */
  userIds: readonly string[];
  page: number;
  size: number;
  /**
   * How many matching documents are scored (SEARCH_TEXT_CANDIDATES): the newest matches, plus the
   * newest whole-word matches. A common term can match half a library; scoring all of it cost
   * seconds at 1M documents (bench/search.ts). Pages end where the candidates do.
   */
  textCandidates?: number;
}

export { DEFAULT_TEXT_CANDIDATES };

/** One stage of the candidate search (see SearchRepository.candidateIds). */
export interface CandidateStage {
  method: 'walk' | 'index';
  /** Documents dated at or after this (null/absent: no lower bound). */
  from?: Date | null;
  /** Documents dated before this. */
  before?: Date | null;
  /** Whole-word matches only (OcrMatch.wordsWhere). */
  words?: boolean;
  /** At most this many (null: every match in the range). */
  limit: number | null;
}

/** A match of one stage, and whether it holds the query's words too (always false without words). */
interface StageMatch {
  assetId: string;
  word: boolean;
}

const union = (pools: Map<boolean, string[]>): string[] => [...new Set([...pools.values()].flat())];

/**
 * The stages of candidateIds, in documents per candidate wanted. A common term fills its pools among
 * the user's newest documents, so walking those (one index, stopped at the limit) answers it without
 * the search index; a rarer one goes on to the search index's windows, whose search keys keep each
 * window to this scope's months. What these stages were measured against (one statement, fixed index
 * slices, a second walk): bench/results/history.md, "Search".
 */
const WALK_DEPTH = 3;
/** A second known depth (besides the walk's end) to tell how many documents a date range holds. */
const REFERENCE_DEPTH = 30;
/**
 * After the walk the search index searches windows of older documents, each sized this many times
 * what the rate of matches so far says would fill the pools; after MAX_WINDOWS, all that is left.
 */
const WINDOW_MARGIN = 2;
const MAX_WINDOWS = 3;

/** What the search index still owes one pool of candidateIds: matches dated before `before`. */
export interface IndexRest {
  words: boolean;
  before: Date;
  limit: number;
}

/**
 * The date the scope's `depth`-th newest document should have, extrapolated from two known depths
 * (documents per millisecond between them): an OFFSET that deep in the (owner, date) index cost
 * 30-40 ms at 240,000 (bench/search.ts). A guess moves only where the window ends, never what
 * is found. Null when there is nothing to go by or the window would reach back forever.
 */
function datedDepth(
  depth: number,
  [nearDepth, near]: [number, Date | null],
  [farDepth, far]: [number, Date | null],
): Date | null {
  if (!Number.isFinite(depth) || !near || !far || near.getTime() <= far.getTime()) return null;
  const perMs = (farDepth - nearDepth) / (near.getTime() - far.getTime());
  return new Date(far.getTime() - (depth - farDepth) / perMs);
}

/** One owner as a plain equality: only then can the (owner, date) index hand rows over in date order. */
function ownerCondition(scope: SearchScope) {
  return scope.userIds.length === 1
    ? sql`d."ownerId" = ${scope.userIds[0]}::uuid`
    : sql`d."ownerId" = ANY(${[...scope.userIds]}::uuid[])`;
}

/**
 * A stage's documents: a walk names the owner (the (owner, date) index hands its rows over in date
 * order); an index stage asks the search index's keys column (migrations/0003, 0004),
 * so the index itself keeps only this scope's documents of the range's months.
 */
function scopeCondition(
  scope: SearchScope,
  range: { method: 'walk' | 'index'; from?: Date | null; before?: Date | null },
) {
  const from = range.from ?? null;
  const before = range.before ?? null;
  return sql.join(
    [
      range.method === 'walk'
        ? ownerCondition(scope)
        : sql`d."searchKeys" @@ ${searchKeysQuery(scope.userIds, from, before)}::tsquery`,
      ...(from ? [sql`d."fileCreatedAt" >= ${from}`] : []),
      ...(before ? [sql`d."fileCreatedAt" < ${before}`] : []),
    ],
    sql` AND `,
  );
}

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
}

const exampleQuery = parseQuery('ocr: 发票 "order 2024" -draft');
const exampleScope: SearchScope = { userIds: [DummyValue.UUID], page: 1, size: 20 };
const exampleEmbedding = [0.1, 0.2, 0.3];
const exampleWeights: FusionWeights = { weightOcr: 1, weightClip: 1, rrfK: 60, candidates: 200 };

/** The ranking SQL: OCR full text alone, and OCR fused with CLIP nearest neighbours. */
@Injectable()
export class SearchRepository {
  private vectorSettings?: Promise<{ iterativeScan: boolean }>;

  constructor(
    @Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>,
    @Inject(SEGMENTER) private readonly segmenter: Segmenter,
  ) {}

  /** OCR-only: documents matching the query, best score first, then newest. */
  @GenerateSql({ params: [exampleQuery, exampleScope] })
  async searchOcr(query: ParsedQuery, scope: SearchScope): Promise<SearchPage> {
    const match = new OcrMatch(this.segmenter, query);
    if (!match.searchable || scope.userIds.length === 0) return { items: [], hasNextPage: false };
    const rows = await this.db.transaction().execute(async (trx) => {
      await this.planSearch(trx);
      const candidates = await this.candidateIds(trx, match, scope);
      if (candidates.length === 0) return [];
      const { rows } = await sql<{ assetId: string; fileCreatedAt: Date; originalFileName: string; score: number }>`
        SELECT scored.* FROM (${this.scoredCandidates(match, candidates)}) scored
        ORDER BY score DESC, "fileCreatedAt" DESC, "assetId"
        LIMIT ${scope.size + 1} OFFSET ${(scope.page - 1) * scope.size}`.execute(trx);
      return rows;
    });
    const offset = (scope.page - 1) * scope.size;
    return page(
      rows.map((row, index) => ({
        ...row,
        fileCreatedAt: new Date(row.fileCreatedAt),
        ocrRank: offset + index + 1,
        ocrScore: row.score,
        clipRank: null,
        clipDistance: null,
      })),
      scope.size,
    );
  }

  /**
   * Reciprocal-rank fusion in one statement: the best `candidates` by OCR score and the nearest
   * `candidates` by CLIP cosine distance (Immich's smart_search and its HNSW index), each scored
   * weight / (k + rank), summed per asset. Without OCR terms or without an embedding, the other side
   * ranks alone.
   */
  @GenerateSql({ params: [exampleQuery, exampleEmbedding, exampleScope, exampleWeights] })
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
      const textCandidates = match.searchable ? await this.candidateIds(trx, match, scope) : [];
      if (vector) await this.tuneVectorScan(trx, candidates);
      const ocr = match.searchable
        ? sql`
            SELECT best."assetId", best.score,
              row_number() OVER (ORDER BY best.score DESC, best."fileCreatedAt" DESC, best."assetId") AS rank
            FROM (
              SELECT scored."assetId", scored.score, scored."fileCreatedAt"
              FROM (${this.scoredCandidates(match, textCandidates)}) scored
              ORDER BY score DESC, "fileCreatedAt" DESC, "assetId"
              LIMIT ${candidates}
            ) best`
        : sql`SELECT NULL::uuid AS "assetId", NULL::float8 AS score, NULL::bigint AS rank WHERE false`;
      const clip = vector
        ? sql`
            SELECT nearest."assetId", nearest.distance, row_number() OVER (ORDER BY nearest.distance, nearest."assetId") AS rank
            FROM (
              SELECT s."assetId", s.embedding <=> ${vector}::vector AS distance
              FROM public.smart_search s
              JOIN public.asset ON asset.id = s."assetId"
              WHERE asset."ownerId" = ANY(${[...scope.userIds]}::uuid[]) AND asset."deletedAt" IS NULL
                AND asset.visibility IN (${sql.join(SEARCHABLE_VISIBILITY)})
              ORDER BY distance
              LIMIT ${candidates}
            ) nearest`
        : sql`SELECT NULL::uuid AS "assetId", NULL::float8 AS distance, NULL::bigint AS rank WHERE false`;
      const { rows } = await sql<RankedAsset>`
        WITH ocr AS MATERIALIZED (${ocr}), clip AS MATERIALIZED (${clip}),
        fused AS (
          SELECT coalesce(ocr."assetId", clip."assetId") AS "assetId",
            coalesce(${weights.weightOcr}::float8 / (${weights.rrfK} + ocr.rank), 0)
              + coalesce(${weights.weightClip}::float8 / (${weights.rrfK} + clip.rank), 0) AS score,
            ocr.rank::int AS "ocrRank", ocr.score AS "ocrScore", clip.rank::int AS "clipRank", clip.distance AS "clipDistance"
          FROM ocr FULL JOIN clip ON clip."assetId" = ocr."assetId"
        )
        SELECT fused.*, asset."fileCreatedAt", asset."originalFileName"
        FROM fused JOIN public.asset ON asset.id = fused."assetId"
        ORDER BY fused.score DESC, fused."ocrScore" DESC NULLS LAST, asset."fileCreatedAt" DESC, asset.id
        LIMIT ${scope.size + 1} OFFSET ${(scope.page - 1) * scope.size}`.execute(trx);
      return page(
        rows.map((row) => ({ ...row, fileCreatedAt: new Date(row.fileCreatedAt), score: Number(row.score) })),
        scope.size,
      );
    });
  }

  /**
   * The newest matches of a query in a scope, in date order, from one stage of the candidate search:
   * `walk` reads the scope's documents newest first through the (owner, date) index and tests each
   * (cheap when the text is common: the first few hundred documents hold enough); `index` asks the
   * search index (one GIN index: words, characters, trigrams, keys) for the matches in a date range. Either is bounded by its range.
   */
  @GenerateSql(
    {
      name: 'walk',
      params: [
        exampleQuery,
        exampleScope,
        { method: 'walk', before: DummyValue.DATE, from: DummyValue.DATE, limit: 200 },
      ],
    },
    {
      name: 'index',
      params: [
        exampleQuery,
        exampleScope,
        { method: 'index', before: DummyValue.DATE, from: DummyValue.DATE, words: true, limit: 200 },
      ],
    },
  )
  async newestMatches(query: ParsedQuery, scope: SearchScope, stage: CandidateStage): Promise<string[]> {
    const rows = await this.stageMatches(this.db, new OcrMatch(this.segmenter, query), scope, stage);
    return rows.map((row) => row.assetId);
  }

  /** The newest matches the search index owes each pool, in one pass (see indexRest). */
  @GenerateSql({
    params: [
      exampleQuery,
      exampleScope,
      [
        { words: false, before: DummyValue.DATE, limit: 150 },
        { words: true, before: DummyValue.DATE, limit: 190 },
      ],
      new Date('2024-03-15T00:00:00Z'),
    ],
  })
  async indexMatches(
    query: ParsedQuery,
    scope: SearchScope,
    pools: readonly IndexRest[],
    from: Date | null = null,
  ): Promise<Map<boolean, string[]>> {
    return this.indexRest(this.db, new OcrMatch(this.segmenter, query), scope, pools, from);
  }

  /**
   * The documents worth scoring: this scope's newest matches, and its newest whole-word matches (so
   * a word the user typed is never crowded out by newer substring matches), each at most
   * `textCandidates` (the limit). Found in stages that reach further back only while they come up
   * short: the newest `limit * WALK_DEPTH` documents walked one by one (a common term ends here);
   * then the search index, over windows of older documents sized from the rate of matches so far,
   * and at last over everything older. The index's search keys keep each window to this scope's
   * documents of its months, so a window reads little more than it returns; one pass over all
   * matches read every match of every user of a common phrase or OR (Postgres rechecks each on the
   * heap, and misjudges how many there are). Both pools share each stage.
   */
  private async candidateIds(trx: Kysely<ExtensionDatabase>, match: OcrMatch, scope: SearchScope): Promise<string[]> {
    const limit = scope.textCandidates ?? DEFAULT_TEXT_CANDIDATES;
    const walkDepth = limit * WALK_DEPTH;
    const {
      dates: [walkEnd, referenceEnd],
      oldest,
    } = await this.scopeDepths(trx, scope, [walkDepth, REFERENCE_DEPTH * limit]);
    // The pools (all matches; whole-word matches, when the query has words) and what each has found.
    const pools = new Map<boolean, string[]>([[false, []]]);
    if (match.wordsHeld()) pools.set(true, []);
    const short = () => [...pools].filter(([, ids]) => ids.length < limit).map(([words]) => words);

    // With one pool the walk stops at `limit` matches; with two it reads its whole range for both.
    const first = await this.stageMatches(trx, match, scope, {
      method: 'walk',
      from: walkEnd,
      limit: pools.size === 1 ? limit : null,
    });
    for (const [words, ids] of pools)
      for (const row of first) if (ids.length < limit && (!words || row.word)) ids.push(row.assetId);
    // Done when the walk filled every pool, or when it walked the whole scope.
    if (short().length === 0 || !walkEnd) return union(pools);

    // The search index, in windows of older and older documents, each as deep as the rate of matches
    // so far says would fill the pools (WINDOW_MARGIN times over); after MAX_WINDOWS, or when a pool
    // has no rate to go by (nothing found yet), one pass over everything older.
    let searched = walkDepth;
    let before = walkEnd;
    for (let pass = 0; short().length > 0; pass++) {
      const depth =
        pass === MAX_WINDOWS
          ? Infinity
          : Math.max(
              ...short().map((words) => {
                const found = pools.get(words)!.length;
                return found === 0
                  ? Infinity
                  : searched + Math.ceil(((limit - found) * searched * WINDOW_MARGIN) / found);
              }),
            );
      let from = datedDepth(depth, [walkDepth, walkEnd], [REFERENCE_DEPTH * limit, referenceEnd]);
      if (from && oldest && from.getTime() <= oldest.getTime()) from = null;
      const rest = short().map((words) => ({ words, before, limit: limit - pools.get(words)!.length }));
      // The last pass starts at the oldest document: its keys then still leave out the months searched.
      for (const [words, ids] of await this.indexRest(trx, match, scope, rest, from ?? oldest))
        pools.get(words)!.push(...ids);
      if (!from) break;
      searched = depth;
      before = from;
    }
    return union(pools);
  }

  private async stageMatches(
    db: Kysely<ExtensionDatabase>,
    match: OcrMatch,
    scope: SearchScope,
    stage: CandidateStage,
  ): Promise<StageMatch[]> {
    const where = stage.words ? match.wordsWhere() : match.where();
    if (!where) return [];
    // Whether a match holds the words too: asked of each walked match; an index stage's callers want ids only.
    const words = stage.words ? sql`true` : stage.method === 'walk' ? (match.wordsHeld() ?? sql`false`) : sql`false`;
    const inScope = scopeCondition(scope, stage);
    const limit = stage.limit === null ? sql`` : sql`LIMIT ${stage.limit}`;
    // OFFSET 0 keeps the walk a walk: flattened, the planner would weigh the search index for it too.
    const { rows } =
      stage.method === 'walk'
        ? await sql<StageMatch>`
            SELECT d."assetId", ${words} AS word FROM (
              SELECT d."assetId", d."fileCreatedAt", d."searchVector", d."searchLatin" FROM immich_ai.ocr_document d
              WHERE ${inScope}
              ORDER BY d."fileCreatedAt" DESC
              OFFSET 0
            ) d
            WHERE ${where}
            ORDER BY d."fileCreatedAt" DESC
            ${limit}`.execute(db)
        : await sql<StageMatch>`
            SELECT d."assetId", ${words} AS word FROM immich_ai.ocr_document d
            WHERE ${inScope} AND ${where}
            ORDER BY d."fileCreatedAt" DESC
            ${limit}`.execute(db);
    return rows;
  }

  /**
   * The newest matches of each pool dated in [from, its `before`), from the search index in one pass:
   * the whole-word pool's matches are a subset of all matches, so both come out of one index scan
   * (two scans cost twice: each rechecks every match on the heap). Newest first, per pool.
   */
  private async indexRest(
    trx: Kysely<ExtensionDatabase>,
    match: OcrMatch,
    scope: SearchScope,
    pools: readonly IndexRest[],
    from: Date | null,
  ): Promise<Map<boolean, string[]>> {
    if (pools.length === 0) return new Map();
    if (pools.length === 1) {
      const [pool] = pools;
      const rows = await this.stageMatches(trx, match, scope, { method: 'index', from, ...pool });
      return new Map([[pool.words, rows.map((row) => row.assetId)]]);
    }
    const newest = pools.reduce((a, b) => (a.before.getTime() >= b.before.getTime() ? a : b)).before;
    const words = match.wordsHeld();
    const pick = (pool: IndexRest) => sql`
      (SELECT ${sql.lit(pool.words)} AS words, m."assetId", m."fileCreatedAt" FROM m
       WHERE m."fileCreatedAt" < ${pool.before}${pool.words ? sql` AND m.word` : sql``}
       ORDER BY m."fileCreatedAt" DESC LIMIT ${pool.limit})`;
    const { rows } = await sql<{ words: boolean; assetId: string }>`
      WITH m AS MATERIALIZED (
        SELECT d."assetId", d."fileCreatedAt", ${words ?? sql`false`} AS word FROM immich_ai.ocr_document d
        WHERE ${scopeCondition(scope, { method: 'index', from, before: newest })} AND ${match.where()}
      )
      SELECT p.words, p."assetId" FROM (${sql.join(pools.map(pick), sql` UNION ALL `)}) p
      ORDER BY p.words, p."fileCreatedAt" DESC`.execute(trx);
    const found = new Map(pools.map((pool) => [pool.words, [] as string[]]));
    for (const row of rows) found.get(row.words)!.push(row.assetId);
    return found;
  }

  /**
   * The date of the scope's n-th newest document for each depth n (null where it has fewer), and of
   * its oldest document (null when it has none), in one statement.
   */
  private async scopeDepths(
    trx: Kysely<ExtensionDatabase>,
    scope: SearchScope,
    depths: readonly number[],
  ): Promise<{ dates: (Date | null)[]; oldest: Date | null }> {
    const owner = ownerCondition(scope);
    const { rows } = await sql<Record<string, Date | null>>`
      SELECT ${sql.join([
        ...depths.map(
          (depth, index) => sql`(
            SELECT d."fileCreatedAt" FROM immich_ai.ocr_document d WHERE ${owner}
            ORDER BY d."fileCreatedAt" DESC OFFSET ${depth - 1} LIMIT 1) AS ${sql.id(`depth${index}`)}`,
        ),
        // Per owner, so each is one probe of the (owner, date) index from its old end.
        sql`(
          SELECT min(first."fileCreatedAt") FROM unnest(${[...scope.userIds]}::uuid[]) AS owners(id)
          CROSS JOIN LATERAL (
            SELECT d."fileCreatedAt" FROM immich_ai.ocr_document d WHERE d."ownerId" = owners.id
            ORDER BY d."fileCreatedAt" ASC LIMIT 1) first) AS oldest`,
      ])}`.execute(trx);
    return {
      dates: depths.map((_, index) => rows[0]?.[`depth${index}`] ?? null),
      oldest: rows[0]?.oldest ?? null,
    };
  }

  /**
   * The candidates that are still in the timeline or archive, with their score. Asset rows are
   * fetched one index probe per candidate (OFFSET 0 keeps the planner from flattening the lateral
   * subquery): joined as a plain table, it hashed the whole asset table instead, 50 ms at 200,000
   * assets (bench/search.ts --explain).
   */
  private scoredCandidates(match: OcrMatch, candidates: readonly string[]) {
    return sql`
      SELECT d."assetId", live."fileCreatedAt", live."originalFileName", ${match.score()} AS score
      FROM unnest(${[...candidates]}::uuid[]) AS candidates("assetId")
      JOIN immich_ai.ocr_document d ON d."assetId" = candidates."assetId"
      CROSS JOIN LATERAL (
        SELECT asset."fileCreatedAt", asset."originalFileName" FROM public.asset
        WHERE asset.id = d."assetId" AND asset."deletedAt" IS NULL
          AND asset.visibility IN (${sql.join(SEARCHABLE_VISIBILITY)})
        OFFSET 0
      ) live`;
  }

  /**
   * Search statements are short and many: compiling them with JIT cost 70-150 ms a query on 1M
   * documents (bench/search.ts) and never paid back.
   */
  private async planSearch(trx: Kysely<ExtensionDatabase>): Promise<void> {
    await sql`SELECT set_config('jit', 'off', true)`.execute(trx);
  }

  /**
   * pgvector's HNSW scan returns ef_search rows before the owner filter: ask for at least as many as
   * we rank, and (pgvector 0.8+) let it keep scanning when the filter removes some.
   */
  private async tuneVectorScan(trx: Kysely<ExtensionDatabase>, candidates: number): Promise<void> {
    // Asked on the transaction's own connection: a second one could wait forever on a full pool.
    this.vectorSettings ??= sql<{
      version: string | null;
    }>`SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'`
      .execute(trx)
      .then(({ rows }) => ({ iterativeScan: versionAtLeast(rows[0]?.version ?? null, [0, 8]) }));
    const { iterativeScan } = await this.vectorSettings;
    await sql`SELECT set_config('hnsw.ef_search', ${String(Math.min(Math.max(candidates, 40), 1000))}, true)`.execute(
      trx,
    );
    if (iterativeScan) await sql`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx);
  }
}

function page(rows: RankedAsset[], size: number): SearchPage {
  return { items: rows.slice(0, size), hasNextPage: rows.length > size };
}

function versionAtLeast(version: string | null, [major, minor]: [number, number]): boolean {
  if (!version) return false;
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}
