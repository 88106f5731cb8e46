import { Readable } from 'node:stream';
import { BudgetShare, ByteBudget } from './byte-budget';

/**
 * The raw bytes of a request body on their way to an upstream, unparsed and not re-encoded.
 *
 * A body normally passes through: each chunk is dropped once handed to the upstream's socket, and the
 * client is paused while the upstream is slower than it (back-pressure), so a request holds a few
 * hundred KB whatever the image size. When the route has a second upstream to fail over to, the chunks
 * are kept instead, so the body can be sent again after a 5xx; a budget shared by all requests caps
 * that memory, and a request over it goes back to passing through (and can no longer fail over once
 * bytes have left). Everything a body holds also counts against the request's share of the upload
 * memory budget, so the head of a form that never names its route cannot pile up.
 */

const HIGH_WATER_MARK = 256 * 1024;

/** One shared instance: building an Error (and its stack) per request shows up in the profile. */
const RELEASED = new Error('request body released');

export class RawBody {
  /** Chunks not yet handed to the current reader. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Chunks already handed to the current reader, kept for a replay. */
  private kept: Buffer[] = [];
  private retainedBytes = 0;
  private retaining = true;
  private budget?: ByteBudget;
  /** A chunk has left without a copy: the body cannot be sent again. */
  private dropped = false;
  private ended = false;
  private failure?: Error;
  private current?: Readable;
  /** The current reader asked for data and has not said "enough" since. */
  private wanting = false;

  constructor(
    /** Called when a paused source may send again. */
    private readonly onDrain: () => void,
    /** The request's share of the upload memory budget; unlimited when absent. */
    private readonly memory?: BudgetShare,
  ) {}

  /**
   * Decides whether to keep what passes (for failover). Called once, when the route is known;
   * until then every chunk is kept, as nothing has been sent yet.
   */
  keep(retain: boolean, budget?: ByteBudget): void {
    this.budget = budget;
    if (retain && budget?.take(this.queuedBytes)) this.retainedBytes = this.queuedBytes;
    else this.stopRetaining();
  }

  /** Queues a chunk; false when the upload memory budget has no room for it (nothing queued then). */
  push(chunk: Buffer): boolean {
    if (this.failure) return true;
    if (this.memory && !this.memory.take(chunk.length)) return false;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.retaining && this.budget) {
      if (this.budget.take(chunk.length)) this.retainedBytes += chunk.length;
      else this.stopRetaining();
    }
    if (this.wanting) this.flush();
    return true;
  }

  end(): void {
    this.ended = true;
    if (this.wanting) this.flush();
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.current?.destroy(error);
  }

  /** True while the source should be paused: the upstream has not caught up. */
  get full(): boolean {
    return this.queuedBytes >= HIGH_WATER_MARK;
  }

  get replayable(): boolean {
    return !this.dropped;
  }

  /** The body from its first byte, for one attempt; a newer reader replaces older ones. */
  reader(): Readable {
    if (this.dropped) throw new Error('the request body has already been sent and was not kept');
    if (this.failure) throw this.failure;
    this.queue = [...this.kept, ...this.queue];
    this.queuedBytes += this.kept.reduce((sum, chunk) => sum + chunk.length, 0);
    this.kept = [];
    this.wanting = false;
    const reader: Readable = new Readable({
      highWaterMark: 64 * 1024,
      read: () => {
        if (this.current !== reader) return;
        this.wanting = true;
        this.flush();
      },
    });
    this.current = reader;
    return reader;
  }

  /** Gives back the budget and the chunks; the body cannot be read after this. */
  release(): void {
    this.budget?.give(this.retainedBytes);
    this.retainedBytes = 0;
    this.memory?.give(this.queuedBytes + this.kept.reduce((sum, chunk) => sum + chunk.length, 0));
    this.queue = [];
    this.kept = [];
    this.queuedBytes = 0;
    this.failure ??= RELEASED;
    // A reader still open (the client or the upstream gave up half-way) is ended with it.
    if (this.current && !this.current.readableEnded) this.current.destroy(this.failure);
  }

  /** Hands queued chunks to the current reader until it has enough. */
  private flush(): void {
    const reader = this.current;
    if (!reader) return;
    const wasFull = this.full;
    while (this.wanting && this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      if (this.retaining) this.kept.push(chunk);
      else {
        this.dropped = true;
        this.memory?.give(chunk.length);
      }
      this.wanting = reader.push(chunk);
    }
    if (this.wanting && this.ended && this.queue.length === 0) {
      this.wanting = false;
      reader.push(null);
    }
    if (wasFull && !this.full) this.onDrain();
  }

  private stopRetaining(): void {
    if (!this.retaining) return;
    this.retaining = false;
    // What the reader has already taken is gone for good; what it has not is still needed.
    if (this.kept.length > 0) this.dropped = true;
    this.memory?.give(this.kept.reduce((sum, chunk) => sum + chunk.length, 0));
    this.kept = [];
    this.budget?.give(this.retainedBytes);
    this.retainedBytes = 0;
  }
}
