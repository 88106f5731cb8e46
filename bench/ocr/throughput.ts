/** Images per second with every core busy: reads in flight in one process, or on worker threads. */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { round } from '../support';
import { openOurs } from './engines';
import type { Fixture } from './fixtures';
import { warmUp } from './latency';
import type { EngineName } from './options';

export interface ThroughputResult {
  engine: EngineName;
  config: string;
  images: number;
  wallS: number;
  imagesPerS: number;
  cpuPct: number;
}

/** K reads in flight at once from one process (one engine instance), until `images` are done. */
export async function throughputInProcess(
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
export async function throughputWorkers(
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

export const opts_fixtures = (fixtures: Fixture[]) =>
  fixtures.map((f) => ({ name: f.name, buf: f.buf, width: f.width, height: f.height }));

export async function workerMain(): Promise<void> {
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

export function tpResult(
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

// This file is also the entry of each throughput worker thread (new Worker(__filename) above).
if (!isMainThread && (workerData as { role?: string } | undefined)?.role === 'tp-worker') {
  workerMain().catch((error) => {
    throw error;
  });
}
