import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { InferenceConfig } from '../../config/inference.config';
import { type ImageInfo, readImageInfo } from '../../shared/image/decode';
import type { FormParts } from '../../shared/http/incoming-form';
import { parseEntries } from '../../shared/wire/entries';
import { encodeEmbedding, type EncodedEmbedding, type OcrResult } from '../../shared/wire/immich-ml';
import { clipNameMismatch } from './clip-model-names';
import { UnsupportedRequestError } from './errors';
import { INFERENCE_CONFIG } from './inference.tokens';
import { InferenceQueue } from './inference-queue.service';
import { ModelRegistry } from './model-registry.service';
import { planPredict, type PredictPlan } from './predict-entries';
import type { ServerTiming } from './server-timing';
import { toImmichOcr } from './wire-mapping';

/** A /predict answer: the keys of the tasks asked for, plus the image size when an image was sent. */
export interface PredictResponse {
  clip?: EncodedEmbedding;
  ocr?: OcrResult;
  imageHeight?: number;
  imageWidth?: number;
}

/** Contract 1 behind the controller: entries -> model runs -> Immich's response shapes. */
@Injectable()
export class PredictService {
  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    private readonly registry: ModelRegistry,
    private readonly queue: InferenceQueue,
  ) {}

  async predict(form: FormParts, signal?: AbortSignal, timing?: ServerTiming): Promise<PredictResponse> {
    const plan = planPredict(parseEntries(form.entries));
    const { image, text } = form;
    if (image === undefined && text === undefined) {
      throw new BadRequestException('either image or text must be provided');
    }
    this.checkInputs(plan, image, text);

    // The one header read of this request: refuses empty, unknown-format and oversized images before
    // they take a queue place, and is handed to the engines so they do not read it again.
    const info = image ? await readImageInfo(image, this.config.maxImagePixels) : undefined;
    const response: PredictResponse = {};
    if (plan.clip?.part === 'visual') {
      const encoder = await this.registry.clip('image');
      const run = () => encoder.encodeImage(image!, info);
      response.clip = encodeEmbedding((await this.queue.run('clip_visual', run, signal, timing)).embedding);
    } else if (plan.clip?.part === 'textual') {
      const encoder = await this.registry.clip('text');
      response.clip = encodeEmbedding(
        await this.queue.run('clip_textual', () => encoder.encodeText(text!), signal, timing),
      );
    }
    if (plan.ocr) {
      const reader = await this.registry.ocr();
      const options = plan.ocr.options;
      const output = await this.queue.run('ocr', () => reader.read(image!, options, info), signal, timing);
      response.ocr = toImmichOcr(output, { minBoxScore: options.boxThresh, minTextScore: options.textScoreMin });
    }
    if (info) sizeOf(response, info);
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

/** The size after EXIF orientation: the frame the OCR boxes are fractions of. */
function sizeOf(response: PredictResponse, info: ImageInfo): void {
  response.imageHeight = info.height;
  response.imageWidth = info.width;
}
