import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';
import { envBoolean, envInteger, httpServerEnv, httpServerSettings } from './env-values';
import type { HttpServerSettings } from '../shared/http/server-settings';

/**
 * Everything `immich-ai serve gateway` reads, in one place: environment variables, and optionally a
 * JSON or YAML file named by GATEWAY_CONFIG for the routing table. Precedence: built-in defaults, then
 * the file, then variables that are set. An invalid value stops the process at start with a message
 * naming the variable (or the file key), rather than surfacing as an odd failure on the first request.
 */

/** How a route's upstreams are spoken to: Immich's `/predict` (Contract 1) or the MT-Photos API (Contract 2). */
export type UpstreamProtocol = 'immich' | 'mt-photos';

/** The task key that catches every task without a route of its own (facial-recognition, future ones). */
export const DEFAULT_TASK = 'default';

/** The only tasks an MT-Photos server can do. */
export const MT_PHOTOS_TASKS: readonly string[] = ['clip', 'ocr'];

export interface GatewayRouteConfig {
  protocol: UpstreamProtocol;
  /**
   * Base URLs, tried healthy-first; a path after the host is kept as a prefix. Credentials written
   * into a URL (`http://user:pass@host`) are taken out of it: they travel as `authorization`.
   */
  upstreams: string[];
  /** `Authorization: Basic ...` per upstream URL, from credentials in the configured URL. Never logged. */
  authorization?: Record<string, string>;
  /**
   * The `api-key` header sent to every upstream of the route: required for the mt-photos protocol,
   * and sent to our inference service when it has API_AUTH_KEY set (INFERENCE_API_KEY).
   */
  apiKey?: string;
  /** How long opening a connection to one upstream may take before it counts as down. */
  connectTimeoutMs: number;
  /** Ceiling for one attempt at one upstream: connect, send, and the whole answer. */
  timeoutMs: number;
}

export interface GatewayConfig {
  /** PORT; 0 picks a free port (tests). */
  port: number;
  /** HTTP_HOST: address to listen on (the inference service's name for it too). */
  host: string;
  /** Named routes. The env-only setup has `inference` (clip, ocr) and `immich` (everything else). */
  routes: Record<string, GatewayRouteConfig>;
  /** Task name -> route name; `default` is required and must use the immich protocol. */
  tasks: Record<string, string>;
  health: {
    /** HEALTH_INTERVAL_MS: background check period per upstream; 0 turns checks (and 503s) off. */
    intervalMs: number;
    /** HEALTH_TIMEOUT_MS: a check slower than this marks the upstream unhealthy. */
    timeoutMs: number;
  };
  /** REQUEST_TIMEOUT_MS: deadline for a whole request at the gateway (upload, every attempt, answer). */
  requestTimeoutMs: number;
  /** MAX_UPLOAD_BYTES: larger request bodies get 413 while they are still arriving. */
  maxUploadBytes: number;
  /**
   * REPLAY_BUDGET_BYTES: memory all streamed requests together may keep so a body can be sent again to
   * the next upstream after a 5xx. Only routes with a second upstream keep anything; over the budget a
   * request streams without a copy and cannot fail over once its body has left.
   */
  replayBudgetBytes: number;
  /** ACCESS_LOG: one log line per request (tasks, models, upstreams, status, ms). */
  accessLog: boolean;
  /** UPLOAD_MEMORY_BYTES: upload bytes all requests together may hold; beyond that 503 + Retry-After. */
  uploadMemoryBytes: number;
  /** SHUTDOWN_TIMEOUT_MS: how long SIGTERM waits for requests in flight before closing their connections. */
  shutdownTimeoutMs: number;
  /** HEADERS_TIMEOUT_MS, UPLOAD_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_CONNECTIONS. */
  http: HttpServerSettings;
}

export class GatewayConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid gateway configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'GatewayConfigError';
  }
}

const MiB = 1024 * 1024;

const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  immichApi: 'http://localhost:3003',
  inferenceApi: 'http://localhost:8060',
  connectTimeoutMs: 2_000,
  // Long enough for Immich ML's first face request, which downloads buffalo_l before answering.
  timeoutMs: 120_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 2_000,
  requestTimeoutMs: 300_000,
  maxUploadBytes: 50 * MiB,
  replayBudgetBytes: 32 * MiB,
} as const;

// ---- value schemas shared by env and file --------------------------------------------------------

const upstreamUrl = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash;
      } catch {
        return false;
      }
    },
    { message: 'expected an http(s) URL without query or fragment' },
  )
  .transform((value) => value.replace(/\/+$/, ''));

/** A value as a message may show it: credentials in a URL become `***`. */
const shownValue = (value: unknown) => JSON.stringify(value).replace(/\/\/[^/@\s"]*@/g, '//***@');

const protocol = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['immich', 'mt-photos'], { message: 'expected immich or mt-photos' }));

const millis = (min: number) => z.number().int().min(min).max(86_400_000);

// ---- environment ---------------------------------------------------------------------------------

const urlList = z
  .string()
  .transform((value) => value.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(upstreamUrl).min(1, 'expected one or more URLs, comma-separated'));

const envSchema = z.object({
  PORT: envInteger(0, 65_535).optional(),
  HTTP_HOST: z.string().trim().min(1).optional(),
  IMMICH_API: urlList.optional(),
  INFERENCE_API: urlList.optional(),
  MT_PHOTOS_API: urlList.optional(),
  INFERENCE_PROTOCOL: protocol.optional(),
  MT_PHOTOS_API_KEY: z.string().optional(),
  INFERENCE_API_KEY: z.string().optional(),
  UPSTREAM_CONNECT_TIMEOUT_MS: envInteger(1, 600_000).optional(),
  UPSTREAM_TIMEOUT_MS: envInteger(1, 86_400_000).optional(),
  HEALTH_INTERVAL_MS: envInteger(0, 86_400_000).optional(),
  HEALTH_TIMEOUT_MS: envInteger(1, 600_000).optional(),
  REQUEST_TIMEOUT_MS: envInteger(1, 86_400_000).optional(),
  MAX_UPLOAD_BYTES: envInteger(1).optional(),
  REPLAY_BUDGET_BYTES: envInteger(0).optional(),
  ACCESS_LOG: envBoolean.optional(),
  GATEWAY_CONFIG: z.string().trim().min(1).optional(),
  ...httpServerEnv,
});
type EnvValues = z.infer<typeof envSchema>;

/**
 * The variables this config reads (the compose files and docs/configuration.md are checked against them), besides
 * the per-task GATEWAY_ROUTE_<TASK> family that ROUTE_VARIABLE matches.
 */
export const GATEWAY_ENV_VARIABLES = Object.keys(envSchema.shape);

/**
 * `GATEWAY_ROUTE_<TASK>` (URLs) and `GATEWAY_ROUTE_<TASK>_PROTOCOL`: per-task routes without a file.
 * The prefix keeps unrelated `ROUTE_*` variables of a container from being read as routes.
 */
export const ROUTE_VARIABLE = /^GATEWAY_ROUTE_([A-Z0-9_]+?)(_PROTOCOL)?$/;

interface EnvRoute {
  upstreams?: string[];
  protocol?: UpstreamProtocol;
}

// ---- file ----------------------------------------------------------------------------------------

const fileRouteSchema = z
  .object({
    protocol: protocol.default('immich'),
    upstreams: z.array(upstreamUrl).min(1, 'expected one or more URLs'),
    apiKey: z.string().min(1).optional(),
    connectTimeoutMs: millis(1).optional(),
    timeoutMs: millis(1).optional(),
  })
  .strict();

const fileSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).optional(),
    routes: z.record(z.string().min(1), fileRouteSchema).optional(),
    tasks: z.record(z.string().min(1), z.string().min(1)).optional(),
    upstreamConnectTimeoutMs: millis(1).optional(),
    upstreamTimeoutMs: millis(1).optional(),
    health: z
      .object({ intervalMs: millis(0).optional(), timeoutMs: millis(1).optional() })
      .strict()
      .optional(),
    requestTimeoutMs: millis(1).optional(),
    maxUploadBytes: z.number().int().min(1).optional(),
    replayBudgetBytes: z.number().int().min(0).optional(),
    accessLog: z.boolean().optional(),
  })
  .strict();
type FileValues = z.infer<typeof fileSchema>;

/** Reads and validates the environment (and the file it names). Throws GatewayConfigError naming every bad key. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: string[] = [];
  const e = parseEnv(env, problems);
  const routeVars = parseRouteVariables(env, problems);
  const file = e.GATEWAY_CONFIG ? parseFile(e.GATEWAY_CONFIG, problems) : {};
  if (problems.length > 0) throw new GatewayConfigError(problems);

  const connectTimeoutMs = e.UPSTREAM_CONNECT_TIMEOUT_MS ?? file.upstreamConnectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const timeoutMs = e.UPSTREAM_TIMEOUT_MS ?? file.upstreamTimeoutMs ?? DEFAULTS.timeoutMs;
  const route = (
    protocol: UpstreamProtocol,
    upstreams: string[],
    extra: Partial<GatewayRouteConfig> = {},
  ): GatewayRouteConfig => ({
    protocol,
    upstreams,
    connectTimeoutMs: extra.connectTimeoutMs ?? connectTimeoutMs,
    timeoutMs: extra.timeoutMs ?? timeoutMs,
    ...(extra.apiKey !== undefined ? { apiKey: extra.apiKey } : {}),
  });

  // 1. Built-in routes, from the seed's variables (MT_PHOTOS_API names the inference service too).
  const inferenceProtocol = e.INFERENCE_PROTOCOL ?? 'immich';
  const inferenceKey = e.INFERENCE_API_KEY ?? e.MT_PHOTOS_API_KEY;
  const routes: Record<string, GatewayRouteConfig> = {
    inference: route(inferenceProtocol, e.INFERENCE_API ?? e.MT_PHOTOS_API ?? [DEFAULTS.inferenceApi], {
      apiKey: inferenceKey,
    }),
    immich: route('immich', e.IMMICH_API ?? [DEFAULTS.immichApi]),
  };
  const tasks: Record<string, string> = { clip: 'inference', ocr: 'inference', [DEFAULT_TASK]: 'immich' };

  // 2. The file's routes and task table replace built-in ones of the same name.
  for (const [name, r] of Object.entries(file.routes ?? {})) {
    routes[name] = route(r.protocol, r.upstreams, { ...r, apiKey: r.apiKey ?? inferenceKey });
  }
  Object.assign(tasks, file.tasks ?? {});
  // Variables that are set still win over the file for the two built-in routes.
  if (e.INFERENCE_API ?? e.MT_PHOTOS_API) routes.inference.upstreams = (e.INFERENCE_API ?? e.MT_PHOTOS_API)!;
  if (e.INFERENCE_PROTOCOL) routes.inference.protocol = e.INFERENCE_PROTOCOL;
  if (e.IMMICH_API) routes.immich.upstreams = e.IMMICH_API;

  // 3. GATEWAY_ROUTE_<TASK> gives a task a route of its own, named after the task.
  for (const [task, r] of routeVars) {
    const base = routes[tasks[task] ?? tasks[DEFAULT_TASK]];
    const upstreams = r.upstreams ?? base?.upstreams;
    if (!upstreams) {
      problems.push(`${envRouteKey(task)}_PROTOCOL: set ${envRouteKey(task)} too (the task has no upstreams)`);
      continue;
    }
    const defaultProtocol = MT_PHOTOS_TASKS.includes(task) ? inferenceProtocol : 'immich';
    routes[task] = route(r.protocol ?? (r.upstreams ? defaultProtocol : base!.protocol), upstreams, {
      apiKey: inferenceKey ?? base?.apiKey,
    });
    tasks[task] = task;
  }

  // 4. Cross-checks, each naming the key a user would edit.
  const taskKey = (task: string, suffix = ''): string => {
    if (routeVars.has(task)) return `${envRouteKey(task)}${suffix}`;
    if (file.tasks?.[task]) return `tasks.${task} (${e.GATEWAY_CONFIG})`;
    return routes[tasks[task]] === routes.inference && !file.routes?.inference ? 'INFERENCE_PROTOCOL' : `tasks.${task}`;
  };
  for (const [task, name] of Object.entries(tasks)) {
    const r = routes[name];
    if (!r) {
      problems.push(`${taskKey(task)}: no route named "${name}"`);
    } else if (r.protocol === 'mt-photos' && !MT_PHOTOS_TASKS.includes(task)) {
      problems.push(
        `${taskKey(task, '_PROTOCOL')}: route "${name}" speaks mt-photos, which only does clip and ocr, not ${task}`,
      );
    } else if (r.protocol === 'mt-photos' && !r.apiKey) {
      problems.push(`MT_PHOTOS_API_KEY: required when ${task} uses the mt-photos protocol (route "${name}")`);
    }
  }
  for (const [name, r] of Object.entries(routes)) Object.assign(r, takeCredentials(r.upstreams, name, problems));
  const maxUploadBytes = e.MAX_UPLOAD_BYTES ?? file.maxUploadBytes ?? DEFAULTS.maxUploadBytes;
  const server = httpServerSettings(e, maxUploadBytes, problems);
  if (problems.length > 0) throw new GatewayConfigError(problems);

  // Only routes some task uses are kept: an unused route would still be health-checked and logged.
  const used = new Set(Object.values(tasks));
  return {
    port: e.PORT ?? file.port ?? DEFAULTS.port,
    host: e.HTTP_HOST ?? file.host ?? DEFAULTS.host,
    routes: Object.fromEntries(Object.entries(routes).filter(([name]) => used.has(name))),
    tasks,
    health: {
      intervalMs: e.HEALTH_INTERVAL_MS ?? file.health?.intervalMs ?? DEFAULTS.healthIntervalMs,
      timeoutMs: e.HEALTH_TIMEOUT_MS ?? file.health?.timeoutMs ?? DEFAULTS.healthTimeoutMs,
    },
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS ?? file.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    maxUploadBytes,
    replayBudgetBytes: e.REPLAY_BUDGET_BYTES ?? file.replayBudgetBytes ?? DEFAULTS.replayBudgetBytes,
    accessLog: e.ACCESS_LOG ?? file.accessLog ?? true,
    uploadMemoryBytes: server.uploadMemoryBytes,
    shutdownTimeoutMs: server.shutdownTimeoutMs,
    http: server.http,
  };
}

/**
 * Credentials written into upstream URLs go out of the URL (which is logged, labelled in metrics and
 * named in errors) into an `Authorization: Basic` header sent to that upstream only.
 */
function takeCredentials(
  urls: string[],
  route: string,
  problems: string[],
): Pick<GatewayRouteConfig, 'upstreams' | 'authorization'> {
  const upstreams: string[] = [];
  const authorization: Record<string, string> = {};
  for (const value of urls) {
    const url = new URL(value);
    if (!url.username && !url.password) {
      upstreams.push(value);
      continue;
    }
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    const bare = url.href.replace(/\/+$/, '');
    if (authorization[bare] !== undefined || upstreams.includes(bare)) {
      problems.push(`route "${route}": upstream ${bare} is listed twice`);
      continue;
    }
    upstreams.push(bare);
    authorization[bare] = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  }
  return Object.keys(authorization).length > 0 ? { upstreams, authorization } : { upstreams };
}

/**
 * A complete config for tests and the benchmark: defaults (no environment), then the given routes
 * and settings. `routes` replaces the built-in table when given.
 */
export function gatewayConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  const base = loadGatewayConfig({});
  return {
    ...base,
    ...overrides,
    health: { ...base.health, ...overrides.health },
  };
}

/** One route for tests and the benchmark, with the default timeouts. */
export function gatewayRoute(
  upstreams: string[],
  options: Partial<Omit<GatewayRouteConfig, 'upstreams'>> = {},
): GatewayRouteConfig {
  return {
    protocol: 'immich',
    connectTimeoutMs: DEFAULTS.connectTimeoutMs,
    timeoutMs: DEFAULTS.timeoutMs,
    ...options,
    ...takeCredentials(
      upstreams.map((url) => url.replace(/\/+$/, '')),
      'test',
      [],
    ),
  };
}

function parseEnv(env: NodeJS.ProcessEnv, problems: string[]): EnvValues {
  // An empty variable (`FOO=` in a compose file) means "not set", not "set to nothing".
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .map((key) => [key, env[key]])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0]);
    const shown = /_KEY$/.test(name) ? '(hidden)' : shownValue(present[name]);
    problems.push(`${name}=${shown}: ${issue.message}`);
  }
  return {};
}

function parseRouteVariables(env: NodeJS.ProcessEnv, problems: string[]): Map<string, EnvRoute> {
  const routes = new Map<string, EnvRoute>();
  for (const [key, value] of Object.entries(env)) {
    const match = ROUTE_VARIABLE.exec(key);
    if (!match || value === undefined || value === '') continue;
    const task = match[1] === 'DEFAULT' ? DEFAULT_TASK : match[1].toLowerCase().replace(/_/g, '-');
    const entry = routes.get(task) ?? {};
    const parsed = (match[2] ? protocol : urlList).safeParse(value);
    if (!parsed.success) {
      problems.push(`${key}=${shownValue(value)}: ${parsed.error.issues[0].message}`);
      continue;
    }
    if (match[2]) entry.protocol = parsed.data as UpstreamProtocol;
    else entry.upstreams = parsed.data as string[];
    routes.set(task, entry);
  }
  return routes;
}

function parseFile(path: string, problems: string[]): FileValues {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = ['.yaml', '.yml'].includes(extname(path).toLowerCase()) ? loadYaml(text) : JSON.parse(text);
  } catch (error) {
    problems.push(`GATEWAY_CONFIG=${JSON.stringify(path)}: cannot read it: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const key = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
    problems.push(`${key.replace(/^\./, '') || '(top level)'} (${path}): ${issue.message}`);
  }
  return {};
}

function envRouteKey(task: string): string {
  return `GATEWAY_ROUTE_${task.toUpperCase().replace(/-/g, '_')}`;
}
