import { CompiledQuery, Kysely, sql } from 'kysely';
import { Pool } from 'pg';
import { migrateToLatest } from '../../src/extension/database/migrator';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { DocumentRange, isoDate } from '../../src/extension/search/candidate-selection';
import { parseQuery } from '../../src/extension/search/query-parser';
import { SearchRepository } from '../../src/extension/search/search.repository';
import { JiebaSegmenter, ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { capturingDatabase } from '../support/captured-queries';
import { createTestDatabase, releaseAssetColumns, seedAsset, seedUser, TestDatabase } from '../support/immich-database';

/** The one GIN index over the search columns (migrations/0004). */
const SEARCH_INDEX = 'ocr_document_search_idx';

/**
 * Every index we create is used by the queries that need it: the real SQL of each repository method,
 * captured as it runs, is EXPLAINed on a library of 20,000 analysed documents where the searched
 * text is rare, as in real libraries. A query whose expression drifts from its index fails here.
 */

describe('index usage', () => {
  let database: TestDatabase;
  let pool: Pool;
  let captured: CompiledQuery[];
  let db: Kysely<ExtensionDatabase>;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase('explain');
    await migrateToLatest(database.db);
    userId = (await seedUser(database.db)).id;
    // Filler: 20,000 assets whose text matches none of the queries below, written in bulk.
    const release = await releaseAssetColumns(database.db);
    await sql`
      WITH a AS (
        INSERT INTO asset (id, ${release.names}, "ownerId", type, "originalPath", "fileCreatedAt", "fileModifiedAt",
          "localDateTime", checksum, "originalFileName")
        SELECT gen_random_uuid(), ${release.values}, ${userId}, 'IMAGE', '/data/f' || i, now(), now(), now(),
          decode(md5(i::text), 'hex'), 'f' || i
        FROM generate_series(1, 20000) i
        RETURNING id, "originalFileName"
      )
      INSERT INTO immich_ai.ocr_document ("assetId", "ownerId", "fileCreatedAt", status, source, text, "lineCount", "searchVector", "searchLatin", segmenter)
      SELECT id, ${userId}, now() - (random() * interval '3000 days'), 'done', 'inference', '公园 park ' || "originalFileName",  1,
        setweight(to_tsvector('chinese', '公园 park ' || "originalFileName"), 'A') || '''公'' ''园'''::tsvector,
        'park ' || "originalFileName", 'zhparser'
      FROM a`.execute(database.db);
    await sql`
      INSERT INTO immich_ai.ocr_line ("assetId", "lineNo", text, "boxScore", "textScore", x1, y1, x2, y2, x3, y3, x4, y4)
      SELECT "assetId", 0, text, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1 FROM immich_ai.ocr_document`.execute(database.db);
    await sql`
      INSERT INTO smart_search ("assetId", embedding)
      SELECT "assetId", (SELECT array_agg(random()::real) FROM generate_series(1, 512) WHERE d."assetId" IS NOT NULL)::vector
      FROM immich_ai.ocr_document d LIMIT 2000`.execute(database.db);
    const documents = new OcrDocumentRepository(database.db, new ZhparserSegmenter());
    for (let i = 0; i < 20; i++) {
      const assetId = await seedAsset(database.db, { ownerId: userId });
      await documents.replace(assetId, {
        source: 'inference',
        model: 'test',
        attempts: 1,
        lines: [{ text: `增值税发票 订单 2024050${i}123`, boxScore: 1, textScore: 1, box: [0, 0, 1, 0, 1, 1, 0, 1] }],
      });
      if (i % 5 === 0) await documents.recordFailure(assetId, 'inference', 'down', 3);
    }
    await sql`ANALYZE`.execute(database.db);
    pool = new Pool({ connectionString: database.url, max: 1 });
    ({ db, captured } = capturingDatabase(database.url));
  });

  afterAll(async () => {
    await db?.destroy();
    await pool?.end();
    await database?.drop();
  });

  /** The plan of the last captured statement that is not a set_config/version probe. */
  async function planOf(run: () => Promise<unknown>, { discourageSeqScan = false } = {}): Promise<string> {
    captured.length = 0;
    await run();
    const query = captured.filter((q) => !/set_config|pg_extension|^begin|^commit/i.test(q.sql.trim())).pop()!;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      if (discourageSeqScan) await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${query.sql}`, [
        ...query.parameters,
      ]);
      return JSON.stringify(rows[0]['QUERY PLAN']);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  /** Every node of a plan (FORMAT JSON). */
  function planNodes(plan: string): Record<string, unknown>[] {
    const nodes: Record<string, unknown>[] = [];
    const visit = (node: Record<string, unknown>) => {
      nodes.push(node);
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
    };
    for (const root of JSON.parse(plan) as { Plan: Record<string, unknown> }[]) visit(root.Plan);
    return nodes;
  }

  /** The index conditions of every scan of `index` in a plan. */
  const indexConds = (plan: string, index: string): string[] =>
    planNodes(plan)
      .filter((node) => node['Index Name'] === index)
      .map((node) => String(node['Index Cond']));

  /** The node types of every scan of `relation` in a plan. */
  const scansOf = (plan: string, relation: string): string[] =>
    planNodes(plan)
      .filter((node) => node['Relation Name'] === relation)
      .map((node) => String(node['Node Type']));

  /** The node types of every sort in a plan whose key names `column`. */
  const sortsOn = (plan: string, column: string): string[] =>
    planNodes(plan)
      .filter((node) => ((node['Sort Key'] as string[] | undefined) ?? []).some((key) => key.includes(column)))
      .map((node) => String(node['Node Type']));

  const range = (method: 'walk' | 'index'): DocumentRange => ({
    from: isoDate(Date.now() - 400 * 86_400_000),
    before: method === 'index' ? { date: isoDate(Date.now() - 10 * 86_400_000) } : null,
  });

  it.each([
    ['zhparser', new ZhparserSegmenter()],
    ['jieba', new JiebaSegmenter()],
  ])('the indexed stage of word and character search uses the search index (%s)', async (_name, segmenter) => {
    const search = new SearchRepository(db, segmenter);
    for (const words of [false, true]) {
      const plan = await planOf(() =>
        search.indexMatches(parseQuery('ocr:发票 税'), [userId], range('index'), [
          { pool: words ? 'words' : 'all', limit: 200 },
        ]),
      );
      // The owner and the range's months are asked of the index itself (its search-keys column), so
      // no other user's match and no match outside the range is read from the table.
      const conds = indexConds(plan, SEARCH_INDEX);
      expect(conds.length).toBeGreaterThan(0);
      for (const cond of conds) expect(cond).toMatch(/"searchKeys" @@ '.*'o[0-9a-f-]{36}'.*'m\d{6}'/);
    }
  });

  it('one index pass serves both candidate pools through the search index', async () => {
    const search = new SearchRepository(db, new ZhparserSegmenter());
    const plan = await planOf(() =>
      search.indexMatches(parseQuery('ocr:发票 税'), [userId], range('index'), [
        { pool: 'all', limit: 150 },
        { pool: 'words', limit: 190 },
      ]),
    );
    expect(plan).toContain(SEARCH_INDEX);
    // One statement, whose CTE reads the documents once for both pools.
    expect(captured.filter((q) => !/set_config|pg_extension|^begin|^commit/i.test(q.sql.trim()))).toHaveLength(1);
    expect(plan.match(/"Relation Name":"ocr_document"/g)).toHaveLength(1);
  });

  it("the walk stage reads the user's newest documents from the (owner, date) index", async () => {
    const search = new SearchRepository(db, new ZhparserSegmenter());
    const plan = await planOf(
      () => search.walkMatches(parseQuery('ocr:公园'), [userId], range('walk'), { pool: 'all', limit: 200 }),
      { discourageSeqScan: true },
    );
    expect(plan).toContain('ocr_document_owner_date_idx');
    expect(plan).not.toContain(SEARCH_INDEX);
    // From a page's keyset bound on: the bound's date starts the index scan, its id splits that date.
    const bound = { date: isoDate(Date.now() - 100 * 86_400_000), assetId: '00000000-0000-4000-a000-000000000000' };
    const deeper = await planOf(
      () =>
        search.walkMatches(
          parseQuery('ocr:公园'),
          [userId],
          { from: isoDate(Date.now() - 400 * 86_400_000), before: bound },
          { pool: 'all', limit: 200 },
        ),
      { discourageSeqScan: true },
    );
    expect(indexConds(deeper, 'ocr_document_owner_date_idx')).toEqual([
      expect.stringMatching(/"ownerId" = .* AND \("fileCreatedAt" <= /),
    ]);
    // Only documents of one date are sorted by id: the walk still streams in date order.
    expect(sortsOn(deeper, 'assetId')).toEqual(['Incremental Sort']);
  });

  it('digit/letter substring search asks the index for trigrams; a letter+digit run for its terms too', async () => {
    const search = new SearchRepository(db, new ZhparserSegmenter());
    // One run, one term: the trigrams alone decide (a prefix on the tsvector would cost more).
    const digits = indexConds(
      await planOf(() =>
        search.indexMatches(parseQuery('ocr:0506123'), [userId], range('index'), [{ pool: 'all', limit: 200 }]),
      ),
      SEARCH_INDEX,
    );
    expect(digits.length).toBeGreaterThan(0);
    for (const cond of digits) {
      expect(cond).toContain('"searchLatin" ~~');
      expect(cond).not.toContain('"searchVector" @@');
    }
    // Letters then digits: also its terms in order, for a plate OCR read with a separator inside.
    const plate = indexConds(
      await planOf(() =>
        search.indexMatches(parseQuery('ocr:b0506123'), [userId], range('index'), [{ pool: 'all', limit: 200 }]),
      ),
      SEARCH_INDEX,
    ).join('\n');
    expect(plate).toContain('"searchLatin" ~~');
    expect(plate).toContain('"searchVector" @@');
    for (const cond of plate.split('\n')) expect(cond).toContain('"searchKeys" @@');
  });

  it('a query with Chinese and Latin terms asks the one index for both, not the table for one', async () => {
    // With an index per column the planner scanned one and tested the other term on each row it
    // read (at 1M documents, 4,800 table pages for 278 matches of "营业时间 Entry").
    const search = new SearchRepository(db, new ZhparserSegmenter());
    const plan = await planOf(() =>
      search.indexMatches(parseQuery('ocr:营业时间 entry'), [userId], range('index'), [{ pool: 'all', limit: 200 }]),
    );
    const conds = indexConds(plan, SEARCH_INDEX);
    expect(conds).toHaveLength(1);
    expect(conds[0]).toContain('"searchVector" @@');
    expect(conds[0]).toContain('"searchLatin" ~~');
    expect(conds[0]).toContain('"searchKeys" @@');
  });

  it('mixed ranking uses Immich’s CLIP index (HNSW); OCR matches are scored by primary key', async () => {
    const search = new SearchRepository(db, new ZhparserSegmenter());
    const embedding = Array.from({ length: 512 }, (_, i) => (i === 0 ? 1 : 0));
    const plan = await planOf(() =>
      search.searchMixed(
        parseQuery('发票'),
        embedding,
        { userIds: [userId], page: 1, size: 20 },
        { weightOcr: 1, weightClip: 1, rrfK: 60, candidates: 100 },
      ),
    );
    expect(plan).toContain('clip_index');
    const { rows } = await sql<{ id: string }>`
      SELECT "assetId" AS id FROM immich_ai.ocr_document WHERE "ownerId" = ${userId} LIMIT 200`.execute(database.db);
    const scoring = await planOf(() =>
      search.scoreMatches(
        parseQuery('ocr:发票'),
        [userId],
        rows.map((row) => row.id),
      ),
    );
    expect(scoring).toContain('ocr_document_pkey');
    // Immich's asset row, probed by id for each match (which of Immich's indexes on id it picks may vary).
    expect(scansOf(scoring, 'asset')).toEqual([expect.stringMatching(/^Index (Only )?Scan$/)]);
  });

  it("an asset's lines come from the line index, its document from the primary key", async () => {
    const documents = new OcrDocumentRepository(db, new ZhparserSegmenter());
    expect(await planOf(() => documents.getLines(['00000000-0000-4000-a000-000000000000']))).toContain(
      'ocr_line_asset_idx',
    );
    expect(await planOf(() => documents.getDocument('00000000-0000-4000-a000-000000000000'))).toContain(
      'ocr_document_pkey',
    );
  });
});
