import { ImageInfo } from '../shared/image/decode';
import { EncodedEmbedding, IMMICH_OCR_DEFAULTS, OcrEntry, OcrResult, encodeEmbedding } from '../shared/wire/immich-ml';
import { MtClipResponse, MtOcrBox, MtOcrResponse } from '../shared/wire/mt-photos';

/**
 * Contract 2 (MT-Photos) answers -> Contract 1 (Immich) answers. Pure functions: the gateway measures
 * the image and calls the upstream; these only reshape what came back.
 *
 * What cannot be carried over exactly, and what is done instead:
 * - MT-Photos reports one confidence per text (the recogniser's) and no detection score, so it is used
 *   for both `textScore` and `boxScore`; the detection minScore therefore filters on it too (with
 *   Immich's defaults, 0.5 for detection and 0.8 for recognition, that removes nothing extra).
 * - Boxes are axis-aligned rectangles in pixels, so the quadrilateral is that rectangle, clockwise from
 *   the top-left corner, normalised by the measured size and clamped to 0..1.
 * - `maxResolution` has no MT-Photos equivalent; the server uses its own detection size.
 */

/** The upstream answered 2xx with something that is not a valid MT-Photos answer. */
export class MtPhotosAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MtPhotosAnswerError';
  }
}

/** The original Python server answers failures with 200 and `{"result":[],"msg":"..."}`. */
export function mtErrorMessage(body: unknown): string | undefined {
  if (!isObject(body) || typeof body.msg !== 'string') return undefined;
  return body.msg;
}

/** Immich's OCR thresholds from the request's `entries.ocr`, with Immich's defaults for missing ones. */
export function ocrMinScores(entry?: OcrEntry): { detection: number; recognition: number } {
  const detection = entry?.detection?.options?.minScore;
  const recognition = entry?.recognition?.options?.minScore;
  return {
    detection: typeof detection === 'number' ? detection : IMMICH_OCR_DEFAULTS.detectionMinScore,
    recognition: typeof recognition === 'number' ? recognition : IMMICH_OCR_DEFAULTS.recognitionMinScore,
  };
}

/** Checks the shape of a `/ocr` answer; numbers may come as strings (the contract) or as numbers. */
export function parseMtOcr(body: unknown): MtOcrResponse {
  const message = mtErrorMessage(body);
  if (message !== undefined) throw new MtPhotosAnswerError(`answered with an error: ${message}`);
  if (!isObject(body) || !isObject(body.result)) throw new MtPhotosAnswerError('answered without a "result" object');
  const { texts, scores, boxes } = body.result;
  if (!Array.isArray(texts) || !Array.isArray(scores) || !Array.isArray(boxes)) {
    throw new MtPhotosAnswerError('answered without "texts", "scores" and "boxes" arrays');
  }
  if (scores.length !== texts.length || boxes.length !== texts.length) {
    throw new MtPhotosAnswerError(
      `answered ${texts.length} texts with ${scores.length} scores and ${boxes.length} boxes`,
    );
  }
  if (!texts.every((text) => typeof text === 'string'))
    throw new MtPhotosAnswerError('answered a text that is not a string');
  return body as unknown as MtOcrResponse;
}

/** Checks the shape of a `/clip/img` or `/clip/txt` answer. */
export function parseMtClip(body: unknown): MtClipResponse {
  const message = mtErrorMessage(body);
  if (message !== undefined) throw new MtPhotosAnswerError(`answered with an error: ${message}`);
  if (!isObject(body) || !Array.isArray(body.result))
    throw new MtPhotosAnswerError('answered without a "result" array');
  if (body.result.length === 0) throw new MtPhotosAnswerError('answered an empty embedding');
  return body as unknown as MtClipResponse;
}

/** MT-Photos OCR -> Immich OCR: normalised 8-number boxes, numeric scores, Immich's minScore filters. */
export function convertOcr(answer: MtOcrResponse, image: ImageInfo, entry?: OcrEntry): OcrResult {
  const min = ocrMinScores(entry);
  const result: OcrResult = { text: [], box: [], boxScore: [], textScore: [] };
  const { texts, scores, boxes } = answer.result;
  for (let i = 0; i < texts.length; i++) {
    const score = toNumber(scores[i], `scores[${i}]`);
    if (score < min.recognition || score < min.detection) continue;
    result.text.push(texts[i]);
    result.box.push(...normaliseBox(boxes[i], image, i));
    result.boxScore.push(score);
    result.textScore.push(score);
  }
  return result;
}

/** `{x, y, width, height}` in pixels -> x1,y1 .. x4,y4 (clockwise from top-left), each 0..1 of the image. */
export function normaliseBox(box: MtOcrBox, image: ImageInfo, index = 0): number[] {
  if (!isObject(box)) throw new MtPhotosAnswerError(`boxes[${index}] is not an object`);
  const x = toNumber(box.x, `boxes[${index}].x`);
  const y = toNumber(box.y, `boxes[${index}].y`);
  const left = clamp01(x / image.width);
  const top = clamp01(y / image.height);
  const right = clamp01((x + toNumber(box.width, `boxes[${index}].width`)) / image.width);
  const bottom = clamp01((y + toNumber(box.height, `boxes[${index}].height`)) / image.height);
  return [left, top, right, top, right, bottom, left, bottom];
}

/** MT-Photos `result` (stringified floats) -> Immich's string-encoded embedding, values unchanged. */
export function convertClip(answer: MtClipResponse): EncodedEmbedding {
  return encodeEmbedding(answer.result.map((value, i) => toNumber(value, `result[${i}]`)));
}

function toNumber(value: unknown, what: string): number {
  const number =
    typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw new MtPhotosAnswerError(`${what} is not a number: ${JSON.stringify(value)}`);
  return number;
}

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
