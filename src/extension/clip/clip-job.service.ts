import { Injectable, Logger } from '@nestjs/common';
import { AssetRepository, isProcessable } from '../assets/asset.repository';
import { MediaRepository } from '../assets/media.repository';
import { InferenceRepository } from '../inference/inference.repository';
import { isForeignKeyViolation, PermanentJobError } from '../queue/job-errors';
import { AssetJobData, JobStatus } from '../queue/queue.constants';
import { SmartSearchRepository } from './smart-search.repository';

/** The CLIP job: embed an asset's preview and upsert its row in Immich's smart_search. */
@Injectable()
export class ClipJobService {
  private readonly logger = new Logger('ClipJob');

  constructor(
    private readonly assets: AssetRepository,
    private readonly media: MediaRepository,
    private readonly inference: InferenceRepository,
    private readonly smartSearch: SmartSearchRepository,
  ) {}

  async handleClip({ assetId }: AssetJobData): Promise<JobStatus> {
    const asset = await this.assets.getForJob(assetId);
    if (!isProcessable(asset)) return 'skipped';
    if (!asset.previewPath) throw new PermanentJobError('the asset has no preview yet (Immich makes it after upload)');

    const embedding = await this.inference.encodeImage(await this.media.readPreview(asset.previewPath));
    const dimension = await this.smartSearch.embeddingDimension();
    if (dimension !== null && dimension !== embedding.length) {
      throw new PermanentJobError(
        `the CLIP model gives ${embedding.length} dimensions but Immich's smart_search holds ${dimension}: choose a ${embedding.length}-dimension CLIP model name in Immich's settings so Immich resizes its table, or serve a ${dimension}-dimension model`,
      );
    }
    try {
      await this.smartSearch.upsert(assetId, embedding);
    } catch (error) {
      if (isForeignKeyViolation(error)) return 'skipped'; // deleted meanwhile
      throw error;
    }
    this.logger.debug(`${assetId}: embedding stored`);
    return 'success';
  }
}
