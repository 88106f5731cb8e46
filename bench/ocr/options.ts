/** The OCR benchmark's flags (see bench/ocr.ts for what they mean). */
import { resolve } from 'node:path';
import { int, parseFlags, printUsageAndExit } from '../support';

export const ENGINES = ['ours', 'ours-1t', 'ppu', 'paddleocr', 'paddleocr-eqdet', 'gutenye'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface Options {
  passes: number;
  warmup: number;
  only: EngineName[];
  tpImages: number;
  throughput: boolean;
  soak: number;
  firstRead: boolean;
  fixtures: string;
  json: boolean;
}

export function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, {
    passes: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    'tp-images': { type: 'string' },
    'no-throughput': { type: 'boolean' },
    soak: { type: 'string' },
    'no-first-read': { type: 'boolean' },
    fixtures: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  // The usage is the entry script's head comment (bench/ocr.ts).
  if (flags.help) printUsageAndExit(require.main?.filename ?? __filename);
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
    firstRead: !flags['no-first-read'],
    fixtures: (flags.fixtures ?? 'test/fixtures/ocr,test/fixtures/ocr-heldout')
      .split(',')
      .map((dir) => resolve(dir.trim()))
      .join(','),
    json: flags.json ?? false,
  };
}
