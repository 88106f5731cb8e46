/**
 * OCR over a whole library: the text gate (ocr-config.ts gate) against the full pass on every photo,
 * in one run, on a mix of 70% photos with no text and 30% photos with text.
 *
 *   npm run bench:ocr-library [-- flags]
 *
 * Flags:
 *   --set heldout|tuning  which library set (test/fixtures/library-*): heldout judges the gate
 *                         (default); tuning is where its settings are chosen
 *   --scales LIST         gate scales to compare with the full pass, comma-separated
 *                         (default: the configured gate.scale)
 *   --passes N            timed passes over the mix per mode, modes alternating (default 2)
 *   --workers N           worker threads, each with an engine on 1 onnxruntime thread, one read
 *                         each in flight: what the inference service runs (default: the cores)
 *   --out FILE            also write the report there (default bench/results/ocr-library-<date>.txt,
 *                         with --set tuning ocr-library-tuning-<date>.txt; --out - writes none)
 *   --help
 *
 * The mix: every text photo of the set once, and reads of its text-free photos (cycled) until they
 * are 70% of the reads, shuffled with a fixed seed. Every mode reads the same mix with the same
 * engine settings but the gate. A line of truth counts as found when some output line (or two
 * neighbours) matches it with at most 20% character errors, spaces ignored (test/support/library-set.ts).
 * Progress goes to stderr, the report to stdout and the file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_OCR_CONFIG } from '../src/inference/ocr/ocr-config';
import { OcrWorkerPool } from '../src/inference/ocr/ocr-worker-pool';
import type { OcrOutput } from '../src/inference/ocr/ocr-types';
import { lineFound, loadLibrarySet, type LibraryPhoto, type LibrarySetName } from '../test/support/library-set';
import { int, median, parseFlags, printUsageAndExit, round, table } from './support';

interface Mode {
  label: string;
  /** undefined: the gate off (the full pass on every photo). */
  scale?: number;
}

interface ModeResult {
  mode: Mode;
  passes: { wallS: number; photosPerS: number; cpuMsPerPhoto: number }[];
  /** From the first pass: each photo's output (every read of a photo gives the same answer). */
  outputs: Map<string, OcrOutput>;
  msTextFree: number[];
  msText: number[];
}

const log = (message: string) => process.stderr.write(`[ocr-library] ${message}\n`);

function parseOptions(argv: string[]) {
  const flags = parseFlags(argv, {
    set: { type: 'string' },
    scales: { type: 'string' },
    passes: { type: 'string' },
    workers: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) printUsageAndExit(__filename);
  const set = (flags.set ?? 'heldout') as LibrarySetName;
  if (set !== 'heldout' && set !== 'tuning') throw new Error(`--set is heldout or tuning, got ${flags.set}`);
  const scales = flags.scales?.split(',').map(Number) ?? [DEFAULT_OCR_CONFIG.gate.scale];
  if (!scales.every((s) => s > 0 && s < 1))
    throw new Error(`--scales needs numbers between 0 and 1, got ${flags.scales}`);
  const date = new Date().toISOString().slice(0, 10);
  return {
    set,
    scales,
    passes: int('--passes', flags.passes, 1) ?? 2,
    workers: int('--workers', flags.workers, 1) ?? os.availableParallelism(),
    out:
      flags.out === '-'
        ? undefined
        : (flags.out ?? join('bench', 'results', `ocr-library-${set === 'tuning' ? 'tuning-' : ''}${date}.txt`)),
  };
}

/** Every text photo once, text-free photos cycled up to 70% of the reads; shuffled with a fixed seed. */
function buildMix(photos: LibraryPhoto[]): LibraryPhoto[] {
  const text = photos.filter((p) => p.text);
  const free = photos.filter((p) => !p.text);
  const freeReads = Math.round((text.length * 7) / 3);
  const mix = [...text, ...Array.from({ length: freeReads }, (_, i) => free[i % free.length])];
  let state = 12345;
  for (let i = mix.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [mix[i], mix[j]] = [mix[j], mix[i]];
  }
  return mix;
}

async function runPass(pool: OcrWorkerPool, mix: LibraryPhoto[], workers: number, result: ModeResult, first: boolean) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < mix.length; i = next++) {
        const photo = mix[i];
        const out = await pool.read(photo.buf);
        if (first && !result.outputs.has(photo.name)) result.outputs.set(photo.name, out);
        (photo.text ? result.msText : result.msTextFree).push(out.timings.totalMs);
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0); // process-wide: the workers' threads included
  result.passes.push({
    wallS,
    photosPerS: mix.length / wallS,
    cpuMsPerPhoto: (cpu.user + cpu.system) / 1000 / mix.length,
  });
}

function found(photo: LibraryPhoto, out: OcrOutput | undefined): boolean[] {
  const texts = out?.lines.map((l) => l.text) ?? [];
  return photo.lines.map((line) => lineFound(line, texts));
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const started = new Date();
  const load0 = os.loadavg();
  const photos = loadLibrarySet(opts.set);
  const mix = buildMix(photos);
  const textPhotos = photos.filter((p) => p.text);
  const freePhotos = photos.filter((p) => !p.text);
  const modes: Mode[] = [{ label: 'full pass' }, ...opts.scales.map((scale) => ({ label: `gate ${scale}`, scale }))];
  const results: ModeResult[] = modes.map((mode) => ({
    mode,
    passes: [],
    outputs: new Map(),
    msTextFree: [],
    msText: [],
  }));

  for (let pass = 0; pass < opts.passes; pass++) {
    // Modes alternate within each pass, so a change in the machine's load falls on all of them.
    for (const result of pass % 2 ? [...results].reverse() : results) {
      const { scale } = result.mode;
      const pool = await OcrWorkerPool.open({
        workers: opts.workers,
        threads: 1,
        config: { gate: { enabled: scale !== undefined, ...(scale !== undefined && { scale }) } },
      });
      try {
        for (const photo of [textPhotos[0], freePhotos[0]]) await pool.read(photo.buf); // warm-up
        log(`${result.mode.label}: pass ${pass + 1}/${opts.passes}, ${mix.length} photos`);
        await runPass(pool, mix, pool.size, result, pass === 0);
        const last = result.passes[result.passes.length - 1];
        log(`${result.mode.label}: ${round(last.photosPerS, 2)} photos/s`);
      } finally {
        await pool.close();
      }
    }
  }

  const full = results[0];
  const fullFound = new Map(textPhotos.map((p) => [p.name, found(p, full.outputs.get(p.name))]));
  const totalLines = textPhotos.reduce((n, p) => n + p.lines.length, 0);
  const fullLines = [...fullFound.values()].flat().filter(Boolean).length;
  const rows: string[][] = [];
  const lost: string[] = [];
  const decisions: string[] = [];
  for (const result of results) {
    const photosPerS = median(result.passes.map((p) => p.photosPerS));
    const cpuMs = median(result.passes.map((p) => p.cpuMsPerPhoto));
    const gated = result.mode.scale !== undefined;
    const skippedFree = freePhotos.filter((p) => result.outputs.get(p.name)?.gate?.skipped).length;
    const skippedText = textPhotos.filter((p) => result.outputs.get(p.name)?.gate?.skipped);
    let linesFound = 0;
    for (const photo of textPhotos) {
      const hits = found(photo, result.outputs.get(photo.name));
      linesFound += hits.filter(Boolean).length;
      if (gated) {
        hits.forEach((hit, i) => {
          if (!hit && fullFound.get(photo.name)![i])
            lost.push(
              `  ${result.mode.label}: ${photo.name} "${photo.lines[i]}" (${photo.linePx?.[i] ?? `${photo.minTextPx}+`} px)`,
            );
        });
      }
    }
    if (gated) {
      const regions = (p: LibraryPhoto) => {
        const g = result.outputs.get(p.name)?.gate;
        return g ? `${p.name} ${g.regions}` : `${p.name} -`;
      };
      decisions.push(
        `  ${result.mode.label}: text-free photos with a region (not skipped): ${
          freePhotos
            .filter((p) => !result.outputs.get(p.name)?.gate?.skipped)
            .map(regions)
            .join(', ') || 'none'
        }`,
        `  ${result.mode.label}: text photos skipped: ${skippedText.map((p) => `${p.name} (${p.minTextPx} px)`).join(', ') || 'none'}`,
      );
    }
    rows.push([
      result.mode.label,
      result.passes.map((p) => round(p.photosPerS, 2).toFixed(2)).join(' / '),
      round(photosPerS, 2).toFixed(2),
      round(photosPerS / median(full.passes.map((p) => p.photosPerS)), 2).toFixed(2),
      round(cpuMs, 0).toFixed(0),
      round(median(result.msTextFree), 0).toFixed(0),
      round(median(result.msText), 0).toFixed(0),
      gated ? `${skippedFree}/${freePhotos.length}` : '-',
      gated ? `${skippedText.length}/${textPhotos.length}` : '-',
      `${linesFound}/${totalLines}`,
      `${round((100 * linesFound) / totalLines, 1).toFixed(1)}%`,
      gated ? `${round((100 * linesFound) / fullLines, 1).toFixed(1)}%` : '100.0%',
    ]);
  }

  const cpu = os.cpus();
  const report = [
    `OCR over a whole library: text gate vs full pass (npm run bench:ocr-library)`,
    '',
    `date:    ${started.toISOString().slice(0, 10)}, ${started.toISOString().slice(11, 19)} UTC`,
    `command: node ${process.argv
      .slice(1)
      .join(' ')
      .replace(process.cwd() + '/', '')}`,
    `machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? '?'}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}; ` +
      `load average ${load0.map((v) => v.toFixed(2)).join(' ')} at the start, ${os
        .loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')} at the end`,
    `set:     ${opts.set} (test/fixtures/library-${opts.set}): ${freePhotos.length} photos without text, ` +
      `${textPhotos.length} with text (${totalLines} lines, ${textPhotos.flatMap((p) => p.linePx ?? []).filter((px) => px < 25).length} of them under 25 px)`,
    `mix:     ${mix.length} reads, ${mix.filter((p) => !p.text).length} of them text-free (${round((100 * mix.filter((p) => !p.text).length) / mix.length, 0)}%)`,
    `method:  ${opts.workers} worker threads x engine (1 onnxruntime thread), ${opts.workers} reads in flight ` +
      `(the inference service's setup); ${opts.passes} timed passes per mode, modes alternating; 2 warm-up reads per pass`,
    '',
    table(
      [
        'mode',
        'photos/s per pass',
        'photos/s',
        'x full',
        'CPU ms/photo',
        'ms text-free',
        'ms text',
        'text-free skipped',
        'text photos skipped',
        'lines found',
        'recall',
        'of full pass',
      ],
      rows,
    ),
    '',
    `photos/s: median of the passes; ms: median whole read (decode included) per photo, from inside the worker.`,
    `recall: lines of truth found / all lines; "of full pass": found / lines the full pass found (${fullLines}).`,
    '',
    'lines the full pass reads and the gate loses:',
    ...(lost.length ? lost : ['  none']),
    '',
    'gate decisions:',
    ...decisions,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, report);
    log(`report written to ${opts.out}`);
  }
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\n');
  process.exit(1);
});
