import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import type { Kysely } from 'kysely';
import { AssetAiController } from './api/asset-ai.controller';
import { HealthController } from './api/health.controller';
import { JobsController } from './api/jobs.controller';
import { SearchController } from './api/search.controller';
import { AssetAiService } from './assets/asset-ai.service';
import { AssetRepository } from './assets/asset.repository';
import { MediaRepository } from './assets/media.repository';
import { AuthRepository } from './auth/auth.repository';
import { AUTHENTICATOR, Authenticator } from './auth/auth.types';
import { ExtensionAuthGuard } from './auth/extension-auth.guard';
import { ClipJobService } from './clip/clip-job.service';
import { SmartSearchRepository } from './clip/smart-search.repository';
import { AUTH_DB, EXTENSION_CONFIG, EXTENSION_DB, SEGMENTER } from './database/database.tokens';
import { ConfiguredInferenceEndpoint, InferenceEndpoint } from './inference/inference-endpoint';
import { InferenceRepository } from './inference/inference.repository';
import { ExtensionLifecycle, RUN_MIGRATIONS } from './extension-lifecycle.service';
import { OcrDocumentRepository } from './ocr/ocr-document.repository';
import { OcrIndexService } from './ocr/ocr-index.service';
import { OcrJobService } from './ocr/ocr-job.service';
import { configuredProcessor } from './queue/extension-job.processor';
import { JobQueueRepository } from './queue/job-queue.repository';
import { QUEUE_NAME, QUEUE_PREFIX } from './queue/queue.constants';
import { QueueService } from './queue/queue.service';
import { SearchRepository } from './search/search.repository';
import { SearchService } from './search/search.service';
import { chooseSegmenter, Segmenter } from './search/segmenter';
import type { ExtensionConfig } from '../config/extension.config';

export interface ExtensionModuleOptions {
  config: ExtensionConfig;
  /** The host's Kysely instance (the sidecar's own pool, or Immich's). */
  database: Provider;
  /** Where credentials are checked (AUTH_DB); default: the same database provider. */
  authDatabase?: Provider;
  /** The segmenter, when the host chose it already; otherwise chosen at start (see chooseSegmenter). */
  segmenter?: Segmenter;
  /** Where OCR/CLIP requests go when INFERENCE_URL is unset (default: the sidecar's compose name). */
  inferenceEndpoint?: Type<InferenceEndpoint>;
  /** Apply our migrations at application bootstrap (inside Immich: after Immich's own). */
  migrate?: boolean;
  /** How callers are authenticated: Immich's tables directly (sidecar), or Immich's AuthService. */
  authenticator: Type<Authenticator>;
  /** Serve the extension's own REST routes (the sidecar does; inside Immich they are optional). */
  controllers?: boolean;
  /** Redis for the worker when it differs from the queue's (a worker must wait out outages; API calls should not). */
  workerConnection?: ConnectionOptions;
}

/**
 * The extension: OCR queue and jobs, the OCR index, search and ranking, per-asset regenerate. The
 * same module serves both hosts; only what `forRoot` is given differs. The host registers BullMQ's
 * root connection (`BullModule.forRoot`) with its Redis.
 */
@Module({})
export class ExtensionModule {
  static forRoot(options: ExtensionModuleOptions): DynamicModule {
    const { config } = options;
    const worker = config.jobs.worker
      ? [
          configuredProcessor({
            concurrency: config.jobs.concurrency,
            lockDuration: config.jobs.lockMs,
            stalledInterval: config.jobs.stalledCheckMs,
            // A job whose worker died twice in a row is more likely the cause than the victim.
            maxStalledCount: 2,
            ...(options.workerConnection ? { connection: options.workerConnection } : {}),
          }),
        ]
      : [];
    return {
      module: ExtensionModule,
      imports: [
        BullModule.registerQueue({
          name: QUEUE_NAME,
          prefix: QUEUE_PREFIX,
          defaultJobOptions: {
            attempts: config.jobs.attempts,
            backoff: { type: 'exponential', delay: config.jobs.backoffMs },
            // Done jobs free their id at once, so a later regenerate is a new job.
            removeOnComplete: true,
            removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
          },
        }),
      ],
      controllers:
        options.controllers === false ? [] : [SearchController, AssetAiController, JobsController, HealthController],
      providers: [
        { provide: EXTENSION_CONFIG, useValue: config },
        options.segmenter
          ? { provide: SEGMENTER, useValue: options.segmenter }
          : {
              provide: SEGMENTER,
              useFactory: (db: Kysely<unknown>) => chooseSegmenter(db, config.segmenter),
              inject: [EXTENSION_DB],
            },
        { provide: InferenceEndpoint, useClass: options.inferenceEndpoint ?? ConfiguredInferenceEndpoint },
        { provide: RUN_MIGRATIONS, useValue: options.migrate ?? false },
        ExtensionLifecycle,
        { provide: AUTHENTICATOR, useClass: options.authenticator },
        options.database,
        options.authDatabase ?? { provide: AUTH_DB, useExisting: EXTENSION_DB },
        ExtensionAuthGuard,
        AuthRepository,
        AssetRepository,
        MediaRepository,
        InferenceRepository,
        OcrDocumentRepository,
        SmartSearchRepository,
        SearchRepository,
        JobQueueRepository,
        OcrJobService,
        ClipJobService,
        OcrIndexService,
        QueueService,
        SearchService,
        AssetAiService,
        ...worker,
      ],
      exports: [
        EXTENSION_DB,
        EXTENSION_CONFIG,
        SEGMENTER,
        SearchService,
        SearchRepository,
        QueueService,
        JobQueueRepository,
        AssetAiService,
        OcrDocumentRepository,
      ],
    };
  }
}
