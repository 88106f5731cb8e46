/**
 * Bulk loading: users, assets, our OCR documents, Immich's ocr_search, the seed's ocr_info and CLIP
 * embeddings, in batches, each document's columns computed as the real writers compute them:
 *
 *   immich_ai.ocr_document  the object OcrDocumentRepository.replace writes (text, lineCount, the
 *                           segmenter's documentVector, latinTerms for searchLatin), no ocr_line rows
 *                           (search never reads them); checked against replace() itself afterwards.
 *   public.ocr_search       Immich v2.4.1's OcrService: tokenizeForSearch of every line, joined by spaces.
 *   seed.ocr_info           the seed's table: the text, with a GIN index on to_tsvector('chinese', text).
 *   public.smart_search     512-d unit vectors around 256 random centres, Immich's HNSW index built after.
 */
import { performance } from 'node:perf_hooks';
import { Kysely, sql } from 'kysely';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import type { Segmenter } from '../../src/extension/search/segmenter';
import { latinTerms } from '../../src/extension/search/text-terms';
import { tokenizeForSearch } from './engines';
import { docLines, GeneratedDoc, Rng } from './generate';
import { releaseAssetColumns } from '../../test/support/immich-database';

export const DIMENSIONS = 512;
export const CLUSTERS = 256;
/** Per-dimension noise around a centre: about 0.8 in norm, so members sit at cosine ~0.6-0.8 from it. */
const SPREAD = 0.0612;
const BATCH = 4000;

export interface UserRow {
  id: string;
  email: string;
}

export async function insertUsers(db: Kysely<ExtensionDatabase>, users: readonly UserRow[]): Promise<void> {
  for (const [i, user] of users.entries()) {
    await sql`INSERT INTO "user" (id, email, name) VALUES (${user.id}, ${user.email}, ${`Bench User ${i + 1}`})`.execute(
      db,
    );
  }
}

/** The object OcrDocumentRepository.replace upserts, for one document's lines. */
export function documentRow(segmenter: Segmenter, assetId: string, texts: readonly string[]) {
  return {
    assetId,
    status: 'done' as const,
    source: 'inference' as const,
    model: 'PP-OCRv5_mobile',
    text: texts.join('\n'),
    lineCount: texts.length,
    searchVector: segmenter.documentVector(texts),
    searchLatin: [...new Set(texts.flatMap(latinTerms))].join(' '),
    segmenter: segmenter.name,
    error: null,
    attempts: 1,
    processedAt: sql<Date>`now()`,
  };
}

/** One batch of documents into the four tables, in one transaction. */
export async function insertBatch(
  db: Kysely<ExtensionDatabase>,
  segmenter: Segmenter,
  userIds: readonly string[],
  docs: readonly GeneratedDoc[],
): Promise<void> {
  const texts = docs.map(docLines);
  const release = await releaseAssetColumns(db);
  await db.transaction().execute(async (trx) => {
    await sql`
      INSERT INTO asset (id, ${release.names}, "ownerId", type, "originalPath", "fileCreatedAt", "fileModifiedAt",
        "localDateTime", checksum, "originalFileName", "deletedAt")
      SELECT t.id, ${release.values}, t.owner, 'IMAGE', '/data/upload/' || t.owner || '/IMG_' || t.n || '.jpg',
        t.created, t.created, t.created, decode(md5(t.id::text), 'hex'), 'IMG_' || t.n || '.jpg',
        CASE WHEN t.trashed THEN t.created + interval '1 day' END
      FROM unnest(${docs.map((d) => d.id)}::uuid[], ${docs.map((d) => d.index)}::int[], ${docs.map((d) => userIds[d.owner])}::uuid[],
        ${docs.map((d) => d.fileCreatedAt.toISOString())}::timestamptz[], ${docs.map((d) => d.trashed)}::bool[])
        AS t(id, n, owner, created, trashed)`.execute(trx);
    await trx
      .insertInto('immich_ai.ocr_document')
      .values(
        docs.map((doc, i) => ({
          ...documentRow(segmenter, doc.id, texts[i]),
          ownerId: userIds[doc.owner],
          fileCreatedAt: doc.fileCreatedAt,
        })),
      )
      .execute();
    // Immich v2.4.1 OcrService.parseOcrResults: the tokens of every line, joined by single spaces.
    await sql`
      INSERT INTO ocr_search ("assetId", text)
      SELECT * FROM unnest(${docs.map((d) => d.id)}::uuid[], ${texts.map((lines) => lines.flatMap(tokenizeForSearch).join(' '))}::text[])`.execute(
      trx,
    );
    await sql`
      INSERT INTO seed.ocr_info ("assetId", text)
      SELECT * FROM unnest(${docs.map((d) => d.id)}::uuid[], ${texts.map((lines) => lines.join('\n'))}::text[])`.execute(
      trx,
    );
  });
}

/** Streams `count` documents from `next` into the database, generating the next batch while one is written. */
export async function loadDocuments(
  db: Kysely<ExtensionDatabase>,
  segmenter: Segmenter,
  userIds: readonly string[],
  count: number,
  next: () => GeneratedDoc,
  progress: (done: number) => void,
): Promise<void> {
  let pending: Promise<void> = Promise.resolve();
  for (let done = 0; done < count;) {
    const batch: GeneratedDoc[] = [];
    while (batch.length < BATCH && done + batch.length < count) {
      batch.push(next());
      // Let the previous batch's statements go out while this one is generated.
      if (batch.length % 500 === 0) await new Promise(setImmediate);
    }
    await pending;
    done += batch.length;
    const written = done;
    pending = insertBatch(db, segmenter, userIds, batch).then(() => progress(written));
  }
  await pending;
}

/** Unit-length random directions, the cluster centres of the embeddings (deterministic for a seed). */
export function clusterCentres(seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: CLUSTERS }, () =>
    normalise(Array.from({ length: DIMENSIONS }, () => rng.next() * 2 - 1)),
  );
}

export function normalise(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return vector.map((x) => x / norm);
}

/** A query embedding: near centre `k`, as a text query about that cluster's pictures would be. */
export function queryEmbedding(centres: number[][], k: number, rng: Rng): number[] {
  return normalise(centres[k].map((x) => x + (rng.next() * 2 - 1) * SPREAD));
}

/** Embeddings for `assetIds` (cluster i % CLUSTERS), unit length, written into Immich's smart_search. */
export async function loadEmbeddings(
  db: Kysely<ExtensionDatabase>,
  centres: number[][],
  assetIds: readonly string[],
  progress: (done: number) => void,
): Promise<void> {
  await sql`CREATE TABLE bench.clip_centre (k int PRIMARY KEY, v vector(${sql.lit(DIMENSIONS)}) NOT NULL)`.execute(db);
  await sql`
    INSERT INTO bench.clip_centre (k, v)
    SELECT n - 1, v::vector FROM unnest(${centres.map((c) => `[${c.join(',')}]`)}::text[]) WITH ORDINALITY AS t(v, n)`.execute(
    db,
  );
  const step = 20_000;
  for (let start = 0; start < assetIds.length; start += step) {
    const ids = assetIds.slice(start, start + step);
    await sql`
      INSERT INTO smart_search ("assetId", embedding)
      SELECT t.id, l2_normalize(c.v + (
        SELECT array_agg(((random() * 2 - 1) * ${sql.lit(SPREAD)})::real)::vector
        FROM generate_series(1, ${sql.lit(DIMENSIONS)}) WHERE t.id IS NOT NULL))
      FROM unnest(${ids}::uuid[], ${ids.map((_, i) => (start + i) % CLUSTERS)}::int[]) AS t(id, k)
      JOIN bench.clip_centre c ON c.k = t.k`.execute(db);
    progress(start + ids.length);
  }
}

/**
 * Rewrites `sample` documents with OcrDocumentRepository.replace itself, inside a transaction that is
 * rolled back, and compares every column the loader wrote. Returns the number of mismatches.
 */
export async function checkAgainstRepository(
  db: Kysely<ExtensionDatabase>,
  segmenter: Segmenter,
  sample: readonly GeneratedDoc[],
): Promise<number> {
  const columns = sql`text, "lineCount", "searchVector"::text AS vector, "searchLatin", segmenter, status, source, model`;
  let mismatches = 0;
  const rollback = new Error('rollback');
  await db
    .transaction()
    .execute(async (trx) => {
      for (const doc of sample) {
        const read = async () =>
          JSON.stringify(
            (await sql`SELECT ${columns} FROM immich_ai.ocr_document WHERE "assetId" = ${doc.id}`.execute(trx)).rows,
          );
        const loaded = await read();
        const lines = docLines(doc).map((text) => ({ text, boxScore: 1, textScore: 1, box: [0, 0, 1, 0, 1, 1, 0, 1] }));
        await new OcrDocumentRepository(trx, segmenter).replace(doc.id, {
          source: 'inference',
          model: 'PP-OCRv5_mobile',
          lines,
          attempts: 1,
        });
        if ((await read()) !== loaded) mismatches++;
      }
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
  return mismatches;
}

/** Seconds since `started` (a performance.now() value). */
export const since = (started: number): number => (performance.now() - started) / 1000;
