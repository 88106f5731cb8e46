import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { OcrConfigOverrides } from './ocr-config';

const unit = z.number().min(0).max(1);
const positive = z.number().positive();
const whole = z.number().int().positive();

/** The same keys as OcrConfig, every one optional; unknown keys are mistakes, so they are refused. */
const schema = z
  .object({
    det: z
      .object({
        limitSideLen: whole,
        maxSideLen: whole,
        maxPixels: whole,
        maxEnlargedPixels: whole,
        stripRatio: z.number().min(0),
        stripMinSide: whole,
        arenaKeepPixels: whole,
        thresh: unit,
        boxThresh: unit,
        unclipRatio: positive,
        maxCandidates: whole,
        minSize: positive,
        useDilation: z.boolean(),
        columnMergeGap: z.number().min(0),
        nativePass: z.boolean(),
      })
      .partial()
      .strict(),
    cls: z
      .object({ enabled: z.boolean(), height: whole, width: whole, batchSize: whole, thresh: unit })
      .partial()
      .strict(),
    rec: z
      .object({
        height: whole,
        minWidth: whole,
        batchSize: whole,
        runCostColumns: z.number().int().min(0).max(4096),
        textScoreMin: unit,
      })
      .partial()
      .strict(),
    spaces: z
      .object({
        recover: z.boolean(),
        minSpaceProb: unit,
        latinSpaceProb: unit,
        scriptChangeSpaceProb: unit,
        joiners: z.string().max(64),
      })
      .partial()
      .strict(),
    verticalRatio: positive,
    cropSourceFactor: positive,
    gate: z
      .object({ enabled: z.boolean(), scale: unit.gt(0), minPixels: whole, boxThresh: unit, minSize: positive })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

export class OcrConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcrConfigFileError';
  }
}

/**
 * Reads OCR threshold overrides from a JSON file, e.g. `{"det": {"boxThresh": 0.6}, "spaces":
 * {"recover": false}}`. Keys and defaults are those of ocr-config.ts; a wrong key or value is an
 * error that names it.
 */
export function loadOcrConfigFile(path: string): OcrConfigOverrides {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new OcrConfigFileError(`OCR settings file ${path}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return issue.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.map((k) => (key ? `${key}.${k}` : k)).join(', ')}`
        : `${key}: ${issue.message}`;
    });
    throw new OcrConfigFileError(`OCR settings file ${path}: ${problems.join('; ')}`);
  }
  return parsed.data;
}
