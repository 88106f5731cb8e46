import { Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const KNOWN_TASKS = new Set<string>(['clip', 'ocr', 'facial-recognition']);

/** What one answered /predict request was, for the access log and the request metrics. */
export interface PredictRecord {
  /** Task keys of `entries`, in order; empty when the request was rejected before they were read. */
  tasks: string[];
  /** The model names each task asked for (detection and recognition can differ), by task. */
  models?: Record<string, string[]>;
  /** Per route: the upstreams tried, "http://a (unreachable) -> http://b". */
  upstreams: string[];
  status: number;
  ms: number;
  /** 'stream' (piped as it arrived) or 'parsed' (split, converted): the two paths perform differently. */
  mode?: 'stream' | 'parsed';
}

/**
 * Prometheus metrics of one gateway instance, plus the access log. A registry per instance (not
 * prom-client's global one), so several apps in one process (tests, the benchmark) do not collide.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly accessLogger = new Logger('GatewayAccess');

  readonly requests = new Counter({
    name: 'gateway_requests_total',
    help: '/predict requests answered, by tasks and status code',
    labelNames: ['tasks', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: '/predict time at the gateway, from request to the last byte of the answer, by tasks and path',
    labelNames: ['tasks', 'mode'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly upstreamFailures = new Counter({
    name: 'gateway_upstream_failures_total',
    help: 'Failed attempts at an upstream, by kind (unreachable, connect-timeout, reset, timeout, server-error, ...)',
    labelNames: ['route', 'upstream', 'kind'] as const,
    registers: [this.registry],
  });

  readonly upstreamHealthy = new Gauge({
    name: 'gateway_upstream_healthy',
    help: '1 if the last health check or request found the upstream up, 0 if down',
    labelNames: ['route', 'upstream'] as const,
    registers: [this.registry],
  });

  constructor(private readonly accessLog: boolean) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }

  record(entry: PredictRecord): void {
    // Task names come from the client: unknown ones share one label value, and repeats collapse, so
    // a stray client cannot grow the number of series.
    const known = [...new Set(entry.tasks.map((task) => (KNOWN_TASKS.has(task) ? task : 'other')))];
    const tasks = known.length > 0 ? known.join('+') : 'none';
    this.requests.inc({ tasks, status: String(entry.status) });
    this.requestDuration.observe({ tasks, mode: entry.mode ?? 'none' }, entry.ms / 1000);
    if (this.accessLog) this.accessLogger.log(accessLine(entry));
  }
}

/**
 * `POST /predict ocr[PP-OCRv5_mobile] http://inference:8060 200 231.4ms stream`. Task and model names
 * come from the client: they are escaped (quoted, control and non-ASCII characters as \uXXXX) unless
 * plain, so a name cannot forge a second log line or hide in one.
 */
export function accessLine(entry: PredictRecord): string {
  const named =
    entry.tasks.length > 0
      ? entry.tasks.map((task) => `${logSafe(task)}[${(entry.models?.[task] ?? []).map(logSafe).join(',')}]`).join('+')
      : '-';
  const upstreams = entry.upstreams.length > 0 ? entry.upstreams.join(', ') : '-';
  return `POST /predict ${named} ${upstreams} ${entry.status} ${entry.ms.toFixed(1)}ms ${entry.mode ?? '-'}`;
}

const PLAIN = /^[\w.:/@-]{1,100}$/;

function logSafe(value: string): string {
  if (PLAIN.test(value)) return value;
  const cut = value.length > 100 ? `${value.slice(0, 100)}...` : value;
  const escape = (ch: string) =>
    ch === '"' || ch === '\\' ? `\\${ch}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return `"${cut.replace(/["\\]|[^\x20-\x7e]/g, escape)}"`;
}
