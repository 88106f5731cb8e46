import { Inject, Injectable } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { DummyValue, GenerateSql } from '../database/generate-sql';
import { EXTENSION_DB } from '../database/database.tokens';
import { ExtensionDatabase } from '../database/schema';

/** Immich's smart_search table: the one table of Immich's we write (CLIP regenerate). */
@Injectable()
export class SmartSearchRepository {
  constructor(@Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>) {}

  /** The dimension of smart_search.embedding (vector(N)), as Immich's migrations set it for its model. */
  @GenerateSql({ params: [] })
  async embeddingDimension(): Promise<number | null> {
    const { rows } = await sql<{ dimension: number | null }>`
      SELECT nullif(a.atttypmod, -1) AS dimension
      FROM pg_attribute a
      WHERE a.attrelid = 'public.smart_search'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped`.execute(
      this.db,
    );
    return rows[0]?.dimension ?? null;
  }

  @GenerateSql({ params: [DummyValue.UUID, [0.1, 0.2, 0.3]] })
  async upsert(assetId: string, embedding: readonly number[]): Promise<void> {
    const vector = `[${embedding.join(',')}]`;
    await this.db
      .insertInto('smart_search')
      .values({ assetId, embedding: vector })
      .onConflict((oc) => oc.column('assetId').doUpdateSet({ embedding: vector }))
      .execute();
  }
}
