/**
 * OCR benchmark: our engine against two peers installed as dev dependencies, in one run.
 *
 *   npx tsc -p tsconfig.bench.json && node --expose-gc dist-bench/bench/ocr.js [flags]
 *
 * Flags:
 *   --passes N           timed passes over the fixtures per engine (default 3)
 *   --warmup N           warm-up images per engine before timing (default 2)
 *   --only LIST          comma list of engines: ours,paddleocr,paddleocr-eqdet,gutenye (default: all)
 *   --tp-images N        images per throughput configuration (default 16)
 *   --no-throughput      skip the "all cores busy" measurements
 *   --soak N             images through our engine for the RSS test (default 1000, 0 = skip)
 *   --fixtures DIR       fixture folder (default test/fixtures/ocr)
 *   --json               print one JSON object on stdout instead of the tables
 *
 * Engines:
 *   ours             src/inference/ocr/ocr-engine.ts with its defaults (RapidOCR settings).
 *   paddleocr        npm `paddleocr` on the same PP-OCRv4 det/rec and v2.0 cls files, configured
 *                    like RapidOCR (limit 736 'min', thresh 0.3, box 0.5, unclip 1.6, 2x2 dilation,
 *                    rec height 48 / min width 320, cls 48x192 thresh 0.9). Its API runs
 *                    recognition and the classifier one crop at a time: no rec batch 6.
 *   paddleocr-eqdet  the same, but the detector input resized like ours (long side 992 ->
 *                    992x736 for 4:3): separates "smaller detector input" from "faster code".
 *   gutenye          @gutenye/ocr-node with its defaults (Ocr.create(); detect(buffer)).
 *
 * Every timing is the whole read of a JPEG buffer, decode included (peers decode with sharp too).
 * Progress goes to stderr; the tables (or --json) to stdout. The soak runs in a child process so
 * that its RSS is our engine's alone; run node with --expose-gc to separate garbage from leaks.
 */
import { ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { findOcrModelFiles } from '../src/inference/ocr/model-files';
import { OcrEngine } from '../src/inference/ocr/ocr-engine';
import { characterErrorRate, withoutSpaces } from '../test/support/cer';
import { int, median, parseFlags, percentile, printUsageAndExit, round, table } from './support';

// ---------------------------------------------------------------------------------------------
// Options

const ENGINES = ['ours', 'paddleocr', 'paddleocr-eqdet', 'gutenye'] as const;
type EngineName = (typeof ENGINES)[number];

interface Options {
  passes: number;
  warmup: number;
  only: EngineName[];
  tpImages: number;
  throughput: boolean;
  soak: number;
  fixtures: string;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, {
    passes: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    'tp-images': { type: 'string' },
    'no-throughput': { type: 'boolean' },
    soak: { type: 'string' },
    fixtures: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) printUsageAndExit(__filename);
  let only: EngineName[] = [...ENGINES];
  if (flags.only !== undefined) {
    const names = flags.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const n of names) {
      if (!(ENGINES as readonly string[]).includes(n))
        throw new Error(`--only: unknown engine ${n} (${ENGINES.join(', ')})`);
    }
    only = names as EngineName[];
  }
  return {
    passes: int('--passes', flags.passes, 1) ?? 3,
    warmup: int('--warmup', flags.warmup, 0) ?? 2,
    only,
    tpImages: int('--tp-images', flags['tp-images'], 1) ?? 16,
    throughput: !flags['no-throughput'],
    soak: int('--soak', flags.soak, 0) ?? 1000,
    fixtures: flags.fixtures !== undefined ? resolve(flags.fixtures) : resolve(process.cwd(), 'test/fixtures/ocr'),
    json: flags.json ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Fixture {
  name: string;
  buf: Buffer;
  width: number;
  height: number;
  truth?: string[];
}

async function loadFixtures(dir: string): Promise<Fixture[]> {
  const truthPath = join(dir, 'truth.json');
  let truth: Record<string, string[]> = {};
  try {
    truth = JSON.parse(readFileSync(truthPath, 'utf8'));
  } catch {
    // no ground truth: the CER column stays empty
  }
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort();
  if (!files.length) throw new Error(`no images in ${dir}`);
  return Promise.all(
    files.map(async (f) => {
      const buf = readFileSync(join(dir, f));
      const meta = await sharp(buf).metadata();
      const name = basename(f).replace(/\.[^.]+$/, '');
      return { name, buf, width: meta.width ?? 0, height: meta.height ?? 0, truth: truth[name] };
    }),
  );
}

const is1440 = (f: { width: number; height: number }) => f.width === 1440 && f.height === 1080;

const mb = (bytes: number) => bytes / 1024 / 1024;
const log = (msg: string) => process.stderr.write(`[bench/ocr ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Engines: each is "read a JPEG buffer, return its text lines"

interface OurStages {
  decodeMs: number;
  detectMs: number;
  classifyMs: number;
  recogniseMs: number;
  totalMs: number;
}

interface ReadResult {
  texts: string[];
  stages?: OurStages;
}

interface Runner {
  name: EngineName;
  settings: string;
  read(buf: Buffer): Promise<ReadResult>;
  close(): Promise<void>;
}

async function openOurs(threads?: number): Promise<Runner> {
  const engine = await OcrEngine.open({ device: 'cpu', ...(threads ? { threads } : {}) });
  return {
    name: 'ours',
    settings: `OcrEngine defaults, cpu, intra-op threads ${threads ?? 'default (all cores)'}`,
    async read(buf) {
      const out = await engine.read(buf);
      return { texts: out.lines.map((l) => l.text), stages: out.timings };
    },
    close: () => engine.close(),
  };
}

const toArrayBuffer = (b: Buffer): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

async function openPaddle(eqDet: boolean): Promise<Runner> {
  // paddleocr ships a CJS build next to its ESM one; tsc turns this import() into require().
  const { PaddleOcrService } = await import('paddleocr');
  const files = findOcrModelFiles();
  if (!files.classification) throw new Error('no classifier model in ' + files.dir);
  const dict = readFileSync(files.dictionary, 'utf8').replace(/\r/g, '').split('\n');
  if (dict[dict.length - 1] === '') dict.pop();
  // RapidOCR: (v/255 - 0.5) / 0.5 on BGR for det, cls and rec.
  const norm = {
    mean: [127.5, 127.5, 127.5] as [number, number, number],
    stdDeviation: [1 / 127.5, 1 / 127.5, 1 / 127.5] as [number, number, number],
  };
  const detection = eqDet
    ? { limitType: 'resize_long' as const, maxSideLength: 992 }
    : { limitType: 'min' as const, maxSideLength: 736 };
  const service = await PaddleOcrService.createInstance({
    ort: ort as never,
    detection: {
      modelBuffer: toArrayBuffer(readFileSync(files.detection)),
      ...norm,
      channelOrder: 'bgr',
      ...detection,
      maxSideLimit: 4000,
      textPixelThreshold: 0.3,
      boxScoreThreshold: 0.5,
      unclipRatio: 1.6,
      maxCandidates: 1000,
      scoreMode: 'fast',
      dilationKernelSize: 2,
      boxType: 'quad',
    },
    recognition: {
      modelBuffer: toArrayBuffer(readFileSync(files.recognition)),
      ...norm,
      channelOrder: 'bgr',
      outputSelectionStrategy: 'ctc-logits',
      imageHeight: 48,
      imageWidth: 320,
      // blank is implicit (index 0); PP-OCR appends a space after the file's characters
      charactersDictionary: [...dict, ' '],
    },
    textlineOrientation: {
      modelBuffer: toArrayBuffer(readFileSync(files.classification)),
      ...norm,
      channelOrder: 'bgr',
      imageHeight: 48,
      imageWidth: 192,
      resizeMode: 'pad',
      labels: ['0', '180'],
      threshold: 0.9,
      enabled: true,
    },
  });
  const det = eqDet ? 'resize_long 992 (= our 992x736 for 4:3)' : "736 'min'";
  return {
    name: eqDet ? 'paddleocr-eqdet' : 'paddleocr',
    settings: `paddleocr ${pkgVersion('paddleocr')}, PP-OCRv4 det/rec + v2.0 cls, det ${det}, thresh 0.3 box 0.5 unclip 1.6 dilation 2x2, rec h48 (batch 1: no batching in its API), sharp decode`,
    async read(buf) {
      const { data, info } = await sharp(buf)
        .rotate()
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      const results = await service.recognize({ width: info.width, height: info.height, data });
      return { texts: results.filter((r) => r.confidence >= 0.5).map((r) => r.text) };
    },
    async close() {
      await service.destroy();
      await service.textlineOrientationSession?.release?.();
    },
  };
}

/** A real ESM import() that tsc leaves alone (it would turn a plain one into require()). */
const esmImport = new Function('url', 'return import(url)') as (url: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function openGutenye(): Promise<Runner> {
  const entry = require.resolve('@gutenye/ocr-node');
  const mod = await esmImport(pathToFileURL(entry).href);
  const Ocr = mod.default;
  const ocr = await Ocr.create();
  return {
    name: 'gutenye',
    settings: `@gutenye/ocr-node ${pkgVersion('@gutenye/ocr-node')} defaults (det at full size rounded up to 32, no cls, rec one line at a time; its own sharp ${pkgVersion('sharp', entry)})`,
    async read(buf) {
      const lines: { text: string }[] = await ocr.detect(buf);
      return { texts: lines.map((l) => l.text) };
    },
    async close() {
      // no release API: its sessions live until the process exits
    },
  };
}

function openRunner(name: EngineName): Promise<Runner> {
  switch (name) {
    case 'ours':
      return openOurs();
    case 'paddleocr':
      return openPaddle(false);
    case 'paddleocr-eqdet':
      return openPaddle(true);
    case 'gutenye':
      return openGutenye();
  }
}

function pkgVersion(name: string, from?: string): string {
  try {
    const paths = from ? [from] : [process.cwd()];
    // resolve the package folder through its main entry, then walk up to its package.json
    let dir = require.resolve(name, { paths });
    for (let i = 0; i < 8; i++) {
      dir = resolve(dir, '..');
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (pkg.name === name) return pkg.version;
      } catch {
        // keep walking
      }
    }
  } catch {
    // fall through
  }
  return '?';
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface Sample {
  fixture: string;
  is1440: boolean;
  ms: number;
  lines: number;
  stages?: OurStages;
  /** ours only: time inside session.run per model during this read */
  model?: ModelRunMs;
}

interface LatencyResult {
  engine: EngineName;
  settings: string;
  openMs: number;
  n: number;
  medianMs: number;
  p95Ms: number;
  n1440: number;
  median1440Ms: number;
  p95_1440Ms: number;
  minMs1440: number;
  maxMs1440: number;
  cpuPct: number;
  linesPerImage: number;
  cer?: number;
  perFixtureCer?: Record<string, number>;
  cpuMsPerImage: number;
  perFixtureMedianMs: Record<string, number>;
  stages1440?: Record<keyof OurStages, number>;
  stagesAll?: Record<keyof OurStages, number>;
  /** ours only: medians over 1440x1080 images of time inside session.run, and runs per image */
  modelRun1440?: { detMs: number; clsMs: number; recMs: number; detRuns: number; clsRuns: number; recRuns: number };
  samples: Sample[];
}

async function warmUp(runner: { read(b: Buffer): Promise<unknown> }, fixtures: Fixture[], n: number) {
  for (let i = 0; i < n; i++) await runner.read(fixtures[i % fixtures.length].buf);
}

type ModelKind = 'det' | 'cls' | 'rec';
type ModelRunMs = Record<ModelKind, number> & { runs: Record<ModelKind, number> };

/**
 * Times onnxruntime's session.run by model while `fn` runs (ours only: peers share the module).
 * The model is told by its input: [N,3,48,192] is the classifier, [N,3,48,W>=320] the recogniser,
 * anything else the detector.
 */
let modelRunAcc: ModelRunMs | undefined;
function instrumentOrt(): () => void {
  const proto = (ort.InferenceSession as unknown as { prototype: { run: (...args: unknown[]) => Promise<unknown> } })
    .prototype;
  const original = proto.run;
  proto.run = async function (this: unknown, ...args: unknown[]) {
    const feeds = args[0] as Record<string, ort.Tensor>;
    const dims = Object.values(feeds)[0]?.dims ?? [];
    const kind: ModelKind = dims[2] === 48 ? (dims[3] === 192 ? 'cls' : 'rec') : 'det';
    const t0 = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      if (modelRunAcc) {
        modelRunAcc[kind] += performance.now() - t0;
        modelRunAcc.runs[kind]++;
      }
    }
  };
  return () => {
    proto.run = original;
  };
}
const emptyModelRun = (): ModelRunMs => ({ det: 0, cls: 0, rec: 0, runs: { det: 0, cls: 0, rec: 0 } });

function stageMedians(samples: Sample[]): Record<keyof OurStages, number> | undefined {
  const withStages = samples.filter((s) => s.stages);
  if (!withStages.length) return undefined;
  const keys: (keyof OurStages)[] = ['decodeMs', 'detectMs', 'classifyMs', 'recogniseMs', 'totalMs'];
  return Object.fromEntries(keys.map((k) => [k, round(median(withStages.map((s) => s.stages![k])), 1)])) as Record<
    keyof OurStages,
    number
  >;
}

async function measureLatency(
  runner: Runner,
  openMs: number,
  fixtures: Fixture[],
  opts: Options,
): Promise<LatencyResult> {
  await warmUp(runner, fixtures, opts.warmup);
  const samples: Sample[] = [];
  const firstPassTexts = new Map<string, string[]>();
  const restore = runner.name === 'ours' ? instrumentOrt() : undefined;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let p = 0; p < opts.passes; p++) {
    for (const f of fixtures) {
      if (restore) modelRunAcc = emptyModelRun();
      const t0 = performance.now();
      const r = await runner.read(f.buf);
      const ms = performance.now() - t0;
      samples.push({
        fixture: f.name,
        is1440: is1440(f),
        ms,
        lines: r.texts.length,
        stages: r.stages,
        model: restore ? modelRunAcc : undefined,
      });
      modelRunAcc = undefined;
      if (p === 0) firstPassTexts.set(f.name, r.texts);
    }
  }
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  restore?.();
  const m1440 = samples.filter((s) => s.is1440 && s.model).map((s) => s.model!);
  const modelRun1440 = m1440.length
    ? {
        detMs: round(median(m1440.map((m) => m.det))),
        clsMs: round(median(m1440.map((m) => m.cls))),
        recMs: round(median(m1440.map((m) => m.rec))),
        detRuns: round(median(m1440.map((m) => m.runs.det))),
        clsRuns: round(median(m1440.map((m) => m.runs.cls))),
        recRuns: round(median(m1440.map((m) => m.runs.rec))),
      }
    : undefined;
  const withTruth = fixtures.filter((f) => f.truth);
  const perFixtureCer = Object.fromEntries(
    withTruth.map((f) => [
      f.name,
      round(
        characterErrorRate(
          withoutSpaces(f.truth!.join('')),
          withoutSpaces((firstPassTexts.get(f.name) ?? []).join('')),
        ),
        3,
      ),
    ]),
  );
  const cer = withTruth.length ? Object.values(perFixtureCer).reduce((a, b) => a + b, 0) / withTruth.length : undefined;
  const ms = samples.map((s) => s.ms);
  const ms1440 = samples.filter((s) => s.is1440).map((s) => s.ms);
  return {
    engine: runner.name,
    settings: runner.settings,
    openMs: round(openMs, 0),
    n: ms.length,
    medianMs: round(median(ms)),
    p95Ms: round(percentile(ms, 95)),
    n1440: ms1440.length,
    median1440Ms: round(median(ms1440)),
    p95_1440Ms: round(percentile(ms1440, 95)),
    minMs1440: round(Math.min(...ms1440)),
    maxMs1440: round(Math.max(...ms1440)),
    cpuPct: round(((cpu.user + cpu.system) / 1000 / wall) * 100, 0),
    linesPerImage: round(samples.reduce((a, s) => a + s.lines, 0) / samples.length, 2),
    cer: cer === undefined ? undefined : round(cer, 3),
    perFixtureCer: withTruth.length ? perFixtureCer : undefined,
    cpuMsPerImage: round((cpu.user + cpu.system) / 1000 / samples.length, 0),
    perFixtureMedianMs: Object.fromEntries(
      fixtures.map((f) => [f.name, round(median(samples.filter((s) => s.fixture === f.name).map((s) => s.ms)))]),
    ),
    stages1440: stageMedians(samples.filter((s) => s.is1440)),
    stagesAll: stageMedians(samples),
    modelRun1440,
    samples: samples.map((s) => ({ ...s, ms: round(s.ms, 2) })),
  };
}

interface ThroughputResult {
  engine: EngineName;
  config: string;
  images: number;
  wallS: number;
  imagesPerS: number;
  cpuPct: number;
}

/** K reads in flight at once from one process (one engine instance), until `images` are done. */
async function throughputInProcess(
  read: (b: Buffer) => Promise<unknown>,
  fixtures: Fixture[],
  images: number,
  concurrency: number,
): Promise<{ wallMs: number; cpuMs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < images; i = next++) await read(fixtures[i % fixtures.length].buf);
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * W worker threads, each with its own engine (intra-op `threads`) and `perWorker` reads in flight:
 * onnxruntime-node runs a session synchronously on the calling JS thread, so in one thread two
 * reads never infer at the same time; separate threads do.
 */
async function throughputWorkers(
  workers: number,
  threads: number,
  perWorker: number,
  fixtures: Fixture[],
  images: number,
  warmup: number,
): Promise<{ wallMs: number; cpuMs: number }> {
  const share = Array.from(
    { length: workers },
    (_, w) => Math.floor(images / workers) + (w < images % workers ? 1 : 0),
  );
  const ws = share.map(
    (count, w) =>
      new Worker(__filename, {
        workerData: {
          role: 'tp-worker',
          threads,
          concurrency: perWorker,
          count,
          offset: w,
          warmup,
          fixtures: opts_fixtures(fixtures),
        },
      }),
  );
  const message = (w: Worker, type: string) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const onMsg = (m: Record<string, unknown>) => {
        if (m.type === type) {
          w.off('message', onMsg);
          res(m);
        }
      };
      w.on('message', onMsg);
      w.once('error', rej);
    });
  await Promise.all(ws.map((w) => message(w, 'ready')));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const done = ws.map((w) => message(w, 'done'));
  ws.forEach((w) => w.postMessage({ type: 'go' }));
  await Promise.all(done);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0); // process-wide: includes the workers' threads
  await Promise.all(ws.map((w) => w.terminate()));
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const opts_fixtures = (fixtures: Fixture[]) =>
  fixtures.map((f) => ({ name: f.name, buf: f.buf, width: f.width, height: f.height }));

async function workerMain(): Promise<void> {
  const data = workerData as {
    threads: number;
    concurrency: number;
    count: number;
    offset: number;
    warmup: number;
    fixtures: Fixture[];
  };
  const fixtures = data.fixtures.map((f) => ({ ...f, buf: Buffer.from(f.buf) }));
  const runner = await openOurs(data.threads);
  await warmUp(runner, fixtures, data.warmup);
  parentPort!.postMessage({ type: 'ready' });
  await new Promise<void>((res) => parentPort!.once('message', () => res()));
  let next = 0;
  await Promise.all(
    Array.from({ length: data.concurrency }, async () => {
      for (let i = next++; i < data.count; i = next++)
        await runner.read(fixtures[(i + data.offset) % fixtures.length].buf);
    }),
  );
  parentPort!.postMessage({ type: 'done' });
}

function tpResult(
  engine: EngineName,
  config: string,
  images: number,
  r: { wallMs: number; cpuMs: number },
): ThroughputResult {
  return {
    engine,
    config,
    images,
    wallS: round(r.wallMs / 1000, 2),
    imagesPerS: round((images / r.wallMs) * 1000, 2),
    cpuPct: round((r.cpuMs / r.wallMs) * 100, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Soak (child process: its RSS is our engine's alone)

interface SoakCheckpoint {
  image: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

interface SoakResult {
  images: number;
  gc: boolean;
  wallS: number;
  imagesPerS: number;
  medianMs: number;
  p95Ms: number;
  rssAfterWarmupMb: number;
  peakRssSampledMb: number;
  /** VmHWM from /proc/self/status: the kernel's peak for this process image (getrusage maxRSS would include the parent's RSS at fork/exec) */
  peakRssKernelMb?: number;
  rssEndMb: number;
  rssAt100Mb?: number;
  rssGrowth100ToEndMb?: number;
  /** RSS growth over the second half (checkpoint nearest N/2 -> end): a leak grows there as much as in the first half, allocator warm-up does not */
  rssGrowthSecondHalfMb?: number;
  /**
   * Highest gc'd RSS checkpoint from image 100 to N/2, and after N/2. The allocator makes single
   * checkpoints swing by 10-20 MB either way; a leak raises the second half's peak above the first's.
   */
  rssPeakFirstHalfMb?: number;
  rssPeakSecondHalfMb?: number;
  secondHalfFrom?: number;
  rssSlopeKbPer100Images?: number;
  heapGrowth100ToEndMb?: number;
  externalGrowth100ToEndMb?: number;
  checkpoints: SoakCheckpoint[];
}

async function soakMain(images: number, fixturesDir: string, warmup: number): Promise<SoakResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const fixtures = await loadFixtures(fixturesDir);
  const runner = await openOurs();
  await warmUp(runner, fixtures, warmup);
  gc?.();
  const rssAfterWarmup = process.memoryUsage.rss();
  let peak = rssAfterWarmup;
  const checkpoints: SoakCheckpoint[] = [];
  const checkpoint = (image: number) => {
    gc?.();
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    checkpoints.push({
      image,
      rssMb: round(mb(m.rss)),
      heapUsedMb: round(mb(m.heapUsed)),
      externalMb: round(mb(m.external)),
      arrayBuffersMb: round(mb(m.arrayBuffers)),
    });
  };
  checkpoint(0);
  const ms: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= images; i++) {
    const s = performance.now();
    await runner.read(fixtures[(i - 1) % fixtures.length].buf);
    ms.push(performance.now() - s);
    peak = Math.max(peak, process.memoryUsage.rss());
    if (i % 100 === 0 || i === images) checkpoint(i);
    if (i % 100 === 0) log(`soak ${i}/${images}, rss ${round(mb(process.memoryUsage.rss()))} MB`);
  }
  const wall = performance.now() - t0;
  await runner.close();
  const end = checkpoints[checkpoints.length - 1];
  const at100 = checkpoints.find((c) => c.image === 100);
  const mid = checkpoints.reduce<SoakCheckpoint | undefined>(
    (b, c) => (!b || Math.abs(c.image - images / 2) < Math.abs(b.image - images / 2) ? c : b),
    undefined,
  );
  // least-squares slope of RSS over the checkpoints from image 100 on
  const pts = checkpoints.filter((c) => c.image >= 100);
  let slope: number | undefined;
  if (pts.length >= 2) {
    const mx = pts.reduce((a, c) => a + c.image, 0) / pts.length;
    const my = pts.reduce((a, c) => a + c.rssMb, 0) / pts.length;
    const num = pts.reduce((a, c) => a + (c.image - mx) * (c.rssMb - my), 0);
    const den = pts.reduce((a, c) => a + (c.image - mx) ** 2, 0);
    slope = round((num / den) * 100 * 1024, 0);
  }
  return {
    images,
    gc: !!gc,
    wallS: round(wall / 1000, 1),
    imagesPerS: round((images / wall) * 1000, 2),
    medianMs: round(median(ms)),
    p95Ms: round(percentile(ms, 95)),
    rssAfterWarmupMb: round(mb(rssAfterWarmup)),
    peakRssSampledMb: round(mb(peak)),
    peakRssKernelMb: vmHwmMb(),
    rssEndMb: end.rssMb,
    rssAt100Mb: at100?.rssMb,
    rssGrowth100ToEndMb: at100 ? round(end.rssMb - at100.rssMb) : undefined,
    rssGrowthSecondHalfMb: mid && mid !== end ? round(end.rssMb - mid.rssMb) : undefined,
    rssPeakFirstHalfMb: peakOf(pts.filter((c) => mid && c.image <= mid.image)),
    rssPeakSecondHalfMb: peakOf(pts.filter((c) => mid && c.image > mid.image)),
    secondHalfFrom: mid?.image,
    rssSlopeKbPer100Images: slope,
    heapGrowth100ToEndMb: at100 ? round(end.heapUsedMb - at100.heapUsedMb) : undefined,
    externalGrowth100ToEndMb: at100 ? round(end.externalMb - at100.externalMb) : undefined,
    checkpoints,
  };
}

const peakOf = (points: SoakCheckpoint[]) => (points.length ? Math.max(...points.map((c) => c.rssMb)) : undefined);

/** Peak RSS of this process image (Linux VmHWM), undefined elsewhere. */
function vmHwmMb(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

function runSoakChild(images: number, fixturesDir: string, warmup: number): Promise<SoakResult> {
  return new Promise((res, rej) => {
    const child: ChildProcess = fork(__filename, ['--soak-child', String(images), fixturesDir, String(warmup)], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: SoakResult | undefined;
    child.on('message', (m) => (result = m as SoakResult));
    child.on('error', rej);
    child.on('exit', (code) => (result ? res(result) : rej(new Error(`soak child exited with ${code}`))));
  });
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  startedAt: string;
  command: string;
  env: {
    node: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    totalMemMb: number;
    onnxruntimeNode: string;
    sharp: string;
    paddleocr: string;
    gutenyeOcrNode: string;
    gc: boolean;
    loadAvgStart: number[];
    loadAvgEnd?: number[];
  };
  fixtures: { name: string; width: number; height: number; bytes: number }[];
  method: { passes: number; warmup: number; tpImages: number; soak: number };
  latency: LatencyResult[];
  ratios: {
    peer: EngineName;
    oursMedian1440Ms: number;
    peerMedian1440Ms: number;
    oursOverPeer: number;
    speedup: number;
  }[];
  throughput: ThroughputResult[];
  bestThroughput?: { ours?: ThroughputResult; oursInProcess?: ThroughputResult; peers: ThroughputResult[] };
  soak?: SoakResult;
  targets?: { median1440Le250: boolean; atLeast2xFastestPeer?: boolean; fastestPeer?: string; noRssGrowth?: boolean };
  totalS?: number;
  errors: { engine: string; phase: string; error: string }[];
}

const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(1));
const f2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));

function printReport(r: Report): void {
  const out: string[] = [];
  const e = r.env;
  out.push(`OCR benchmark  ${r.startedAt}`);
  out.push(`command: ${r.command}`);
  out.push(
    `node ${e.node} ${e.platform}, ${e.cpus} CPUs (${e.cpuModel}), ${e.totalMemMb} MB RAM; onnxruntime-node ${e.onnxruntimeNode}, sharp ${e.sharp}, paddleocr ${e.paddleocr}, @gutenye/ocr-node ${e.gutenyeOcrNode}`,
  );
  out.push(
    `load average (1/5/15 min): start ${e.loadAvgStart.map((v) => v.toFixed(2)).join(' ')}, end ${e.loadAvgEnd?.map((v) => v.toFixed(2)).join(' ') ?? '-'}`,
  );
  const n1440 = r.fixtures.filter(is1440).length;
  out.push(
    `fixtures: ${r.fixtures.length} (${n1440} x 1440x1080, ${r.fixtures.length - n1440} other: ${r.fixtures
      .filter((f) => !is1440(f))
      .map((f) => `${f.name} ${f.width}x${f.height}`)
      .join(', ')}); warm-up ${r.method.warmup} images/engine, ${r.method.passes} passes; p95 is nearest-rank`,
  );
  out.push('');
  out.push('Latency per image, one read at a time (whole read of a JPEG buffer incl. decode), ms');
  out.push(
    table(
      [
        'engine',
        'n',
        'median',
        'p95',
        '1440x1080 n',
        'median',
        'p95',
        'min',
        'max',
        'ours/peer',
        'CPU%',
        'CPU ms/img',
        'lines/img',
        'CER',
        'open ms',
      ],
      r.latency.map((l) => {
        const ratio = r.ratios.find((x) => x.peer === l.engine);
        return [
          l.engine,
          String(l.n),
          f1(l.medianMs),
          f1(l.p95Ms),
          String(l.n1440),
          f1(l.median1440Ms),
          f1(l.p95_1440Ms),
          f1(l.minMs1440),
          f1(l.maxMs1440),
          l.engine === 'ours' ? '1.00' : ratio ? f2(ratio.oursOverPeer) : '-',
          String(l.cpuPct),
          String(l.cpuMsPerImage),
          f2(l.linesPerImage),
          l.cer === undefined ? '-' : l.cer.toFixed(3),
          String(l.openMs),
        ];
      }),
    ),
  );
  out.push(
    "(ours/peer = our 1440x1080 median / the peer's; CER = mean character error rate vs truth.json, spaces ignored, first pass - a sanity check that the peers are configured to do the same job; CPU% = process CPU time / wall, 100 = one core; CPU ms/img = process CPU time per image, less sensitive to other load than wall time)",
  );
  for (const l of r.latency) out.push(`  ${l.engine}: ${l.settings}`);
  for (const l of r.latency) {
    if (l.perFixtureCer)
      out.push(
        `  CER by fixture, ${l.engine}: ${Object.entries(l.perFixtureCer)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
  }
  const ours = r.latency.find((l) => l.engine === 'ours');
  if (ours?.stages1440) {
    out.push('');
    out.push('Our per-stage medians, ms (engine.read timings)');
    const s = ours.stages1440;
    const a = ours.stagesAll!;
    out.push(
      table(
        ['images', 'decode', 'detect', 'classify', 'recognise', 'total', 'wall median'],
        [
          [
            '1440x1080',
            f1(s.decodeMs),
            f1(s.detectMs),
            f1(s.classifyMs),
            f1(s.recogniseMs),
            f1(s.totalMs),
            f1(ours.median1440Ms),
          ],
          [
            'all',
            f1(a.decodeMs),
            f1(a.detectMs),
            f1(a.classifyMs),
            f1(a.recogniseMs),
            f1(a.totalMs),
            f1(ours.medianMs),
          ],
        ],
      ),
    );
    out.push(
      '(detect = resize + tensor + det model + DB postprocess + reading order; decode = header + full decode to RGB)',
    );
    const m = ours.modelRun1440;
    if (m) {
      out.push(
        `inside session.run, 1440x1080 medians: det ${f1(m.detMs)} ms (${m.detRuns} run), cls ${f1(m.clsMs)} ms (${m.clsRuns} runs), rec ${f1(m.recMs)} ms (${m.recRuns} runs); ` +
          `outside the models: detect ${f1(s.detectMs - m.detMs)} ms, classify ${f1(s.classifyMs - m.clsMs)} ms, recognise ${f1(s.recogniseMs - m.recMs)} ms (differences of medians)`,
      );
    }
    out.push(
      'Per-fixture median wall ms: ' +
        r.latency
          .map(
            (l) =>
              `${l.engine} ${Object.entries(l.perFixtureMedianMs)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')}`,
          )
          .join(' | '),
    );
  }
  if (r.throughput.length) {
    out.push('');
    out.push('Throughput with all cores busy (images/s; fixtures cycled)');
    out.push(
      table(
        ['engine', 'configuration', 'images', 'wall s', 'images/s', 'CPU%'],
        r.throughput.map((t) => [
          t.engine,
          t.config,
          String(t.images),
          f2(t.wallS),
          f2(t.imagesPerS),
          String(t.cpuPct),
        ]),
        2,
      ),
    );
    const b = r.bestThroughput;
    if (b?.ours) out.push(`best for ours: ${b.ours.imagesPerS} images/s with ${b.ours.config}`);
    if (b?.oursInProcess && b.oursInProcess !== b.ours)
      out.push(`best for ours in one JS thread: ${b.oursInProcess.imagesPerS} images/s with ${b.oursInProcess.config}`);
    for (const p of b?.peers ?? []) out.push(`best for ${p.engine}: ${p.imagesPerS} images/s with ${p.config}`);
  }
  if (r.soak) {
    const s = r.soak;
    out.push('');
    out.push(
      `Soak: ${s.images} images through our engine (child process, sequential, default threads, gc ${s.gc ? 'forced at each checkpoint (--expose-gc)' : 'NOT exposed: RSS includes garbage'})`,
    );
    out.push(
      table(
        [
          'RSS after warm-up',
          'peak (sampled)',
          'peak (kernel VmHWM)',
          'at image 100',
          `at end (${s.images})`,
          'growth 100->end',
          `growth ${s.secondHalfFrom ?? '-'}->end`,
          'slope 100->end',
          'heap growth',
          'external growth',
        ],
        [
          [
            `${f1(s.rssAfterWarmupMb)} MB`,
            `${f1(s.peakRssSampledMb)} MB`,
            `${f1(s.peakRssKernelMb)} MB`,
            `${f1(s.rssAt100Mb)} MB`,
            `${f1(s.rssEndMb)} MB`,
            `${f1(s.rssGrowth100ToEndMb)} MB`,
            `${f1(s.rssGrowthSecondHalfMb)} MB`,
            `${s.rssSlopeKbPer100Images ?? '-'} KB/100 img`,
            `${f1(s.heapGrowth100ToEndMb)} MB`,
            `${f1(s.externalGrowth100ToEndMb)} MB`,
          ],
        ],
        0,
      ),
    );
    out.push(`soak speed: ${s.imagesPerS} images/s, median ${s.medianMs} ms, p95 ${s.p95Ms} ms, ${s.wallS} s`);
    out.push('RSS by checkpoint (MB): ' + s.checkpoints.map((c) => `${c.image}:${c.rssMb}`).join(' '));
  }
  if (r.targets) {
    const t = r.targets;
    out.push('');
    out.push('Targets');
    out.push(
      `  median <= 250 ms per 1440x1080 image: ${t.median1440Le250 ? 'MET' : 'NOT MET'} (${ours ? f1(ours.median1440Ms) : '-'} ms)`,
    );
    if (t.atLeast2xFastestPeer !== undefined) {
      const ratio = r.ratios.find((x) => x.peer === t.fastestPeer);
      out.push(
        `  at least 2x faster than the fastest peer (${t.fastestPeer}): ${t.atLeast2xFastestPeer ? 'MET' : 'NOT MET'} (${ratio ? f2(ratio.speedup) : '-'}x)`,
      );
    }
    if (t.noRssGrowth !== undefined) {
      out.push(
        `  no RSS growth over ${r.soak?.images} images (peak gc'd RSS checkpoint after N/2 within 5 MB of the peak from 100 to N/2: ${r.soak?.rssPeakSecondHalfMb} vs ${r.soak?.rssPeakFirstHalfMb} MB; JS heap growth 100->end < 5 MB): ${t.noRssGrowth ? 'MET' : 'NOT MET'}`,
      );
    }
  }
  if (r.errors.length) {
    out.push('');
    out.push('Errors');
    for (const err of r.errors) out.push(`  ${err.engine} (${err.phase}): ${err.error}`);
  }
  out.push('');
  out.push(`total ${r.totalS} s`);
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const fixtures = await loadFixtures(opts.fixtures);
  const report: Report = {
    startedAt: new Date().toISOString(),
    command: [
      'node',
      ...process.execArgv,
      process.argv[1] ? process.argv[1].replace(process.cwd() + '/', '') : '',
      ...process.argv.slice(2),
    ].join(' '),
    env: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? '?',
      totalMemMb: Math.round(mb(os.totalmem())),
      onnxruntimeNode: pkgVersion('onnxruntime-node'),
      sharp: pkgVersion('sharp'),
      paddleocr: pkgVersion('paddleocr'),
      gutenyeOcrNode: pkgVersion('@gutenye/ocr-node'),
      gc,
      loadAvgStart: os.loadavg().map((v) => round(v, 2)),
    },
    fixtures: fixtures.map((f) => ({ name: f.name, width: f.width, height: f.height, bytes: f.buf.length })),
    method: { passes: opts.passes, warmup: opts.warmup, tpImages: opts.tpImages, soak: opts.soak },
    latency: [],
    ratios: [],
    throughput: [],
    errors: [],
  };
  const fail = (engine: string, phase: string, error: unknown) => {
    const msg =
      error instanceof Error ? (error.stack?.split('\n').slice(0, 3).join(' | ') ?? error.message) : String(error);
    report.errors.push({ engine, phase, error: msg });
    log(`${engine} ${phase} FAILED: ${msg}`);
  };

  // Engines one after another, so that none competes with another for the cores.
  for (const name of opts.only) {
    let runner: Runner | undefined;
    try {
      log(`${name}: opening`);
      const o0 = performance.now();
      runner = await openRunner(name);
      const openMs = performance.now() - o0;
      log(`${name}: latency, ${opts.warmup} warm-up + ${opts.passes} x ${fixtures.length} images`);
      const lat = await measureLatency(runner, openMs, fixtures, opts);
      report.latency.push(lat);
      log(`${name}: median ${lat.medianMs} ms, 1440x1080 median ${lat.median1440Ms} ms p95 ${lat.p95_1440Ms} ms`);
      if (opts.throughput && name !== 'paddleocr-eqdet') {
        const configs = name === 'ours' ? [2, 4] : [2, 4];
        for (const k of configs) {
          log(`${name}: throughput, ${k} reads in flight, ${opts.tpImages} images`);
          const cfg = name === 'ours' ? `1 engine (threads default), ${k} concurrent reads` : `${k} concurrent reads`;
          report.throughput.push(
            tpResult(
              name,
              cfg,
              opts.tpImages,
              await throughputInProcess((b) => runner!.read(b), fixtures, opts.tpImages, k),
            ),
          );
        }
      }
    } catch (error) {
      fail(name, 'run', error);
    } finally {
      await runner?.close().catch((error) => fail(name, 'close', error));
    }
    if (name === 'ours' && opts.throughput) {
      try {
        log('ours: throughput, engine with threads: 1, 2 concurrent reads');
        const one = await openOurs(1);
        await warmUp(one, fixtures, opts.warmup);
        report.throughput.push(
          tpResult(
            'ours',
            '1 engine (threads 1), 2 concurrent reads',
            opts.tpImages,
            await throughputInProcess((b) => one.read(b), fixtures, opts.tpImages, 2),
          ),
        );
        await one.close();
        const cores = os.cpus().length;
        log(`ours: throughput, ${cores} worker threads x engine(threads 1)`);
        report.throughput.push(
          tpResult(
            'ours',
            `${cores} worker threads x 1 engine (threads 1), 1 read each`,
            opts.tpImages,
            await throughputWorkers(cores, 1, 1, fixtures, opts.tpImages, opts.warmup),
          ),
        );
        log(`ours: throughput, ${cores} worker threads x engine(threads 1) x 2 reads`);
        report.throughput.push(
          tpResult(
            'ours',
            `${cores} worker threads x 1 engine (threads 1), 2 reads each`,
            opts.tpImages,
            await throughputWorkers(cores, 1, 2, fixtures, opts.tpImages, opts.warmup),
          ),
        );
      } catch (error) {
        fail('ours', 'throughput', error);
      }
    }
  }

  const ours = report.latency.find((l) => l.engine === 'ours');
  if (ours) {
    for (const l of report.latency) {
      if (l.engine === 'ours') continue;
      report.ratios.push({
        peer: l.engine,
        oursMedian1440Ms: ours.median1440Ms,
        peerMedian1440Ms: l.median1440Ms,
        oursOverPeer: round(ours.median1440Ms / l.median1440Ms, 3),
        speedup: round(l.median1440Ms / ours.median1440Ms, 2),
      });
    }
  }
  if (report.throughput.length) {
    const best = (rows: ThroughputResult[]) =>
      rows.reduce<ThroughputResult | undefined>((b, t) => (!b || t.imagesPerS > b.imagesPerS ? t : b), undefined);
    const peers = [...new Set(report.throughput.filter((t) => t.engine !== 'ours').map((t) => t.engine))];
    report.bestThroughput = {
      ours: best(report.throughput.filter((t) => t.engine === 'ours')),
      oursInProcess: best(report.throughput.filter((t) => t.engine === 'ours' && !t.config.includes('worker'))),
      peers: peers.map((p) => best(report.throughput.filter((t) => t.engine === p))!),
    };
  }

  if (opts.only.includes('ours') && opts.soak > 0) {
    try {
      log(
        `soak: ${opts.soak} images through our engine in a child process${gc ? '' : ' (no --expose-gc: RSS includes garbage)'}`,
      );
      report.soak = await runSoakChild(opts.soak, opts.fixtures, opts.warmup);
    } catch (error) {
      fail('ours', 'soak', error);
    }
  }

  if (ours) {
    // the headline comparison is against the peers as the issue configures them (not the eqdet variant)
    const peers = report.latency.filter((l) => l.engine === 'paddleocr' || l.engine === 'gutenye');
    const fastest = peers.reduce<LatencyResult | undefined>(
      (b, l) => (!b || l.median1440Ms < b.median1440Ms ? l : b),
      undefined,
    );
    report.targets = {
      median1440Le250: ours.median1440Ms <= 250,
      ...(fastest && {
        fastestPeer: fastest.engine,
        atLeast2xFastestPeer: fastest.median1440Ms / ours.median1440Ms >= 2,
      }),
      ...(report.soak?.rssGrowthSecondHalfMb !== undefined && {
        noRssGrowth:
          report.soak.rssPeakSecondHalfMb! - report.soak.rssPeakFirstHalfMb! < 5 &&
          (report.soak.heapGrowth100ToEndMb ?? 0) < 5,
      }),
    };
  }
  report.env.loadAvgEnd = os.loadavg().map((v) => round(v, 2));
  report.totalS = round((performance.now() - t0) / 1000, 1);

  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printReport(report);
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === 'tp-worker') {
  workerMain().catch((error) => {
    throw error;
  });
} else if (process.argv[2] === '--soak-child') {
  const [, , , images, dir, warmup] = process.argv;
  soakMain(Number(images), dir, Number(warmup))
    .then((r) => process.send!(r, () => process.exit(0)))
    .catch((error) => {
      process.stderr.write(String(error?.stack ?? error) + '\n');
      process.exit(1);
    });
} else {
  main().catch((error) => {
    process.stderr.write(String(error?.stack ?? error) + '\n');
    process.exit(1);
  });
}
