import { Injectable, NotFoundException } from '@nestjs/common';
import { OcrDocumentRepository } from '../ocr/ocr-document.repository';
import { QueueService } from '../queue/queue.service';
import { AssetRepository } from './asset.repository';

/** Per-asset AI data: its OCR, and regenerating OCR or CLIP. Only the owner's non-trashed assets. */
@Injectable()
export class AssetAiService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly documents: OcrDocumentRepository,
    private readonly queue: QueueService,
  ) {}

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
