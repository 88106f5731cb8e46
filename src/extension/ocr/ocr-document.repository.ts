import { Inject, Injectable } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { DummyValue, GenerateSql } from '../database/generate-sql';
import { EXTENSION_DB, SEGMENTER } from '../database/database.tokens';
import { ExtensionDatabase, OcrDocumentStatus, OcrSource } from '../database/schema';
import { latinTerms } from '../search/text-terms';
import type { Segmenter } from '../search/segmenter';

/** One line of OCR as stored: text, scores, and its four corners normalised to 0..1 of the preview. */
export interface OcrLineInput {
  text: string;
  boxScore: number;
  textScore: number;
  /** x1, y1, ..., x4, y4: top-left, top-right, bottom-right, bottom-left. */
  box: readonly number[];
}

export interface OcrDocumentInput {
  source: OcrSource;
  model: string | null;
  lines: readonly OcrLineInput[];
  attempts: number;
}

export interface OcrLineRow {
  assetId: string;
  lineNo: number;
  text: string;
  boxScore: number;
  textScore: number;
  box: number[];
}

/** The asset's owner and date, read in the same statement that writes the document. */
const assetScope = (assetId: string) => ({
  ownerId: sql<string>`(SELECT "ownerId" FROM public.asset WHERE id = ${assetId})`,
  fileCreatedAt: sql<Date>`(SELECT "fileCreatedAt" FROM public.asset WHERE id = ${assetId})`,
});

const exampleLine: OcrLineInput = {
  text: DummyValue.STRING,
  boxScore: 0.9,
  textScore: 0.95,
  box: [0, 0, 1, 0, 1, 1, 0, 1],
};

/** Every query on our OCR tables (immich_ai.ocr_document, immich_ai.ocr_line). */
@Injectable()
export class OcrDocumentRepository {
  constructor(
    @Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>,
    @Inject(SEGMENTER) private readonly segmenter: Segmenter,
  ) {}

  /**
   * Replaces an asset's text and lines in one statement (upsert the document, delete the old lines,
   * insert the new ones), so no reader ever sees half of an update. Fails with a foreign-key error
   * when the asset was deleted meanwhile; nothing is written then.
   */
  @GenerateSql({
    params: [DummyValue.UUID, { source: 'inference', model: 'PP-OCRv5_mobile', lines: [exampleLine], attempts: 1 }],
  })
  async replace(assetId: string, input: OcrDocumentInput): Promise<void> {
    const texts = input.lines.map((line) => line.text);
    const document = {
      ...assetScope(assetId),
      status: 'done' as const,
      source: input.source,
      model: input.model,
      text: texts.join('\n'),
      lineCount: input.lines.length,
      searchVector: this.segmenter.documentVector(texts),
      searchLatin: [...new Set(texts.flatMap(latinTerms))].join(' '),
      segmenter: this.segmenter.name,
      error: null,
      attempts: input.attempts,
    };
    const query = this.db
      .with('document', (db) =>
        db
          .insertInto('immich_ai.ocr_document')
          .values({ assetId, ...document, processedAt: sql`now()` })
          .onConflict((oc) =>
            oc.column('assetId').doUpdateSet({ ...document, processedAt: sql`now()`, updatedAt: sql`now()` }),
          )
          .returning('assetId'),
      )
      .with('old_lines', (db) => db.deleteFrom('immich_ai.ocr_line').where('assetId', '=', assetId));
    if (input.lines.length === 0) {
      await query.selectNoFrom(sql<number>`1`.as('done')).execute();
      return;
    }
    await query
      .insertInto('immich_ai.ocr_line')
      .values(
        input.lines.map((line, lineNo) => ({
          assetId,
          lineNo,
          text: line.text,
          boxScore: line.boxScore,
          textScore: line.textScore,
          x1: line.box[0],
          y1: line.box[1],
          x2: line.box[2],
          y2: line.box[3],
          x3: line.box[4],
          y3: line.box[5],
          x4: line.box[6],
          y4: line.box[7],
        })),
      )
      .execute();
  }

  /**
   * Records a job's final failure. Text and lines from an earlier success are kept (still searchable);
   * an asset without a document gets one that only carries the error.
   */
  @GenerateSql({ params: [DummyValue.UUID, 'inference', 'inference service unreachable', 3] })
  async recordFailure(assetId: string, source: OcrSource, error: string, attempts: number): Promise<void> {
    await this.db
      .insertInto('immich_ai.ocr_document')
      .values({
        assetId,
        ...assetScope(assetId),
        status: 'failed',
        source,
        error,
        attempts,
        segmenter: this.segmenter.name,
      })
      .onConflict((oc) =>
        oc.column('assetId').doUpdateSet({ status: 'failed', error, attempts, updatedAt: sql`now()` }),
      )
      .execute();
  }

  @GenerateSql({ params: [DummyValue.UUID] })
  getDocument(assetId: string) {
    return this.db
      .selectFrom('immich_ai.ocr_document')
      .select([
        'assetId',
        'status',
        'source',
        'model',
        'text',
        'lineCount',
        'segmenter',
        'error',
        'attempts',
        'createdAt',
        'updatedAt',
        'processedAt',
      ])
      .where('assetId', '=', assetId)
      .executeTakeFirst();
  }

  /** Lines of several assets, in reading order. */
  @GenerateSql({ params: [[DummyValue.UUID, DummyValue.UUID_2]] })
  async getLines(assetIds: readonly string[]): Promise<OcrLineRow[]> {
    if (assetIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('immich_ai.ocr_line')
      .select(['assetId', 'lineNo', 'text', 'boxScore', 'textScore', 'x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4'])
      .where('assetId', 'in', assetIds)
      .orderBy('assetId')
      .orderBy('lineNo')
      .execute();
    return rows.map(({ x1, y1, x2, y2, x3, y3, x4, y4, ...line }) => ({
      ...line,
      box: [x1, y1, x2, y2, x3, y3, x4, y4],
    }));
  }

  /** Documents per status (done / failed), of one owner's assets or of all. */
  @GenerateSql({ name: 'all', params: [] }, { name: 'owner', params: [DummyValue.UUID] })
  async countByStatus(ownerId?: string): Promise<Record<OcrDocumentStatus, number>> {
    const rows = await this.db
      .selectFrom('immich_ai.ocr_document as d')
      .$if(ownerId !== undefined, (qb) =>
        qb.innerJoin('asset', 'asset.id', 'd.assetId').where('asset.ownerId', '=', ownerId!),
      )
      .select(['d.status', sql<number>`count(*)::int`.as('count')])
      .groupBy('d.status')
      .execute();
    const counts: Record<OcrDocumentStatus, number> = { done: 0, failed: 0 };
    for (const row of rows) counts[row.status] = row.count;
    return counts;
  }

  /** Documents whose search vector another segmenter built (the database gained or lost zhparser). */
  @GenerateSql({ params: ['zhparser', DummyValue.NUMBER] })
  listForReindex(segmenter: string, limit: number) {
    return this.db
      .selectFrom('immich_ai.ocr_document')
      .select('assetId')
      .where('segmenter', '!=', segmenter)
      .limit(limit)
      .execute();
  }

  /** Rebuilds one document's search columns from its stored lines with the current segmenter. */
  @GenerateSql({ params: [DummyValue.UUID, [DummyValue.STRING]] })
  async reindex(assetId: string, texts: readonly string[]): Promise<void> {
    await this.db
      .updateTable('immich_ai.ocr_document')
      .set({
        searchVector: this.segmenter.documentVector(texts),
        searchLatin: [...new Set(texts.flatMap(latinTerms))].join(' '),
        segmenter: this.segmenter.name,
      })
      .where('assetId', '=', assetId)
      .execute();
  }
}
