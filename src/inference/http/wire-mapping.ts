import type { OcrResult } from '../../shared/wire/immich-ml';
import type { MtOcrBox, MtOcrResponse } from '../../shared/wire/mt-photos';
import type { OcrLine, OcrOutput, Quad } from '../ocr/ocr-types';

/**
 * Engine output -> the two contracts' OCR shapes. Pure functions, so the conformance rules (8
 * normalised numbers per text; pixel rectangles as 2-decimal strings) are tested without a server.
 */

export interface OcrFilter {
  /** Immich detection minScore: boxes below are left out. */
  minBoxScore?: number;
  /** Immich recognition minScore: texts below are left out. */
  minTextScore?: number;
}

/**
 * Contract 1: parallel arrays, `box` flat with 8 numbers per text (x1,y1 .. x4,y4, clockwise from
 * top-left), each a fraction 0..1 of the image's width or height. The thresholds are applied again
 * here so the contract holds whatever the engine did with them.
 */
export function toImmichOcr(output: OcrOutput, filter: OcrFilter = {}): OcrResult {
  const result: OcrResult = { text: [], box: [], boxScore: [], textScore: [] };
  const { width, height } = output;
  for (const line of keep(output.lines, filter)) {
    result.text.push(line.text);
    line.box.forEach((value, i) => result.box.push(clamp01(i % 2 === 0 ? value / width : value / height)));
    result.boxScore.push(line.boxScore);
    result.textScore.push(line.score);
  }
  return result;
}

/** Contract 2: texts, scores as 2-decimal strings, axis-aligned pixel rectangles around each quad. */
export function toMtPhotosOcr(output: OcrOutput): MtOcrResponse {
  const lines = output.lines;
  return {
    result: {
      texts: lines.map((line) => line.text),
      scores: lines.map((line) => line.score.toFixed(2)),
      boxes: lines.map((line) => boundingRect(line.box, output.width, output.height)),
    },
  };
}

/** MT-Photos clients expect 16 decimals per value, as the original service printed them. */
export function toMtPhotosEmbedding(embedding: ArrayLike<number>): string[] {
  return Array.from(embedding, (value) => value.toFixed(16));
}

function boundingRect(quad: Quad, width: number, height: number): MtOcrBox {
  const xs = [quad[0], quad[2], quad[4], quad[6]].map((x) => clamp(x, 0, width));
  const ys = [quad[1], quad[3], quad[5], quad[7]].map((y) => clamp(y, 0, height));
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return {
    x: x.toFixed(2),
    y: y.toFixed(2),
    width: (Math.max(...xs) - x).toFixed(2),
    height: (Math.max(...ys) - y).toFixed(2),
  };
}

function keep(lines: OcrLine[], { minBoxScore = 0, minTextScore = 0 }: OcrFilter): OcrLine[] {
  return lines.filter((line) => line.boxScore >= minBoxScore && line.score >= minTextScore);
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const clamp01 = (value: number) => clamp(value, 0, 1);
