import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, Type } from '@nestjs/common';
import { Job, UnrecoverableError, WorkerOptions } from 'bullmq';
import { ClipJobService } from '../clip/clip-job.service';
import { OcrJobService } from '../ocr/ocr-job.service';
import { OcrIndexService } from '../ocr/ocr-index.service';
import { describeJobError, isRetryable } from './job-errors';
import { AssetJobData, JobAttempt, JobName, JobStatus, QUEUE_NAME } from './queue.constants';

type Handler = (data: AssetJobData, attempt: JobAttempt) => Promise<JobStatus>;

/**
 * The queue's worker: one handler per job name. Handlers return a status for expected outcomes and
 * throw for failures; a failure that trying again cannot fix skips BullMQ's remaining retries.
 */
@Injectable()
export class ExtensionJobProcessor extends WorkerHost {
  private readonly logger = new Logger('Jobs');
  private readonly handlers: Record<JobName, Handler>;

  constructor(ocrJobs: OcrJobService, clipJobs: ClipJobService, index: OcrIndexService) {
    super();
    this.handlers = {
      [JobName.Ocr]: (data, attempt) => ocrJobs.handleOcr(data, attempt),
      [JobName.Clip]: (data) => clipJobs.handleClip(data),
      [JobName.Reindex]: () => index.handleReindex(),
    };
  }

  /** Redis away: BullMQ reconnects by itself; say so once per error instead of crashing. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`worker: ${error.message}`);
  }

  async process(job: Job<AssetJobData>): Promise<JobStatus> {
    const handler = this.handlers[job.name as JobName];
    if (!handler) throw new UnrecoverableError(`unknown job "${job.name}"`);
    const attempt = { number: job.attemptsMade + 1, last: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) };
    try {
      return await handler(job.data, attempt);
    } catch (error) {
      const reason = describeJobError(error);
      if (!isRetryable(error)) {
        this.logger.warn(`${job.name} ${job.data.assetId}: ${reason} (not retried)`);
        throw new UnrecoverableError(reason);
      }
      this.logger.warn(
        `${job.name} ${job.data.assetId}: ${reason} (try ${attempt.number}${attempt.last ? ', last' : ''})`,
      );
      throw error;
    }
  }
}

/**
 * The processor class with this deployment's worker settings. @nestjs/bullmq reads worker options
 * from the @Processor decorator, so the decorator is applied here, once the config is known.
 */
export function configuredProcessor(options: Omit<WorkerOptions, 'connection'>): Type<ExtensionJobProcessor> {
  @Processor(QUEUE_NAME, options)
  class ConfiguredExtensionJobProcessor extends ExtensionJobProcessor {}
  return ConfiguredExtensionJobProcessor;
}
