import { Logger } from '@nestjs/common';
import { HttpError } from '../shared/http/http-error';
import { MT_PHOTOS_KEY_HEADER } from '../shared/wire/mt-photos';
import { UpstreamFailure } from './gateway-errors';
import { GatewayMetrics } from './gateway-metrics';
import { Route } from './routing-table';
import { UpstreamClient } from './upstream-client';

/** One upstream of a route and what the gateway knows about it. */
export interface Upstream {
  /** Base URL, without credentials: for the log and metrics, never for answers to clients. */
  readonly url: string;
  /** `route#n`: how answers to clients name it. */
  readonly label: string;
  readonly client: UpstreamClient;
  /** undefined until the first check or request says otherwise; treated as healthy. */
  healthy?: boolean;
  /** Why it was last marked down, for the log. */
  lastProblem?: string;
  /** Attempts in progress: the least busy healthy upstream goes first. */
  inFlight: number;
  /** Position in the config: the tie-breaker, so a lone request always goes to the first one. */
  readonly rank: number;
  /** Delay before the next re-check of a down upstream; doubles per failed check, up to the interval. */
  backoffMs: number;
  recheck?: NodeJS.Timeout;
}

export interface CallOptions {
  /** Names the tasks in errors: "ocr: upstream inference#1 refused the connection". */
  label: string;
  /** Whether the request body can be sent again; a streamed body that has left cannot. */
  replayable: () => boolean;
  /** Receives each upstream tried, with what went wrong there: "http://a (unreachable)". For the access log. */
  trail?: string[];
}

export interface HealthOptions {
  /** 0 turns checks off: every upstream then counts as healthy and only failover applies. */
  intervalMs: number;
  timeoutMs: number;
}

/** First re-check of an upstream just found down: soon, so a service that was starting is back at once. */
const FIRST_RECHECK_MS = 100;

/**
 * The upstreams of one route: health state from background checks (`GET /ping` for Immich ML and our
 * inference service, `POST /check` with the api-key for MT-Photos servers, which have no /ping), an
 * order to try them in (healthy first, least busy first), and failover on connection errors and 5xx.
 *
 * Health only orders the upstreams, it never refuses a request: when every upstream of a route is
 * marked down they are all tried anyway (Envoy's "panic mode"), so a gateway started before its
 * upstreams (Immich's compose brings them up together) answers 200 from the first request after they
 * are up, not 503 until the next check. A down upstream is re-checked after 100 ms, then 200, 400, ...
 * up to the check interval.
 */
export class UpstreamPool {
  readonly upstreams: Upstream[];
  private readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly checking = new Set<Upstream>();

  constructor(
    readonly route: Route,
    private readonly health: HealthOptions,
    private readonly metrics: GatewayMetrics,
  ) {
    this.logger = new Logger(`Gateway:${route.name}`);
    this.upstreams = route.upstreams.map((url, rank) => {
      const label = `${route.name}#${rank + 1}`;
      const headers: Record<string, string> = {};
      const authorization = route.authorization?.[url];
      if (authorization) headers.authorization = authorization;
      if (route.apiKey) headers[MT_PHOTOS_KEY_HEADER] = route.apiKey;
      return {
        url,
        label,
        rank,
        inFlight: 0,
        backoffMs: FIRST_RECHECK_MS,
        client: new UpstreamClient(url, {
          connectTimeoutMs: route.connectTimeoutMs,
          timeoutMs: route.timeoutMs,
          label,
          headers,
        }),
      };
    });
  }

  /** Starts background checks; the first round starts now and is not waited for. */
  start(): void {
    if (this.health.intervalMs <= 0 || this.timer) return;
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.health.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const upstream of this.upstreams) clearTimeout(upstream.recheck);
    await Promise.all(this.upstreams.map((upstream) => upstream.client.close()));
  }

  /**
   * The order to try upstreams in: healthy (or not yet known) ones, least busy first, then in config
   * order; when none is healthy, all of them (panic mode), the longest-known-down last.
   */
  candidates(): Upstream[] {
    const order = (a: Upstream, b: Upstream) => a.inFlight - b.inFlight || a.rank - b.rank;
    const healthy = this.upstreams.filter((upstream) => upstream.healthy !== false).sort(order);
    if (healthy.length > 0) return healthy;
    return [...this.upstreams].sort((a, b) => a.backoffMs - b.backoffMs || order(a, b));
  }

  /**
   * Runs `attempt` against the candidates in turn until one succeeds. A failure that says nothing
   * about the upstream (timeout, a 4xx verdict) ends the call; connection errors and 5xx move on to
   * the next upstream when the body can be sent again. A connection reset is retried once on the same
   * upstream first: it is usually a keep-alive socket the upstream closed a moment earlier.
   */
  async call<T>(attempt: (upstream: Upstream) => Promise<T>, options: CallOptions): Promise<T> {
    const candidates = this.candidates();
    if (candidates.length === 0)
      throw new HttpError(503, `${options.label}: route "${this.route.name}" has no upstream`);

    const trail = options.trail ?? [];
    const failures: UpstreamFailure[] = [];
    for (const upstream of candidates) {
      if (failures.length > 0 && !options.replayable()) break;
      for (let retry = 0; ; retry++) {
        upstream.inFlight++;
        try {
          const value = await attempt(upstream);
          this.markUp(upstream);
          trail.push(upstream.url);
          return value;
        } catch (error) {
          if (!(error instanceof UpstreamFailure)) throw error;
          this.metrics.upstreamFailures.inc({ route: this.route.name, upstream: upstream.url, kind: error.kind });
          if (error.kind === 'reset' && retry === 0 && options.replayable()) continue;
          failures.push(error);
          trail.push(`${upstream.url} (${error.kind})`);
          if (error.marksDown) this.markDown(upstream, error.reason);
          if (!error.failover) throw this.toHttpError(options.label, failures);
          break;
        } finally {
          upstream.inFlight--;
        }
      }
    }
    throw this.toHttpError(options.label, failures);
  }

  markDown(upstream: Upstream, problem: string): void {
    upstream.lastProblem = problem;
    // With checks off nothing would ever mark it up again: failover still applies per request.
    if (this.health.intervalMs <= 0) return;
    if (upstream.healthy !== false) {
      this.logger.warn(`upstream ${upstream.label} (${upstream.url}) is down: ${problem}`);
      upstream.backoffMs = FIRST_RECHECK_MS;
    }
    upstream.healthy = false;
    this.metrics.upstreamHealthy.set({ route: this.route.name, upstream: upstream.url }, 0);
    this.scheduleRecheck(upstream);
  }

  markUp(upstream: Upstream): void {
    clearTimeout(upstream.recheck);
    upstream.recheck = undefined;
    upstream.backoffMs = FIRST_RECHECK_MS;
    if (upstream.healthy === true) return;
    if (upstream.healthy === false) this.logger.log(`upstream ${upstream.label} (${upstream.url}) is healthy again`);
    upstream.healthy = true;
    upstream.lastProblem = undefined;
    this.metrics.upstreamHealthy.set({ route: this.route.name, upstream: upstream.url }, 1);
  }

  /** One round of checks; an upstream whose previous check is still running is skipped. */
  async checkAll(): Promise<void> {
    await Promise.all(this.upstreams.map((upstream) => this.check(upstream)));
  }

  /** The next check of a down upstream, sooner than the interval while it has just gone down. */
  private scheduleRecheck(upstream: Upstream): void {
    if (upstream.recheck || this.stopped) return;
    const delay = Math.min(upstream.backoffMs, this.health.intervalMs);
    upstream.recheck = setTimeout(() => {
      upstream.recheck = undefined;
      upstream.backoffMs = Math.min(upstream.backoffMs * 2, this.health.intervalMs);
      void this.check(upstream);
    }, delay);
    upstream.recheck.unref();
  }

  private async check(upstream: Upstream): Promise<void> {
    if (this.checking.has(upstream) || this.stopped) return;
    this.checking.add(upstream);
    const probe =
      this.route.protocol === 'mt-photos'
        ? { method: 'POST' as const, path: '/check' }
        : { method: 'GET' as const, path: '/ping' };
    try {
      const response = await upstream.client.request(probe, this.health.timeoutMs);
      await response.body.dump();
      if (response.status >= 200 && response.status < 300) this.markUp(upstream);
      else this.markDown(upstream, `${probe.method} ${probe.path} answered ${response.status}`);
    } catch (error) {
      this.markDown(upstream, error instanceof UpstreamFailure ? error.reason : String(error));
    } finally {
      this.checking.delete(upstream);
    }
  }

  private toHttpError(label: string, failures: UpstreamFailure[]): HttpError {
    const last = failures[failures.length - 1];
    const message =
      failures.length === 1
        ? `${label}: ${last.message}`
        : `${label}: every upstream failed: ${failures.map((failure) => failure.message).join('; ')}`;
    return new HttpError(last.status, message);
  }
}

/** Every route's pool, started with the app and stopped with it. */
export class UpstreamPools {
  private readonly pools: Map<string, UpstreamPool>;

  constructor(routes: Route[], health: HealthOptions, metrics: GatewayMetrics) {
    this.pools = new Map(routes.map((route) => [route.name, new UpstreamPool(route, health, metrics)]));
  }

  get(route: Route): UpstreamPool {
    const pool = this.pools.get(route.name);
    if (!pool) throw new Error(`no upstream pool for route ${route.name}`);
    return pool;
  }

  all(): UpstreamPool[] {
    return [...this.pools.values()];
  }

  start(): void {
    for (const pool of this.pools.values()) pool.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.stop()));
  }
}
