/**
 * Contract 1: the Immich machine-learning protocol as Immich v2.4.1 speaks it
 * (server/src/repositories/machine-learning.repository.ts). Used by the inference service,
 * the gateway and the conformance tests, so both ends agree by construction.
 */

export interface ClipVisualEntry {
  visual: { modelName: string; options?: Record<string, unknown> };
}
export interface ClipTextualEntry {
  textual: { modelName: string; options?: { language?: string } & Record<string, unknown> };
}
export interface OcrEntry {
  detection: { modelName: string; options?: { minScore?: number; maxResolution?: number } };
  recognition: { modelName: string; options?: { minScore?: number } };
}
export interface FacialRecognitionEntry {
  detection: { modelName: string; options?: { minScore?: number } };
  recognition: { modelName: string; options?: Record<string, unknown> };
}

/** The `entries` form field, JSON-encoded. Keys are task names. */
export interface PredictEntries {
  clip?: ClipVisualEntry | ClipTextualEntry;
  ocr?: OcrEntry;
  'facial-recognition'?: FacialRecognitionEntry;
}

/** Embeddings travel as a string holding a JSON array of numbers. */
export type EncodedEmbedding = string;

export interface ClipVisualResponse {
  clip: EncodedEmbedding;
  imageHeight: number;
  imageWidth: number;
}
export interface ClipTextualResponse {
  clip: EncodedEmbedding;
}

export interface OcrResult {
  text: string[];
  /** Flat, 8 numbers per text (x1,y1..x4,y4), each normalised to 0..1 of the image sent. */
  box: number[];
  boxScore: number[];
  textScore: number[];
}
export interface OcrResponse {
  ocr: OcrResult;
  imageHeight: number;
  imageWidth: number;
}

export interface DetectedFace {
  boundingBox: { x1: number; y1: number; x2: number; y2: number };
  embedding: EncodedEmbedding;
  score: number;
}
export interface FacialRecognitionResponse {
  'facial-recognition': DetectedFace[];
  imageHeight: number;
  imageWidth: number;
}

/** Error body for every non-2xx answer. */
export interface MlErrorBody {
  error: string;
}

/** Immich's defaults for the OCR task (machine-learning settings in v2.4.1). */
export const IMMICH_OCR_DEFAULTS = {
  detectionMinScore: 0.5,
  recognitionMinScore: 0.8,
  maxResolution: 736,
} as const;

export const encodeEmbedding = (values: ArrayLike<number>): EncodedEmbedding => JSON.stringify(Array.from(values));
