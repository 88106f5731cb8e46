import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { InferenceConfig } from '../../config/inference.config';
import { ConcurrencyLimiter, QueueFullError } from '../../shared/queue/limiter';
import { INFERENCE_CONFIG } from './inference.tokens';
import { MetricsService, QueueKind, TaskLabel } from './metrics.service';
import type { ServerTiming } from './server-timing';

const KIND: Record<TaskLabel, QueueKind> = { ocr: 'ocr', clip_visual: 'clip', clip_textual: 'clip' };

/**
 * Every model run goes through here: one queue per kind of task (QUEUE_SIZE places each), so a CLIP
 * request never waits behind OCR, and the per-task latency metrics. OCR runs one image per OCR worker
 * (one in the main thread without workers); CLIP runs CLIP_CONCURRENCY at once.
 */
@Injectable()
export class InferenceQueue {
  private readonly limiters: Record<QueueKind, ConcurrencyLimiter>;

  constructor(
    @Inject(INFERENCE_CONFIG) config: InferenceConfig,
    private readonly metrics: MetricsService,
  ) {
    const limiter = (kind: QueueKind, concurrency: number) =>
      new ConcurrencyLimiter(concurrency, config.queueSize, ({ active, queued }) => {
        metrics.inFlight.set({ kind }, active);
        metrics.queueDepth.set({ kind }, queued);
      });
    this.limiters = {
      ocr: limiter('ocr', Math.max(1, config.ocrWorkers)),
      clip: limiter('clip', config.clipConcurrency),
    };
  }

  /**
   * Runs `work` in a slot of its kind; QueueFullError when none is free and the queue is full. The
   * wait and the run are added to `timing` (the request's Server-Timing header) when given.
   */
  async run<T>(task: TaskLabel, work: () => Promise<T>, signal?: AbortSignal, timing?: ServerTiming): Promise<T> {
    const requested = performance.now();
    let started: number | undefined;
    try {
      return await this.limiters[KIND[task]].run(async () => {
        started = performance.now();
        const result = await work();
        const ran = performance.now() - started;
        this.metrics.taskDuration.observe({ task, outcome: 'ok' }, ran / 1000);
        timing?.add('queue', started - requested);
        timing?.add(task, ran);
        return result;
      }, signal);
    } catch (error) {
      if (error instanceof QueueFullError) this.metrics.rejected.inc({ kind: KIND[task] });
      else if (started !== undefined) {
        this.metrics.taskDuration.observe({ task, outcome: 'error' }, (performance.now() - started) / 1000);
      }
      throw error;
    }
  }
}
