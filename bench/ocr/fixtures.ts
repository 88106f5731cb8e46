/** The photos the OCR benchmark reads, decoded once for their sizes. */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';

export interface Fixture {
  name: string;
  buf: Buffer;
  width: number;
  height: number;
  truth?: string[];
  /** The folder it came from (ocr, ocr-heldout, ...): character errors are reported per set. */
  set: string;
  path: string;
}

/** `dirs`: one folder or a comma list of folders. */
export async function loadFixtures(dirs: string): Promise<Fixture[]> {
  const sets = await Promise.all(dirs.split(',').map((dir) => loadFolder(dir.trim())));
  return sets.flat();
}

async function loadFolder(dir: string): Promise<Fixture[]> {
  const truthPath = join(dir, 'truth.json');
  let truth: Record<string, string[]> = {};
  try {
    truth = JSON.parse(readFileSync(truthPath, 'utf8'));
  } catch {
    // no ground truth: the CER column stays empty
  }
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort();
  if (!files.length) throw new Error(`no images in ${dir}`);
  return Promise.all(
    files.map(async (f) => {
      const buf = readFileSync(join(dir, f));
      const meta = await sharp(buf).metadata();
      const name = basename(f).replace(/\.[^.]+$/, '');
      return {
        name,
        buf,
        width: meta.width ?? 0,
        height: meta.height ?? 0,
        truth: truth[name],
        set: basename(dir),
        path: join(dir, f),
      };
    }),
  );
}

export const is1440 = (f: { width: number; height: number }) => f.width === 1440 && f.height === 1080;

export const mb = (bytes: number) => bytes / 1024 / 1024;
export const log = (msg: string) =>
  process.stderr.write(`[bench/ocr ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
