import sharp from 'sharp';
import type { RgbImage } from '../../../shared/image/decode';
import type { OcrConfig } from '../ocr-config';

/**
 * Detector input size: the short side scaled down to limitSideLen (never up), the long side and the
 * pixel count capped, both sides rounded to multiples of 32 (at least 32).
 */
export function detectorSize(
  width: number,
  height: number,
  cfg: Pick<OcrConfig['det'], 'limitSideLen' | 'maxSideLen' | 'maxPixels'>,
): { w: number; h: number } {
  let ratio = Math.min(1, cfg.limitSideLen / Math.min(width, height));
  if (Math.max(width, height) * ratio > cfg.maxSideLen) ratio = cfg.maxSideLen / Math.max(width, height);
  if (width * height * ratio * ratio > cfg.maxPixels) ratio = Math.sqrt(cfg.maxPixels / (width * height));
  const round32 = (v: number) => Math.max(32, Math.floor(v / 32 + 0.5) * 32);
  return { w: round32(width * ratio), h: round32(height * ratio) };
}

/** (v/255 - 0.5) / 0.5 for every byte value: a table lookup beats the arithmetic in the hot loop. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/**
 * Resizes (bilinear, like cv2.resize) and writes the NCHW float tensor the detector expects:
 * BGR order, (v/255 - 0.5) / 0.5. `reuse` is a tensor from an earlier call: allocating ~9 MB per
 * photo costs more than filling it.
 */
export async function detectorInput(image: RgbImage, cfg: OcrConfig['det'], reuse?: Float32Array) {
  const { w, h } = detectorSize(image.width, image.height, cfg);
  const resized =
    w === image.width && h === image.height
      ? image.data
      : await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
          .resize(w, h, { fit: 'fill', kernel: 'linear' })
          .raw()
          .toBuffer();
  const plane = w * h;
  const tensor = reuse?.length === 3 * plane ? reuse : new Float32Array(3 * plane);
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    tensor[i] = NORMALISED[resized[p + 2]];
    tensor[plane + i] = NORMALISED[resized[p + 1]];
    tensor[2 * plane + i] = NORMALISED[resized[p]];
  }
  return { tensor, w, h };
}
