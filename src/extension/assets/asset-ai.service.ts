import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { AuthContext } from '../auth/auth.types';
import { OcrDocumentRepository } from '../ocr/ocr-document.repository';
import { QueueService } from '../queue/queue.service';
import { AssetRepository } from './asset.repository';
import { MediaFileError, MediaRepository, PreviewFile } from './media.repository';

/** The Locked Folder's visibility: only a session whose PIN was entered sees these (Immich's rule). */
export const LOCKED = 'locked';

/**
 * Per-asset AI data: its OCR, and regenerating OCR or CLIP. Only the caller's own non-trashed
 * assets, and photos in the Locked Folder only for a session with an unlocked PIN, as Immich's
 * checkOwnerAccess does (API keys never unlock it).
 */
@Injectable()
export class AssetAiService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly documents: OcrDocumentRepository,
    private readonly queue: QueueService,
    private readonly media: MediaRepository,
  ) {}

  /** The preview Immich made of one of the caller's assets, opened, for the search page's thumbnails. */
  async getPreview(auth: AuthContext, assetId: string): Promise<PreviewFile> {
    const [id] = await this.requireAccess(auth, [assetId]);
    const asset = await this.assets.getForJob(id);
    if (!asset?.previewPath) throw new NotFoundException('This asset has no preview yet');
    try {
      return await this.media.openPreview(asset.previewPath);
    } catch (error) {
      if (error instanceof MediaFileError) throw new NotFoundException('The preview cannot be served');
      throw error;
    }
  }

  async getOcr(auth: AuthContext, assetId: string) {
    const [id] = await this.requireAccess(auth, [assetId]);
    const [document, lines] = await Promise.all([this.documents.getDocument(id), this.documents.getLines([id])]);
    return {
      assetId: id,
      status: document?.status ?? 'missing',
      source: document?.source ?? null,
      model: document?.model ?? null,
      error: document?.error ?? null,
      attempts: document?.attempts ?? 0,
      processedAt: document?.processedAt ?? null,
      updatedAt: document?.updatedAt ?? null,
      text: document?.text ?? '',
      lines: lines.map(({ assetId: _, ...line }) => line),
    };
  }

  async regenerate(auth: AuthContext, assetIds: readonly string[], kinds: { ocr: boolean; clip: boolean }) {
    const ids = await this.requireAccess(auth, assetIds, { processing: true });
    return this.queue.regenerate(ids, kinds);
  }

  /**
   * The ids, in Postgres' spelling (lower case), once all are the caller's: another user's asset, a
   * trashed one or a locked one without an unlocked PIN is answered exactly like one that does not
   * exist (404, nothing revealed). Locked photos are never read or embedded, so asking to process
   * one the caller may see is a conflict, said plainly.
   */
  private async requireAccess(
    auth: AuthContext,
    assetIds: readonly string[],
    { processing = false } = {},
  ): Promise<string[]> {
    const ids = [...new Set(assetIds.map((id) => id.toLowerCase()))];
    const elevated = auth.session?.hasElevatedPermission === true;
    const visible = new Map(
      (await this.assets.getOwned(auth.user.id, ids))
        .filter((asset) => asset.visibility !== LOCKED || elevated)
        .map((asset) => [asset.id, asset.visibility]),
    );
    const missing = ids.filter((id) => !visible.has(id));
    if (missing.length > 0) {
      throw new NotFoundException(
        missing.length === 1 ? `Asset not found: ${missing[0]}` : `Assets not found: ${missing.join(', ')}`,
      );
    }
    const locked = ids.filter((id) => visible.get(id) === LOCKED);
    if (processing && locked.length > 0) {
      throw new ConflictException(
        `Photos in the Locked Folder are not read or embedded by immich-ai: ${locked.join(', ')}`,
      );
    }
    return ids;
  }
}
