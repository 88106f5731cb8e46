import { Inject, Injectable, Logger } from '@nestjs/common';
import { SEGMENTER } from '../database/database.tokens';
import { JobStatus } from '../queue/queue.constants';
import type { Segmenter } from '../search/segmenter';
import { OcrDocumentRepository } from './ocr-document.repository';

const BATCH = 500;

/**
 * Keeps search vectors in step with the segmenter. When the database gains zhparser (or loses it),
 * documents indexed by the other one are rebuilt from their stored text; no photo is read again.
 */
@Injectable()
export class OcrIndexService {
  private readonly logger = new Logger('OcrIndex');

  constructor(
    private readonly documents: OcrDocumentRepository,
    @Inject(SEGMENTER) private readonly segmenter: Segmenter,
  ) {}

  async needsReindex(): Promise<boolean> {
    return (await this.documents.listForReindex(this.segmenter.name, 1)).length > 0;
  }

  async handleReindex(): Promise<JobStatus> {
    let total = 0;
    for (;;) {
      const batch = await this.documents.listForReindex(this.segmenter.name, BATCH);
      if (batch.length === 0) break;
      for (const { assetId } of batch) {
        const document = await this.documents.getDocument(assetId);
        if (document) await this.documents.reindex(assetId, document.text ? document.text.split('\n') : []);
      }
      total += batch.length;
      this.logger.log(`re-indexed ${total} document(s) with ${this.segmenter.name}`);
    }
    return total > 0 ? 'success' : 'skipped';
  }
}
