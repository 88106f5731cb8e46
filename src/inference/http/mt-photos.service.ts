import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { InferenceConfig } from '../../config/inference.config';
import { type ImageInfo, readImageInfo } from '../../shared/image/decode';
import type { MtCheckResponse, MtClipResponse, MtOcrResponse } from '../../shared/wire/mt-photos';
import { INFERENCE_CONFIG } from './inference.tokens';
import { InferenceQueue } from './inference-queue.service';
import { ModelRegistry } from './model-registry.service';
import type { ServerTiming } from './server-timing';
import { toMtPhotosEmbedding, toMtPhotosOcr } from './wire-mapping';

/** Contract 2 (MT-Photos AI API) behind the controller: same models, MT-Photos' shapes. */
@Injectable()
export class MtPhotosService {
  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    private readonly registry: ModelRegistry,
    private readonly queue: InferenceQueue,
  ) {}

  /** Reports the device really in use, which needs an opened model: the first /check may load one. */
  async check(): Promise<MtCheckResponse> {
    return {
      result: 'pass',
      title: 'immich-all-in-one inference (MT-Photos AI API)',
      help: 'OCR (PP-OCR) and cn-clip embeddings; see the immich-all-in-one README',
      device: await this.registry.device(),
    };
  }

  async ocr(file: Buffer | undefined, signal?: AbortSignal, timing?: ServerTiming): Promise<MtOcrResponse> {
    const { image, info } = await this.image(file);
    const reader = await this.registry.ocr();
    // The original service ran RapidOCR with its defaults; the engine's defaults are the same.
    const output = await this.queue.run('ocr', () => reader.read(image, {}, info), signal, timing);
    return toMtPhotosOcr(output);
  }

  async clipImage(file: Buffer | undefined, signal?: AbortSignal, timing?: ServerTiming): Promise<MtClipResponse> {
    const { image, info } = await this.image(file);
    const encoder = await this.registry.clip('image');
    const run = () => encoder.encodeImage(image, info);
    const { embedding } = await this.queue.run('clip_visual', run, signal, timing);
    return { result: toMtPhotosEmbedding(embedding) };
  }

  async clipText(body: unknown, signal?: AbortSignal, timing?: ServerTiming): Promise<MtClipResponse> {
    const text = (body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') throw new BadRequestException('the JSON body must be {"text": "..."}');
    const encoder = await this.registry.clip('text');
    const embedding = await this.queue.run('clip_textual', () => encoder.encodeText(text), signal, timing);
    return { result: toMtPhotosEmbedding(embedding) };
  }

  /** The multipart `file`, with its header read (once) before it takes a queue place. */
  private async image(file: Buffer | undefined): Promise<{ image: Buffer; info: ImageInfo }> {
    if (!file) throw new BadRequestException('a multipart "file" with the image is required');
    return { image: file, info: await readImageInfo(file, this.config.maxImagePixels) };
  }
}
