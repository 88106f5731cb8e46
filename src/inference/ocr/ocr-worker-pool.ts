import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ImageErrorKind, ImageInfo, ImageInputError } from '../../shared/image/decode';
import type { Device } from '../onnx/session';
import { findOcrModelFiles } from './model-files';
import type { OcrEngineOptions } from './ocr-engine';
import type { OcrOutput, OcrReader, OcrRunOptions } from './ocr-types';

export interface WorkerRequest {
  id: number;
  image: Uint8Array;
  options?: OcrRunOptions;
  info?: ImageInfo;
}

export type WorkerReply =
  | { type: 'ready'; device: Device }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; output: OcrOutput }
  | { type: 'error'; id: number; kind?: ImageErrorKind; message: string };

export interface OcrWorkerPoolOptions extends OcrEngineOptions {
  /** Worker threads, each with its own engine. */
  workers: number;
  /** Compiled ocr-worker.js; found next to this file by default. */
  workerScript?: string;
}

interface Slot {
  worker: Worker;
  job?: { id: number; resolve: (output: OcrOutput) => void; reject: (error: Error) => void };
  /** Set by close() while a read is running: called when it ends. */
  whenIdle?: () => void;
}

/** Every worker is reading: the caller ran more reads at once than there are workers. */
export class OcrPoolBusyError extends Error {
  constructor() {
    super('every OCR worker is busy; retry shortly');
    this.name = 'OcrPoolBusyError';
  }
}

/**
 * OCR on worker threads. onnxruntime-node runs a model synchronously on the calling thread, so one
 * engine in the main thread blocks the event loop for each detector run (~150 ms) and never runs
 * two images' models at once. Here each worker owns an engine (1 onnxruntime thread each by
 * default, so N workers use N cores without oversubscribing). The pool keeps no queue of its own:
 * the service's queue (src/shared/queue/limiter.ts) lets at most `workers` reads in at once, and a
 * read that finds no idle worker (one is being replaced after a crash) fails with OcrPoolBusyError
 * (503 + Retry-After). A worker that dies fails its read and is replaced.
 */
export class OcrWorkerPool implements OcrReader {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly options: OcrWorkerPoolOptions,
    private readonly script: string,
    readonly device: Device,
  ) {}

  static async open(options: OcrWorkerPoolOptions): Promise<OcrWorkerPool> {
    // Missing model files are the common failure: say so with the typed error before starting threads.
    findOcrModelFiles(options.modelDir);
    const script = options.workerScript ?? defaultWorkerScript();
    const threads = options.threads || Math.max(1, Math.floor(availableParallelism() / options.workers));
    const engineOptions = { ...options, threads };
    const first = await startWorker(script, engineOptions);
    const pool = new OcrWorkerPool(engineOptions, script, first.device);
    pool.adopt(first.worker);
    const rest = await Promise.allSettled(
      Array.from({ length: options.workers - 1 }, () => startWorker(script, engineOptions)),
    );
    for (const started of rest) {
      if (started.status === 'fulfilled') pool.adopt(started.value.worker);
    }
    if (pool.slots.length < options.workers) {
      await pool.close();
      const failure = rest.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      throw failure.reason;
    }
    return pool;
  }

  /** Workers ready to read: how many reads may run at once. */
  get size(): number {
    return this.slots.length;
  }

  read(image: Buffer, options?: OcrRunOptions, info?: ImageInfo): Promise<OcrOutput> {
    if (this.closed) return Promise.reject(new Error('OCR worker pool is closed'));
    const idle = this.slots.find((slot) => !slot.job);
    if (!idle) return Promise.reject(new OcrPoolBusyError());
    return new Promise((resolve, reject) => {
      const request: WorkerRequest = { id: this.nextId++, image, options, info };
      this.dispatch(idle, request, { id: request.id, resolve, reject });
    });
  }

  /**
   * Lets the running reads finish, then stops the threads. A worker must not be terminated inside a
   * model run: onnxruntime aborts the whole process.
   */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (slot) => {
        if (slot.job) await new Promise<void>((resolve) => (slot.whenIdle = resolve));
        await slot.worker.terminate();
      }),
    );
  }

  private dispatch(slot: Slot, request: WorkerRequest, job: NonNullable<Slot['job']>): void {
    slot.job = job;
    slot.worker.postMessage(request);
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker };
    this.slots.push(slot);
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'error') return;
      const job = slot.job;
      slot.job = undefined;
      if (job?.id === reply.id) {
        if (reply.type === 'result') job.resolve(reply.output);
        else job.reject(reply.kind ? new ImageInputError(reply.kind, reply.message) : new Error(reply.message));
      }
      slot.whenIdle?.();
    });
    worker.once('exit', (code) => {
      slot.whenIdle?.();
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.job?.reject(new Error(`OCR worker stopped unexpectedly (exit code ${code})`));
      if (!this.closed) this.replace();
    });
    worker.on('error', () => undefined); // reported through 'exit'
  }

  private replace(): void {
    startWorker(this.script, this.options).then(
      ({ worker }) => {
        if (this.closed) return void worker.terminate();
        this.adopt(worker);
      },
      // Could not restart (models gone?): the remaining workers serve; with none left, reads fail busy.
      () => undefined,
    );
  }
}

function startWorker(script: string, options: OcrEngineOptions): Promise<{ worker: Worker; device: Device }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: options });
    const onExit = (code: number) => reject(new Error(`OCR worker exited (code ${code}) before it was ready`));
    worker.once('exit', onExit);
    worker.once('error', reject);
    worker.once('message', (reply: WorkerReply) => {
      worker.off('exit', onExit);
      worker.off('error', reject);
      if (reply.type === 'ready') resolve({ worker, device: reply.device });
      else {
        reject(new Error(reply.type === 'failed' ? reply.message : 'OCR worker answered before it was ready'));
        void worker.terminate();
      }
    });
  });
}

/**
 * The compiled worker next to this file; when this file runs from TypeScript sources (jest), the
 * built copy in dist/ (`npm run build` makes it; `npm test` builds first).
 */
function defaultWorkerScript(): string {
  const sibling = join(__dirname, 'ocr-worker.js');
  if (existsSync(sibling)) return sibling;
  const built = resolve(__dirname, '../../../dist/inference/ocr/ocr-worker.js');
  if (existsSync(built)) return built;
  throw new Error(`OCR worker script not found (${sibling}); run \`npm run build\``);
}
