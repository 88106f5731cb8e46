import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ByteBudget } from '../../shared/http/byte-budget';

/** What a model run was for; one latency histogram series each. */
export type TaskLabel = 'ocr' | 'clip_visual' | 'clip_textual';

/** Which queue a run waits in: one per kind of task. */
export type QueueKind = 'ocr' | 'clip';

/**
 * Prometheus metrics of one app instance. A registry per instance (not prom-client's global one), so
 * several apps in one process (tests, the benchmark) do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'inference_http_requests_total',
    help: 'HTTP requests answered, by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'inference_http_request_duration_seconds',
    help: 'Time from request to response, by route (includes upload, queueing and the model run)',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly taskDuration = new Histogram({
    name: 'inference_task_duration_seconds',
    help: 'Time of one model run (decode + inference), by task',
    labelNames: ['task', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'inference_queue_depth',
    help: 'Requests waiting for a model slot, by queue (ocr, clip)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: 'inference_in_flight',
    help: 'Model runs in progress, by queue (ocr, clip)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly rejected = new Counter({
    name: 'inference_rejected_total',
    help: 'Requests refused with 503 because every slot and queue place of their queue was taken',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly uploadMemory = new Gauge({
    name: 'inference_upload_memory_bytes',
    help: 'Upload bytes held in memory by requests in progress (capped by UPLOAD_MEMORY_BYTES)',
    registers: [this.registry],
  });

  readonly modelLoadSeconds = new Gauge({
    name: 'inference_model_load_seconds',
    help: 'Time the last successful load of each model took',
    labelNames: ['model', 'device'] as const,
    registers: [this.registry],
  });

  readonly modelLoadFailures = new Counter({
    name: 'inference_model_load_failures_total',
    help: 'Failed attempts to open a model',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'inference_' });
  }

  /** Reports the upload memory budget's use at each scrape. */
  watchUploadMemory(budget: ByteBudget): void {
    const gauge = this.uploadMemory as Gauge & { collect?: () => void };
    gauge.collect = () => gauge.set(budget.used);
  }

  /**
   * Express middleware counting every answer, errors and 404s included. The route label is the
   * matched route pattern (or "unmatched"), never the raw URL, so label cardinality stays bounded.
   */
  readonly httpMiddleware = (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      this.requestDuration.observe({ route }, (performance.now() - started) / 1000);
    });
    next();
  };
}
