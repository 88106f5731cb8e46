import { Kysely, sql } from 'kysely';

/**
 * The owner and date of each document's asset, kept on the document so a search can pick its
 * candidates (this user's newest matches) from one index instead of scoring every match of every
 * user first. Assets never change owner in Immich; the date is refreshed whenever the text is.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE immich_ai.ocr_document ADD COLUMN "ownerId" uuid, ADD COLUMN "fileCreatedAt" timestamptz`.execute(
    db,
  );
  await sql`
    UPDATE immich_ai.ocr_document d SET "ownerId" = a."ownerId", "fileCreatedAt" = a."fileCreatedAt"
    FROM public.asset a WHERE a.id = d."assetId"`.execute(db);
  await sql`CREATE INDEX ocr_document_owner_date_idx ON immich_ai.ocr_document ("ownerId", "fileCreatedAt" DESC)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX immich_ai.ocr_document_owner_date_idx`.execute(db);
  await sql`ALTER TABLE immich_ai.ocr_document DROP COLUMN "ownerId", DROP COLUMN "fileCreatedAt"`.execute(db);
}
