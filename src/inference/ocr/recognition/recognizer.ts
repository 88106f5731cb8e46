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
 * CRNN/SVTR recognition: crops sorted by aspect ratio and run in batches so that padding is small;
 * each batch is as wide as its widest crop at height 48 (at least 320).
 */
export async function recognize(
  session: ort.InferenceSession,
  charset: string[],
  image: RgbImage,
  crops: Crop[],
  cfg: OcrConfig,
): Promise<DecodedText[]> {
  const { height, minWidth, batchSize } = cfg.rec;
  const order = crops.map((_, i) => i).sort((a, b) => ratio(crops[a]) - ratio(crops[b]));
  const results: DecodedText[] = new Array(crops.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = order.slice(start, start + batchSize);
    const maxRatio = Math.max(minWidth / height, ...batch.map((i) => ratio(crops[i])));
    const width = Math.ceil(height * maxRatio);
    const tensor = new Float32Array(batch.length * 3 * height * width);
    batch.forEach((ci, bi) => {
      const contentW = Math.min(width, Math.ceil(height * ratio(crops[ci])));
      sampleCrop(image, crops[ci], tensor, bi, height, width, contentW);
    });
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
