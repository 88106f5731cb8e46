import type { RgbImage } from '../../../shared/image/decode';
import { ort } from '../../onnx/session';
import { Crop, rotate180, sampleCrop } from '../crop-sampler';
import type { OcrConfig } from '../ocr-config';

/**
 * The 0/180 degree text-line classifier: crops the classifier reads as upside down (label 1 with
 * at least `thresh`) come back turned around; the others unchanged.
 */
export async function classifyAngles(
  session: ort.InferenceSession,
  image: RgbImage,
  crops: Crop[],
  cfg: OcrConfig['cls'],
): Promise<Crop[]> {
  const out = [...crops];
  const { height, width, batchSize, thresh } = cfg;
  for (let start = 0; start < crops.length; start += batchSize) {
    const batch = crops.slice(start, start + batchSize);
    const tensor = new Float32Array(batch.length * 3 * height * width);
    batch.forEach((crop, bi) => {
      const contentW = Math.min(width, Math.ceil((height * crop.width) / crop.height));
      sampleCrop(image, crop, tensor, bi, height, width, contentW);
    });
    const input = new ort.Tensor('float32', tensor, [batch.length, 3, height, width]);
    const probs = (await session.run({ [session.inputNames[0]]: input }))[session.outputNames[0]].data as Float32Array;
    batch.forEach((crop, bi) => {
      const p180 = probs[bi * 2 + 1];
      if (p180 > probs[bi * 2] && p180 >= thresh) out[start + bi] = rotate180(crop);
    });
  }
  return out;
}
