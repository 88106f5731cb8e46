import { type Entries, printable } from '../../shared/wire/entries';
import type { OcrRunOptions } from '../ocr/ocr-types';
import { UnsupportedRequestError } from './errors';

/** What one /predict call asks this service for: at most one CLIP half and/or OCR. */
export interface PredictPlan {
  clip?: { part: 'visual' | 'textual'; modelName: string };
  ocr?: { modelName: string; options: Required<OcrRunOptions> };
}

/** Tasks of Contract 1 that stay with Immich's own ML server (the gateway routes them there). */
const NOT_SERVED_HERE = new Set(['facial-recognition']);

/**
 * `entries` (already checked by the shared validator) -> the model runs. A task this service does
 * not do is a 422 that says where it goes; an unknown task is a 422 naming it.
 */
export function planPredict(entries: Entries): PredictPlan {
  for (const task of entries.tasks) {
    if (NOT_SERVED_HERE.has(task)) {
      throw new UnsupportedRequestError(
        `task "${task}" is not served by this service; send it to Immich's ML server (the gateway does)`,
      );
    }
    if (task !== 'clip' && task !== 'ocr') throw new UnsupportedRequestError(`unknown task "${printable(task)}"`);
  }
  const plan: PredictPlan = {};
  if (entries.clip) plan.clip = entries.clip;
  if (entries.ocr) {
    plan.ocr = {
      modelName: entries.ocr.modelName,
      options: {
        boxThresh: entries.ocr.minDetectionScore,
        textScoreMin: entries.ocr.minRecognitionScore,
        limitSideLen: entries.ocr.maxResolution,
      },
    };
  }
  return plan;
}
