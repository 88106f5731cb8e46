export interface LimiterState {
  active: number;
  queued: number;
}

/** Every slot and queue place is taken: 503 + Retry-After, the client should come back shortly. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the service is busy: every slot and queue place is taken; retry shortly');
    this.name = 'QueueFullError';
  }
}

/**
 * The one request queue: bounded concurrency with a short FIFO queue. Model runs are CPU- (or GPU-)
 * bound, so letting more of them run at once only makes each slower; a short queue absorbs bursts,
 * and beyond it the caller is told to come back (503 + Retry-After) instead of piling up requests
 * that would time out anyway. The inference service keeps one per kind of task, so a CLIP request
 * never waits behind OCR.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** Moving average of one run, to suggest a realistic Retry-After. */
  private averageRunMs = 0;
  constructor(
    readonly concurrency: number,
    readonly queueSize: number,
    private readonly onChange: (state: LimiterState) => void = () => undefined,
  ) {}

  get state(): LimiterState {
    return { active: this.active, queued: this.waiting.length };
  }

  /**
   * Runs `task` when a slot is free. Throws QueueFullError at once when every slot and queue place is
   * taken; a waiting task whose `signal` aborts (client gone) leaves the queue without running.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.active < this.concurrency) {
      this.active++;
      this.changed();
    } else if (this.waiting.length < this.queueSize) {
      await this.wait(signal);
    } else {
      throw new QueueFullError(this.retryAfterSeconds());
    }
    const started = performance.now();
    try {
      return await task();
    } finally {
      const elapsed = performance.now() - started;
      this.averageRunMs = this.averageRunMs === 0 ? elapsed : this.averageRunMs * 0.8 + elapsed * 0.2;
      this.release();
    }
  }

  /** Seconds until a place is likely free: the queue ahead drained at the observed pace, at least 1. */
  retryAfterSeconds(): number {
    const ahead = this.waiting.length + 1;
    return Math.max(1, Math.ceil((this.averageRunMs * ahead) / this.concurrency / 1000));
  }

  private wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) {
          this.waiting.splice(index, 1);
          this.changed();
        }
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
      this.changed();
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so `active` stays the same and nobody can jump the queue.
    if (next) next.resolve();
    else this.active--;
    this.changed();
  }

  private changed(): void {
    this.onChange(this.state);
  }
}
