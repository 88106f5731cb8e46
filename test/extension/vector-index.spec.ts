import { CompiledQuery, Kysely, sql } from 'kysely';
import { migrateToLatest } from '../../src/extension/database/migrator';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { generateSqlFiles } from '../../src/extension/sql/generate-sql-files';
import { parseQuery } from '../../src/extension/search/query-parser';
import { SearchRepository } from '../../src/extension/search/search.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { describeVectorIndex, VectorIndex, vectorScanSettings } from '../../src/extension/search/vector-index';
import { capturingDatabase } from '../support/captured-queries';
import { createTestDatabase, seedAsset, seedUser, TestDatabase } from '../support/immich-database';

/**
 * Mixed ranking on the vector extension Immich's database really runs. VectorChord cannot be built
 * on our machines, so its side is asserted on the SQL: what the index definition Immich creates
 * tells us, and the statements a mixed search sends for it, against those for pgvector's HNSW (which
 * runs here for real).
 */

/**
 * clip_index as pg_indexes shows it once Immich (server/src/utils/database.ts, vectorIndexQuery, the
 * same in v2.4.1 and v3.1.0) built it with VectorChord for `lists` lists.
 */
const vchordrqDefinition = (lists: string) =>
  `CREATE INDEX clip_index ON public.smart_search USING vchordrq (embedding vector_cosine_ops) WITH (options='
        residual_quantization = false
        [build.internal]
        lists = [${lists}]
        spherical_centroids = true
        build_threads = 4
        sampling_factor = 1024
        ')`;
const HNSW =
  "CREATE INDEX clip_index ON public.smart_search USING hnsw (embedding vector_cosine_ops) WITH (ef_construction='300', m='16')";

describe('the vector index behind mixed ranking', () => {
  it("tunes VectorChord as Immich does: vchordrq.probes = ceil(lists / 8), from the index's own lists", () => {
    // Immich's list counts: 1 below 128,000 embeddings, then a power of two per thousand rows.
    expect(describeVectorIndex(vchordrqDefinition('1'), '0.8.0')).toEqual({ extension: 'vectorchord', probes: '1' });
    expect(describeVectorIndex(vchordrqDefinition('256'), '0.8.0')).toEqual({ extension: 'vectorchord', probes: '32' });
    expect(describeVectorIndex(vchordrqDefinition('1000'), '0.8.0')).toEqual({
      extension: 'vectorchord',
      probes: '125',
    });
    // An index built without lists takes no probes at all.
    expect(describeVectorIndex(vchordrqDefinition(''), null)).toEqual({ extension: 'vectorchord', probes: '' });
    expect(vectorScanSettings({ extension: 'vectorchord', probes: '125' }, 200)).toEqual([['vchordrq.probes', '125']]);
  });

  it('tunes pgvector HNSW for the candidates ranked, and nothing for pgvecto.rs or no index', () => {
    expect(describeVectorIndex(HNSW, '0.8.6')).toEqual({ extension: 'pgvector', iterativeScan: true });
    expect(describeVectorIndex(HNSW, '0.7.4')).toEqual({ extension: 'pgvector', iterativeScan: false });
    expect(vectorScanSettings({ extension: 'pgvector', iterativeScan: true }, 200)).toEqual([
      ['hnsw.ef_search', '200'],
      ['hnsw.iterative_scan', 'relaxed_order'],
    ]);
    const vectors = 'CREATE INDEX clip_index ON public.smart_search USING vectors (embedding vectors.vector_cos_ops)';
    expect(vectorScanSettings(describeVectorIndex(vectors, null), 200)).toEqual([]);
    expect(vectorScanSettings(describeVectorIndex(null, '0.8.6'), 200)).toEqual([]);
  });

  it('writes the statements of each extension into the generated SQL', async () => {
    const generated = (await generateSqlFiles()).get('search.repository.sql')!;
    const section = (name: string) =>
      generated.split(`-- SearchRepository.tuneVectorScan (${name})`)[1].split('\n-- ')[0];
    expect(section('VectorChord')).toContain("set_config('vchordrq.probes', $1, true)");
    expect(section('VectorChord')).not.toContain('hnsw');
    expect(section('pgvector')).toContain("set_config('hnsw.ef_search', $1, true)");
    expect(section('pgvector')).not.toContain('vchordrq');
  });

  describe('the statements a mixed search sends', () => {
    let database: TestDatabase;
    let db: Kysely<ExtensionDatabase>;
    let captured: CompiledQuery[] = [];
    let userId: string;

    /** The repository as it runs on a database whose clip_index is VectorChord's. */
    class OnVectorChord extends SearchRepository {
      protected override detectVectorIndex(): Promise<VectorIndex> {
        return Promise.resolve(describeVectorIndex(vchordrqDefinition('1000'), '0.8.0'));
      }
    }

    beforeAll(async () => {
      database = await createTestDatabase('vector_index');
      await migrateToLatest(database.db);
      userId = (await seedUser(database.db)).id;
      for (let i = 0; i < 20; i++) {
        const assetId = await seedAsset(database.db, { ownerId: userId });
        const embedding = `[${Array.from({ length: 512 }, (_, k) => (k === i ? 1 : 0)).join(',')}]`;
        await sql`INSERT INTO smart_search ("assetId", embedding) VALUES (${assetId}, ${embedding}::vector)`.execute(
          database.db,
        );
      }
      ({ db, captured } = capturingDatabase(database.url));
    });

    afterAll(async () => {
      await db?.destroy();
      await database?.drop();
    });

    const run = async (repository: SearchRepository) => {
      captured.length = 0;
      const embedding = Array.from({ length: 512 }, (_, k) => (k === 3 ? 1 : 0));
      const { items } = await repository.searchMixed(
        parseQuery('发票'),
        embedding,
        { userIds: [userId], page: 1, size: 5 },
        { weightOcr: 1, weightClip: 1, rrfK: 60, candidates: 100 },
      );
      const settings = captured
        .filter((query) => query.sql.includes('set_config') && !query.sql.includes("'jit'"))
        .map((query) => ({ sql: query.sql, parameters: query.parameters }));
      const knn = captured.find((query) => query.sql.includes('<=>'))!;
      return { items, settings, knn: knn.sql };
    };

    it('sets vchordrq.probes, and no HNSW setting, where the index is VectorChord’s', async () => {
      const { settings, knn, items } = await run(new OnVectorChord(db, new ZhparserSegmenter()));
      expect(settings).toEqual([{ sql: "SELECT set_config('vchordrq.probes', $1, true)", parameters: ['125'] }]);
      expect(items).toHaveLength(5);
      // The same kNN statement: VectorChord serves `ORDER BY embedding <=> $vector LIMIT n` from its index.
      const pgvector = await run(new SearchRepository(db, new ZhparserSegmenter()));
      expect(knn).toBe(pgvector.knn);
      expect(knn).toMatch(/ORDER BY distance\s+LIMIT/);
    });

    it('raises hnsw.ef_search (and iterative scans) where the index is pgvector’s HNSW', async () => {
      const { settings, items } = await run(new SearchRepository(db, new ZhparserSegmenter()));
      expect(settings).toEqual([
        {
          sql: "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)",
          parameters: ['100', 'relaxed_order'],
        },
      ]);
      expect(items[0].clipRank).toBe(1);
    });
  });
});
