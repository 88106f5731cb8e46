import { Kysely, sql } from 'kysely';

/**
 * The partial index over failed documents served one query that nothing but a test called: the
 * queue status lists failures from BullMQ, not from this table. An index nobody reads still costs
 * a write on every status change.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS immich_ai.ocr_document_failed_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX ocr_document_failed_idx ON immich_ai.ocr_document ("updatedAt" DESC) WHERE "status" = 'failed'`.execute(
    db,
  );
}
