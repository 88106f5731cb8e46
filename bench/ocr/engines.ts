/** The engines the OCR benchmark compares: each reads a JPEG buffer and returns its text lines. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { findOcrModelFiles } from '../../src/inference/ocr/model-files';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import type { EngineName } from './options';

export interface OurStages {
  decodeMs: number;
  detectMs: number;
  classifyMs: number;
  recogniseMs: number;
  totalMs: number;
}

export interface ReadResult {
  texts: string[];
  stages?: OurStages;
}

export interface Runner {
  name: EngineName;
  settings: string;
  read(buf: Buffer): Promise<ReadResult>;
  close(): Promise<void>;
}

export async function openOurs(threads?: number): Promise<Runner> {
  const engine = await OcrEngine.open({ device: 'cpu', ...(threads ? { threads } : {}) });
  return {
    name: threads === 1 ? 'ours-1t' : 'ours',
    settings: `OcrEngine defaults, cpu, onnxruntime threads ${threads || 'default: every core, no spinning'}`,
    async read(buf) {
      const out = await engine.read(buf);
      return { texts: out.lines.map((l) => l.text), stages: out.timings };
    },
    close: () => engine.close(),
  };
}

export const toArrayBuffer = (b: Buffer): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export async function openPaddle(eqDet: boolean): Promise<Runner> {
  // paddleocr ships a CJS build next to its ESM one; tsc turns this import() into require().
  const { PaddleOcrService } = await import('paddleocr');
  const files = findOcrModelFiles();
  if (!files.classification) throw new Error('no classifier model in ' + files.dir);
  const dict = readFileSync(files.dictionary, 'utf8').replace(/\r/g, '').split('\n');
  if (dict[dict.length - 1] === '') dict.pop();
  // RapidOCR: (v/255 - 0.5) / 0.5 on BGR for det, cls and rec.
  const norm = {
    mean: [127.5, 127.5, 127.5] as [number, number, number],
    stdDeviation: [1 / 127.5, 1 / 127.5, 1 / 127.5] as [number, number, number],
  };
  const detection = eqDet
    ? { limitType: 'resize_long' as const, maxSideLength: 992 }
    : { limitType: 'min' as const, maxSideLength: 736 };
  const service = await PaddleOcrService.createInstance({
    ort: ort as never,
    detection: {
      modelBuffer: toArrayBuffer(readFileSync(files.detection)),
      ...norm,
      channelOrder: 'bgr',
      ...detection,
      maxSideLimit: 4000,
      textPixelThreshold: 0.3,
      boxScoreThreshold: 0.5,
      unclipRatio: 1.6,
      maxCandidates: 1000,
      scoreMode: 'fast',
      dilationKernelSize: 2,
      boxType: 'quad',
    },
    recognition: {
      modelBuffer: toArrayBuffer(readFileSync(files.recognition)),
      ...norm,
      channelOrder: 'bgr',
      outputSelectionStrategy: 'ctc-logits',
      imageHeight: 48,
      imageWidth: 320,
      // blank is implicit (index 0); PP-OCR appends a space after the file's characters
      charactersDictionary: [...dict, ' '],
    },
    textlineOrientation: {
      modelBuffer: toArrayBuffer(readFileSync(files.classification)),
      ...norm,
      channelOrder: 'bgr',
      imageHeight: 48,
      imageWidth: 192,
      resizeMode: 'pad',
      labels: ['0', '180'],
      threshold: 0.9,
      enabled: true,
    },
  });
  const det = eqDet ? 'resize_long 992 (= our 992x736 for 4:3)' : "736 'min'";
  return {
    name: eqDet ? 'paddleocr-eqdet' : 'paddleocr',
    settings: `paddleocr ${pkgVersion('paddleocr')}, PP-OCRv4 det/rec + v2.0 cls, det ${det}, thresh 0.3 box 0.5 unclip 1.6 dilation 2x2, rec h48 (batch 1: no batching in its API), sharp decode`,
    async read(buf) {
      const { data, info } = await sharp(buf)
        .rotate()
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      const results = await service.recognize({ width: info.width, height: info.height, data });
      return { texts: results.filter((r) => r.confidence >= 0.5).map((r) => r.text) };
    },
    async close() {
      await service.destroy();
      await service.textlineOrientationSession?.release?.();
    },
  };
}

/** A real ESM import() that tsc leaves alone (it would turn a plain one into require()). */
export const esmImport = new Function('url', 'return import(url)') as (url: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function openGutenye(): Promise<Runner> {
  const entry = require.resolve('@gutenye/ocr-node');
  const mod = await esmImport(pathToFileURL(entry).href);
  const Ocr = mod.default;
  const ocr = await Ocr.create();
  return {
    name: 'gutenye',
    settings: `@gutenye/ocr-node ${pkgVersion('@gutenye/ocr-node')} defaults (det at full size rounded up to 32, no cls, rec one line at a time; its own sharp ${pkgVersion('sharp', entry)})`,
    async read(buf) {
      const lines: { text: string }[] = await ocr.detect(buf);
      return { texts: lines.map((l) => l.text) };
    },
    async close() {
      // no release API: its sessions live until the process exits
    },
  };
}

/**
 * ppu-paddle-ocr ("probably the fastest PaddleOCR SDK in TypeScript") on our PP-OCRv4 det/rec files
 * and dictionary, everything else at its defaults (det long side 'auto', per-line recognition, its
 * opencv.js engine). noCache: it would otherwise answer a repeated image from its result cache.
 */
export async function openPpu(): Promise<Runner> {
  const mod = await esmImport(pathToFileURL(require.resolve('ppu-paddle-ocr')).href);
  const files = findOcrModelFiles();
  // Its dictionary reader wants a trailing newline, which ppocr_keys_v1.txt lacks.
  const dict = readFileSync(files.dictionary, 'utf8').replace(/\n?$/, '\n');
  const service = new mod.PaddleOcrService({
    model: {
      detection: toArrayBuffer(readFileSync(files.detection)),
      recognition: toArrayBuffer(readFileSync(files.recognition)),
      charactersDictionary: toArrayBuffer(Buffer.from(dict, 'utf8')),
    },
  });
  await service.initialize();
  return {
    name: 'ppu',
    settings: `ppu-paddle-ocr ${pkgVersion('ppu-paddle-ocr')} defaults on our PP-OCRv4 det/rec + ppocr_keys_v1 (det long side auto = 1080 for 1440x1080, per-line rec, opencv.js, noCache)`,
    async read(buf) {
      const result: { lines: { text: string }[][] } = await service.recognize(toArrayBuffer(buf), { noCache: true });
      return { texts: result.lines.map((line) => line.map((item) => item.text).join(' ')) };
    },
    close: () => service.destroy(),
  };
}

export function openRunner(name: EngineName): Promise<Runner> {
  switch (name) {
    case 'ours-1t':
      return openOurs(1);
    case 'ppu':
      return openPpu();
    case 'ours':
      return openOurs();
    case 'paddleocr':
      return openPaddle(false);
    case 'paddleocr-eqdet':
      return openPaddle(true);
    case 'gutenye':
      return openGutenye();
  }
}

export function pkgVersion(name: string, from?: string): string {
  try {
    const paths = from ? [from] : [process.cwd()];
    // resolve the package folder through its main entry, then walk up to its package.json
    let dir = require.resolve(name, { paths });
    for (let i = 0; i < 8; i++) {
      dir = resolve(dir, '..');
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (pkg.name === name) return pkg.version;
      } catch {
        // keep walking
      }
    }
  } catch {
    // fall through
  }
  return '?';
}
