import { ClipEngine, type ClipPart, type ClipPartStatus } from '../clip/clip-engine';
import type { ClipEncoder } from '../clip/clip-types';
import { findOcrModelFiles } from '../ocr/model-files';
import type { OcrConfigOverrides } from '../ocr/ocr-config';
import { OcrEngine } from '../ocr/ocr-engine';
import { OcrWorkerPool } from '../ocr/ocr-worker-pool';
import type { OcrReader } from '../ocr/ocr-types';
import type { Device } from '../onnx/session';

export interface OpenOptions {
  device: Device;
  threads?: number;
  maxPixels: number;
}

/** A CLIP encoder whose two halves (image, text) load separately, as ClipEngine's do. */
export interface ClipModel extends ClipEncoder {
  /** Loads one half now; the load time the app reports is measured around this. */
  load(part: ClipPart): Promise<void>;
  /** Whether one half's files are there, without loading it. */
  checkInstalled(part: ClipPart): Promise<Pick<ClipPartStatus, 'installed' | 'missing' | 'dir'>>;
}

/**
 * How the app opens its models. The real engines by default; a test can pass its own (a gated
 * reader that fills the queue deterministically, say) without touching the HTTP code.
 */
export interface InferenceEngines {
  openOcr(
    options: OpenOptions & { modelDir?: string; config?: OcrConfigOverrides; workers?: number; warmUp?: boolean },
  ): Promise<OcrReader>;
  /** Cheap: resolves the model and its folder; the halves load on first use (or `load`). */
  openClip(options: OpenOptions & { root: string; modelName: string }): Promise<ClipModel>;
  /** Throws when the OCR files are not there. Loads nothing, so /health can call it often. */
  checkOcr(modelDir?: string): void | Promise<void>;
}

export const defaultEngines: InferenceEngines = {
  openOcr: ({ workers, ...options }) =>
    workers ? OcrWorkerPool.open({ ...options, workers }) : OcrEngine.open(options),
  openClip: (options) => ClipEngine.open(options),
  checkOcr: (modelDir) => {
    findOcrModelFiles(modelDir);
  },
};
