import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClipModelSpec } from './clip-models';

/**
 * Where a cn-clip model's files live and what they are called. cn_clip/deploy/pytorch_to_onnx.py
 * writes `<prefix>.img.fp32.onnx`, `<prefix>.img.fp16.onnx` (+ `.extra_file` external weights),
 * and the same with `.txt`; the tokenizer needs the `vocab.txt` from cn_clip/clip/.
 */

export type ClipPart = 'image' | 'text';
export type ClipPrecision = 'fp32' | 'fp16';

export const CLIP_VOCAB_FILE = 'vocab.txt';

const partTag: Record<ClipPart, string> = { image: 'img', text: 'txt' };

/** `vit-b-16.img.fp32.onnx` */
export function clipModelFileName(spec: ClipModelSpec, part: ClipPart, precision: ClipPrecision = 'fp32'): string {
  return `${spec.filePrefix}.${partTag[part]}.${precision}.onnx`;
}

/**
 * `<root>/<name>/` (`models/clip/ViT-B-16/`). A folder named after the file prefix (`vit-b-16/`) is
 * accepted too, since that is what people type on a case-sensitive file system.
 */
export function clipModelDir(root: string, spec: ClipModelSpec): string {
  const canonical = join(root, spec.name);
  const lower = join(root, spec.filePrefix);
  return !existsSync(canonical) && existsSync(lower) ? lower : canonical;
}

export interface ClipPartFiles {
  dir: string;
  /** The ONNX file to load, if one is there. */
  model?: string;
  precision?: ClipPrecision;
  /** The vocabulary (text part only), if it is there. */
  vocab?: string;
  /** Paths that must be added before the part can load (the preferred name for a missing model). */
  missing: string[];
}

/**
 * Finds a part's files without loading anything. Precisions are tried in the order given; for each,
 * the exact export name wins, then any `*.img.fp32.onnx` (an export saved under another prefix).
 */
export async function findClipPartFiles(
  dir: string,
  spec: ClipModelSpec,
  part: ClipPart,
  precisions: ClipPrecision[] = ['fp32', 'fp16'],
): Promise<ClipPartFiles> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  const present = new Set(names);
  const result: ClipPartFiles = { dir, missing: [] };
  for (const precision of precisions) {
    const exact = clipModelFileName(spec, part, precision);
    const suffix = `.${partTag[part]}.${precision}.onnx`;
    const name = present.has(exact) ? exact : names.find((n) => n.endsWith(suffix));
    if (name) {
      result.model = join(dir, name);
      result.precision = precision;
      break;
    }
  }
  if (!result.model) result.missing.push(join(dir, clipModelFileName(spec, part, precisions[0] ?? 'fp32')));
  if (part === 'text') {
    if (present.has(CLIP_VOCAB_FILE)) result.vocab = join(dir, CLIP_VOCAB_FILE);
    else result.missing.push(join(dir, CLIP_VOCAB_FILE));
  }
  return result;
}
