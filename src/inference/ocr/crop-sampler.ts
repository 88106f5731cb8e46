import type { RgbImage } from '../../shared/image/decode';
import type { Point } from './detection/geometry';

/** A text region to cut out: corners tl, tr, br, bl in image pixels, and its upright size. */
export interface Crop {
  quad: Point[];
  width: number;
  height: number;
}

/**
 * RapidOCR's get_rotate_crop_image: size from the longer of each pair of opposite edges; crops
 * at least `verticalRatio` times taller than wide are turned 90 degrees counter-clockwise (np.rot90).
 */
export function cropFor(points: Point[], verticalRatio: number): Crop {
  const [p0, p1, p2, p3] = points;
  const width = Math.max(1, Math.trunc(Math.max(dist(p0, p1), dist(p2, p3))));
  const height = Math.max(1, Math.trunc(Math.max(dist(p0, p3), dist(p1, p2))));
  if (height / width >= verticalRatio) return { quad: [p1, p2, p3, p0], width: height, height: width };
  return { quad: points, width, height };
}

/** The same region upside down: what the angle classifier asks for when it says 180. */
export const rotate180 = (crop: Crop): Crop => ({
  ...crop,
  quad: [crop.quad[2], crop.quad[3], crop.quad[0], crop.quad[1]],
});

/**
 * Writes one crop into a batch tensor [N,3,H,W] at `index`: the quad is mapped straight to an
 * H x `contentW` area (the perspective warp and the cv2.resize of RapidOCR in one step), BGR,
 * (v/255-0.5)/0.5, zeros to the right of `contentW`. Big text is supersampled so that shrinking it
 * to 48 px high averages pixels instead of skipping them.
 */
export function sampleCrop(
  image: RgbImage,
  crop: Crop,
  tensor: Float32Array,
  index: number,
  tensorH: number,
  tensorW: number,
  contentW: number,
): void {
  const [p0, p1, , p3] = crop.quad;
  const { data, width: iw, height: ih } = image;
  const plane = tensorH * tensorW;
  const base = index * 3 * plane;
  // Affine map of crop pixel (u, v) to the image: p0 + u/W (p1-p0) + v/H (p3-p0).
  const ax = (p1[0] - p0[0]) / crop.width;
  const ay = (p1[1] - p0[1]) / crop.width;
  const bx = (p3[0] - p0[0]) / crop.height;
  const by = (p3[1] - p0[1]) / crop.height;
  const su = crop.width / contentW;
  const sv = crop.height / tensorH;
  const n = Math.min(4, Math.max(1, Math.ceil(Math.max(su, sv) - 0.25)));
  const inv = 1 / (n * n * 127.5);
  const maxX = iw - 1;
  const maxY = ih - 1;
  for (let j = 0; j < tensorH; j++) {
    for (let i = 0; i < contentW; i++) {
      let b = 0;
      let g = 0;
      let r = 0;
      for (let sj = 0; sj < n; sj++) {
        const v = (j + (sj + 0.5) / n) * sv - 0.5;
        for (let si = 0; si < n; si++) {
          const u = (i + (si + 0.5) / n) * su - 0.5;
          let x = p0[0] + u * ax + v * bx;
          let y = p0[1] + u * ay + v * by;
          // Border replicate, as the warp in RapidOCR does.
          x = x < 0 ? 0 : x > maxX ? maxX : x;
          y = y < 0 ? 0 : y > maxY ? maxY : y;
          const x0 = x | 0;
          const y0 = y | 0;
          const fx = x - x0;
          const fy = y - y0;
          const x1 = x0 < maxX ? x0 + 1 : x0;
          const y1 = y0 < maxY ? y0 + 1 : y0;
          const i00 = (y0 * iw + x0) * 3;
          const i01 = (y0 * iw + x1) * 3;
          const i10 = (y1 * iw + x0) * 3;
          const i11 = (y1 * iw + x1) * 3;
          const w00 = (1 - fx) * (1 - fy);
          const w01 = fx * (1 - fy);
          const w10 = (1 - fx) * fy;
          const w11 = fx * fy;
          r += data[i00] * w00 + data[i01] * w01 + data[i10] * w10 + data[i11] * w11;
          g += data[i00 + 1] * w00 + data[i01 + 1] * w01 + data[i10 + 1] * w10 + data[i11 + 1] * w11;
          b += data[i00 + 2] * w00 + data[i01 + 2] * w01 + data[i10 + 2] * w10 + data[i11 + 2] * w11;
        }
      }
      const o = base + j * tensorW + i;
      tensor[o] = b * inv - 1;
      tensor[o + plane] = g * inv - 1;
      tensor[o + 2 * plane] = r * inv - 1;
    }
  }
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
