import { DEFAULT_MAX_PIXELS, decodeRgb, type ImageInfo, readImageInfo } from '../../shared/image/decode';

/** OpenAI CLIP's normalisation, which Chinese-CLIP kept (cn_clip/clip/utils.py image_transform). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface ClipImageTensor {
  /** Planar RGB, [1, 3, size, size], normalised. */
  data: Float32Array;
  size: number;
  /** Size of the original image after EXIF orientation (what Immich records as imageWidth/Height). */
  width: number;
  height: number;
}

/**
 * Chinese-CLIP's image transform: `Resize((S, S), BICUBIC)` straight to a square (no aspect-preserving
 * crop, unlike OpenAI CLIP), RGB, /255, mean/std, CHW. libvips' cubic kernel is Catmull-Rom, the same
 * a=-0.5 bicubic PIL uses, and like PIL it widens the kernel when shrinking, so it antialiases too.
 * The header is read first (or given, when the caller has read it) so an oversize image is refused
 * before any pixel is decoded.
 */
export async function preprocessClipImage(
  input: Buffer,
  size: number,
  maxPixels = DEFAULT_MAX_PIXELS,
  info?: ImageInfo,
): Promise<ClipImageTensor> {
  const { width, height } = info ?? (await readImageInfo(input, maxPixels));
  const rgb = await decodeRgb(input, maxPixels, (p) => p.resize(size, size, { fit: 'fill', kernel: 'cubic' }));
  return { data: toNormalisedChw(rgb.data, size * size), size, width, height };
}

/** Packed 8-bit RGB (HWC) -> normalised float planes (CHW). */
export function toNormalisedChw(rgb: Uint8Array, pixels: number): Float32Array {
  if (rgb.length !== pixels * 3) throw new Error(`expected ${pixels * 3} bytes of RGB, got ${rgb.length}`);
  const out = new Float32Array(pixels * 3);
  for (let c = 0; c < 3; c++) {
    // (v / 255 - mean) / std folded into one multiply-add per value.
    const scale = 1 / (255 * CLIP_STD[c]);
    const offset = -CLIP_MEAN[c] / CLIP_STD[c];
    const plane = c * pixels;
    for (let i = 0; i < pixels; i++) out[plane + i] = rgb[i * 3 + c] * scale + offset;
  }
  return out;
}
