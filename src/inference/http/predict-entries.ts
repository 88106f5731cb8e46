import { UnprocessableEntityException } from '@nestjs/common';
import { z } from 'zod';
import { IMMICH_OCR_DEFAULTS, type PredictEntries } from '../../shared/wire/immich-ml';
import type { OcrRunOptions } from '../ocr/ocr-types';
import { UnsupportedRequestError } from './errors';

/** What one /predict call asks for, after validation: at most one CLIP half and/or OCR. */
export interface PredictPlan {
  clip?: { part: 'visual' | 'textual'; modelName: string };
  ocr?: { modelName: string; options: Required<OcrRunOptions> };
}

const modelName = z.string().trim().min(1, 'modelName must be a non-empty string');
const score = z.number().min(0).max(1);
// Extra keys are tolerated everywhere below a task: Immich adds options over time, and ignoring one
// we do not use is what its own ML server does.
const options = <T extends z.ZodRawShape>(shape: T) => z.object(shape).passthrough().nullish();

const clipSchema = z.union(
  [
    z.object({ visual: z.object({ modelName, options: options({}) }).passthrough() }).strict(),
    z
      .object({
        textual: z.object({ modelName, options: options({ language: z.string().nullish() }) }).passthrough(),
      })
      .strict(),
  ],
  { errorMap: () => ({ message: 'clip must have exactly one of "visual" or "textual", each with a modelName' }) },
);

const ocrSchema = z
  .object({
    detection: z
      .object({
        modelName,
        options: options({ minScore: score.optional(), maxResolution: z.number().positive().optional() }),
      })
      .passthrough(),
    recognition: z.object({ modelName, options: options({ minScore: score.optional() }) }).passthrough(),
  })
  .passthrough();

const entriesSchema = z
  .object({ clip: clipSchema.optional(), ocr: ocrSchema.optional() })
  .strict()
  .refine((value) => value.clip || value.ocr, { message: 'entries names no task' });

/** Tasks of Contract 1 that stay with Immich's own ML server (the gateway routes them there). */
const NOT_SERVED_HERE = new Set(['facial-recognition']);

/**
 * Parses the `entries` form field. Malformed JSON, a wrong shape or an unknown task is a 422 (as
 * Immich's ML server answers); a known task this service does not do is a 422 that says where to go.
 */
export function parseEntries(raw: unknown): PredictPlan {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new UnprocessableEntityException('"entries" must be a form field holding a JSON object');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new UnprocessableEntityException(`"entries" is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UnprocessableEntityException('"entries" must be a JSON object keyed by task');
  }
  for (const task of Object.keys(json)) {
    if (NOT_SERVED_HERE.has(task)) {
      throw new UnsupportedRequestError(
        `task "${task}" is not served by this service; send it to Immich's ML server (the gateway does)`,
      );
    }
  }
  const parsed = entriesSchema.safeParse(json);
  if (!parsed.success) {
    throw new UnprocessableEntityException(`invalid "entries": ${describe(parsed.error)}`);
  }
  return toPlan(parsed.data as PredictEntries);
}

function toPlan(entries: PredictEntries): PredictPlan {
  const plan: PredictPlan = {};
  if (entries.clip) {
    plan.clip =
      'visual' in entries.clip
        ? { part: 'visual', modelName: entries.clip.visual.modelName }
        : { part: 'textual', modelName: entries.clip.textual.modelName };
  }
  if (entries.ocr) {
    const detection = entries.ocr.detection.options ?? {};
    const recognition = entries.ocr.recognition.options ?? {};
    plan.ocr = {
      modelName: entries.ocr.detection.modelName,
      // Immich always sends all three; another client that leaves one out gets Immich's default.
      options: {
        boxThresh: detection.minScore ?? IMMICH_OCR_DEFAULTS.detectionMinScore,
        // The detector works in multiples of 32; Immich accepts any positive size, so round into range
        // rather than fail every OCR job of a library over an odd setting.
        limitSideLen: Math.max(32, Math.round(detection.maxResolution ?? IMMICH_OCR_DEFAULTS.maxResolution)),
        textScoreMin: recognition.minScore ?? IMMICH_OCR_DEFAULTS.recognitionMinScore,
      },
    };
  }
  return plan;
}

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0)
        return `unknown task ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      const path = issue.path.join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
