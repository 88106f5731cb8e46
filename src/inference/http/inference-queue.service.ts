import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { InferenceConfig } from '../../config/inference.config';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { QueueFullError } from './errors';
import { INFERENCE_CONFIG } from './inference.tokens';
import { MetricsService, TaskLabel } from './metrics.service';
import type { ServerTiming } from './server-timing';

/**
 * Every model run goes through here: the bounded concurrency and short queue (CONCURRENCY,
 * QUEUE_SIZE) and the per-task latency metrics.
 */
@Injectable()
export class InferenceQueue {
  private readonly limiter: ConcurrencyLimiter;

  constructor(
    @Inject(INFERENCE_CONFIG) config: InferenceConfig,
    private readonly metrics: MetricsService,
  ) {
    this.limiter = new ConcurrencyLimiter(config.concurrency, config.queueSize, ({ active, queued }) => {
      metrics.inFlight.set(active);
      metrics.queueDepth.set(queued);
    });
  }

  /**
   * Runs `work` in a slot; QueueFullError when none is free and the queue is full. The wait and the
   * run are added to `timing` (the request's Server-Timing header) when given.
   */
  async run<T>(task: TaskLabel, work: () => Promise<T>, signal?: AbortSignal, timing?: ServerTiming): Promise<T> {
    const requested = performance.now();
    let started: number | undefined;
    try {
      return await this.limiter.run(async () => {
        started = performance.now();
        const result = await work();
        const ran = performance.now() - started;
        this.metrics.taskDuration.observe({ task, outcome: 'ok' }, ran / 1000);
        timing?.add('queue', started - requested);
        timing?.add(task, ran);
        return result;
      }, signal);
    } catch (error) {
      if (error instanceof QueueFullError) this.metrics.rejected.inc();
      else if (started !== undefined) {
        this.metrics.taskDuration.observe({ task, outcome: 'error' }, (performance.now() - started) / 1000);
      }
      throw error;
    }
  }
}
