import { Kysely, sql } from 'kysely';

/**
 * Search keys: each document's owner, year and month as lexemes of a generated tsvector
 * ('o<owner uuid>', 'y2024', 'm202405'; UTC), and both text indexes become two-column GIN indexes
 * with the keys as their second column. A search for one user's matches in a date range then
 * intersects posting lists inside the index, and reads from the table only the rows it returns,
 * instead of every matching row of every user to learn whose it is and when (at 1M documents that
 * row reading was most of a rare term's cost; bench/search.ts --explain). Generated, so every writer
 * keeps it in step with "ownerId" and "fileCreatedAt" without knowing it exists.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Dropped before the column is added: adding a stored column rewrites the table and rebuilds
  // every index on it, so these would be built twice.
  await sql`DROP INDEX immich_ai.ocr_document_search_vector_idx`.execute(db);
  await sql`DROP INDEX immich_ai.ocr_document_search_latin_idx`.execute(db);
  await sql`
    ALTER TABLE immich_ai.ocr_document ADD COLUMN "searchKeys" tsvector GENERATED ALWAYS AS (
      array_to_tsvector(array_remove(ARRAY[
        'o' || "ownerId"::text,
        'y' || extract(year FROM "fileCreatedAt" AT TIME ZONE 'UTC')::int::text,
        'm' || (extract(year FROM "fileCreatedAt" AT TIME ZONE 'UTC') * 100
          + extract(month FROM "fileCreatedAt" AT TIME ZONE 'UTC'))::int::text
      ], NULL))
    ) STORED`.execute(db);
  await sql`
    CREATE INDEX ocr_document_search_vector_idx ON immich_ai.ocr_document
    USING gin ("searchVector", "searchKeys") WITH (fastupdate = off)`.execute(db);
  await sql`
    CREATE INDEX ocr_document_search_latin_idx ON immich_ai.ocr_document
    USING gin ("searchLatin" gin_trgm_ops, "searchKeys") WITH (fastupdate = off)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX immich_ai.ocr_document_search_vector_idx`.execute(db);
  await sql`DROP INDEX immich_ai.ocr_document_search_latin_idx`.execute(db);
  await sql`ALTER TABLE immich_ai.ocr_document DROP COLUMN "searchKeys"`.execute(db);
  await sql`CREATE INDEX ocr_document_search_vector_idx ON immich_ai.ocr_document USING gin ("searchVector") WITH (fastupdate = off)`.execute(
    db,
  );
  await sql`CREATE INDEX ocr_document_search_latin_idx ON immich_ai.ocr_document USING gin ("searchLatin" gin_trgm_ops) WITH (fastupdate = off)`.execute(
    db,
  );
}
