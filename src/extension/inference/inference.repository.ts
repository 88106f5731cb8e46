import { Inject, Injectable } from '@nestjs/common';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import { InferenceEndpoint } from './inference-endpoint';
import type { ExtensionConfig } from '../../config/extension.config';
import type {
  ClipTextualResponse,
  ClipVisualResponse,
  OcrResponse,
  OcrResult,
  PredictEntries,
} from '../../shared/wire/immich-ml';

/**
 * Calls to the inference service (or the gateway) over Immich's own ML protocol, Contract 1: the same
 * requests Immich sends, so any Immich-compatible ML server answers them.
 */

/** A failed call, with a message fit for a user: it names the failure, never the service's address. */
export class InferenceError extends Error {
  constructor(
    message: string,
    /** Worth retrying (down, overloaded, timed out) rather than a refusal of this input. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'InferenceError';
  }
}

@Injectable()
export class InferenceRepository {
  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    private readonly endpoint: InferenceEndpoint,
  ) {}

  async ocr(image: Buffer): Promise<OcrResult> {
    const { ocr } = this.config;
    const response = await this.predict<OcrResponse>(
      {
        ocr: {
          detection: {
            modelName: ocr.modelName,
            options: { minScore: ocr.minDetectionScore, maxResolution: ocr.maxResolution },
          },
          recognition: { modelName: ocr.modelName, options: { minScore: ocr.minRecognitionScore } },
        },
      },
      { image },
    );
    const result = response.ocr;
    const valid =
      result &&
      Array.isArray(result.text) &&
      result.box?.length === result.text.length * 8 &&
      result.boxScore?.length === result.text.length &&
      result.textScore?.length === result.text.length;
    if (!valid) throw new InferenceError('inference service answered OCR with a malformed result', false);
    return result;
  }

  async encodeImage(image: Buffer): Promise<number[]> {
    const response = await this.predict<ClipVisualResponse>(
      { clip: { visual: { modelName: this.config.clip.modelName } } },
      { image },
    );
    return parseEmbedding(response.clip);
  }

  async encodeText(text: string, language = 'zh-CN'): Promise<number[]> {
    const response = await this.predict<ClipTextualResponse>(
      { clip: { textual: { modelName: this.config.clip.modelName, options: { language } } } },
      { text },
    );
    return parseEmbedding(response.clip);
  }

  /**
   * Posts to the first URL that can be reached, as Immich tries its list of machine-learning URLs: one
   * that refuses the connection or cannot be found passes to the next; an answer (any status) or a
   * timeout is final, since the request may have reached the service.
   */
  private async send(form: FormData, task: string): Promise<Response> {
    let failure: unknown;
    for (const url of await this.endpoint.urls()) {
      try {
        return await fetch(`${url}/predict`, {
          method: 'POST',
          body: form,
          headers: this.config.inference.apiKey ? { 'api-key': this.config.inference.apiKey } : {},
          signal: AbortSignal.timeout(this.config.inference.timeoutMs),
        });
      } catch (error) {
        failure = error;
        if ((error as { name?: string }).name === 'TimeoutError') break;
      }
    }
    throw new InferenceError(`inference service ${describeFetchError(failure)} (${task})`, true);
  }

  private async predict<T>(entries: PredictEntries, input: { image: Buffer } | { text: string }): Promise<T> {
    const form = new FormData();
    form.append('entries', JSON.stringify(entries));
    if ('image' in input) form.append('image', new Blob([input.image]), 'preview.jpg');
    else form.append('text', input.text);
    const task = Object.keys(entries)[0];
    const response = await this.send(form, task);
    const body = await response.text().catch(() => '');
    if (!response.ok) {
      // 5xx and 429/408 pass with time; a 4xx says this input will never work (corrupt image, ...).
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
      throw new InferenceError(
        `inference service answered ${response.status} for ${task}: ${errorText(body)}`,
        retryable,
      );
    }
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new InferenceError(`inference service answered ${task} with something that is not JSON`, true);
    }
  }
}

function parseEmbedding(value: unknown): number[] {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (
    !Array.isArray(parsed) ||
    parsed.length === 0 ||
    !parsed.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw new InferenceError('inference service answered CLIP with a malformed embedding', false);
  }
  return parsed as number[];
}

/** The upstream's own `{"error"}` text, cut short; anything else is summarised, not echoed. */
function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; msg?: unknown };
    const text = typeof parsed.error === 'string' ? parsed.error : typeof parsed.msg === 'string' ? parsed.msg : '';
    if (text) return text.slice(0, 200);
  } catch {
    // not JSON
  }
  return 'no error message';
}

export function describeFetchError(error: unknown): string {
  const err = error as { name?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError') return 'timed out';
  const code = err?.cause?.code;
  if (code === 'ECONNREFUSED') return 'refused the connection (is it running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'closed the connection';
  return `unreachable${code ? ` (${code})` : ''}`;
}
