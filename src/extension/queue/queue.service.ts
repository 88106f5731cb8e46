import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AssetRepository, OcrScope } from '../assets/asset.repository';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import { OcrDocumentRepository } from '../ocr/ocr-document.repository';
import { JobQueueRepository } from './job-queue.repository';
import { JobName } from './queue.constants';
import type { ExtensionConfig } from '../../config/extension.config';

/** Assets per page when feeding the queue from the database. */
const PAGE = 1000;
/** How often the new-asset poller looks at the whole library rather than at what changed. */
const FULL_SWEEP_MS = 24 * 3600 * 1000;

export type { OcrScope };

/**
 * Feeds the queue: new assets (a poller, since a stock Immich tells nobody about uploads), bulk
 * "queue missing" / "queue all", and per-asset regenerate.
 */
@Injectable()
export class QueueService implements OnApplicationShutdown {
  private readonly logger = new Logger('Queue');
  private timer?: NodeJS.Timeout;
  private polling?: Promise<unknown>;
  /** When the poller last swept the whole library; a restart goes on from the stored cursor. */
  private lastSweep = Date.now();
  /** A bulk "queue missing/all" started from the API, running in the background. */
  private feeding?: { scope: OcrScope; queued: number; done: Promise<unknown> };

  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    private readonly queue: JobQueueRepository,
    private readonly assets: AssetRepository,
    private readonly documents: OcrDocumentRepository,
  ) {}

  /** Looks for new assets now and every NEW_ASSET_POLL_MS (a stock Immich tells nobody about uploads). */
  startPolling(): void {
    if (this.config.jobs.pollMs <= 0 || this.timer) return;
    this.timer = setInterval(() => this.pollOnce(), this.config.jobs.pollMs);
    this.timer.unref();
    this.pollOnce();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.polling, this.feeding?.done]);
  }

  /**
   * Starts queueing OCR for a scope in the background (a large library takes a while); false when
   * one is already running. `status()` shows its progress.
   */
  startQueueOcr(scope: OcrScope): boolean {
    if (this.feeding) return false;
    const feeding = { scope, queued: 0, done: Promise.resolve() as Promise<unknown> };
    feeding.done = this.queueOcr(scope, (count) => (feeding.queued = count))
      .then((count) => this.logger.log(`queued OCR for ${count} asset(s) (${scope})`))
      .catch((error: unknown) => this.logger.error(`queueing OCR (${scope}) failed: ${(error as Error).message}`))
      .finally(() => (this.feeding = undefined));
    this.feeding = feeding;
    return true;
  }

  /** One poll for new assets; a poll still running (a huge first import) is not started twice. */
  private pollOnce(): void {
    if (this.polling) return;
    this.polling = this.queueNew()
      .then((count) => count > 0 && this.logger.log(`queued OCR for ${count} new asset(s)`))
      .catch((error: unknown) => this.logger.warn(`looking for new assets failed: ${(error as Error).message}`))
      .finally(() => (this.polling = undefined));
  }

  /**
   * Offers OCR for the photos whose preview appeared or changed since the last poll, each once: the
   * poller keeps a cursor on Immich's change ids (in Redis, so a restart goes on where it stopped),
   * and a poll costs what is new, however large the library and its backlog. Once a day, and when
   * there is no cursor yet, it sweeps the whole library instead, for what a preview change does not
   * show (a photo back from the Locked Folder, Immich's own OCR finishing later).
   */
  async queueNew(): Promise<number> {
    const upTo = await this.assets.latestPreviewChange();
    if (upTo === null) return 0;
    let after = await this.queue.pollCursor();
    let count = 0;
    if (after === null || Date.now() - this.lastSweep > FULL_SWEEP_MS) {
      count = await this.queueOcr('missing');
      this.lastSweep = Date.now();
    } else {
      for (;;) {
        const page = await this.assets.pageNewForOcr(after, upTo, PAGE);
        if (page.length > 0) {
          await this.queue.addAssetJobsBulk(
            JobName.Ocr,
            page.map((asset) => asset.id),
          );
          count += page.length;
          after = page[page.length - 1].change;
        }
        if (page.length < PAGE) break;
      }
    }
    await this.queue.setPollCursor(upTo);
    return count;
  }

  /** Queues OCR for every asset in the scope, a page at a time; returns how many were offered. */
  async queueOcr(scope: OcrScope, progress?: (queued: number) => void): Promise<number> {
    let afterId: string | null = null;
    let count = 0;
    for (;;) {
      const ids = await this.assets.pageForOcr(scope, afterId, PAGE);
      if (ids.length === 0) return count;
      // "all" means read every photo again, not copy Immich's text again.
      await this.queue.addAssetJobsBulk(JobName.Ocr, ids, { force: scope === 'all' });
      count += ids.length;
      progress?.(count);
      afterId = ids[ids.length - 1];
    }
  }

  /** Regenerate: OCR read again from the photo, and/or a new CLIP embedding. Returns the job ids. */
  async regenerate(assetIds: readonly string[], { ocr, clip }: { ocr: boolean; clip: boolean }) {
    return {
      ocr: ocr ? await this.queue.addAssetJobs(JobName.Ocr, assetIds, { force: true }) : [],
      clip: clip ? await this.queue.addAssetJobs(JobName.Clip, assetIds) : [],
    };
  }

  /**
   * Progress: the queue's counts, documents by status and the latest failures with their errors, for
   * an admin. Anyone else sees their own photos only: how many are still to be read (waiting),
   * being read now (running), and their own documents and failures, never other users' numbers.
   */
  async status(user: { id: string; isAdmin: boolean }, failureLimit = 20) {
    const feeding = this.feeding && { scope: this.feeding.scope, queued: this.feeding.queued };
    if (user.isAdmin) {
      const [queue, documents, failures] = await Promise.all([
        this.queue.counts(),
        this.documents.countByStatus(),
        this.queue.recentFailures(failureLimit),
      ]);
      return { scope: 'all' as const, queue, documents, failures, ...(feeding ? { feeding } : {}) };
    }
    const [documents, missing, active, recent] = await Promise.all([
      this.documents.countByStatus(user.id),
      this.assets.countMissingOcr(user.id),
      this.queue.activeAssetIds(),
      this.queue.recentFailures(200),
    ]);
    const owned = new Set(
      (await this.assets.getOwned(user.id, [...active, ...recent.flatMap((failure) => failure.assetId ?? [])])).map(
        (asset) => asset.id,
      ),
    );
    const running = active.filter((id) => owned.has(id)).length;
    const queue = {
      waiting: Math.max(0, missing - running),
      active: running,
      delayed: 0,
      failed: documents.failed,
      paused: 0,
    };
    const failures = recent.filter((failure) => failure.assetId && owned.has(failure.assetId)).slice(0, failureLimit);
    return { scope: 'own' as const, queue, documents, failures };
  }
}
