import { performance } from 'node:perf_hooks';
import type { RgbImage } from '../../../shared/image/decode';
import type { OcrConfig } from '../ocr-config';
import type { OcrGateInfo } from '../ocr-types';
import { dbPostprocess } from './db-postprocess';
import { type DetLayout, scaleLayout } from './det-layout';
import { detectorInput } from './det-preprocess';

/** Runs the detector on an input tensor (NCHW, 1x3xhxw) and gives its probability map (h x w). */
export type RunDetector = (tensor: Float32Array, w: number, h: number) => Promise<Float32Array>;

/**
 * The gate's detector input for a full pass laid out as `full` for an image `imageWidth` wide, or
 * undefined where the gate does not run: switched off, a full pass no larger than minPixels (a small
 * image costs about what its gate would), an enlarged image (small, or a strip: the gate's premise,
 * large text that survives shrinking a large photo, does not hold), or a gate that would not be smaller
 * than the full pass.
 */
export function gateLayout(full: DetLayout, imageWidth: number, cfg: OcrConfig['gate']): DetLayout | undefined {
  if (!cfg.enabled || full.w * full.h <= cfg.minPixels || full.iw > imageWidth) return undefined;
  const layout = scaleLayout(full, cfg.scale);
  return layout.w * layout.h < full.w * full.h ? layout : undefined;
}

/**
 * The text gate: the detector on a small copy of the photo (gate.scale of the full pass's input,
 * 608x448 for a preview detected at 992x736), and the same DB post-processing as the full pass. No
 * text region there: the photo is answered with no lines and the full pass never runs. Any region:
 * the full pass runs as it would have without the gate, and its answer is the same.
 *
 * What it cannot see: the detector does not find text much under 10 px of its own input, and over
 * most small captions the gate's probability map stays at the level of a text-free photo (1e-7 to
 * 1e-5, the detector thresholds at 0.3), so no lower threshold would find them. The gate misses
 * captions, date stamps and small signs of 16-20 px in a 1440 px preview, which the full pass reads,
 * and medium text on a busy texture (gravel, fur). That is why it is off by default
 * (ocr-config.ts gate.enabled). Large text, a photo that is all text and panoramas (the gate keeps
 * the aspect ratio) pass it.
 */
export class TextGate {
  /** Gate input tensors free for reuse, as the engine keeps its full-size ones. */
  private readonly buffers: Float32Array[] = [];

  /** Undefined where the gate does not run (gateLayout); otherwise what it decided. */
  async check(
    image: RgbImage,
    full: DetLayout,
    cfg: OcrConfig,
    runDetector: RunDetector,
  ): Promise<OcrGateInfo | undefined> {
    const layout = gateLayout(full, image.width, cfg.gate);
    if (!layout) return undefined;
    const t0 = performance.now();
    // The same bilinear resize and padding as the full pass, at the gate's scale.
    const input = await detectorInput(image, layout, this.buffers.pop());
    let prob: Float32Array;
    try {
      prob = await runDetector(input.tensor, input.w, input.h);
    } finally {
      this.buffers.push(input.tensor);
    }
    // Boxes in the photo's own pixels, so the sliver filter (<= 3 px) judges them as the full pass does.
    const regions = dbPostprocess(prob, layout, image.width, image.height, {
      ...cfg.det,
      boxThresh: cfg.gate.boxThresh,
      minSize: cfg.gate.minSize,
    }).length;
    return { width: input.w, height: input.h, regions, skipped: regions === 0, ms: performance.now() - t0 };
  }
}
