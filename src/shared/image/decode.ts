import sharp from 'sharp';

/** Why an image could not be used; maps to HTTP 400/413/415/422 and to the CLI's per-file error. */
export type ImageErrorKind = 'empty' | 'undecodable' | 'too-large' | 'unsupported';

export class ImageInputError extends Error {
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ImageInputError';
  }
}

/** The HTTP status each kind is answered with, in both services. */
export const IMAGE_ERROR_STATUS: Record<ImageErrorKind, number> = {
  empty: 400,
  'too-large': 413,
  unsupported: 415,
  undecodable: 422,
};

/** Default ceiling on decoded pixels: 100 MP covers any phone or DSLR photo, refuses decompression bombs. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** The formats a photo server sends. Anything else (SVG, PDF, PSD, ...) never reaches a decoder. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif';

export interface ImageInfo {
  /** Width and height after EXIF orientation is applied. */
  width: number;
  height: number;
  format?: ImageFormat;
}

export interface RgbImage {
  width: number;
  height: number;
  /** Packed RGB, 3 bytes per pixel, row-major. */
  data: Buffer;
}

// libvips is configured once: no operation cache (we never decode the same buffer twice).
sharp.cache(false);

/**
 * The format from the file's first bytes. sharp would also tell, but only after handing the bytes
 * to a loader (an SVG to librsvg, say); six magic numbers let nothing else be parsed at all.
 */
function sniffFormat(input: Uint8Array): ImageFormat | undefined {
  const at = (offset: number, ...bytes: number[]) => bytes.every((b, i) => input[offset + i] === b);
  const ascii = (offset: number, text: string) => at(offset, ...Array.from(text, (c) => c.charCodeAt(0)));
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  // ISO base media (HEIF, AVIF): an `ftyp` box whose major brand is an image brand.
  if (ascii(4, 'ftyp') && /^(avif|avis|heic|heix|heim|heis|hevc|hevx|mif1|msf1)$/.test(ascii8(input, 8))) return 'heif';
  return undefined;
}

const ascii8 = (input: Uint8Array, offset: number) => String.fromCharCode(...input.subarray(offset, offset + 4));

/**
 * Reads only the header: the format (refused with 415 unless a photo format), the size with EXIF
 * orientation applied, and the pixel limit, before anything allocates a frame. A request reads this
 * once and hands it to the engines, which then skip their own read.
 */
export async function readImageInfo(input: Buffer, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageInfo> {
  if (input.length === 0) throw new ImageInputError('empty', 'image is empty (0 bytes)');
  const format = sniffFormat(input);
  if (!format) {
    throw new ImageInputError(
      'unsupported',
      'not a photo format: expected JPEG, PNG, WebP, AVIF/HEIF, TIFF or GIF (SVG and other formats are refused)',
    );
  }
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageInputError('undecodable', `not a decodable image: ${describe(error)}`);
  }
  if (!meta.width || !meta.height) throw new ImageInputError('undecodable', 'not a decodable image: no dimensions');
  if (meta.format !== format) {
    throw new ImageInputError(
      'undecodable',
      `not a decodable image: starts like ${format} but reads as ${meta.format}`,
    );
  }
  // Multi-page files (animated GIF/WebP, TIFF) decode their first page: its height is the one that counts.
  const height = meta.pageHeight && meta.pageHeight < meta.height ? meta.pageHeight : meta.height;
  const pixels = meta.width * height;
  if (pixels > maxPixels) {
    throw new ImageInputError(
      'too-large',
      `image is ${meta.width}x${height} (${(pixels / 1e6).toFixed(1)} MP), over the limit of ${(maxPixels / 1e6).toFixed(1)} MP`,
    );
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? height : meta.width, height: swap ? meta.width : height, format };
}

/**
 * Decodes to packed 8-bit sRGB: EXIF orientation applied, transparency flattened onto a background
 * the image stays visible on (flattenForContrast), grey/CMYK/16-bit converted. `shape` adds a resize. The first page only, the pixel limit enforced by libvips itself.
 *
 * libvips is asked to fail on warnings first: that is how a JPEG whose header claims more pixels than
 * its data holds shows ("premature end of data segment") before the missing rows are decoded as grey,
 * which would cost the header's full size and answer with the header's dimensions. A file that fails
 * only on another warning (extraneous bytes after a camera's last marker, say) is decoded again,
 * stopping at errors only.
 */
export async function decodeRgb(
  input: Buffer,
  maxPixels = DEFAULT_MAX_PIXELS,
  shape: (pipeline: sharp.Sharp) => sharp.Sharp = (pipeline) => pipeline,
): Promise<RgbImage> {
  const attempt = (failOn: 'warning' | 'error') =>
    toRgb(shape(sharp(input, { limitInputPixels: maxPixels, failOn, pages: 1 }).rotate().toColourspace('srgb')));
  try {
    return await attempt('warning');
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    const message = describe(error);
    if (SHORT_DATA.test(message)) {
      throw new ImageInputError(
        'undecodable',
        `image data ends before the size its header gives (truncated, or a header that claims more pixels; ${message})`,
      );
    }
    try {
      return await attempt('error');
    } catch (retryError) {
      if (retryError instanceof ImageInputError) throw retryError;
      throw new ImageInputError('undecodable', `image could not be decoded: ${describe(retryError)}`);
    }
  }
}

/** libjpeg's and libvips' words for data that stops before the frame is full. */
const SHORT_DATA = /premature end|truncated|not enough (image )?data|out of data/i;

async function toRgb(pipeline: sharp.Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 4) return { data: flattenForContrast(data), width: info.width, height: info.height };
  if (info.channels !== 3) throw new ImageInputError('undecodable', `unexpected ${info.channels} channels`);
  return { data, width: info.width, height: info.height };
}

/**
 * RGBA to RGB over white, or over black where what is not transparent is light (mean luminance
 * 0.299 R + 0.587 G + 0.114 B of the pixels that are not wholly transparent, at least 128): RapidOCR's rule
 * (LoadImage.cvt_four_to_three). White text on a transparent PNG flattened onto white is a blank
 * image; on black it reads. A fully transparent image goes onto white.
 */
export function flattenForContrast(rgba: Buffer): Buffer {
  let sum = 0;
  let count = 0;
  for (let p = 0; p < rgba.length; p += 4) {
    if (rgba[p + 3] === 0) continue;
    sum += 0.299 * rgba[p] + 0.587 * rgba[p + 1] + 0.114 * rgba[p + 2];
    count++;
  }
  const background = count && sum / count >= 128 ? 0 : 255;
  const rgb = Buffer.allocUnsafe((rgba.length / 4) * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    const a = rgba[p + 3] / 255;
    const under = background * (1 - a);
    rgb[q] = rgba[p] * a + under;
    rgb[q + 1] = rgba[p + 1] * a + under;
    rgb[q + 2] = rgba[p + 2] * a + under;
  }
  return rgb;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // libvips messages can span lines ("VipsJpeg: ...\n"); keep the first useful one.
  return message
    .split('\n')[0]
    .replace(/^Input (buffer|file) /, '')
    .trim();
}
