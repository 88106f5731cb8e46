import { Injectable, NotFoundException } from '@nestjs/common';
import { OcrDocumentRepository } from '../ocr/ocr-document.repository';
import { QueueService } from '../queue/queue.service';
import { AssetRepository } from './asset.repository';
import { MediaFileError, MediaRepository } from './media.repository';

/** Per-asset AI data: its OCR, and regenerating OCR or CLIP. Only the owner's non-trashed assets. */
@Injectable()
export class AssetAiService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly documents: OcrDocumentRepository,
    private readonly queue: QueueService,
    private readonly media: MediaRepository,
  ) {}

  /** The preview Immich made of one of the caller's assets, for the search page's thumbnails. */
  async getPreview(userId: string, assetId: string): Promise<{ path: string; contentType: string }> {
    await this.requireOwned(userId, [assetId]);
    const asset = await this.assets.getForJob(assetId);
    if (!asset?.previewPath) throw new NotFoundException('This asset has no preview yet');
    try {
      const path = this.media.resolve(asset.previewPath);
      return { path, contentType: /\.webp$/i.test(path) ? 'image/webp' : 'image/jpeg' };
    } catch (error) {
      if (error instanceof MediaFileError) throw new NotFoundException('The preview cannot be served');
      throw error;
    }
  }

  async getOcr(userId: string, assetId: string) {
    await this.requireOwned(userId, [assetId]);
    const [document, lines] = await Promise.all([
      this.documents.getDocument(assetId),
      this.documents.getLines([assetId]),
    ]);
    return {
      assetId,
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

  async regenerate(userId: string, assetIds: readonly string[], kinds: { ocr: boolean; clip: boolean }) {
    await this.requireOwned(userId, assetIds);
    return this.queue.regenerate(assetIds, kinds);
  }

  /** Another user's asset is answered exactly like one that does not exist: 404, nothing revealed. */
  private async requireOwned(userId: string, assetIds: readonly string[]): Promise<void> {
    const owned = new Set(await this.assets.filterOwned(userId, assetIds));
    const missing = assetIds.filter((id) => !owned.has(id));
    if (missing.length > 0) {
      throw new NotFoundException(
        missing.length === 1 ? `Asset not found: ${missing[0]}` : `Assets not found: ${missing.join(', ')}`,
      );
    }
  }
}
