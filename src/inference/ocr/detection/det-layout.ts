import type { OcrConfig } from '../ocr-config';

/**
 * The detector input for one image: its size, and the rectangle the image is resized into. Outside
 * that rectangle the input is black padding (strips, see stripPadding).
 */
export interface DetLayout {
  /** Detector input size, both multiples of 32. */
  w: number;
  h: number;
  /** The image inside it: left, top, width, height. */
  x: number;
  y: number;
  iw: number;
  ih: number;
}

export type LayoutConfig = Pick<
  OcrConfig['det'],
  'limitSideLen' | 'maxSideLen' | 'maxPixels' | 'maxEnlargedPixels' | 'stripRatio' | 'stripMinSide'
>;

const round32 = (v: number) => Math.max(32, Math.floor(v / 32 + 0.5) * 32);
const floor32 = (v: number) => Math.max(32, Math.floor(v / 32) * 32);

/**
 * Where an image of `width` x `height` goes in the detector input: the image with its strip padding
 * (stripPadding) scaled so that its short side is limitSideLen, up or down; the long side capped at
 * maxSideLen, the pixels at maxPixels, an enlarged input at maxEnlargedPixels; sides rounded to
 * multiples of 32.
 */
export function detectorLayout(width: number, height: number, cfg: LayoutConfig): DetLayout {
  const pad = stripPadding(width, height, cfg);
  const pw = width + 2 * pad.x;
  const ph = height + 2 * pad.y;
  let ratio = cfg.limitSideLen / Math.min(pw, ph);
  if (Math.max(pw, ph) * ratio > cfg.maxSideLen) ratio = cfg.maxSideLen / Math.max(pw, ph);
  if (pw * ph * ratio * ratio > cfg.maxPixels) ratio = Math.sqrt(cfg.maxPixels / (pw * ph));
  let round = round32;
  if (ratio > 1 && pw * ph * ratio * ratio > cfg.maxEnlargedPixels) {
    ratio = Math.sqrt(cfg.maxEnlargedPixels / (pw * ph));
    // Rounded down, so that the cap holds after rounding too; an image at the cap already keeps its size.
    if (ratio > 1) round = floor32;
    else ratio = 1;
  }
  const w = round(pw * ratio);
  const h = round(ph * ratio);
  const x = Math.round((pad.x * w) / pw);
  const y = Math.round((pad.y * h) / ph);
  return { w, h, x, y, iw: w - 2 * x, ih: h - 2 * y };
}

/**
 * RapidOCR's apply_vertical_padding: a strip (wider than stripRatio times its height, or no taller
 * than stripMinSide) gets black bands above and below until it is 2 x max(width / stripRatio,
 * stripMinSide) tall, so the detector sees a line of a strip with room around it, at the scale
 * RapidOCR sees it. Judged, as RapidOCR does, after its min_side_len step (an image under
 * stripMinSide px on a side enlarged to it, sides rounded to multiples of 32). Tall strips are left as
 * they are, as RapidOCR leaves them: bands beside a long phone screenshot would only shrink its text.
 * Pixels of the image, per side.
 */
export function stripPadding(
  width: number,
  height: number,
  cfg: Pick<OcrConfig['det'], 'stripRatio' | 'stripMinSide'>,
): { x: number; y: number } {
  if (!(cfg.stripRatio > 0)) return { x: 0, y: 0 };
  const short = Math.min(width, height);
  const scale = short < cfg.stripMinSide ? cfg.stripMinSide / short : 1;
  const vw = scale === 1 ? width : round32(Math.trunc(width * scale));
  const vh = scale === 1 ? height : round32(Math.trunc(height * scale));
  if (vh > cfg.stripMinSide && vw / vh <= cfg.stripRatio) return { x: 0, y: 0 };
  const padded = Math.max(Math.trunc(vw / cfg.stripRatio), cfg.stripMinSide) * 2;
  return { x: 0, y: (Math.trunc(Math.abs(padded - vh) / 2) * height) / vh };
}

/** The same layout at `scale` of its size (the text gate's small pass): the same padding, proportionally. */
export function scaleLayout(layout: DetLayout, scale: number): DetLayout {
  const w = round32(layout.w * scale);
  const h = round32(layout.h * scale);
  const x = Math.round((layout.x * w) / layout.w);
  const y = Math.round((layout.y * h) / layout.h);
  return { w, h, x, y, iw: w - 2 * x, ih: h - 2 * y };
}
