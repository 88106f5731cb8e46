/**
 * Two builds of the OCR engine in one process, reads alternating image by image, so that whatever
 * else the machine runs weighs on both alike: what a change costs per photo when the load is too
 * uneven for two separate bench:ocr runs to tell.
 *
 *   npm run build:bench && node dist-bench/bench/ocr-ab.js <dist A> <dist B> <rounds> <images...>
 *
 * <dist A>, <dist B>: `dist` folders of two builds (npm run build; e.g. one of a `git archive` of the
 * commit before). Prints one JSON object: medians of each and the median of the paired ratios B/A.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { OcrEngine } from '../src/inference/ocr/ocr-engine';
import { median, round } from './support';

type Engine = Pick<OcrEngine, 'read' | 'close'>;

async function open(dist: string): Promise<Engine> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(join(resolve(dist), 'inference/ocr/ocr-engine')) as { OcrEngine: typeof OcrEngine };
  return mod.OcrEngine.open();
}

async function main(): Promise<void> {
  const [distA, distB, rounds, ...files] = process.argv.slice(2);
  if (!files.length) throw new Error('usage: ocr-ab <dist A> <dist B> <rounds> <images...>');
  const [a, b] = [await open(distA), await open(distB)];
  const images = files.map((f) => readFileSync(f));
  for (const image of images.slice(0, 2)) for (let i = 0; i < 2; i++) await Promise.all([a.read(image), b.read(image)]);
  const times = { a: [] as number[], b: [] as number[] };
  const ratios: number[] = [];
  for (let r = 0; r < Number(rounds); r++) {
    for (const [i, image] of images.entries()) {
      const t: Record<'a' | 'b', number> = { a: 0, b: 0 };
      for (const key of (r + i) % 2 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        const t0 = performance.now();
        await (key === 'a' ? a : b).read(image);
        t[key] = performance.now() - t0;
        times[key].push(t[key]);
      }
      ratios.push(t.b / t.a);
    }
  }
  await Promise.all([a.close(), b.close()]);
  process.stdout.write(
    JSON.stringify({
      reads: ratios.length,
      medianA: round(median(times.a)),
      medianB: round(median(times.b)),
      medianPairedRatio: round(median(ratios), 3),
    }) + '\n',
  );
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\n');
  process.exit(1);
});
