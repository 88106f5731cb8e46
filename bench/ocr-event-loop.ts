/**
 * Event-loop lag while OCR runs: the longest gap between 5 ms timer ticks during two reads at once
 * (fixtures f01 and f08), on the worker-thread pool the inference service uses and on the engine in
 * the main thread, each run `--runs` times in the same process. The tests assert only that timers
 * fire during a pooled read (load cannot flip that); the milliseconds are this benchmark's.
 *
 *   npm run bench:event-loop [-- --runs 5]
 */
import { OcrEngine } from '../src/inference/ocr/ocr-engine';
import { OcrWorkerPool } from '../src/inference/ocr/ocr-worker-pool';
import type { OcrReader } from '../src/inference/ocr/ocr-types';
import { ocrFixture } from '../test/support/fixtures';
import { int, median, parseFlags, printUsageAndExit, round, table } from './support';

async function maxLagDuring(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return worst;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { runs: { type: 'string' }, help: { type: 'boolean' } });
  if (flags.help) printUsageAndExit(__filename);
  const runs = int('--runs', flags.runs ?? '5', 1);
  const [pool, engine] = await Promise.all([OcrWorkerPool.open({ workers: 2 }), OcrEngine.open()]);
  const images = ['f01', 'f08'].map(ocrFixture);
  const pair = (reader: OcrReader) => Promise.all(images.map((image) => reader.read(image)));
  try {
    await Promise.all([pair(pool), pair(engine)]); // warm-up
    const lags: Record<'pool' | 'engine', number[]> = { pool: [], engine: [] };
    for (let run = 0; run < runs; run++) {
      lags.pool.push(await maxLagDuring(() => pair(pool)));
      lags.engine.push(await maxLagDuring(() => pair(engine)));
    }
    const row = (name: 'pool' | 'engine') => [
      name === 'pool' ? 'worker pool (2 workers)' : 'engine on the main thread',
      String(round(median(lags[name]))),
      String(round(Math.max(...lags[name]))),
    ];
    console.log(`event-loop lag during two OCR reads at once, ${runs} runs, ms`);
    console.log(table(['reader', 'median', 'max'], [row('pool'), row('engine')]));
    console.log(`pool / engine (median): ${round(median(lags.pool) / median(lags.engine), 2)}x`);
  } finally {
    await Promise.all([pool.close(), engine.close()]);
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
