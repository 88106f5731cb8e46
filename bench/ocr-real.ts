/**
 * OCR on real screenshots and photographs (test/fixtures/ocr-real-tuning/, ocr-real-heldout/): per
 * image, the lines found against the lines expected, the character errors and the time of a read, for
 * our engine and, in the same run, for peers on the same images.
 *
 *   npm run bench:ocr-real [-- flags]
 *
 * Flags:
 *   --passes N     timed reads of each image per engine, after one untimed read (default 3)
 *   --only LIST    comma list of engines: ours, ppu, paddleocr (default: ours,ppu,paddleocr;
 *                  paddleocr is configured like RapidOCR: bench/ocr/engines.ts)
 *   --out FILE     also write the report there (default bench/results/ocr-real-photos-<date>.txt;
 *                  --out - writes none)
 *   --help
 *
 * A line of truth counts as found when some output line (or two neighbours) matches it with at most
 * 20% character errors, spaces ignored (test/support/library-set.ts). Character errors: the edit
 * distance between all the output and all the truth, each joined in reading order, spaces ignored, over
 * the truth's length (an image with no text: the characters read, over 1). Time: the median whole
 * read of the file's bytes, decode included, one image at a time on every core.
 * Progress goes to stderr, the report to stdout and the file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { characterErrorRate, withoutSpaces } from '../test/support/cer';
import { lineFound } from '../test/support/library-set';
import { loadRealSet, type RealImage } from '../test/support/real-photos';
import { openOurs, openRunner, type Runner } from './ocr/engines';
import type { EngineName } from './ocr/options';
import { int, median, parseFlags, printUsageAndExit, round, table } from './support';

const ENGINES: EngineName[] = ['ours', 'ppu', 'paddleocr'];

interface Row {
  image: RealImage;
  size: string;
  engine: EngineName;
  found: number;
  out: number;
  cer: number;
  ms: number;
}

const log = (message: string) => process.stderr.write(`[ocr-real] ${message}\n`);

function parseOptions(argv: string[]) {
  const flags = parseFlags(argv, {
    passes: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) printUsageAndExit(__filename);
  const only = (flags.only?.split(',').map((s) => s.trim()) ?? ENGINES) as EngineName[];
  for (const name of only) if (!ENGINES.includes(name)) throw new Error(`--only: unknown engine ${name}`);
  const date = new Date().toISOString().slice(0, 10);
  return {
    passes: int('--passes', flags.passes, 1) ?? 3,
    only,
    out: flags.out === '-' ? undefined : (flags.out ?? join('bench', 'results', `ocr-real-photos-${date}.txt`)),
  };
}

async function measure(runner: Runner, image: RealImage, passes: number): Promise<Omit<Row, 'size'>> {
  const { texts } = await runner.read(image.buf);
  const times: number[] = [];
  for (let i = 0; i < passes; i++) {
    const t0 = performance.now();
    await runner.read(image.buf);
    times.push(performance.now() - t0);
  }
  const truth = withoutSpaces(image.lines.join(''));
  const read = withoutSpaces(texts.join(''));
  return {
    image,
    engine: runner.name,
    found: image.lines.filter((line) => lineFound(line, texts)).length,
    out: texts.length,
    cer: truth ? characterErrorRate(truth, read) : [...read].length,
    ms: median(times),
  };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const images = [...loadRealSet('tuning'), ...loadRealSet('heldout')];
  const sizes = new Map<RealImage, string>();
  for (const image of images) {
    const meta = await sharp(image.buf).metadata();
    sizes.set(image, `${meta.width}x${meta.height}${meta.hasAlpha ? ' RGBA' : ''}`);
  }
  const rows: Row[] = [];
  for (const name of opts.only) {
    log(`${name}: opening`);
    const runner = name === 'ours' ? await openOurs() : await openRunner(name);
    try {
      for (const image of images) {
        log(`${name}: ${image.set}/${image.name}`);
        rows.push({ ...(await measure(runner, image, opts.passes)), size: sizes.get(image)! });
      }
    } finally {
      await runner.close();
    }
  }

  const pct = (v: number) => `${round(100 * v, 1)}%`;
  const lines = [
    `OCR on real images (npm run bench:ocr-real), ${new Date().toISOString()}`,
    `node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, load average ${os
      .loadavg()
      .map((v) => round(v, 2))
      .join(' ')}`,
    `${opts.passes} timed reads per image and engine (median); lines found / expected at <= 20% character errors each;`,
    'errors: all output against all truth in reading order, spaces ignored (no-text image: characters read).',
    '',
  ];
  for (const set of ['tuning', 'heldout'] as const) {
    lines.push(`## ${set} half`, '');
    const head = ['image', 'size', ...opts.only.flatMap((e) => [`${e} found`, `${e} out`, `${e} errors`, `${e} ms`])];
    const body = images
      .filter((i) => i.set === set)
      .map((image) => [
        image.name,
        sizes.get(image)!,
        ...opts.only.flatMap((engine) => {
          const r = rows.find((row) => row.image === image && row.engine === engine)!;
          return [`${r.found}/${image.lines.length}`, String(r.out), pct(r.cer), String(round(r.ms, 0))];
        }),
      ]);
    lines.push(table(head, body, 1), '');
    for (const engine of opts.only) {
      const mine = rows.filter((r) => r.engine === engine && r.image.set === set);
      const expected = mine.reduce((s, r) => s + r.image.lines.length, 0);
      const found = mine.reduce((s, r) => s + r.found, 0);
      lines.push(
        `${engine}: ${found}/${expected} lines found, median read ${round(median(mine.map((r) => r.ms)), 0)} ms`,
      );
    }
    lines.push('');
  }
  const report = lines.join('\n');
  process.stdout.write(report + '\n');
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, report + '\n');
    log(`written to ${opts.out}`);
  }
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\n');
  process.exit(1);
});
