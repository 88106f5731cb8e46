import { Kysely, sql } from 'kysely';

/**
 * The two text indexes become one GIN index over the three search columns: the characters and words
 * ("searchVector"), the letter/digit runs' trigrams ("searchLatin") and the search keys. A query with
 * both kinds of term ("营业时间 Entry") is then one index scan that intersects all of its posting
 * lists before a row is read. With two indexes the planner, which guesses a phrase's matches badly
 * (10 rows for 1,842), scanned one and tested the other term on every row it returned: at 1M
 * documents such queries read 4,800 table pages for 278 matches, p95 53-55 ms against 29-31 with one
 * index (bench/search.ts, runs alternating). GIN keeps each column's keys apart, so a query on one
 * column reads what it read before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX ocr_document_search_idx ON immich_ai.ocr_document
    USING gin ("searchVector", "searchLatin" gin_trgm_ops, "searchKeys") WITH (fastupdate = off)`.execute(db);
  await sql`DROP INDEX immich_ai.ocr_document_search_vector_idx`.execute(db);
  await sql`DROP INDEX immich_ai.ocr_document_search_latin_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX ocr_document_search_vector_idx ON immich_ai.ocr_document
    USING gin ("searchVector", "searchKeys") WITH (fastupdate = off)`.execute(db);
  await sql`
    CREATE INDEX ocr_document_search_latin_idx ON immich_ai.ocr_document
    USING gin ("searchLatin" gin_trgm_ops, "searchKeys") WITH (fastupdate = off)`.execute(db);
  await sql`DROP INDEX immich_ai.ocr_document_search_idx`.execute(db);
}
