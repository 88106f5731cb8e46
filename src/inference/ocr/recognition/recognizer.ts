import { readFileSync } from 'node:fs';
import type { RgbImage } from '../../../shared/image/decode';
import { ort } from '../../onnx/session';
import { Crop, sampleCrop } from '../crop-sampler';
import type { OcrConfig } from '../ocr-config';
import { ctcDecode, DecodedText } from './ctc-decode';

/** Dictionary as PP-OCR builds it: blank at index 0, the file's lines, then a space. */
export function loadCharset(path: string): string[] {
  const lines = readFileSync(path, 'utf8').replace(/\r/g, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return ['blank', ...lines, ' '];
}

/**
 * Splits crops, sorted by width, into recogniser runs of neighbours (at most maxBatch each) so that
 * the columns computed, padding included, plus runCost per run are fewest. A batch is as wide as its
 * widest crop, and the model's time grows with batch x width, so a short line batched with a long
 * one pays for the long one's width; a run of its own costs runCost columns more.
 * Returns [start, end) ranges of `widths` (ascending).
 */
export function planBatches(widths: readonly number[], maxBatch: number, runCost: number): Array<[number, number]> {
  const n = widths.length;
  const best = new Array<number>(n + 1).fill(Infinity);
  const from = new Array<number>(n + 1).fill(0);
  best[0] = 0;
  for (let end = 1; end <= n; end++) {
    for (let start = Math.max(0, end - maxBatch); start < end; start++) {
      const cost = best[start] + runCost + (end - start) * widths[end - 1];
      if (cost < best[end]) {
        best[end] = cost;
        from[end] = start;
      }
    }
  }
  const batches: Array<[number, number]> = [];
  for (let end = n; end > 0; end = from[end]) batches.unshift([from[end], end]);
  return batches;
}

/**
 * CRNN/SVTR recognition: crops sorted by aspect ratio and run in batches planned by planBatches;
 * each batch is as wide as its widest crop at height 48 (at least minWidth).
 */
export async function recognize(
  session: ort.InferenceSession,
  charset: string[],
  image: RgbImage,
  crops: Crop[],
  cfg: OcrConfig,
): Promise<DecodedText[]> {
  const { height, minWidth, batchSize, runCostColumns } = cfg.rec;
  const order = crops.map((_, i) => i).sort((a, b) => ratio(crops[a]) - ratio(crops[b]));
  const contentWidths = order.map((i) => Math.ceil(height * ratio(crops[i])));
  const paddedWidths = contentWidths.map((w) => Math.max(minWidth, w));
  const results: DecodedText[] = new Array(crops.length);
  for (const [start, end] of planBatches(paddedWidths, batchSize, runCostColumns)) {
    const batch = order.slice(start, end);
    const width = paddedWidths[end - 1];
    const tensor = new Float32Array(batch.length * 3 * height * width);
    batch.forEach((ci, bi) => sampleCrop(image, crops[ci], tensor, bi, height, width, contentWidths[start + bi]));
    const input = new ort.Tensor('float32', tensor, [batch.length, 3, height, width]);
    const output = (await session.run({ [session.inputNames[0]]: input }))[session.outputNames[0]];
    const [, steps, classes] = output.dims as number[];
    const probs = output.data as Float32Array;
    batch.forEach((ci, bi) => {
      results[ci] = ctcDecode(probs, bi * steps * classes, steps, classes, charset, cfg.spaces);
    });
  }
  return results;
}

const ratio = (c: Crop) => c.width / c.height;
