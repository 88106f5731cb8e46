/**
 * Time to the first answer: a freshly opened engine's first read against its tenth, with and
 * without the warm-up the inference service runs when it preloads (OcrEngine.open({ warmUp })).
 * One onnxruntime thread, as in each of the service's OCR workers; each in a fresh process, as after
 * a restart, so nothing the bench ran before has warmed it.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { median, round } from '../support';

export interface FirstReadResult {
  warmUp: boolean;
  /** Opening, plus the warm-up when on: what /health's "loading" lasts. */
  openMs: number;
  firstMs: number;
  tenthMs: number;
  /** Median of reads 2-10. */
  laterMedianMs: number;
  firstOverLater: number;
}

export function firstReadInChild(photo: string, warmUp: boolean): Promise<FirstReadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--first-read-child', photo, String(warmUp)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: FirstReadResult | undefined;
    child.on('message', (m) => (result = m as FirstReadResult));
    child.on('error', reject);
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`first-read child exited with ${code}`))));
  });
}

async function measureFirstRead(photo: string, warmUp: boolean): Promise<FirstReadResult> {
  const buf = readFileSync(photo);
  const t0 = performance.now();
  const engine = await OcrEngine.open({ device: 'cpu', threads: 1, warmUp });
  const openMs = performance.now() - t0;
  const ms: number[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      await engine.read(buf);
      ms.push(performance.now() - start);
    }
  } finally {
    await engine.close();
  }
  const later = median(ms.slice(1));
  return {
    warmUp,
    openMs: round(openMs),
    firstMs: round(ms[0]),
    tenthMs: round(ms[9]),
    laterMedianMs: round(later),
    firstOverLater: round(ms[0] / later, 2),
  };
}

if (require.main === module && process.argv[2] === '--first-read-child') {
  measureFirstRead(process.argv[3], process.argv[4] === 'true')
    .then((r) => process.send!(r, () => process.exit(0)))
    .catch((error) => {
      process.stderr.write(String(error?.stack ?? error) + '\n');
      process.exit(1);
    });
}
