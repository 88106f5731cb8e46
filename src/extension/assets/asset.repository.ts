import { Inject, Injectable } from '@nestjs/common';
import { ExpressionBuilder, Kysely, sql } from 'kysely';
import { DummyValue, GenerateSql } from '../database/generate-sql';
import { EXTENSION_DB } from '../database/database.tokens';
import { ExtensionDatabase, SEARCHABLE_VISIBILITY } from '../database/schema';

export type OcrScope = 'missing' | 'failed' | 'all';

/** What a job needs to know about an asset, read from Immich's own tables. */
export interface AssetForJob {
  id: string;
  ownerId: string;
  deletedAt: Date | null;
  visibility: string;
  /** The preview Immich shows: the edited one when the photo was edited in Immich v3's editor. */
  previewPath: string | null;
  /** True when previewPath is that edited preview (Immich's own OCR read the unedited one). */
  previewEdited: boolean;
  /** When Immich's own OCR job last ran on it (asset_job_status.ocrAt); null = never. */
  immichOcrAt: Date | null;
}

/**
 * Whether a job may read this asset: not deleted or trashed, and shown in the timeline or archive. The
 * hidden half of a live photo is nothing anyone searches for, and the Locked Folder is never read or
 * embedded (a photo moved there after it was read keeps its text, which no route or search shows).
 */
export function isProcessable(asset: AssetForJob | undefined): asset is AssetForJob {
  return !!asset && !asset.deletedAt && (SEARCHABLE_VISIBILITY as readonly string[]).includes(asset.visibility);
}

/** Reads of Immich's asset tables (asset, asset_file, asset_job_status, asset_ocr); never writes them. */
@Injectable()
export class AssetRepository {
  constructor(@Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>) {}

  @GenerateSql({ params: [DummyValue.UUID] })
  async getForJob(assetId: string): Promise<AssetForJob | undefined> {
    const row = await this.db
      .selectFrom('asset')
      .leftJoinLateral(shownPreview, (join) => join.onTrue())
      .leftJoin('asset_job_status', 'asset_job_status.assetId', 'asset.id')
      .select([
        'asset.id',
        'asset.ownerId',
        'asset.deletedAt',
        'asset.visibility',
        'preview.path as previewPath',
        'preview.edited as previewEdited',
        'asset_job_status.ocrAt as immichOcrAt',
      ])
      .where('asset.id', '=', assetId)
      .executeTakeFirst();
    return (
      row && {
        ...row,
        previewEdited: row.previewEdited === true,
        deletedAt: toDate(row.deletedAt),
        immichOcrAt: toDate(row.immichOcrAt),
      }
    );
  }

  /**
   * Of these ids, the ones this user owns and has not trashed, with their visibility: the ownership
   * check of every route (the Locked Folder is the caller's to open, see AssetAiService).
   */
  @GenerateSql({ params: [DummyValue.UUID, [DummyValue.UUID_2]] })
  async getOwned(userId: string, assetIds: readonly string[]): Promise<Array<{ id: string; visibility: string }>> {
    if (assetIds.length === 0) return [];
    return this.db
      .selectFrom('asset')
      .select(['asset.id', 'asset.visibility'])
      .where('asset.id', 'in', assetIds)
      .where('asset.ownerId', '=', userId)
      .where('asset.deletedAt', 'is', null)
      .execute();
  }

  /**
   * A page of assets that need OCR, in id order after `afterId` (see needingOcr for the scopes).
   */
  @GenerateSql(
    { name: 'missing', params: ['missing', null, DummyValue.NUMBER] },
    { name: 'all', params: ['all', DummyValue.UUID, DummyValue.NUMBER] },
  )
  async pageForOcr(scope: OcrScope, afterId: string | null, limit: number): Promise<string[]> {
    const rows = await this.needingOcr(scope)
      .select('asset.id')
      .$if(afterId !== null, (qb) => qb.where('asset.id', '>', afterId!))
      .orderBy('asset.id')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * The newest preview's change id (asset_file.updateId: a UUIDv7 Immich renews whenever the file
   * row changes, indexed), the far end of the new-asset poller's range.
   */
  @GenerateSql()
  async latestPreviewChange(): Promise<string | null> {
    // No max(uuid) in Postgres 15: the index, read backwards.
    const row = await this.db
      .selectFrom('asset_file')
      .select('asset_file.updateId')
      .where('asset_file.type', '=', 'preview')
      .orderBy('asset_file.updateId', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.updateId ?? null;
  }

  /**
   * Assets whose preview appeared or changed in (after, upTo] and that have no text yet, or whose
   * text was read before that change (a photo rotated or cropped in Immich v3's editor gets a new
   * preview row; a regenerated thumbnail a new file), in change order: the poller walks the index
   * from where it stopped, so a poll costs what is new, not the library.
   */
  @GenerateSql({ params: [DummyValue.UUID, DummyValue.UUID_2, DummyValue.NUMBER] })
  async pageNewForOcr(
    after: string | null,
    upTo: string,
    limit: number,
  ): Promise<Array<{ id: string; change: string }>> {
    return this.db
      .selectFrom('asset_file')
      .innerJoin('asset', 'asset.id', 'asset_file.assetId')
      .leftJoin('immich_ai.ocr_document as document', 'document.assetId', 'asset.id')
      .select(['asset.id', 'asset_file.updateId as change'])
      .where('asset_file.type', '=', 'preview')
      .$if(after !== null, (qb) => qb.where('asset_file.updateId', '>', after!))
      .where('asset_file.updateId', '<=', upTo)
      .where('asset.deletedAt', 'is', null)
      .where('asset.visibility', 'in', SEARCHABLE_VISIBILITY)
      .where((eb) =>
        eb.or([eb('document.assetId', 'is', null), eb('document.processedAt', '<', eb.ref('asset_file.updatedAt'))]),
      )
      .orderBy('asset_file.updateId')
      .limit(limit)
      .execute();
  }

  /** How many of one user's photos have not been read yet (a user's own view of the queue). */
  @GenerateSql({ params: [DummyValue.UUID] })
  async countMissingOcr(ownerId: string): Promise<number> {
    const row = await this.needingOcr('missing')
      .where('asset.ownerId', '=', ownerId)
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /**
   * Assets that need OCR: assets with a preview (images and videos alike, as Immich reads its
   * preview) that Immich shows, and
   * - `missing`: no OCR document yet, or one Immich's newer OCR should replace (source immich);
   * - `failed`: also those whose last job failed;
   * - `all`: every such asset.
   */
  private needingOcr(scope: OcrScope) {
    return this.db
      .selectFrom('asset')
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('asset_file')
            .select('asset_file.id')
            .whereRef('asset_file.assetId', '=', 'asset.id')
            .where('asset_file.type', '=', 'preview'),
        ),
      )
      .leftJoin('immich_ai.ocr_document as document', 'document.assetId', 'asset.id')
      .leftJoin('asset_job_status', 'asset_job_status.assetId', 'asset.id')
      .where('asset.deletedAt', 'is', null)
      .where('asset.visibility', 'in', SEARCHABLE_VISIBILITY)
      .$if(scope !== 'all', (qb) =>
        qb.where((eb) =>
          eb.or([
            eb('document.assetId', 'is', null),
            eb.and([
              eb('document.source', '=', 'immich'),
              eb('asset_job_status.ocrAt', '>', eb.ref('document.processedAt')),
            ]),
            ...(scope === 'failed' ? [eb('document.status', '=', 'failed')] : []),
          ]),
        ),
      );
  }

  /** Immich's own OCR of an asset (asset_ocr), in the order Immich stored it. */
  @GenerateSql({ params: [DummyValue.UUID] })
  getImmichOcr(assetId: string) {
    return this.db
      .selectFrom('asset_ocr')
      .select(['text', 'boxScore', 'textScore', 'x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4'])
      .where('assetId', '=', assetId)
      .orderBy('y1')
      .orderBy('x1')
      .execute();
  }
}

/**
 * The asset's preview as Immich shows it: on Immich v3 an edited photo has a second preview row
 * (asset_file.isEdited), which wins; v2 has one row and no such column, hence the JSON read of it.
 */
const shownPreview = (eb: ExpressionBuilder<ExtensionDatabase, 'asset'>) =>
  eb
    .selectFrom('asset_file')
    .select(['asset_file.path', sql<boolean | null>`(to_jsonb(asset_file) ->> 'isEdited')::boolean`.as('edited')])
    .whereRef('asset_file.assetId', '=', 'asset.id')
    .where('asset_file.type', '=', 'preview')
    .orderBy(sql`(to_jsonb(asset_file) ->> 'isEdited')::boolean`, (order) => order.desc().nullsLast())
    .limit(1)
    .as('preview');

const toDate = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));
