import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { InferenceConfig } from '../../config/inference.config';
import { readImageInfo } from '../../shared/image/decode';
import { encodeEmbedding, type EncodedEmbedding, type OcrResult } from '../../shared/wire/immich-ml';
import { clipNameMismatch } from './clip-model-names';
import { UnsupportedRequestError } from './errors';
import { INFERENCE_CONFIG } from './inference.tokens';
import { InferenceQueue } from './inference-queue.service';
import { ModelRegistry } from './model-registry.service';
import { parseEntries, type PredictPlan } from './predict-entries';
import type { ServerTiming } from './server-timing';
import { toImmichOcr } from './wire-mapping';

/** A /predict answer: the keys of the tasks asked for, plus the image size when an image was sent. */
export interface PredictResponse {
  clip?: EncodedEmbedding;
  ocr?: OcrResult;
  imageHeight?: number;
  imageWidth?: number;
}

export interface PredictInput {
  /** The `entries` form field, unparsed. */
  entries: unknown;
  image?: Buffer;
  /** The `text` form field; anything but a string is refused. */
  text?: unknown;
}

/** Contract 1 behind the controller: entries -> model runs -> Immich's response shapes. */
@Injectable()
export class PredictService {
  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    private readonly registry: ModelRegistry,
    private readonly queue: InferenceQueue,
  ) {}

  async predict(input: PredictInput, signal?: AbortSignal, timing?: ServerTiming): Promise<PredictResponse> {
    const plan = parseEntries(input.entries);
    const { image } = input;
    if (input.text !== undefined && typeof input.text !== 'string') {
      throw new BadRequestException('"text" must be a single form field');
    }
    const text = input.text as string | undefined;
    if (image === undefined && text === undefined) {
      throw new BadRequestException('either image or text must be provided');
    }
    this.checkInputs(plan, image, text);

    // Header only: refuses empty, unreadable and oversized images before they take a queue place.
    const info = image ? await readImageInfo(image, this.config.maxImagePixels) : undefined;
    const response: PredictResponse = {};
    if (plan.clip?.part === 'visual') {
      const encoder = await this.registry.clip('image');
      const { embedding } = await this.queue.run('clip_visual', () => encoder.encodeImage(image!), signal, timing);
      response.clip = encodeEmbedding(embedding);
    } else if (plan.clip?.part === 'textual') {
      const encoder = await this.registry.clip('text');
      response.clip = encodeEmbedding(
        await this.queue.run('clip_textual', () => encoder.encodeText(text!), signal, timing),
      );
    }
    if (plan.ocr) {
      const reader = await this.registry.ocr();
      const options = plan.ocr.options;
      const output = await this.queue.run('ocr', () => reader.read(image!, options), signal, timing);
      response.ocr = toImmichOcr(output, { minBoxScore: options.boxThresh, minTextScore: options.textScoreMin });
    }
    if (info) {
      // The size after EXIF orientation: the frame the OCR boxes are fractions of.
      response.imageHeight = info.height;
      response.imageWidth = info.width;
    }
    return response;
  }

  /** Each task needs its kind of input; a CLIP name Immich sizes differently is refused up front. */
  private checkInputs(plan: PredictPlan, image: Buffer | undefined, text: string | undefined): void {
    if (plan.ocr && !image) throw new BadRequestException('ocr needs an "image" file');
    if (plan.clip?.part === 'visual' && !image) throw new BadRequestException('clip visual needs an "image" file');
    if (plan.clip?.part === 'textual' && text === undefined) {
      throw new BadRequestException('clip textual needs a "text" field');
    }
    if (plan.clip) {
      const mismatch = clipNameMismatch(plan.clip.modelName, this.registry.clipDimensions());
      if (mismatch) throw new UnsupportedRequestError(mismatch);
    }
  }
}
