import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Kysely } from 'kysely';
import { EXTENSION_CONFIG, EXTENSION_DB } from './database/database.tokens';
import { migrateToLatest } from './database/migrator';
import { OcrIndexService } from './ocr/ocr-index.service';
import { JobQueueRepository } from './queue/job-queue.repository';
import { JobName } from './queue/queue.constants';
import { QueueService } from './queue/queue.service';
import type { ExtensionConfig } from '../config/extension.config';

export const RUN_MIGRATIONS = Symbol('immich-ai:run-migrations');

/**
 * Start-up in order, once every module is initialised (inside Immich: after Immich's own migrations,
 * which our tables reference): our migrations when the host wants them here, then, in a worker, a
 * re-index if the segmenter changed and the poller for new assets.
 */
@Injectable()
export class ExtensionLifecycle implements OnApplicationBootstrap {
  private readonly logger = new Logger('Extension');

  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    @Inject(EXTENSION_DB) private readonly db: Kysely<unknown>,
    @Inject(RUN_MIGRATIONS) private readonly runMigrations: boolean,
    private readonly index: OcrIndexService,
    private readonly jobs: JobQueueRepository,
    private readonly queue: QueueService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.runMigrations) {
      const applied = await migrateToLatest(this.db);
      if (applied.length > 0) this.logger.log(`applied migrations ${applied.join(', ')}`);
    }
    if (!this.config.jobs.worker) return;
    if (await this.index.needsReindex()) {
      this.logger.log('some documents were indexed with another segmenter: queued a re-index');
      await this.jobs.addSingleton(JobName.Reindex);
    }
    this.queue.startPolling();
  }
}
