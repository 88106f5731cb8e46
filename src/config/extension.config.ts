import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { envBoolean, envInteger } from './env-values';
import type { HttpServerSettings } from '../shared/http/server-settings';
import { ConfigError, envDecimal, envHttpUrl, parseEnv } from './parse-env';
import { DEFAULT_QUERY_TIMEOUT_MS } from '../extension/database/create-database';
import type { SegmenterChoice } from '../extension/search/segmenter';

/**
 * SEARCH_TEXT_CANDIDATES' default. At 200,000 documents (bench/search.ts, same run, same queries)
 * 200 candidates gave OCR-only p95 102-108 ms against 197 ms with 1000, at the same recall@10.
 */
export const DEFAULT_TEXT_CANDIDATES = 200;

/**
 * Everything the extension reads from the environment, in one place. Where Immich has a variable for
 * the same thing (database, Redis, media folder) we read Immich's name with Immich's default, so the
 * sidecar can share Immich's `.env` file unchanged. Invalid values stop the start, naming the variable.
 */

export interface ExtensionConfig {
  /** PORT / HTTP_HOST of the sidecar's API. */
  port: number;
  host: string;
  database: {
    /** DB_URL, or one built from DB_HOSTNAME, DB_PORT, DB_USERNAME, DB_PASSWORD, DB_DATABASE_NAME. */
    url: string;
    /** DB_SSL_MODE, as Immich reads it: disable, allow, prefer (no TLS here), require, verify-full. */
    ssl: false | { rejectUnauthorized: boolean };
    /**
     * DB_QUERY_TIMEOUT_MS: the longest one statement of the sidecar may run, and how long it waits
     * for a database that stopped answering before the request fails with 503. Migrations have none.
     */
    queryTimeoutMs: number;
  };
  /**
   * The sidecar's HTTP server: HEADERS_TIMEOUT_MS, UPLOAD_TIMEOUT_MS (the whole request, body
   * included), KEEP_ALIVE_TIMEOUT_MS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT. Its requests are
   * small JSON, so the deadlines are shorter than the inference service's.
   */
  http: HttpServerSettings;
  /** REQUEST_TIMEOUT_MS: a request still unanswered after this gets 503 with Retry-After. */
  requestTimeoutMs: number;
  /**
   * REDIS_HOSTNAME, REDIS_PORT, REDIS_DBINDEX, REDIS_USERNAME, REDIS_PASSWORD, REDIS_SOCKET (a Unix
   * socket path), or REDIS_URL in Immich's form (`ioredis://` + base64 of ioredis options), which
   * then replaces the others, as in Immich.
   */
  redis: { host?: string; port?: number; db?: number; username?: string; password?: string; path?: string };
  /** IMMICH_MEDIA_LOCATION: where Immich's files (previews included) are; nothing outside it is read. */
  mediaLocation: string;
  inference: {
    /**
     * INFERENCE_URL: our inference service, or the gateway (both speak Immich's /predict). Unset: the
     * host decides (the sidecar: http://immich-ai-inference:8060; inside Immich: Immich's ML URL).
     */
    url?: string;
    /** INFERENCE_API_KEY: sent as `api-key` when the inference service requires one. */
    apiKey?: string;
    /** INFERENCE_TIMEOUT_MS: one request, upload to answer. */
    timeoutMs: number;
  };
  /** SEGMENTER: auto (zhparser when the database has it, else jieba), zhparser or jieba. */
  segmenter: SegmenterChoice;
  jobs: {
    /** JOB_WORKER: run jobs in this process (false: only queue them, for an API-only instance). */
    worker: boolean;
    /** JOB_CONCURRENCY: jobs this process runs at once. */
    concurrency: number;
    /** JOB_ATTEMPTS: tries per job before its error is recorded on the document. */
    attempts: number;
    /** JOB_BACKOFF_MS: first retry delay, doubling after each failure. */
    backoffMs: number;
    /** JOB_LOCK_MS: a job whose worker stops renewing its lock this long is run again (stalled). */
    lockMs: number;
    /** JOB_STALLED_CHECK_MS: how often workers look for stalled jobs. */
    stalledCheckMs: number;
    /** NEW_ASSET_POLL_MS: how often to look for new assets with a preview and no OCR; 0 = never. */
    pollMs: number;
  };
  ocr: {
    /** USE_IMMICH_OCR: index Immich's own OCR results (asset_ocr) instead of reading the photo again. */
    useImmichOcr: boolean;
    /** OCR_MODEL_NAME, OCR_MIN_DETECTION_SCORE, OCR_MIN_RECOGNITION_SCORE, OCR_MAX_RESOLUTION: as Immich sends. */
    modelName: string;
    minDetectionScore: number;
    minRecognitionScore: number;
    maxResolution: number;
  };
  clip: {
    /** CLIP_MODEL_NAME: the name sent to /predict (the cn-clip service answers any 512-d name). */
    modelName: string;
  };
  search: {
    /** SEARCH_MIXED: plain queries fuse CLIP and OCR; false = plain queries search OCR text only. */
    mixed: boolean;
    /** SEARCH_WEIGHT_OCR, SEARCH_WEIGHT_CLIP: weights of the two rankings in reciprocal-rank fusion. */
    weightOcr: number;
    weightClip: number;
    /** SEARCH_RRF_K: the fusion's k (60 is the usual choice; larger flattens the top ranks). */
    rrfK: number;
    /** SEARCH_CANDIDATES: how many results each ranking contributes before fusion. */
    candidates: number;
    /**
     * SEARCH_TEXT_CANDIDATES: how many matches are ranked together: `ocr:` results come in windows of
     * this many by date (src/extension/search/result-windows.ts). Bounds what one page costs.
     */
    textCandidates: number;
  };
  /** SHUTDOWN_TIMEOUT_MS: how long SIGTERM waits for running jobs and requests. */
  shutdownTimeoutMs: number;
}

const nonEmpty = z.string().trim().min(1, 'must not be empty');

const shape = {
  PORT: envInteger(0, 65_535).default('2284'),
  HTTP_HOST: nonEmpty.default('0.0.0.0'),
  DB_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  DB_HOSTNAME: nonEmpty.default('database'),
  DB_PORT: envInteger(1, 65_535).default('5432'),
  DB_USERNAME: nonEmpty.default('postgres'),
  DB_PASSWORD: z.string().default('postgres'),
  DB_DATABASE_NAME: nonEmpty.default('immich'),
  DB_QUERY_TIMEOUT_MS: envInteger(100, 600_000).default(String(DEFAULT_QUERY_TIMEOUT_MS)),
  HEADERS_TIMEOUT_MS: envInteger(100, 600_000).default('5000'),
  UPLOAD_TIMEOUT_MS: envInteger(100, 600_000).default('10000'),
  KEEP_ALIVE_TIMEOUT_MS: envInteger(100, 600_000).default('5000'),
  MAX_CONNECTIONS: envInteger(1, 1_000_000).default('512'),
  MAX_CONNECTIONS_PER_CLIENT: envInteger(0, 1_000_000).default('64'),
  REQUEST_TIMEOUT_MS: envInteger(100, 600_000).default('15000'),
  REDIS_HOSTNAME: nonEmpty.default('redis'),
  REDIS_PORT: envInteger(1, 65_535).default('6379'),
  // Redis has 16 databases unless its `databases` setting says more; Immich accepts any index.
  REDIS_DBINDEX: envInteger(0, 1_000_000).default('0'),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_SOCKET: nonEmpty.optional(),
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^ioredis:\/\//, 'expected ioredis:// and base64 of the ioredis options, as Immich reads it')
    .transform((value, context) => {
      try {
        return JSON.parse(Buffer.from(value.slice('ioredis://'.length), 'base64').toString('utf8')) as Record<
          string,
          unknown
        >;
      } catch {
        context.addIssue({ code: 'custom', message: 'the part after ioredis:// is not base64 of a JSON object' });
        return z.NEVER;
      }
    })
    .optional(),
  DB_SSL_MODE: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z.enum(['disable', 'allow', 'prefer', 'require', 'verify-full'], {
        message: 'expected disable, allow, prefer, require or verify-full',
      }),
    )
    .optional(),
  IMMICH_MEDIA_LOCATION: nonEmpty.optional(),
  INFERENCE_URL: envHttpUrl.optional(),
  INFERENCE_API_KEY: z.string().optional(),
  INFERENCE_TIMEOUT_MS: envInteger(1000, 3_600_000).default('120000'),
  SEGMENTER: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['auto', 'zhparser', 'jieba'], { message: 'expected auto, zhparser or jieba' }))
    .default('auto'),
  JOB_WORKER: envBoolean.default('true'),
  JOB_CONCURRENCY: envInteger(1, 64).default('2'),
  JOB_ATTEMPTS: envInteger(1, 20).default('3'),
  JOB_BACKOFF_MS: envInteger(0, 3_600_000).default('10000'),
  JOB_LOCK_MS: envInteger(1000, 3_600_000).default('60000'),
  JOB_STALLED_CHECK_MS: envInteger(500, 3_600_000).default('30000'),
  NEW_ASSET_POLL_MS: envInteger(0, 86_400_000).default('60000'),
  USE_IMMICH_OCR: envBoolean.default('true'),
  OCR_MODEL_NAME: nonEmpty.default('PP-OCRv5_mobile'),
  OCR_MIN_DETECTION_SCORE: envDecimal(0, 1).default('0.5'),
  OCR_MIN_RECOGNITION_SCORE: envDecimal(0, 1).default('0.8'),
  OCR_MAX_RESOLUTION: envInteger(32, 4096).default('736'),
  CLIP_MODEL_NAME: nonEmpty.default('ViT-B-32__openai'),
  SEARCH_MIXED: envBoolean.default('true'),
  SEARCH_WEIGHT_OCR: envDecimal(0, 100).default('1'),
  SEARCH_WEIGHT_CLIP: envDecimal(0, 100).default('1'),
  SEARCH_RRF_K: envInteger(1, 1000).default('60'),
  SEARCH_CANDIDATES: envInteger(10, 2000).default('200'),
  SEARCH_TEXT_CANDIDATES: envInteger(100, 100_000).default(String(DEFAULT_TEXT_CANDIDATES)),
  SHUTDOWN_TIMEOUT_MS: envInteger(0, 600_000).default('30000'),
};

/**
 * Where Immich keeps its media when IMMICH_MEDIA_LOCATION is unset, by Immich's own rule
 * (StorageService.detectMediaLocation): /data or /usr/src/app/upload, whichever exists, the older one
 * when both do. Inside the server of an install that still mounts its library at /usr/src/app/upload,
 * the previews are then read where Immich wrote them. Where neither exists (outside Immich), /data.
 */
export function detectMediaLocation(exists: (path: string) => boolean = existsSync): string {
  const legacy = '/usr/src/app/upload';
  if (exists(legacy)) return legacy;
  return '/data';
}

/** The variables this config reads (the compose files and docs/configuration.md are checked against them). */
export const EXTENSION_ENV_VARIABLES = Object.keys(shape);

/** Immich's start script reads these from files (`DB_PASSWORD_FILE`, or systemd's CREDENTIALS_DIRECTORY). */
export const SECRET_FILE_VARIABLES = [
  'DB_URL',
  'DB_HOSTNAME',
  'DB_DATABASE_NAME',
  'DB_USERNAME',
  'DB_PASSWORD',
  'REDIS_PASSWORD',
];

/** Prefix of our own variables; the sidecar also reads them without it (they predate it). */
export const ENV_PREFIX = 'IMMICH_AI_';

/**
 * The environment as the extension sees it: `IMMICH_AI_<NAME>` wins over `<NAME>`; with
 * `prefixedOnly` (inside Immich's server, whose environment has PORT, JOB_* and such of its own)
 * only prefixed names are read, plus Immich's own connection and media settings.
 */
export function extensionEnv(env: NodeJS.ProcessEnv, { prefixedOnly = false } = {}): NodeJS.ProcessEnv {
  const prefixed = Object.fromEntries(
    Object.entries(env)
      .filter(([name]) => name.startsWith(ENV_PREFIX))
      .map(([name, value]) => [name.slice(ENV_PREFIX.length), value]),
  );
  if (!prefixedOnly) return { ...env, ...prefixed };
  const immichOwn = Object.fromEntries(Object.entries(env).filter(([name]) => IMMICH_OWN_VARIABLES.has(name)));
  return { ...immichOwn, ...prefixed };
}

/** Immich's variables that mean the same thing to us, read under Immich's names inside Immich too. */
const IMMICH_OWN_VARIABLES = new Set(['IMMICH_MEDIA_LOCATION']);

/** `NAME_FILE` (or CREDENTIALS_DIRECTORY/NAME) read into `NAME`, as Immich's start script does. */
function readSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_FILE_VARIABLES) {
    const credential = env.CREDENTIALS_DIRECTORY && join(env.CREDENTIALS_DIRECTORY, name);
    const file = env[`${name}_FILE`] || (credential && existsSync(credential) ? credential : undefined);
    if (!file) continue;
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\n+$/, '');
    } catch (error) {
      problems.push(`${name}_FILE: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (problems.length > 0) throw new ConfigError('extension', problems);
  return out;
}

export function loadExtensionConfig(env: NodeJS.ProcessEnv = process.env): ExtensionConfig {
  const e = parseEnv(shape, readSecretFiles(extensionEnv(env)), {
    what: 'extension',
    secrets: ['DB_URL', 'DB_PASSWORD', 'REDIS_PASSWORD', 'REDIS_URL', 'INFERENCE_API_KEY'],
  });
  const url =
    e.DB_URL ??
    `postgres://${encodeURIComponent(e.DB_USERNAME)}:${encodeURIComponent(e.DB_PASSWORD)}@${e.DB_HOSTNAME}:${e.DB_PORT}/${encodeURIComponent(e.DB_DATABASE_NAME)}`;
  return {
    port: e.PORT,
    host: e.HTTP_HOST,
    database: { url, ssl: sslOption(e.DB_SSL_MODE), queryTimeoutMs: e.DB_QUERY_TIMEOUT_MS },
    http: {
      headersTimeoutMs: Math.min(e.HEADERS_TIMEOUT_MS, e.UPLOAD_TIMEOUT_MS),
      uploadTimeoutMs: e.UPLOAD_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.MAX_CONNECTIONS,
      maxConnectionsPerClient: e.MAX_CONNECTIONS_PER_CLIENT,
    },
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    redis: e.REDIS_URL ?? {
      host: e.REDIS_HOSTNAME,
      port: e.REDIS_PORT,
      db: e.REDIS_DBINDEX,
      username: e.REDIS_USERNAME || undefined,
      password: e.REDIS_PASSWORD || undefined,
      path: e.REDIS_SOCKET,
    },
    mediaLocation: e.IMMICH_MEDIA_LOCATION ?? detectMediaLocation(),
    inference: { url: e.INFERENCE_URL, apiKey: e.INFERENCE_API_KEY || undefined, timeoutMs: e.INFERENCE_TIMEOUT_MS },
    segmenter: e.SEGMENTER,
    jobs: {
      worker: e.JOB_WORKER,
      concurrency: e.JOB_CONCURRENCY,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      lockMs: e.JOB_LOCK_MS,
      stalledCheckMs: e.JOB_STALLED_CHECK_MS,
      pollMs: e.NEW_ASSET_POLL_MS,
    },
    ocr: {
      useImmichOcr: e.USE_IMMICH_OCR,
      modelName: e.OCR_MODEL_NAME,
      minDetectionScore: e.OCR_MIN_DETECTION_SCORE,
      minRecognitionScore: e.OCR_MIN_RECOGNITION_SCORE,
      maxResolution: e.OCR_MAX_RESOLUTION,
    },
    clip: { modelName: e.CLIP_MODEL_NAME },
    search: {
      mixed: e.SEARCH_MIXED,
      weightOcr: e.SEARCH_WEIGHT_OCR,
      weightClip: e.SEARCH_WEIGHT_CLIP,
      rrfK: e.SEARCH_RRF_K,
      candidates: e.SEARCH_CANDIDATES,
      textCandidates: e.SEARCH_TEXT_CANDIDATES,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

/**
 * libpq's modes in node-postgres' terms. node-postgres cannot fall back from TLS to plain, so allow and
 * prefer connect without TLS (what Immich's own database expects); require encrypts without checking
 * the certificate, as libpq does; verify-full checks it.
 */
function sslOption(mode: string | undefined): ExtensionConfig['database']['ssl'] {
  if (mode === 'require') return { rejectUnauthorized: false };
  if (mode === 'verify-full') return { rejectUnauthorized: true };
  return false;
}
