import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, Type } from '@nestjs/common';
import { Job, UnrecoverableError, WorkerOptions } from 'bullmq';
import { ClipJobService } from '../clip/clip-job.service';
import { OcrJobService } from '../ocr/ocr-job.service';
import { OcrIndexService } from '../ocr/ocr-index.service';
import { describeJobError, isRetryable } from './job-errors';
import { JobQueueRepository } from './job-queue.repository';
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

  constructor(
    ocrJobs: OcrJobService,
    clipJobs: ClipJobService,
    index: OcrIndexService,
    private readonly queue: JobQueueRepository,
  ) {
    super();
    this.handlers = {
      [JobName.Ocr]: (data, attempt) => ocrJobs.handleOcr(data, attempt),
      [JobName.Clip]: (data) => clipJobs.handleClip(data),
      [JobName.Reindex]: () => index.handleReindex(),
    };
  }

  /** A regenerate that arrived while this job ran: run it once more now (see JobQueueRepository). */
  @OnWorkerEvent('completed')
  onCompleted(job: Job<AssetJobData>): Promise<void> {
    return this.requeueIfAsked(job);
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<AssetJobData> | undefined): Promise<void> {
    return job ? this.requeueIfAsked(job) : Promise.resolve();
  }

  private async requeueIfAsked(job: Job<AssetJobData>): Promise<void> {
    if (!job.data?.assetId) return;
    await this.queue
      .requeueIfAskedWhileRunning(job.name as JobName, job.data.assetId)
      .catch((error: unknown) =>
        this.logger.warn(`re-queueing ${job.name} ${job.data.assetId}: ${(error as Error).message}`),
      );
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
      // BullMQ stores the message as the failure users see: the reason, not the driver's words.
      throw new Error(reason);
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
