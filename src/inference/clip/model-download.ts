import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { CLIP_VOCAB_FILE, clipModelFileName } from './clip-model-files';
import { type ClipModelSpec, resolveClipModel } from './clip-models';

/**
 * Fetches a cn-clip ONNX export into `<root>/<ModelName>/`. Files land in `<file>.part` first, so an
 * interrupted download resumes with an HTTP Range request and a half-written file is never mistaken
 * for a model; the rename happens only after the size and the sha256 check out, against what is
 * pinned here (or given with --sha256, or in the mirror's SHA256SUMS). A file that does not match is
 * deleted and the command fails saying what to do.
 */

export const DEFAULT_CLIP_DOWNLOAD_ROOT = './models/clip';

/** CLIP_DOWNLOAD_ROOT, as the seed's mt-photos-ai service named it. */
export function clipDownloadRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLIP_DOWNLOAD_ROOT || DEFAULT_CLIP_DOWNLOAD_ROOT;
}

export interface DownloadSource {
  /** File name in the model folder. */
  name: string;
  url: string;
  /** Lowercase hex, when known. */
  sha256?: string;
  /** Size in bytes, when known. */
  bytes?: number;
}

// Chinese-CLIP publishes PyTorch checkpoints and TensorRT engines, not ONNX files. The fp32 ONNX export
// of ViT-B-16 that the MT-Photos AI service (the seed's inference side) runs is attached to its v1.1.0
// release, which publishes no checksum of it; the vocabulary comes from Chinese-CLIP itself, pinned to
// the last commit that changed it (the same file as test/clip/fixtures/cn-clip-vocab.txt).
const MT_PHOTOS_RELEASE = 'https://github.com/MT-Photos/mt-photos-ai/releases/download/v1.1.0/';
const CN_CLIP_VOCAB: DownloadSource = {
  name: CLIP_VOCAB_FILE,
  url: 'https://raw.githubusercontent.com/OFA-Sys/Chinese-CLIP/5497f4b95ee52a33a407510734d72c45b34cbfc8/cn_clip/clip/vocab.txt',
  sha256: '45bbac6b341c319adc98a532532882e91a9cefc0329aa57bac9ae761c27b291c',
  bytes: 109_540,
};

/**
 * Every file `models download clip <name>` fetches without --from, for every model that has a
 * published export, with the sha256 and size each is checked against where they are known. A file
 * without them is reported as unverified, with the sha256 it had (docs/install.md lists which).
 */
export const PUBLISHED_CLIP_FILES: Partial<Record<ClipModelSpec['name'], readonly DownloadSource[]>> = {
  'ViT-B-16': [
    { name: 'vit-b-16.img.fp32.onnx', url: `${MT_PHOTOS_RELEASE}vit-b-16.img.fp32.onnx` },
    { name: 'vit-b-16.txt.fp32.onnx', url: `${MT_PHOTOS_RELEASE}vit-b-16.txt.fp32.onnx` },
    CN_CLIP_VOCAB,
  ],
};

/** Where each file of a model comes from: `<base>/<file>` with --from, else the published copies. */
export function clipDownloadSources(spec: ClipModelSpec, from?: string): DownloadSource[] {
  const models = [clipModelFileName(spec, 'image'), clipModelFileName(spec, 'text')];
  if (from) {
    // Every cn-clip size tokenizes with the same vocabulary, so a mirror's copy is checked against the pin.
    const vocab = { ...CN_CLIP_VOCAB, url: joinUrl(from, CLIP_VOCAB_FILE) };
    return [...models.map((name) => ({ name, url: joinUrl(from, name) })), vocab];
  }
  const published = PUBLISHED_CLIP_FILES[spec.name];
  if (!published) {
    throw new ModelDownloadError(
      'no-source',
      `no published ONNX export of cn-clip ${spec.name} is known. Export one with Chinese-CLIP's ` +
        `cn_clip/deploy/pytorch_to_onnx.py --model-arch ${spec.name} --convert-text --convert-vision ` +
        `--save-onnx-path <dir>/${spec.filePrefix} and copy cn_clip/clip/vocab.txt beside it, ` +
        `or pass --from <base URL> of a server holding ${[...models, CLIP_VOCAB_FILE].join(', ')}`,
    );
  }
  return published.map((source) => ({ ...source }));
}

export type DownloadErrorKind = 'no-source' | 'unreachable' | 'http' | 'interrupted' | 'checksum' | 'size';

export class ModelDownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

/** Receives byte counts as a file downloads; the CLI draws a bar, tests and services pass nothing. */
export interface DownloadProgress {
  start(name: string, total: number | undefined, alreadyHave: number): void;
  advance(bytes: number): void;
  finish(): void;
}

export interface ClipDownloadOptions {
  modelName: string;
  /** Default: clipDownloadRoot(). */
  root?: string;
  /** Base URL holding `<prefix>.img.fp32.onnx`, `<prefix>.txt.fp32.onnx`, `vocab.txt` (+ optional SHA256SUMS). */
  from?: string;
  /** Known checksums by file name; they win over SHA256SUMS. */
  sha256?: Record<string, string>;
  progress?: DownloadProgress;
  /** Give up on a connection that sends nothing for this long (the .part stays for a resume). */
  idleTimeoutMs?: number;
}

export type FileOutcome = 'downloaded' | 'resumed' | 'present';

export interface DownloadedFile {
  name: string;
  path: string;
  bytes: number;
  /** The sha256 the file was checked against; undefined when none was known. */
  expectedSha256?: string;
  /** The file's own sha256, as it is on disk. */
  sha256: string;
  outcome: FileOutcome;
}

export interface ClipDownloadResult {
  modelName: string;
  dir: string;
  files: DownloadedFile[];
}

export async function downloadClipModel(options: ClipDownloadOptions): Promise<ClipDownloadResult> {
  const spec = resolveClipModel(options.modelName);
  const dir = resolve(options.root ?? clipDownloadRoot(), spec.name);
  const sources = clipDownloadSources(spec, options.from);
  const byHand = () => handInstructions(spec, dir, sources);

  const sums = options.from ? await fetchSha256Sums(joinUrl(options.from, 'SHA256SUMS'), byHand) : {};
  const checked = sources.map((source) => ({
    ...source,
    sha256: (options.sha256?.[source.name] ?? sums[source.name] ?? source.sha256)?.toLowerCase(),
  }));
  const files = await downloadFiles(dir, checked, { ...options, byHand });
  return { modelName: spec.name, dir, files };
}

/** Each source into `dir`, checked against its sha256 and size where the source has them. */
export async function downloadFiles(
  dir: string,
  sources: readonly DownloadSource[],
  options: Omit<DownloadFileOptions, 'sha256' | 'bytes'> = {},
): Promise<DownloadedFile[]> {
  await mkdir(dir, { recursive: true });
  const files: DownloadedFile[] = [];
  for (const source of sources) {
    const path = join(dir, source.name);
    const outcome = await downloadFile(source.url, path, { ...options, sha256: source.sha256, bytes: source.bytes });
    files.push({
      name: source.name,
      path,
      bytes: (await stat(path)).size,
      expectedSha256: source.sha256,
      sha256: await sha256File(path),
      outcome,
    });
  }
  return files;
}

export interface DownloadFileOptions {
  sha256?: string;
  /** The file's size: a server that offers another size is refused before anything is read. */
  bytes?: number;
  progress?: DownloadProgress;
  idleTimeoutMs?: number;
  /** Appended to "could not reach" errors: how to install without this machine downloading. */
  byHand?: () => string;
}

/** What to do when a file is not the one expected; the same advice for a wrong size or sha256. */
const MISMATCH_ADVICE =
  'Nothing was installed from it. Run the same command again: a download cut or altered on the way is ' +
  'fetched anew. If it fails again, the file on the server is not the one pinned: do not use it; ' +
  'report it, or install a copy you trust by hand (docs/install.md, "cn-clip weights")';

/** One file: resume `<target>.part` if there is one, verify, rename into place. */
export async function downloadFile(
  url: string,
  target: string,
  options: DownloadFileOptions = {},
): Promise<FileOutcome> {
  const name = basename(target);
  if (await exists(target)) {
    // A file already in place is kept unless a known size or checksum says it is wrong.
    const sizeOk = options.bytes === undefined || (await stat(target)).size === options.bytes;
    if (sizeOk && (!options.sha256 || (await sha256File(target)) === options.sha256)) return 'present';
  }
  const part = `${target}.part`;
  let offset = (await exists(part)) ? (await stat(part)).size : 0;
  const resuming = offset > 0;

  const controller = new AbortController();
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let idle: NodeJS.Timeout | undefined;
  const armIdleTimer = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(), idleMs);
  };

  let response: Response;
  try {
    armIdleTimer();
    response = await fetch(url, {
      // Identity encoding: byte ranges and Content-Length must count the bytes that land on disk
      // (raw.githubusercontent.com would otherwise gzip vocab.txt).
      headers: { 'Accept-Encoding': 'identity', ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) },
      redirect: 'follow',
      signal: controller.signal,
    });
  } catch (error) {
    clearTimeout(idle);
    const why = controller.signal.aborted ? new Error(`no answer within ${idleMs / 1000} s`) : error;
    throw unreachable(url, why, options.byHand);
  }

  try {
    if (response.status === 416 && offset > 0) {
      // Nothing left to send: the .part is already whole if its size is the size the server reports.
      const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1];
      await response.body?.cancel();
      if (total === undefined || Number(total) !== offset) {
        await rm(part, { force: true });
        clearTimeout(idle);
        return downloadFile(url, target, options);
      }
    } else if (response.status === 200 || response.status === 206) {
      const rangeStart = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (response.status === 200 || Number(rangeStart) !== offset) offset = 0; // no resume: start over
      const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
      const length = encoded ? NaN : Number(response.headers.get('content-length') ?? NaN);
      const total = Number.isFinite(length) ? offset + length : undefined;
      if (options.bytes !== undefined && total !== undefined && total !== options.bytes) {
        await response.body?.cancel();
        await rm(part, { force: true });
        throw new ModelDownloadError(
          'size',
          `${name}: ${url} offers ${total} bytes where ${options.bytes} are pinned. ${MISMATCH_ADVICE}`,
        );
      }
      options.progress?.start(name, total, offset);
      const received = await writeBody(response, part, offset, armIdleTimer, options.progress);
      options.progress?.finish();
      if (total !== undefined && offset + received !== total) {
        throw new ModelDownloadError(
          'interrupted',
          `${name}: the connection closed after ${offset + received} of ${total} bytes; run the same command again to resume`,
        );
      }
    } else {
      await response.body?.cancel();
      throw new ModelDownloadError('http', `${name}: ${url} answered HTTP ${response.status} ${response.statusText}`);
    }
  } catch (error) {
    options.progress?.finish();
    if (error instanceof ModelDownloadError) throw error;
    const why = controller.signal.aborted ? `nothing received for ${idleMs / 1000} s` : describe(error);
    throw new ModelDownloadError(
      'interrupted',
      `${name}: download interrupted (${why}); the partial file ${part} is kept, run the same command again to resume`,
    );
  } finally {
    clearTimeout(idle);
  }

  // Resuming a wrong file would only make it longer: a mismatch throws the download away.
  if (options.bytes !== undefined) {
    const actual = (await stat(part)).size;
    if (actual !== options.bytes) {
      await rm(part, { force: true });
      throw new ModelDownloadError(
        'size',
        `${name}: ${actual} bytes arrived where ${options.bytes} are pinned; the download was deleted. ${MISMATCH_ADVICE}`,
      );
    }
  }
  if (options.sha256) {
    const actual = await sha256File(part);
    if (actual !== options.sha256) {
      await rm(part, { force: true });
      throw new ModelDownloadError(
        'checksum',
        `${name}: sha256 mismatch (expected ${options.sha256}, got ${actual}); the download was deleted. ${MISMATCH_ADVICE}`,
      );
    }
  }
  await rename(part, target);
  return resuming && offset > 0 ? 'resumed' : 'downloaded';
}

async function writeBody(
  response: Response,
  part: string,
  offset: number,
  onChunk: () => void,
  progress?: DownloadProgress,
): Promise<number> {
  const file = await open(part, offset > 0 ? 'a' : 'w');
  let received = 0;
  try {
    if (!response.body) return 0;
    for await (const chunk of response.body) {
      onChunk();
      await file.write(chunk);
      received += chunk.length;
      progress?.advance(chunk.length);
    }
  } finally {
    await file.close();
  }
  return received;
}

/** `SHA256SUMS` in sha256sum's format; a server without one (404) just means no checksums. */
async function fetchSha256Sums(url: string, byHand: () => string): Promise<Record<string, string>> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw unreachable(url, error, byHand);
  }
  if (!response.ok) {
    await response.body?.cancel();
    return {};
  }
  return parseSha256Sums(await response.text());
}

export function parseSha256Sums(text: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(line);
    if (match) sums[basename(match[2])] = match[1].toLowerCase();
  }
  return sums;
}

function unreachable(url: string, error: unknown, byHand?: () => string): ModelDownloadError {
  const host = safeHost(url);
  // fetch wraps the socket error: TypeError('fetch failed', { cause: ECONNREFUSED | ENOTFOUND | ... }),
  // or an AggregateError of them when a host has several addresses.
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } })?.cause;
  const code = cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? describe(error);
  return new ModelDownloadError(
    'unreachable',
    `could not reach ${host} (${code}): this machine looks offline or the host is down.` +
      (byHand ? `\n${byHand()}` : ''),
  );
}

function handInstructions(spec: ClipModelSpec, dir: string, sources: DownloadSource[]): string {
  const width = Math.max(...sources.map((s) => s.name.length));
  const lines = sources.map((s) => `  ${s.name.padEnd(width)}  from ${s.url}`);
  return `To install cn-clip ${spec.name} by hand, put these files in ${dir}:\n${lines.join('\n')}`;
}

function joinUrl(base: string, name: string): string {
  return new URL(name, base.endsWith('/') ? base : `${base}/`).toString();
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A cli-progress bar per file on a terminal; one line per file otherwise (logs, CI). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  let bar: SingleBar | undefined;
  let current = { name: '', total: undefined as number | undefined, done: 0 };
  return {
    start(name, total, alreadyHave) {
      current = { name, total, done: alreadyHave };
      const resumed = alreadyHave > 0 ? `, resuming at ${megabytes(alreadyHave)}` : '';
      if (!stream.isTTY) {
        stream.write(`downloading ${name} (${total === undefined ? 'size unknown' : megabytes(total)}${resumed})\n`);
        return;
      }
      bar = new SingleBar(
        {
          stream,
          hideCursor: true,
          format: `${name.padEnd(24)} [{bar}] {percentage}% | {done} / {size} | ETA {eta_formatted}`,
        },
        Presets.shades_classic,
      );
      bar.start(total ?? 0, alreadyHave, { done: megabytes(alreadyHave), size: total ? megabytes(total) : '?' });
    },
    advance(bytes) {
      current.done += bytes;
      bar?.update(current.done, { done: megabytes(current.done) });
    },
    finish() {
      if (bar) {
        bar.stop();
        bar = undefined;
      } else if (current.name) {
        stream.write(`${current.name}: ${megabytes(current.done)}\n`);
      }
      current.name = '';
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
