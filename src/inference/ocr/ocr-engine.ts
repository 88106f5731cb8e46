import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, ImageInfo, RgbImage, decodeRgb, readImageInfo } from '../../shared/image/decode';
import { Device, openSession, ort, SessionOptions } from '../onnx/session';
import { simplifyGraph } from '../onnx/simplify-graph';
import { classifyAngles } from './classification/angle-classifier';
import { Crop, cropFor } from './crop-sampler';
import { uncovered } from './detection/uncovered-boxes';
import { mergeColumnChars } from './detection/column-merge';
import { dbPostprocess, type DetectedBox } from './detection/db-postprocess';
import { type DetLayout, detectorLayout } from './detection/det-layout';
import { detectorInput } from './detection/det-preprocess';
import type { Point } from './detection/geometry';
import { TextGate } from './detection/text-gate';
import { findOcrModelFiles } from './model-files';
import { DEFAULT_OCR_CONFIG, mergeOcrConfig, OcrConfig, OcrConfigOverrides } from './ocr-config';
import type { OcrLine, OcrOutput, OcrReader, OcrRunOptions, OcrTimings, Quad } from './ocr-types';
import { readingOrder } from './reading-order';
import { loadCharset, recognize } from './recognition/recognizer';

export interface OcrEngineOptions {
  /** Directory with det/rec/(cls) models and the dictionary; default OCR_MODEL_DIR, then the bundled models. */
  modelDir?: string;
  device?: Device;
  /**
   * onnxruntime threads per model run; default every core, without spinning: one read at a time
   * then uses both cores here (a 992x736 detector run 109 ms against 138-165 ms on one thread).
   * The inference service's workers run one thread each instead (OcrWorkerPool): two photos at
   * once on two 2-thread engines made 5.9 photos/s against 7.7 (bench/ocr.ts).
   */
  threads?: number;
  config?: OcrConfigOverrides;
  maxPixels?: number;
  /**
   * Read made-up photos before returning (warmUp()), so the first real photo is as fast as the
   * tenth. The inference service does this when it preloads.
   */
  warmUp?: boolean;
}

/**
 * The OCR pipeline, top to bottom: decode -> detect (DB) -> cut crops -> classify 0/180 ->
 * recognise (CTC) -> reading order. Sessions are opened once and reused for every image.
 */
export class OcrEngine implements OcrReader {
  /** Detector input tensors free for reuse (one per concurrent read at most). */
  private readonly detBuffers: Float32Array[] = [];
  /** The low-resolution pass that lets a photo with no text skip the full one (ocr-config.ts gate). */
  private readonly gate = new TextGate();
  /** Reads using each detector session, so an old one is released only once none does. */
  private readonly detUsers = new Map<ort.InferenceSession, number>();
  private reopening?: Promise<void>;
  private closed = false;
  /** Times the detector session was opened afresh to give a large run's memory back. */
  detectorReopens = 0;

  private constructor(
    private det: ort.InferenceSession,
    /** The detector as it was opened (simplified), kept to open it afresh (doneWithDetector). */
    private readonly detModel: Uint8Array,
    private readonly sessionOptions: SessionOptions,
    private readonly rec: ort.InferenceSession,
    private readonly cls: ort.InferenceSession | undefined,
    private readonly charset: string[],
    readonly config: OcrConfig,
    readonly device: Device,
    private readonly maxPixels: number,
  ) {}

  static async open(options: OcrEngineOptions = {}): Promise<OcrEngine> {
    const files = findOcrModelFiles(options.modelDir);
    const sessionOptions = {
      device: options.device,
      threads: options.threads || availableParallelism(),
      spinning: false,
    };
    const [detModel, recModel, clsModel] = await Promise.all([
      simplifiedModel(files.detection),
      simplifiedModel(files.recognition),
      files.classification ? simplifiedModel(files.classification) : undefined,
    ]);
    const [det, rec, cls] = await Promise.all([
      openSession(detModel, sessionOptions),
      openSession(recModel, sessionOptions),
      clsModel ? openSession(clsModel, sessionOptions) : undefined,
    ]);
    const engine = new OcrEngine(
      det.session,
      detModel,
      sessionOptions,
      rec.session,
      cls?.session,
      loadCharset(files.dictionary),
      mergeOcrConfig(DEFAULT_OCR_CONFIG, options.config),
      det.device,
      options.maxPixels ?? DEFAULT_MAX_PIXELS,
    );
    if (options.warmUp) await engine.warmUp();
    return engine;
  }

  /**
   * Reads of a made-up photo (dark bars on grey) at a landscape and a portrait preview's size, then
   * the classifier and the recogniser on a fixed line of it. Without this the first photo after start
   * took 2.5-3x as long as the tenth (705 and 626 ms, then about 250): JavaScript not yet compiled
   * (resizing, DB post-processing, crop sampling), and onnxruntime running the detector slowly for its
   * first two runs at each input size, hence two reads per size.
   */
  async warmUp(): Promise<void> {
    const landscape = await syntheticPhoto(1440, 1080);
    for (const photo of [landscape, await syntheticPhoto(1080, 1440)]) {
      for (let i = 0; i < 2; i++) await this.read(photo);
    }
    const image = await decodeRgb(landscape, this.maxPixels);
    const line = cropFor(SYNTHETIC_LINE, this.config.verticalRatio);
    const crops = Array.from({ length: this.config.cls.batchSize }, () => line);
    if (this.cls && this.config.cls.enabled) await classifyAngles(this.cls, image, crops, this.config.cls);
    await recognize(this.rec, this.charset, image, crops, this.config);
  }

  /** `info` is the header the caller has already read (readImageInfo); read here when absent. */
  async read(input: Buffer, options: OcrRunOptions = {}, info?: ImageInfo): Promise<OcrOutput> {
    const cfg = mergeOcrConfig(this.config, {
      det: {
        ...(options.boxThresh !== undefined && { boxThresh: options.boxThresh }),
        ...(options.limitSideLen !== undefined && { limitSideLen: options.limitSideLen }),
      },
      rec: { ...(options.textScoreMin !== undefined && { textScoreMin: options.textScoreMin }) },
    });
    const t0 = performance.now();
    info ??= await readImageInfo(input, this.maxPixels);
    const size = info;
    const image = await decodeRgb(input, this.maxPixels, (pipeline) => this.shrinkLarge(pipeline, size, cfg));
    const t1 = performance.now();

    const runDetector = (tensor: Float32Array, w: number, h: number) => this.runDetector(tensor, w, h, cfg);
    const layout = detectorLayout(image.width, image.height, cfg.det);
    const gate = await this.gate.check(image, layout, cfg, runDetector);
    if (gate?.skipped) {
      const t = performance.now() - t0;
      return {
        width: info.width,
        height: info.height,
        lines: [],
        timings: { decodeMs: t1 - t0, detectMs: t - (t1 - t0), classifyMs: 0, recogniseMs: 0, totalMs: t },
        detector: { width: gate.width, height: gate.height },
        gate,
      };
    }

    const timings = { decodeMs: t1 - t0, detectMs: 0, classifyMs: 0, recogniseMs: 0, totalMs: 0 };
    let read = await this.readLines(image, await this.detect(image, layout, cfg, timings), cfg, timings);
    if (cfg.det.nativePass && layout.iw > image.width) {
      // Only what the enlarged pass did not read: its lines cover the native pass's boxes of the same text.
      const native = detectorLayout(image.width, image.height, {
        ...cfg.det,
        limitSideLen: Math.min(image.width, image.height),
        stripRatio: 0,
      });
      const more = uncovered(read, await this.detect(image, native, cfg, timings));
      if (more.length) read = read.concat(await this.readLines(image, more, cfg, timings));
    }
    timings.totalMs = performance.now() - t0;
    // A large run's detector memory is given back before its answer goes out (see doneWithDetector).
    await this.reopening;

    // Boxes were found on the decoded copy; report them in pixels of the photo itself.
    const sx = info.width / image.width;
    const sy = info.height / image.height;
    const lines: OcrLine[] = readingOrder(read, cfg.verticalRatio).map(({ text, score, boxScore, points }) => ({
      text,
      score,
      boxScore,
      box: points.flatMap(([x, y]) => [
        Math.min(info.width - 1, Math.round(x * sx)),
        Math.min(info.height - 1, Math.round(y * sy)),
      ]) as Quad,
    }));
    return {
      width: info.width,
      height: info.height,
      lines,
      timings,
      detector: { width: layout.w, height: layout.h },
      ...(gate && { gate }),
    };
  }

  /**
   * The detector on the image laid out as `layout`, DB post-processing and the column merge: boxes in
   * the image's pixels. Its time is added to timings.detectMs.
   */
  private async detect(image: RgbImage, layout: DetLayout, cfg: OcrConfig, timings: OcrTimings) {
    const t0 = performance.now();
    const det = await detectorInput(image, layout, this.detBuffers.pop());
    try {
      const prob = await this.runDetector(det.tensor, det.w, det.h, cfg);
      const boxes = dbPostprocess(prob, layout, image.width, image.height, cfg.det);
      return mergeColumnChars(boxes, cfg.verticalRatio, cfg.det.columnMergeGap);
    } finally {
      this.detBuffers.push(det.tensor);
      timings.detectMs += performance.now() - t0;
    }
  }

  /** Classify and recognise the boxes' crops; the lines read with at least textScoreMin. */
  private async readLines(image: RgbImage, boxes: DetectedBox[], cfg: OcrConfig, timings: OcrTimings) {
    if (!boxes.length) return [];
    const t0 = performance.now();
    let crops: Crop[] = boxes.map((b) => cropFor(b.points, cfg.verticalRatio));
    if (this.cls && cfg.cls.enabled) crops = await classifyAngles(this.cls, image, crops, cfg.cls);
    const t1 = performance.now();
    const texts = await recognize(this.rec, this.charset, image, crops, cfg);
    timings.classifyMs += t1 - t0;
    timings.recogniseMs += performance.now() - t1;
    return boxes
      .map((box, i) => ({ points: box.points, boxScore: box.score, ...texts[i] }))
      .filter((r) => r.text && r.score >= cfg.rec.textScoreMin);
  }

  /** One detector run, counted as a user of the session so that a reopen never releases it mid-run. */
  private async runDetector(tensor: Float32Array, w: number, h: number, cfg: OcrConfig): Promise<Float32Array> {
    const session = this.det;
    this.detUsers.set(session, (this.detUsers.get(session) ?? 0) + 1);
    try {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', tensor, [1, 3, h, w]) });
      return out[session.outputNames[0]].data as Float32Array;
    } finally {
      this.doneWithDetector(session, w * h, cfg);
    }
  }

  /** Full size, or shrunk while decoding when the photo is far larger than the crops need (cropSourceFactor). */
  private shrinkLarge(pipeline: sharp.Sharp, info: ImageInfo, cfg: OcrConfig): sharp.Sharp {
    const maxShort = cfg.det.limitSideLen * cfg.cropSourceFactor;
    const scale = maxShort / Math.min(info.width, info.height);
    // Below half size libjpeg decodes straight to a smaller scale; above it, shrinking costs more than it saves.
    if (scale > 0.5) return pipeline;
    return pipeline.resize(Math.max(1, Math.round(info.width * scale)), Math.max(1, Math.round(info.height * scale)), {
      fit: 'fill',
    });
  }

  /**
   * A run larger than arenaKeepPixels grew onnxruntime's arena for good: open the detector afresh
   * (about 150 ms here, while recognition runs) and release the old session once no read uses it.
   */
  private doneWithDetector(session: ort.InferenceSession, pixels: number, cfg: OcrConfig): void {
    const users = (this.detUsers.get(session) ?? 1) - 1;
    if (users > 0) this.detUsers.set(session, users);
    else {
      this.detUsers.delete(session);
      if (session !== this.det) void session.release();
    }
    if (pixels <= cfg.det.arenaKeepPixels || this.reopening || this.closed) return;
    this.reopening = openSession(this.detModel, this.sessionOptions)
      .then(async ({ session: fresh }) => {
        if (this.closed) return void (await fresh.release());
        const old = this.det;
        this.det = fresh;
        this.detectorReopens++;
        if (!this.detUsers.has(old)) await old.release();
      })
      .catch(() => undefined) // the old session keeps working; the next large run tries again
      .finally(() => (this.reopening = undefined));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reopening;
    await Promise.all([this.det.release(), this.rec.release(), this.cls?.release()]);
  }
}

/**
 * A PP-OCR model file, read and simplified in memory (onnx/simplify-graph.ts: the export's
 * hard-swish chains and scalar affines, which onnxruntime fuses neither of, were 51 of 120 ms of a
 * detector run); the file itself is never changed.
 */
async function simplifiedModel(path: string): Promise<Uint8Array> {
  return simplifyGraph(await readFile(path)).model;
}

/** The first dark bar of syntheticPhoto, as a text line's corners. */
const SYNTHETIC_LINE: Point[] = [
  [100, 100],
  [900, 100],
  [900, 140],
  [100, 140],
];

/** Grey with dark bars: enough for the detector to find boxes, made without fonts. */
function syntheticPhoto(width: number, height: number): Promise<Buffer> {
  const bars = [100, 300, 500, 700].map((top) => ({
    input: { create: { width: 800, height: 40, channels: 3 as const, background: '#202020' } },
    left: 100,
    top,
  }));
  return sharp({ create: { width, height, channels: 3, background: '#d0d0d0' } })
    .composite(bars)
    .jpeg()
    .toBuffer();
}
