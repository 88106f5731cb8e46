import sharp from 'sharp';

/** Why an image could not be used; maps to HTTP 400/413/422 and to the CLI's per-file error. */
export type ImageErrorKind = 'empty' | 'undecodable' | 'too-large';

export class ImageInputError extends Error {
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ImageInputError';
  }
}

/** Default ceiling on decoded pixels: 100 MP covers any phone or DSLR photo, refuses decompression bombs. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface ImageInfo {
  /** Width and height after EXIF orientation is applied. */
  width: number;
  height: number;
}

export interface RgbImage extends ImageInfo {
  /** Packed RGB, 3 bytes per pixel, row-major. */
  data: Buffer;
}

// libvips is configured once: no operation cache (we never decode the same buffer twice) and
// failOn 'error' so truncated files are rejected rather than half-decoded.
sharp.cache(false);

/**
 * Reads only the header: size with EXIF orientation applied, and the pixel-limit check that must
 * happen before anything allocates a full frame.
 */
export async function readImageInfo(input: Buffer, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageInfo> {
  if (input.length === 0) throw new ImageInputError('empty', 'image is empty (0 bytes)');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageInputError('undecodable', `not a decodable image: ${describe(error)}`);
  }
  if (!meta.width || !meta.height) throw new ImageInputError('undecodable', 'not a decodable image: no dimensions');
  const pixels = meta.width * meta.height;
  if (pixels > maxPixels) {
    throw new ImageInputError(
      'too-large',
      `image is ${meta.width}x${meta.height} (${(pixels / 1e6).toFixed(1)} MP), over the limit of ${(maxPixels / 1e6).toFixed(1)} MP`,
    );
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height };
}

/**
 * A sharp pipeline that applies EXIF orientation, flattens alpha onto white and converts any
 * colour space (grey, CMYK, 16-bit) to 8-bit sRGB. Callers add a resize and ask for raw pixels.
 */
export function normalisedPipeline(input: Buffer, maxPixels = DEFAULT_MAX_PIXELS): sharp.Sharp {
  return sharp(input, { limitInputPixels: maxPixels, failOn: 'error' })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb');
}

/** Runs a pipeline to packed RGB, turning libvips errors into ImageInputError. */
export async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  try {
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    throw new ImageInputError('undecodable', `image could not be decoded: ${describe(error)}`);
  }
}

/** Header check, then a full decode to RGB. */
export async function decodeRgb(input: Buffer, maxPixels = DEFAULT_MAX_PIXELS): Promise<RgbImage> {
  await readImageInfo(input, maxPixels);
  return toRgb(normalisedPipeline(input, maxPixels));
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // libvips messages can span lines ("VipsJpeg: ...\n"); keep the first useful one.
  return message
    .split('\n')[0]
    .replace(/^Input (buffer|file) /, '')
    .trim();
}
