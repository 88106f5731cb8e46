import sharp from 'sharp';
import type { RgbImage } from '../../../shared/image/decode';
import type { DetLayout } from './det-layout';

/** (v/255 - 0.5) / 0.5 for every byte value: a table lookup beats the arithmetic in the hot loop. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/** Black, normalised: the strip padding. */
const BLACK = NORMALISED[0];

/**
 * Resizes (bilinear, like cv2.resize) into the layout's rectangle and writes the NCHW float tensor the
 * detector expects: BGR order, (v/255 - 0.5) / 0.5, black around the rectangle. `reuse` is a tensor
 * from an earlier call: allocating ~9 MB per photo costs more than filling it.
 */
export async function detectorInput(image: RgbImage, layout: DetLayout, reuse?: Float32Array) {
  const { w, h, x, y, iw, ih } = layout;
  const resized =
    iw === image.width && ih === image.height
      ? image.data
      : await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
          .resize(iw, ih, { fit: 'fill', kernel: 'linear' })
          .raw()
          .toBuffer();
  const plane = w * h;
  const tensor = reuse?.length === 3 * plane ? reuse : new Float32Array(3 * plane);
  if (iw === w && ih === h) {
    // The whole input is the image (every photo but strips): one flat pass, the hot path.
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      tensor[i] = NORMALISED[resized[p + 2]];
      tensor[plane + i] = NORMALISED[resized[p + 1]];
      tensor[2 * plane + i] = NORMALISED[resized[p]];
    }
    return { tensor, w, h };
  }
  tensor.fill(BLACK);
  for (let row = 0; row < ih; row++) {
    for (let i = (y + row) * w + x, p = row * iw * 3, end = i + iw; i < end; i++, p += 3) {
      tensor[i] = NORMALISED[resized[p + 2]];
      tensor[plane + i] = NORMALISED[resized[p + 1]];
      tensor[2 * plane + i] = NORMALISED[resized[p]];
    }
  }
  return { tensor, w, h };
}
