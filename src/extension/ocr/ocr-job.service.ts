import { Inject, Injectable, Logger } from '@nestjs/common';
import { AssetRepository, isProcessable } from '../assets/asset.repository';
import { MediaRepository } from '../assets/media.repository';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import { InferenceRepository } from '../inference/inference.repository';
import { AssetJobData, JobAttempt, JobStatus } from '../queue/queue.constants';
import { describeJobError, isForeignKeyViolation, isRetryable, PermanentJobError } from '../queue/job-errors';
import { OcrDocumentRepository, OcrLineInput } from './ocr-document.repository';
import type { ExtensionConfig } from '../../config/extension.config';
import type { OcrResult } from '../../shared/wire/immich-ml';
import { OcrSource } from '../database/schema';

/** The OCR job: read an asset's text once and replace its document and lines in one statement. */
@Injectable()
export class OcrJobService {
  private readonly logger = new Logger('OcrJob');

  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    private readonly assets: AssetRepository,
    private readonly media: MediaRepository,
    private readonly inference: InferenceRepository,
    private readonly documents: OcrDocumentRepository,
  ) {}

  async handleOcr({ assetId, force }: AssetJobData, attempt: JobAttempt): Promise<JobStatus> {
    const asset = await this.assets.getForJob(assetId);
    if (!isProcessable(asset)) return 'skipped';

    // Immich's own OCR read the unedited preview: an edited photo (Immich v3) is read again, as shown.
    const immich = this.config.ocr.useImmichOcr && !force && asset.immichOcrAt && !asset.previewEdited;
    const source: OcrSource = immich ? 'immich' : 'inference';
    try {
      const lines = source === 'immich' ? await this.immichLines(assetId) : await this.readPreview(asset.previewPath);
      await this.documents.replace(assetId, {
        source,
        model: source === 'immich' ? 'immich' : this.config.ocr.modelName,
        lines,
        attempts: attempt.number,
      });
      this.logger.debug(`${assetId}: ${lines.length} line(s) from ${source}`);
      return 'success';
    } catch (error) {
      if (isForeignKeyViolation(error)) return 'skipped'; // the asset was deleted while we read it
      if (!isRetryable(error) || attempt.last) {
        await this.documents
          .recordFailure(assetId, source, describeJobError(error), attempt.number)
          .catch((recordError: unknown) => {
            if (!isForeignKeyViolation(recordError)) throw recordError;
          });
      }
      throw error;
    }
  }

  private async readPreview(previewPath: string | null): Promise<OcrLineInput[]> {
    if (!previewPath) throw new PermanentJobError('the asset has no preview yet (Immich makes it after upload)');
    const image = await this.media.readPreview(previewPath);
    return toLines(await this.inference.ocr(image));
  }

  private async immichLines(assetId: string): Promise<OcrLineInput[]> {
    const rows = await this.assets.getImmichOcr(assetId);
    return rows.map((row) => ({
      text: row.text,
      boxScore: row.boxScore,
      textScore: row.textScore,
      box: [row.x1, row.y1, row.x2, row.y2, row.x3, row.y3, row.x4, row.y4],
    }));
  }
}

/** Immich's OCR answer (parallel arrays, 8 box numbers per text) as lines; empty texts are dropped. */
export function toLines(result: OcrResult): OcrLineInput[] {
  const lines: OcrLineInput[] = [];
  result.text.forEach((text, i) => {
    if (!text.trim()) return;
    const box = result.box.slice(i * 8, i * 8 + 8).map((v) => Math.min(Math.max(Number(v) || 0, 0), 1));
    lines.push({ text, boxScore: result.boxScore[i], textScore: result.textScore[i], box });
  });
  return lines;
}
