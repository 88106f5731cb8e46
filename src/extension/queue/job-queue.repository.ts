import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AssetJobData, assetJobId, JobName, QUEUE_NAME } from './queue.constants';

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  paused: number;
}

export interface QueuedJobFailure {
  job: string;
  assetId: string | null;
  error: string;
  failedAt: Date | null;
}

/** Every call to the BullMQ queue (Redis): adding jobs, counting them, listing failures. */
@Injectable()
export class JobQueueRepository {
  private readonly logger = new Logger('JobQueue');

  constructor(@InjectQueue(QUEUE_NAME) private readonly queue: Queue<AssetJobData>) {
    // Without a listener an 'error' event (Redis away) would crash the process; calls fail with 503 instead.
    queue.on('error', (error) => this.logger.warn(`Redis: ${error.message}`));
  }

  /**
   * Queues one job per asset. An asset whose job is already waiting or running is not queued twice;
   * a request to force a waiting job upgrades it. A job that failed for good is replaced by a new one.
   */
  async addAssetJobs(name: JobName, assetIds: readonly string[], { force = false } = {}): Promise<string[]> {
    // Postgres reads ids in any case; job ids must not tell "ABC" and "abc" apart either.
    const ids = [...new Set(assetIds.map((id) => id.toLowerCase()))];
    for (const assetId of ids) {
      const existing = await this.queue.getJob(assetJobId(name, assetId));
      if (!existing) continue;
      const state = await existing.getState();
      if (state === 'failed' || state === 'completed') await existing.remove();
      else if (
        force &&
        !existing.data.force &&
        (state === 'waiting' || state === 'delayed' || state === 'prioritized')
      ) {
        await existing.updateData({ ...existing.data, force: true });
      }
    }
    await this.queue.addBulk(
      ids.map((assetId) => ({
        name,
        data: { assetId, ...(force ? { force } : {}) },
        opts: { jobId: assetJobId(name, assetId) },
      })),
    );
    return ids.map((assetId) => assetJobId(name, assetId));
  }

  /**
   * Queues jobs for a page of assets without checking each one (the bulk "queue missing/all" path):
   * ids already waiting or running are skipped by BullMQ itself.
   */
  async addAssetJobsBulk(name: JobName, assetIds: readonly string[], { force = false } = {}): Promise<void> {
    await this.queue.addBulk(
      assetIds.map((assetId) => ({
        name,
        data: { assetId, ...(force ? { force } : {}) },
        opts: { jobId: assetJobId(name, assetId) },
      })),
    );
  }

  /** A job that runs once however often it is asked for while it waits. */
  async addSingleton(name: JobName): Promise<void> {
    await this.queue.add(name, { assetId: '' }, { jobId: name });
  }

  async counts(): Promise<QueueCounts> {
    const counts = await this.queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'failed',
      'paused',
      'prioritized',
      'waiting-children',
    );
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts['waiting-children'] ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      paused: counts.paused ?? 0,
    };
  }

  /** Assets whose jobs are running now (at most JOB_CONCURRENCY per worker, so a short list). */
  async activeAssetIds(): Promise<string[]> {
    const jobs = await this.queue.getActive(0, 999);
    return jobs.flatMap((job) => (job?.data?.assetId ? [job.data.assetId] : []));
  }

  /** The latest jobs that failed for good, newest first. */
  async recentFailures(limit: number): Promise<QueuedJobFailure[]> {
    const jobs = await this.queue.getFailed(0, Math.max(0, limit - 1));
    return jobs
      .filter((job) => job !== undefined)
      .map((job) => ({
        job: job.name,
        assetId: job.data?.assetId || null,
        error: job.failedReason,
        failedAt: job.finishedOn ? new Date(job.finishedOn) : null,
      }));
  }
}
