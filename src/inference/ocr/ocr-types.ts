import type { ImageInfo } from '../../shared/image/decode';
import type { Device } from '../onnx/session';

/** Four corners in pixels of the original image: top-left, top-right, bottom-right, bottom-left. */
export type Quad = [number, number, number, number, number, number, number, number];

export interface OcrLine {
  text: string;
  /** Recognition confidence, 0..1 (mean of the kept CTC step maxima). */
  score: number;
  /** Detection confidence of the box, 0..1. */
  boxScore: number;
  box: Quad;
}

export interface OcrTimings {
  decodeMs: number;
  detectMs: number;
  classifyMs: number;
  recogniseMs: number;
  totalMs: number;
}

export interface OcrOutput {
  /** Size of the image after EXIF orientation: boxes are in these pixels. */
  width: number;
  height: number;
  /** Reading order: top-to-bottom, then left-to-right. */
  lines: OcrLine[];
  timings: OcrTimings;
  /**
   * The detector's input size for this image: what the read cost grows with. The full pass's, or the
   * text gate's where the gate skipped the photo.
   */
  detector: { width: number; height: number };
  /** Present where the text gate ran (ocr-config.ts gate): what it decided. */
  gate?: OcrGateInfo;
}

/** The text gate's pass over a small copy of the photo (detection/text-gate.ts). */
export interface OcrGateInfo {
  /** Its detector input size. */
  width: number;
  height: number;
  /** Text regions it found. */
  regions: number;
  /** No region: the full pass did not run and the photo has no lines. */
  skipped: boolean;
  /** Resize, detector and post-processing, in ms. */
  ms: number;
}

/** Per-call overrides Immich sends through /predict. */
export interface OcrRunOptions {
  /** Drop boxes whose detection score is below this (Immich: detection minScore). */
  boxThresh?: number;
  /** Drop lines whose recognition score is below this (Immich: recognition minScore). */
  textScoreMin?: number;
  /** Detection input short side (Immich: maxResolution). */
  limitSideLen?: number;
}

export interface OcrReader {
  readonly device: Device;
  /**
   * Encoded image bytes (JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF as sharp supports). Throws
   * ImageInputError. `info` is the header the caller has already read, so it is not read twice.
   */
  read(image: Buffer, options?: OcrRunOptions, info?: ImageInfo): Promise<OcrOutput>;
  close(): Promise<void>;
}
