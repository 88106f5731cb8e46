import { performance } from 'node:perf_hooks';
import { DEFAULT_MAX_PIXELS, ImageInfo, normalisedPipeline, readImageInfo, toRgb } from '../../shared/image/decode';
import { Device, openSession, ort } from '../onnx/session';
import { classifyAngles } from './classification/angle-classifier';
import { Crop, cropFor } from './crop-sampler';
import { dbPostprocess } from './detection/db-postprocess';
import { detectorInput } from './detection/det-preprocess';
import { findOcrModelFiles } from './model-files';
import { DEFAULT_OCR_CONFIG, mergeOcrConfig, OcrConfig, OcrConfigOverrides } from './ocr-config';
import type { OcrLine, OcrOutput, OcrReader, OcrRunOptions, Quad } from './ocr-types';
import { readingOrder } from './reading-order';
import { loadCharset, recognize } from './recognition/recognizer';

export interface OcrEngineOptions {
  /** Directory with det/rec/(cls) models and the dictionary; default OCR_MODEL_DIR, then the bundled models. */
  modelDir?: string;
  device?: Device;
  threads?: number;
  config?: OcrConfigOverrides;
  maxPixels?: number;
}

/**
 * The OCR pipeline, top to bottom: decode -> detect (DB) -> cut crops -> classify 0/180 ->
 * recognise (CTC) -> reading order. Sessions are opened once and reused for every image.
 */
export class OcrEngine implements OcrReader {
  /** Detector input tensors free for reuse (one per concurrent read at most). */
  private readonly detBuffers: Float32Array[] = [];

  private constructor(
    private readonly det: ort.InferenceSession,
    private readonly rec: ort.InferenceSession,
    private readonly cls: ort.InferenceSession | undefined,
    private readonly charset: string[],
    readonly config: OcrConfig,
    readonly device: Device,
    private readonly maxPixels: number,
  ) {}

  static async open(options: OcrEngineOptions = {}): Promise<OcrEngine> {
    const files = findOcrModelFiles(options.modelDir);
    const sessionOptions = { device: options.device, threads: options.threads };
    const [det, rec, cls] = await Promise.all([
      openSession(files.detection, sessionOptions),
      openSession(files.recognition, sessionOptions),
      files.classification ? openSession(files.classification, sessionOptions) : undefined,
    ]);
    return new OcrEngine(
      det.session,
      rec.session,
      cls?.session,
      loadCharset(files.dictionary),
      mergeOcrConfig(DEFAULT_OCR_CONFIG, options.config),
      det.device,
      options.maxPixels ?? DEFAULT_MAX_PIXELS,
    );
  }

  async read(input: Buffer, options: OcrRunOptions = {}): Promise<OcrOutput> {
    const cfg = mergeOcrConfig(this.config, {
      det: {
        ...(options.boxThresh !== undefined && { boxThresh: options.boxThresh }),
        ...(options.limitSideLen !== undefined && { limitSideLen: options.limitSideLen }),
      },
      rec: { ...(options.textScoreMin !== undefined && { textScoreMin: options.textScoreMin }) },
    });
    const t0 = performance.now();
    const info = await readImageInfo(input, this.maxPixels);
    const image = await toRgb(this.sourcePipeline(input, info, cfg));
    const t1 = performance.now();

    const det = await detectorInput(image, cfg.det, this.detBuffers.pop());
    const detOut = await this.det
      .run({ [this.det.inputNames[0]]: new ort.Tensor('float32', det.tensor, [1, 3, det.h, det.w]) })
      .finally(() => this.detBuffers.push(det.tensor));
    const prob = detOut[this.det.outputNames[0]].data as Float32Array;
    const boxes = readingOrder(dbPostprocess(prob, det.w, det.h, image.width, image.height, cfg.det));
    const t2 = performance.now();

    let crops: Crop[] = boxes.map((b) => cropFor(b.points, cfg.verticalRatio));
    if (this.cls && cfg.cls.enabled && crops.length) crops = await classifyAngles(this.cls, image, crops, cfg.cls);
    const t3 = performance.now();

    const texts = crops.length ? await recognize(this.rec, this.charset, image, crops, cfg) : [];
    const t4 = performance.now();

    // Boxes were found on the decoded copy; report them in pixels of the photo itself.
    const sx = info.width / image.width;
    const sy = info.height / image.height;
    const lines: OcrLine[] = [];
    boxes.forEach((box, i) => {
      const { text, score } = texts[i];
      if (!text || score < cfg.rec.textScoreMin) return;
      const quad = box.points.flatMap(([x, y]) => [
        Math.min(info.width - 1, Math.round(x * sx)),
        Math.min(info.height - 1, Math.round(y * sy)),
      ]);
      lines.push({ text, score, boxScore: box.score, box: quad as Quad });
    });
    return {
      width: info.width,
      height: info.height,
      lines,
      timings: { decodeMs: t1 - t0, detectMs: t2 - t1, classifyMs: t3 - t2, recogniseMs: t4 - t3, totalMs: t4 - t0 },
    };
  }

  /** Full size, or shrunk while decoding when the photo is far larger than the crops need (cropSourceFactor). */
  private sourcePipeline(input: Buffer, info: ImageInfo, cfg: OcrConfig) {
    const pipeline = normalisedPipeline(input, this.maxPixels);
    const maxShort = cfg.det.limitSideLen * cfg.cropSourceFactor;
    const scale = maxShort / Math.min(info.width, info.height);
    // Below half size libjpeg decodes straight to a smaller scale; above it, shrinking costs more than it saves.
    if (scale > 0.5) return pipeline;
    return pipeline.resize(Math.max(1, Math.round(info.width * scale)), Math.max(1, Math.round(info.height * scale)), {
      fit: 'fill',
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.det.release(), this.rec.release(), this.cls?.release()]);
  }
}
