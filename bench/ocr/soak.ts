/** Memory over many images, in a child process so that its RSS is our engine's alone. */
import { ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { median, percentile, round } from '../support';
import { openOurs } from './engines';
import { loadFixtures, log, mb } from './fixtures';
import { warmUp } from './latency';

export interface SoakCheckpoint {
  image: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

export interface SoakResult {
  images: number;
  gc: boolean;
  wallS: number;
  imagesPerS: number;
  medianMs: number;
  p95Ms: number;
  rssAfterWarmupMb: number;
  peakRssSampledMb: number;
  /** VmHWM from /proc/self/status: the kernel's peak for this process image (getrusage maxRSS would include the parent's RSS at fork/exec) */
  peakRssKernelMb?: number;
  rssEndMb: number;
  rssAt100Mb?: number;
  rssGrowth100ToEndMb?: number;
  /** RSS growth over the second half (checkpoint nearest N/2 -> end): a leak grows there as much as in the first half, allocator warm-up does not */
  rssGrowthSecondHalfMb?: number;
  /**
   * Highest gc'd RSS checkpoint from image 100 to N/2, and after N/2. The allocator makes single
   * checkpoints swing by 10-20 MB either way; a leak raises the second half's peak above the first's.
   */
  rssPeakFirstHalfMb?: number;
  rssPeakSecondHalfMb?: number;
  secondHalfFrom?: number;
  rssSlopeKbPer100Images?: number;
  heapGrowth100ToEndMb?: number;
  externalGrowth100ToEndMb?: number;
  checkpoints: SoakCheckpoint[];
}

export async function soakMain(images: number, fixturesDir: string, warmup: number): Promise<SoakResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const fixtures = await loadFixtures(fixturesDir);
  const runner = await openOurs();
  await warmUp(runner, fixtures, warmup);
  gc?.();
  const rssAfterWarmup = process.memoryUsage.rss();
  let peak = rssAfterWarmup;
  const checkpoints: SoakCheckpoint[] = [];
  const checkpoint = (image: number) => {
    gc?.();
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    checkpoints.push({
      image,
      rssMb: round(mb(m.rss)),
      heapUsedMb: round(mb(m.heapUsed)),
      externalMb: round(mb(m.external)),
      arrayBuffersMb: round(mb(m.arrayBuffers)),
    });
  };
  checkpoint(0);
  const ms: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= images; i++) {
    const s = performance.now();
    await runner.read(fixtures[(i - 1) % fixtures.length].buf);
    ms.push(performance.now() - s);
    peak = Math.max(peak, process.memoryUsage.rss());
    if (i % 100 === 0 || i === images) checkpoint(i);
    if (i % 100 === 0) log(`soak ${i}/${images}, rss ${round(mb(process.memoryUsage.rss()))} MB`);
  }
  const wall = performance.now() - t0;
  await runner.close();
  const end = checkpoints[checkpoints.length - 1];
  const at100 = checkpoints.find((c) => c.image === 100);
  const mid = checkpoints.reduce<SoakCheckpoint | undefined>(
    (b, c) => (!b || Math.abs(c.image - images / 2) < Math.abs(b.image - images / 2) ? c : b),
    undefined,
  );
  // least-squares slope of RSS over the checkpoints from image 100 on
  const pts = checkpoints.filter((c) => c.image >= 100);
  let slope: number | undefined;
  if (pts.length >= 2) {
    const mx = pts.reduce((a, c) => a + c.image, 0) / pts.length;
    const my = pts.reduce((a, c) => a + c.rssMb, 0) / pts.length;
    const num = pts.reduce((a, c) => a + (c.image - mx) * (c.rssMb - my), 0);
    const den = pts.reduce((a, c) => a + (c.image - mx) ** 2, 0);
    slope = round((num / den) * 100 * 1024, 0);
  }
  return {
    images,
    gc: !!gc,
    wallS: round(wall / 1000, 1),
    imagesPerS: round((images / wall) * 1000, 2),
    medianMs: round(median(ms)),
    p95Ms: round(percentile(ms, 95)),
    rssAfterWarmupMb: round(mb(rssAfterWarmup)),
    peakRssSampledMb: round(mb(peak)),
    peakRssKernelMb: vmHwmMb(),
    rssEndMb: end.rssMb,
    rssAt100Mb: at100?.rssMb,
    rssGrowth100ToEndMb: at100 ? round(end.rssMb - at100.rssMb) : undefined,
    rssGrowthSecondHalfMb: mid && mid !== end ? round(end.rssMb - mid.rssMb) : undefined,
    rssPeakFirstHalfMb: peakOf(pts.filter((c) => mid && c.image <= mid.image)),
    rssPeakSecondHalfMb: peakOf(pts.filter((c) => mid && c.image > mid.image)),
    secondHalfFrom: mid?.image,
    rssSlopeKbPer100Images: slope,
    heapGrowth100ToEndMb: at100 ? round(end.heapUsedMb - at100.heapUsedMb) : undefined,
    externalGrowth100ToEndMb: at100 ? round(end.externalMb - at100.externalMb) : undefined,
    checkpoints,
  };
}

export const peakOf = (points: SoakCheckpoint[]) =>
  points.length ? Math.max(...points.map((c) => c.rssMb)) : undefined;

/** Peak RSS of this process image (Linux VmHWM), undefined elsewhere. */
export function vmHwmMb(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export function runSoakChild(images: number, fixturesDir: string, warmup: number): Promise<SoakResult> {
  return new Promise((res, rej) => {
    const child: ChildProcess = fork(__filename, ['--soak-child', String(images), fixturesDir, String(warmup)], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: SoakResult | undefined;
    child.on('message', (m) => (result = m as SoakResult));
    child.on('error', rej);
    child.on('exit', (code) => (result ? res(result) : rej(new Error(`soak child exited with ${code}`))));
  });
}

// This file is also the soak child's entry (fork(__filename, ['--soak-child', ...]) above).
if (require.main === module && process.argv[2] === '--soak-child') {
  const [, , , images, dir, warmup] = process.argv;
  soakMain(Number(images), dir, Number(warmup))
    .then((r) => process.send!(r, () => process.exit(0)))
    .catch((error) => {
      process.stderr.write(String(error?.stack ?? error) + '\n');
      process.exit(1);
    });
}
