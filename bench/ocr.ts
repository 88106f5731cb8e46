/**
 * OCR benchmark: our engine against two peers installed as dev dependencies, in one run.
 *
 *   npx tsc -p tsconfig.bench.json && node --expose-gc dist-bench/bench/ocr.js [flags]
 *
 * Flags:
 *   --passes N           timed passes over the fixtures per engine (default 3)
 *   --warmup N           warm-up images per engine before timing (default 2)
 *   --only LIST          comma list of engines: ours,ours-1t,ppu,paddleocr,paddleocr-eqdet,gutenye (default: all)
 *   --tp-images N        images per throughput configuration (default 16)
 *   --no-throughput      skip the "all cores busy" measurements
 *   --soak N             images through our engine for the RSS test (default 1000, 0 = skip)
 *   --no-first-read      skip "time to the first answer" (a fresh process's 1st read vs its 10th,
 *                        with and without the warm-up the service runs at start)
 *   --fixtures DIRS      comma list of fixture folders (default test/fixtures/ocr,test/fixtures/ocr-heldout:
 *                        the 8 fixtures and the 10 held-out photos; character errors are reported per folder)
 *   --json               print one JSON object on stdout instead of the tables
 *
 * Engines:
 *   ours             src/inference/ocr/ocr-engine.ts with its defaults (RapidOCR settings, every core
 *                    without spinning): the CLI, and the service with OCR_WORKERS=0.
 *   ours-1t          the same with one onnxruntime thread: each of the service's OCR workers (the
 *                    default, OCR_WORKERS=2 on 2 cores), and the CPU the peers use at their defaults.
 *   paddleocr        npm `paddleocr` on the same PP-OCRv4 det/rec and v2.0 cls files, configured
 *                    like RapidOCR (limit 736 'min', thresh 0.3, box 0.5, unclip 1.6, 2x2 dilation,
 *                    rec height 48 / min width 320, cls 48x192 thresh 0.9). Its API runs
 *                    recognition and the classifier one crop at a time: no rec batch 6.
 *   paddleocr-eqdet  the same, but the detector input resized like ours (long side 992 ->
 *                    992x736 for 4:3): separates "smaller detector input" from "faster code".
 *   ppu              ppu-paddle-ocr ("probably the fastest PaddleOCR SDK in TypeScript") with its
 *                    defaults, given our PP-OCRv4 det/rec files and dictionary; noCache.
 *   gutenye          @gutenye/ocr-node with its defaults (Ocr.create(); detect(buffer)).
 *
 * Every timing is the whole read of a JPEG buffer, decode included (peers decode with sharp too).
 * Progress goes to stderr; the tables (or --json) to stdout. The soak runs in a child process so
 * that its RSS is our engine's alone; run node with --expose-gc to separate garbage from leaks.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { round } from './support';
import { openOurs, openRunner, pkgVersion, type Runner } from './ocr/engines';
import { firstReadInChild } from './ocr/first-read';
import { is1440, loadFixtures, log, mb } from './ocr/fixtures';
import { measureLatency, warmUp, type LatencyResult } from './ocr/latency';
import { parseOptions } from './ocr/options';
import { printReport, type Report } from './ocr/report';
import { runSoakChild } from './ocr/soak';
import { throughputInProcess, throughputWorkers, tpResult, type ThroughputResult } from './ocr/throughput';

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const fixtures = await loadFixtures(opts.fixtures);
  const report: Report = {
    startedAt: new Date().toISOString(),
    command: [
      'node',
      ...process.execArgv,
      process.argv[1] ? process.argv[1].replace(process.cwd() + '/', '') : '',
      ...process.argv.slice(2),
    ].join(' '),
    env: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? '?',
      totalMemMb: Math.round(mb(os.totalmem())),
      onnxruntimeNode: pkgVersion('onnxruntime-node'),
      sharp: pkgVersion('sharp'),
      paddleocr: pkgVersion('paddleocr'),
      ppuPaddleOcr: pkgVersion('ppu-paddle-ocr'),
      gutenyeOcrNode: pkgVersion('@gutenye/ocr-node'),
      gc,
      loadAvgStart: os.loadavg().map((v) => round(v, 2)),
    },
    fixtures: fixtures.map((f) => ({ name: f.name, width: f.width, height: f.height, bytes: f.buf.length })),
    method: { passes: opts.passes, warmup: opts.warmup, tpImages: opts.tpImages, soak: opts.soak },
    latency: [],
    firstRead: [],
    ratios: [],
    throughput: [],
    errors: [],
  };
  const fail = (engine: string, phase: string, error: unknown) => {
    const msg =
      error instanceof Error ? (error.stack?.split('\n').slice(0, 3).join(' | ') ?? error.message) : String(error);
    report.errors.push({ engine, phase, error: msg });
    log(`${engine} ${phase} FAILED: ${msg}`);
  };

  // Engines one after another, so that none competes with another for the cores.
  for (const name of opts.only) {
    let runner: Runner | undefined;
    try {
      log(`${name}: opening`);
      const o0 = performance.now();
      runner = await openRunner(name);
      const openMs = performance.now() - o0;
      log(`${name}: latency, ${opts.warmup} warm-up + ${opts.passes} x ${fixtures.length} images`);
      const lat = await measureLatency(runner, openMs, fixtures, opts);
      report.latency.push(lat);
      log(`${name}: median ${lat.medianMs} ms, 1440x1080 median ${lat.median1440Ms} ms p95 ${lat.p95_1440Ms} ms`);
      if (opts.throughput && name !== 'paddleocr-eqdet' && name !== 'ours-1t') {
        const configs = name === 'ours' ? [2, 4] : [2, 4];
        for (const k of configs) {
          log(`${name}: throughput, ${k} reads in flight, ${opts.tpImages} images`);
          const cfg = name === 'ours' ? `1 engine (threads default), ${k} concurrent reads` : `${k} concurrent reads`;
          report.throughput.push(
            tpResult(
              name,
              cfg,
              opts.tpImages,
              await throughputInProcess((b) => runner!.read(b), fixtures, opts.tpImages, k),
            ),
          );
        }
      }
    } catch (error) {
      fail(name, 'run', error);
    } finally {
      await runner?.close().catch((error) => fail(name, 'close', error));
    }
    if (name === 'ours' && opts.throughput) {
      try {
        log('ours: throughput, engine with threads: 1, 2 concurrent reads');
        const one = await openOurs(1);
        await warmUp(one, fixtures, opts.warmup);
        report.throughput.push(
          tpResult(
            'ours',
            '1 engine (threads 1), 2 concurrent reads',
            opts.tpImages,
            await throughputInProcess((b) => one.read(b), fixtures, opts.tpImages, 2),
          ),
        );
        await one.close();
        const cores = os.cpus().length;
        log(`ours: throughput, ${cores} worker threads x engine(threads 1)`);
        report.throughput.push(
          tpResult(
            'ours',
            `${cores} worker threads x 1 engine (threads 1), 1 read each`,
            opts.tpImages,
            await throughputWorkers(cores, 1, 1, fixtures, opts.tpImages, opts.warmup),
          ),
        );
        log(`ours: throughput, ${cores} worker threads x engine(default threads: every core, no spinning)`);
        report.throughput.push(
          tpResult(
            'ours',
            `${cores} worker threads x 1 engine (default: ${cores} threads, no spinning), 1 read each`,
            opts.tpImages,
            await throughputWorkers(cores, 0, 1, fixtures, opts.tpImages, opts.warmup),
          ),
        );
      } catch (error) {
        fail('ours', 'throughput', error);
      }
    }
  }

  const ours = report.latency.find((l) => l.engine === 'ours');
  if (ours) {
    for (const l of report.latency) {
      if (l.engine.startsWith('ours')) continue;
      report.ratios.push({
        peer: l.engine,
        oursMedian1440Ms: ours.median1440Ms,
        peerMedian1440Ms: l.median1440Ms,
        oursOverPeer: round(ours.median1440Ms / l.median1440Ms, 3),
        speedup: round(l.median1440Ms / ours.median1440Ms, 2),
      });
    }
  }
  if (report.throughput.length) {
    const best = (rows: ThroughputResult[]) =>
      rows.reduce<ThroughputResult | undefined>((b, t) => (!b || t.imagesPerS > b.imagesPerS ? t : b), undefined);
    const peers = [...new Set(report.throughput.filter((t) => t.engine !== 'ours').map((t) => t.engine))];
    report.bestThroughput = {
      ours: best(report.throughput.filter((t) => t.engine === 'ours')),
      oursInProcess: best(report.throughput.filter((t) => t.engine === 'ours' && !t.config.includes('worker'))),
      peers: peers.map((p) => best(report.throughput.filter((t) => t.engine === p))!),
    };
  }

  if (opts.only.includes('ours') && opts.firstRead) {
    const photo = fixtures.find(is1440) ?? fixtures[0];
    for (const warm of [false, true]) {
      try {
        log(`first read after start, warm-up ${warm ? 'on' : 'off'}: ${photo.name}, fresh process`);
        report.firstRead.push(await firstReadInChild(photo.path, warm));
      } catch (error) {
        fail('ours', 'first read', error);
      }
    }
  }

  if (opts.only.includes('ours') && opts.soak > 0) {
    try {
      log(
        `soak: ${opts.soak} images through our engine in a child process${gc ? '' : ' (no --expose-gc: RSS includes garbage)'}`,
      );
      report.soak = await runSoakChild(opts.soak, opts.fixtures, opts.warmup);
    } catch (error) {
      fail('ours', 'soak', error);
    }
  }

  if (ours) {
    // the headline comparison is against the peers as the issue configures them (not the eqdet variant)
    const peers = report.latency.filter((l) => ['ppu', 'paddleocr', 'gutenye'].includes(l.engine));
    const ppu = report.latency.find((l) => l.engine === 'ppu');
    const oneThread = report.latency.find((l) => l.engine === 'ours-1t');
    const fastest = peers.reduce<LatencyResult | undefined>(
      (b, l) => (!b || l.median1440Ms < b.median1440Ms ? l : b),
      undefined,
    );
    report.targets = {
      median1440Le250: ours.median1440Ms <= 250,
      ...(ppu && { atMost08xPpu: ours.median1440Ms <= 0.8 * ppu.median1440Ms }),
      ...(ppu &&
        oneThread && {
          oneThreadOverPpu: round(oneThread.median1440Ms / ppu.median1440Ms, 3),
          atMost08xPpuOneThread: oneThread.median1440Ms <= 0.8 * ppu.median1440Ms,
        }),
      ...(fastest && {
        fastestPeer: fastest.engine,
        atLeast2xFastestPeer: fastest.median1440Ms / ours.median1440Ms >= 2,
      }),
      ...(report.soak?.rssGrowthSecondHalfMb !== undefined && {
        noRssGrowth:
          report.soak.rssPeakSecondHalfMb! - report.soak.rssPeakFirstHalfMb! < 5 &&
          (report.soak.heapGrowth100ToEndMb ?? 0) < 5,
      }),
    };
  }
  report.env.loadAvgEnd = os.loadavg().map((v) => round(v, 2));
  report.totalS = round((performance.now() - t0) / 1000, 1);

  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printReport(report);
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\n');
  process.exit(1);
});
