import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageInputError } from '../../src/shared/image/decode';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { OcrPoolBusyError, OcrWorkerPool } from '../../src/inference/ocr/ocr-worker-pool';
import type { OcrReader } from '../../src/inference/ocr/ocr-types';
import { ocrFixture } from '../support/fixtures';

/**
 * How many 1 ms timers fire while `work` is in flight. A worker thread leaves the event loop free, so
 * timers keep firing however loaded the machine is; a model run on the main thread lets none fire
 * until it ends. (The event-loop lag in milliseconds is a benchmark figure: bench/ocr, "event loop".)
 */
async function timerTicksDuring(work: Promise<unknown>): Promise<{ ticks: number; settled: boolean }> {
  let settled = false;
  void work.finally(() => (settled = true)).catch(() => undefined);
  let ticks = 0;
  while (!settled && ticks < 5) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (!settled) ticks++;
  }
  return { ticks, settled };
}

const texts = async (reader: OcrReader, name: string) => (await reader.read(ocrFixture(name))).lines.map((l) => l.text);

// Runs the compiled worker from dist/ (npm test builds first).
describe('OCR on worker threads', () => {
  let pool: OcrWorkerPool;
  let engine: OcrEngine;
  beforeAll(async () => {
    [pool, engine] = await Promise.all([OcrWorkerPool.open({ workers: 2 }), OcrEngine.open()]);
  });
  afterAll(() => Promise.all([pool.close(), engine.close()]));

  it('reads exactly what the in-process engine reads', async () => {
    for (const name of ['f03', 'f05']) expect(await texts(pool, name)).toEqual(await texts(engine, name));
    const out = await pool.read(ocrFixture('f01'));
    expect([out.width, out.height]).toEqual([1440, 1080]);
    expect(out.lines[0].box).toHaveLength(8);
  });

  it('keeps the image error kind across the thread boundary', async () => {
    const error = await pool.read(ocrFixture('f01').subarray(0, 4000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageInputError);
    expect((error as ImageInputError).kind).toBe('undecodable');
  });

  it('runs one read per worker at once and leaves the event loop free while the models run', async () => {
    const reads = Promise.all(['f01', 'f08'].map((n) => texts(pool, n)));
    // Five timers fire one after another while both reads are still running on the workers.
    expect(await timerTicksDuring(reads)).toEqual({ ticks: 5, settled: false });
    expect((await reads).map((lines) => lines.length)).toEqual([3, 2]);
  });

  it('keeps no queue of its own: a read beyond one per worker is refused, not parked', async () => {
    const reads = ['f01', 'f02', 'f07'].map((name) =>
      pool.read(ocrFixture(name)).then(
        () => 'read',
        (e: unknown) => e,
      ),
    );
    const outcomes = await Promise.all(reads);
    expect(outcomes.slice(0, 2)).toEqual(['read', 'read']);
    expect(outcomes[2]).toBeInstanceOf(OcrPoolBusyError);
  });

  it('fails the read of a worker that dies and replaces the worker', async () => {
    // A stand-in worker that is ready at once and dies on its first image (as an out-of-memory
    // worker would); terminating a real one inside a model run would abort the whole process.
    const script = join(mkdtempSync(join(tmpdir(), 'ocr-worker-')), 'dies.js');
    writeFileSync(
      script,
      "const { parentPort } = require('node:worker_threads');" +
        "parentPort.postMessage({ type: 'ready', device: 'cpu' });" +
        'parentPort.on("message", () => process.exit(3));',
    );
    const dying = await OcrWorkerPool.open({ workers: 2, workerScript: script });
    try {
      await expect(dying.read(ocrFixture('f01'))).rejects.toThrow(/OCR worker stopped unexpectedly \(exit code 3\)/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((dying as unknown as { slots: unknown[] }).slots).toHaveLength(2);
      await expect(dying.read(ocrFixture('f01'))).rejects.toThrow(/exit code 3/); // the replacement serves
    } finally {
      await dying.close();
    }
  });

  it('on close lets running reads finish, refuses new ones, and never kills a model run', async () => {
    const closing = await OcrWorkerPool.open({ workers: 2 });
    const settled = Promise.allSettled(['f01', 'f02'].map((name) => closing.read(ocrFixture(name))));
    await new Promise((resolve) => setTimeout(resolve, 50)); // both workers are inside a model run now
    await closing.close();
    const outcomes = await settled;
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect((outcomes[0] as PromiseFulfilledResult<{ lines: unknown[] }>).value.lines.length).toBeGreaterThan(0);
    await expect(closing.read(ocrFixture('f01'))).rejects.toThrow(/closed/);
  });
});
