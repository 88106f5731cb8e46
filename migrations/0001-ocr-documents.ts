import { Kysely, sql } from 'kysely';

/**
 * The OCR index: one document per asset (its text, where it came from, the last job's outcome) and
 * its lines with their boxes. Both hang off Immich's asset(id) with ON DELETE CASCADE, so deleting a
 * photo in Immich removes its text with it. pg_trgm ships with Postgres and Immich creates it too.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  await sql`CREATE SCHEMA IF NOT EXISTS immich_ai`.execute(db);
  await sql`
    CREATE TABLE immich_ai.ocr_document (
      "assetId" uuid PRIMARY KEY REFERENCES public.asset (id) ON DELETE CASCADE,
      "status" text NOT NULL CHECK ("status" IN ('done', 'failed')),
      "source" text NOT NULL CHECK ("source" IN ('inference', 'immich')),
      "model" text,
      "text" text NOT NULL DEFAULT '',
      "lineCount" integer NOT NULL DEFAULT 0,
      "searchVector" tsvector NOT NULL DEFAULT ''::tsvector,
      "searchLatin" text NOT NULL DEFAULT '',
      "segmenter" text NOT NULL,
      "error" text,
      "attempts" integer NOT NULL DEFAULT 0,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now(),
      "processedAt" timestamptz
    )`.execute(db);
  // fastupdate off: with it on, new rows wait in a pending list that every search scans until a
  // vacuum merges it, and the planner, seeing that, falls back to scanning the table. One photo's
  // text is written once; it is searched many times.
  await sql`CREATE INDEX ocr_document_search_vector_idx ON immich_ai.ocr_document USING gin ("searchVector") WITH (fastupdate = off)`.execute(
    db,
  );
  await sql`CREATE INDEX ocr_document_search_latin_idx ON immich_ai.ocr_document USING gin ("searchLatin" gin_trgm_ops) WITH (fastupdate = off)`.execute(
    db,
  );
  // Small: only failures, which the queue status lists newest first.
  await sql`CREATE INDEX ocr_document_failed_idx ON immich_ai.ocr_document ("updatedAt" DESC) WHERE "status" = 'failed'`.execute(
    db,
  );
  await sql`
    CREATE TABLE immich_ai.ocr_line (
      "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      "assetId" uuid NOT NULL REFERENCES immich_ai.ocr_document ("assetId") ON DELETE CASCADE,
      "lineNo" integer NOT NULL,
      "text" text NOT NULL,
      "boxScore" real NOT NULL,
      "textScore" real NOT NULL,
      "x1" real NOT NULL, "y1" real NOT NULL,
      "x2" real NOT NULL, "y2" real NOT NULL,
      "x3" real NOT NULL, "y3" real NOT NULL,
      "x4" real NOT NULL, "y4" real NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX ocr_line_asset_idx ON immich_ai.ocr_line ("assetId", "lineNo")`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE immich_ai.ocr_line`.execute(db);
  await sql`DROP TABLE immich_ai.ocr_document`.execute(db);
}
