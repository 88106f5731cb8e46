/** The OCR benchmark's tables (stdout) from its report object. */
import { table } from '../support';
import { is1440 } from './fixtures';
import type { FirstReadResult } from './first-read';
import type { LatencyResult } from './latency';
import type { EngineName } from './options';
import type { SoakResult } from './soak';
import type { ThroughputResult } from './throughput';

export interface Report {
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
    ppuPaddleOcr: string;
    gutenyeOcrNode: string;
    gc: boolean;
    loadAvgStart: number[];
    loadAvgEnd?: number[];
  };
  fixtures: { name: string; width: number; height: number; bytes: number }[];
  method: { passes: number; warmup: number; tpImages: number; soak: number };
  latency: LatencyResult[];
  firstRead: FirstReadResult[];
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
  targets?: {
    median1440Le250: boolean;
    atLeast2xFastestPeer?: boolean;
    fastestPeer?: string;
    noRssGrowth?: boolean;
    /** Issue 12: our median at most 0.8x ppu-paddle-ocr's, measured in the same run. */
    atMost08xPpu?: boolean;
    /** The same with our engine on one onnxruntime thread (ours-1t). */
    oneThreadOverPpu?: number;
    atMost08xPpuOneThread?: boolean;
  };
  totalS?: number;
  errors: { engine: string; phase: string; error: string }[];
}

export const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(1));
export const f2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));

export function printReport(r: Report): void {
  const out: string[] = [];
  const e = r.env;
  out.push(`OCR benchmark  ${r.startedAt}`);
  out.push(`command: ${r.command}`);
  out.push(
    `node ${e.node} ${e.platform}, ${e.cpus} CPUs (${e.cpuModel}), ${e.totalMemMb} MB RAM; onnxruntime-node ${e.onnxruntimeNode}, sharp ${e.sharp}, paddleocr ${e.paddleocr}, ppu-paddle-ocr ${e.ppuPaddleOcr}, @gutenye/ocr-node ${e.gutenyeOcrNode}`,
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
          l.engine.startsWith('ours') ? '-' : ratio ? f2(ratio.oursOverPeer) : '-',
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
    if (l.cerBySet)
      out.push(
        `  CER by set, ${l.engine}: ${Object.entries(l.cerBySet)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
    if (l.perFixtureCer)
      out.push(
        `  CER by fixture, ${l.engine}: ${Object.entries(l.perFixtureCer)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
  }
  for (const l of r.latency) {
    const mr = l.modelRun1440;
    if (!mr) continue;
    out.push(
      `  ${l.engine}: inside session.run per 1440x1080 image (medians): det ${f1(mr.detMs)} ms in ${mr.detRuns} run(s), cls ${f1(mr.clsMs)} ms in ${mr.clsRuns}, rec ${f1(mr.recMs)} ms in ${mr.recRuns}; everything else ${f1(l.median1440Ms - mr.detMs - mr.clsMs - mr.recMs)} ms`,
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
  if (r.firstRead.length) {
    out.push('');
    out.push("Time to the first answer: a fresh process's engine (1 thread), the same photo 10 times, ms");
    out.push(
      table(
        ['warm-up at open', 'open (+ warm-up)', '1st read', '10th read', 'median 2nd-10th', '1st / later'],
        r.firstRead.map((f) => [
          f.warmUp ? 'on (service default)' : 'off',
          f1(f.openMs),
          f1(f.firstMs),
          f1(f.tenthMs),
          f1(f.laterMedianMs),
          f2(f.firstOverLater),
        ]),
      ),
    );
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
    if (t.atMost08xPpu !== undefined) {
      const ratio = r.ratios.find((x) => x.peer === 'ppu');
      out.push(
        `  median at most 0.8x ppu-paddle-ocr's: ${t.atMost08xPpu ? 'MET' : 'NOT MET'} (${ratio ? f2(ratio.oursOverPeer) : '-'}x)`,
      );
    }
    if (t.atMost08xPpuOneThread !== undefined) {
      out.push(
        `  the same on one onnxruntime thread (ours-1t): ${t.atMost08xPpuOneThread ? 'MET' : 'NOT MET'} (${f2(t.oneThreadOverPpu)}x)`,
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
