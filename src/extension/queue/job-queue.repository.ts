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

/** A "run again when done" marker outlives any sane job run; then it is forgotten. */
const RERUN_TTL_SECONDS = 24 * 3600;

/** Every call to the BullMQ queue (Redis): adding jobs, counting them, listing failures. */
@Injectable()
export class JobQueueRepository {
  private readonly logger = new Logger('JobQueue');

  constructor(@InjectQueue(QUEUE_NAME) private readonly queue: Queue<AssetJobData>) {
    // Without a listener an 'error' event (Redis away) would crash the process; calls fail with 503 instead.
    queue.on('error', (error) => this.logger.warn(`Redis: ${error.message}`));
  }

  /**
   * Queues one job per asset (a user's regenerate). A job already waiting is not queued twice (a
   * request to force it upgrades it); one that failed is replaced by a new one; one running now runs
   * once more when it ends, since the photo or the models may have changed since it started.
   */
  async addAssetJobs(name: JobName, assetIds: readonly string[], { force = false } = {}): Promise<string[]> {
    // Postgres reads ids in any case; job ids must not tell "ABC" and "abc" apart either.
    const ids = [...new Set(assetIds.map((id) => id.toLowerCase()))];
    for (const assetId of ids) await this.makeRoom(name, assetId, force);
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
   * Queues jobs for a page of assets without looking at each one (the bulk "queue missing/failed/all"
   * and the new-asset poller): BullMQ skips ids already waiting or running; those that failed are
   * removed first, so queueing them again runs them again (BullMQ ignores an id it still keeps).
   */
  async addAssetJobsBulk(name: JobName, assetIds: readonly string[], { force = false } = {}): Promise<void> {
    // At most removeOnFail's count of failed jobs are kept: a short list of ids.
    const failed = new Set(await this.queue.getRanges(['failed'], 0, -1));
    const stale = assetIds.map((assetId) => assetJobId(name, assetId)).filter((jobId) => failed.has(jobId));
    await Promise.all(stale.map((jobId) => this.queue.remove(jobId)));
    await this.queue.addBulk(
      assetIds.map((assetId) => ({
        name,
        data: { assetId, ...(force ? { force } : {}) },
        opts: { jobId: assetJobId(name, assetId) },
      })),
    );
  }

  /**
   * A job that just ended (done or failed) was asked for again while it ran: queue it once more.
   * Called by the worker; the marker is taken atomically, so the request is honoured exactly once.
   */
  async requeueIfAskedWhileRunning(name: JobName, assetId: string): Promise<void> {
    const asked = await this.takeRerun(assetJobId(name, assetId));
    if (asked) await this.addAssetJobs(name, [assetId], { force: asked === 'force' });
  }

  /** Readies the id for a new job: a finished job is removed, a waiting one upgraded, a running one marked. */
  private async makeRoom(name: JobName, assetId: string, force: boolean): Promise<void> {
    const jobId = assetJobId(name, assetId);
    const existing = await this.queue.getJob(jobId);
    if (!existing) return;
    const state = await existing.getState();
    if (state === 'failed' || state === 'completed') {
      await existing.remove();
    } else if (state === 'active') {
      const client = await this.queue.client;
      const key = this.rerunKey(jobId);
      // 'force' wins over a plain request already waiting for this run to end.
      if (force || !(await client.get(key)))
        await client.set(key, force ? 'force' : 'plain', { EX: RERUN_TTL_SECONDS });
      // Ended while we marked it: nobody will look at the marker, so take it back and queue now.
      if (!(await existing.isActive()) && (await this.takeRerun(jobId))) await this.makeRoom(name, assetId, force);
    } else if (
      force &&
      !existing.data.force &&
      (state === 'waiting' || state === 'delayed' || state === 'prioritized')
    ) {
      await existing.updateData({ ...existing.data, force: true });
    }
  }

  /** The marker's value, for whoever deletes it: when two look at once, one gets it. */
  private async takeRerun(jobId: string): Promise<string | null> {
    const client = await this.queue.client;
    const key = this.rerunKey(jobId);
    const value = await client.get(key);
    return value && (await client.del(key)) === 1 ? value : null;
  }

  /** Beside the queue's own keys (its prefix and name), so another queue's markers never mix in. */
  private rerunKey(jobId: string): string {
    return `${this.queue.qualifiedName}:rerun:${jobId}`;
  }

  /** Where the new-asset poller stopped (an asset_file change id), kept beside the queue. */
  async pollCursor(): Promise<string | null> {
    return (await this.queue.client).get(`${this.queue.qualifiedName}:poll-cursor`);
  }

  async setPollCursor(change: string): Promise<void> {
    await (await this.queue.client).set(`${this.queue.qualifiedName}:poll-cursor`, change);
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
