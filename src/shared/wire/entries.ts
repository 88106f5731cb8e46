import { z } from 'zod';
import { tooLarge, unprocessable } from '../http/http-error';
import { IMMICH_OCR_DEFAULTS, type PredictEntries } from './immich-ml';
import { WIRE_LIMITS } from './limits';

/**
 * The one validator of Immich's `entries` field, used by the gateway (to route) and by the inference
 * service (to plan the model runs), so a request is refused the same way by both. Every number has a
 * range; a task name is any string (new Immich tasks route to Immich's own ML server), but the three
 * tasks of Contract 1 are checked field by field.
 */

/** One model of a task, as in `{"modelName": "...", "options": {...}}`. */
export interface EntryModel {
  modelName: string;
  options?: Record<string, unknown>;
}

/** `entries` as sent: task -> model type (visual, textual, detection, recognition) -> model. */
export type RawEntries = Record<string, Record<string, EntryModel>>;

export interface ClipRequest {
  part: 'visual' | 'textual';
  modelName: string;
}

export interface OcrRequest {
  modelName: string;
  /** Detection minScore: boxes below it are dropped. */
  minDetectionScore: number;
  /** Recognition minScore: texts below it are dropped. */
  minRecognitionScore: number;
  /** Detector input short side (never above the image's own). */
  maxResolution: number;
}

export interface Entries {
  /** Task names in the order they were sent. */
  tasks: string[];
  /** The validated object, for forwarding a subset of its tasks unchanged. */
  raw: RawEntries;
  clip?: ClipRequest;
  ocr?: OcrRequest;
}

const score = z.number().finite().min(0).max(1);
/** Extra keys are tolerated: Immich adds options over time, and its own ML server ignores unknown ones. */
const options = <T extends z.ZodRawShape>(shape: T) => z.object(shape).passthrough().optional();
const model = <T extends z.ZodRawShape>(shape: T) => z.object({ modelName: z.string(), options: options(shape) });

const KNOWN_TASKS = {
  clip: z
    .object({ visual: model({}).optional(), textual: model({ language: z.string().nullish() }).optional() })
    .strict()
    .refine((clip) => Number(!!clip.visual) + Number(!!clip.textual) === 1, {
      message: 'must have exactly one of "visual" or "textual"',
    }),
  ocr: z.object({
    detection: model({
      minScore: score.optional(),
      maxResolution: z.number().finite().min(1).max(WIRE_LIMITS.maxResolution).optional(),
    }),
    recognition: model({ minScore: score.optional() }),
  }),
  'facial-recognition': z.object({
    detection: model({ minScore: score.optional() }),
    recognition: model({}),
  }),
} satisfies Record<string, z.ZodTypeAny>;

/**
 * Parses the `entries` field. Missing, not JSON, not an object of tasks, a number out of range: 422.
 * Larger than WIRE_LIMITS.entriesBytes: 413 (the form reader refuses it earlier; this covers callers
 * that did not read a form).
 */
export function parseEntries(raw: string | undefined): Entries {
  if (raw === undefined) throw unprocessable('the "entries" field is missing');
  if (Buffer.byteLength(raw) > WIRE_LIMITS.entriesBytes) {
    throw tooLarge(`the "entries" field is over ${WIRE_LIMITS.entriesBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw unprocessable(`"entries" is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw unprocessable('"entries" must be a JSON object of tasks');
  const tasks = Object.keys(value);
  if (tasks.length === 0) throw unprocessable('"entries" names no task');
  if (tasks.length > WIRE_LIMITS.tasks) {
    throw unprocessable(`"entries" names ${tasks.length} tasks; at most ${WIRE_LIMITS.tasks} are accepted`);
  }
  for (const task of tasks) checkTask(task, value[task]);
  // Checked above: the three tasks of Contract 1 have their contract's shape, the rest are generic.
  const entries = value as RawEntries & PredictEntries;
  return { tasks, raw: entries, clip: clipRequest(entries), ocr: ocrRequest(entries) };
}

function checkTask(task: string, types: unknown): void {
  const at = `entries.${printable(task)}`;
  if (!isObject(types) || Object.keys(types).length === 0)
    throw unprocessable(`${at} must be an object of model types`);
  const names = Object.keys(types);
  if (names.length > WIRE_LIMITS.modelsPerTask) {
    throw unprocessable(`${at} has ${names.length} model types; at most ${WIRE_LIMITS.modelsPerTask}`);
  }
  for (const name of names) {
    const entry = types[name];
    const where = `${at}.${printable(name)}`;
    if (!isObject(entry) || typeof entry.modelName !== 'string' || entry.modelName.trim() === '') {
      throw unprocessable(`${where} needs a "modelName" string`);
    }
    if (entry.modelName.length > WIRE_LIMITS.modelNameChars) {
      throw unprocessable(`${where}.modelName is over ${WIRE_LIMITS.modelNameChars} characters`);
    }
    if (entry.options !== undefined && !isObject(entry.options))
      throw unprocessable(`${where}.options must be an object`);
  }
  const schema = (KNOWN_TASKS as Record<string, z.ZodTypeAny>)[task];
  const parsed = schema?.safeParse(types);
  if (parsed && !parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.map((part) => printable(String(part))).join('.');
    throw unprocessable(`${at}${path ? `.${path}` : ''} ${describeIssue(issue)}`);
  }
}

function clipRequest({ clip }: PredictEntries): ClipRequest | undefined {
  if (!clip) return undefined;
  return 'visual' in clip
    ? { part: 'visual', modelName: clip.visual.modelName }
    : { part: 'textual', modelName: clip.textual.modelName };
}

function ocrRequest({ ocr }: PredictEntries): OcrRequest | undefined {
  if (!ocr) return undefined;
  const detection = ocr.detection.options ?? {};
  const recognition = ocr.recognition.options ?? {};
  // Immich always sends all three; another client that leaves one out gets Immich's default.
  return {
    modelName: ocr.detection.modelName,
    minDetectionScore: detection.minScore ?? IMMICH_OCR_DEFAULTS.detectionMinScore,
    minRecognitionScore: recognition.minScore ?? IMMICH_OCR_DEFAULTS.recognitionMinScore,
    maxResolution: Math.round(detection.maxResolution ?? IMMICH_OCR_DEFAULTS.maxResolution),
  };
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === 'too_small' || issue.code === 'too_big' || issue.code === 'not_finite') {
    const field = issue.path[issue.path.length - 1];
    const range = field === 'maxResolution' ? `1 and ${WIRE_LIMITS.maxResolution}` : '0 and 1';
    return `must be a number between ${range}`;
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return 'is required';
  if (issue.code === 'invalid_type') return `must be a ${issue.expected}, got ${issue.received}`;
  if (issue.code === 'unrecognized_keys')
    return `has unknown keys ${issue.keys.map((k) => `"${printable(k)}"`).join(', ')}`;
  return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
}

/** A key as it may appear in a message (and so in a log): printable ASCII, at most 64 characters. */
export function printable(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
