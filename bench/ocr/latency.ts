/** One image at a time: latency per engine, our stages, and the model runs inside them. */
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { characterErrorRate, withoutSpaces } from '../../test/support/cer';
import { median, percentile, round } from '../support';
import type { Runner, OurStages } from './engines';
import { type Fixture, is1440 } from './fixtures';
import type { EngineName, Options } from './options';

export interface Sample {
  fixture: string;
  is1440: boolean;
  ms: number;
  lines: number;
  stages?: OurStages;
  /** ours only: time inside session.run per model during this read */
  model?: ModelRunMs;
}

export interface LatencyResult {
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
  /** Mean character error rate per fixture set (folder). */
  cerBySet?: Record<string, number>;
  perFixtureCer?: Record<string, number>;
  cpuMsPerImage: number;
  perFixtureMedianMs: Record<string, number>;
  stages1440?: Record<keyof OurStages, number>;
  stagesAll?: Record<keyof OurStages, number>;
  /** ours only: medians over 1440x1080 images of time inside session.run, and runs per image */
  modelRun1440?: { detMs: number; clsMs: number; recMs: number; detRuns: number; clsRuns: number; recRuns: number };
  samples: Sample[];
}

export async function warmUp(runner: { read(b: Buffer): Promise<unknown> }, fixtures: Fixture[], n: number) {
  for (let i = 0; i < n; i++) await runner.read(fixtures[i % fixtures.length].buf);
}

export type ModelKind = 'det' | 'cls' | 'rec';
export type ModelRunMs = Record<ModelKind, number> & { runs: Record<ModelKind, number> };

/**
 * Times onnxruntime's session.run by model during each read (the peers use the same onnxruntime-node).
 * The model is told by its input: [N,3,48,192] is the classifier, [N,3,48,W>=320] the recogniser,
 * anything else the detector.
 */
let modelRunAcc: ModelRunMs | undefined;
export function instrumentOrt(): () => void {
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
export const emptyModelRun = (): ModelRunMs => ({ det: 0, cls: 0, rec: 0, runs: { det: 0, cls: 0, rec: 0 } });

export function stageMedians(samples: Sample[]): Record<keyof OurStages, number> | undefined {
  const withStages = samples.filter((s) => s.stages);
  if (!withStages.length) return undefined;
  const keys: (keyof OurStages)[] = ['decodeMs', 'detectMs', 'classifyMs', 'recogniseMs', 'totalMs'];
  return Object.fromEntries(keys.map((k) => [k, round(median(withStages.map((s) => s.stages![k])), 1)])) as Record<
    keyof OurStages,
    number
  >;
}

export async function measureLatency(
  runner: Runner,
  openMs: number,
  fixtures: Fixture[],
  opts: Options,
): Promise<LatencyResult> {
  await warmUp(runner, fixtures, opts.warmup);
  const samples: Sample[] = [];
  const firstPassTexts = new Map<string, string[]>();
  const restore = instrumentOrt();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let p = 0; p < opts.passes; p++) {
    for (const f of fixtures) {
      modelRunAcc = emptyModelRun();
      const t0 = performance.now();
      const r = await runner.read(f.buf);
      const ms = performance.now() - t0;
      samples.push({
        fixture: f.name,
        is1440: is1440(f),
        ms,
        lines: r.texts.length,
        stages: r.stages,
        model: modelRunAcc,
      });
      modelRunAcc = undefined;
      if (p === 0) firstPassTexts.set(f.name, r.texts);
    }
  }
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  restore();
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
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const cer = withTruth.length ? mean(Object.values(perFixtureCer)) : undefined;
  const sets = [...new Set(withTruth.map((f) => f.set))];
  const cerBySet = Object.fromEntries(
    sets.map((set) => [set, round(mean(withTruth.filter((f) => f.set === set).map((f) => perFixtureCer[f.name])), 4)]),
  );
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
    cer: cer === undefined ? undefined : round(cer, 4),
    cerBySet: sets.length ? cerBySet : undefined,
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
