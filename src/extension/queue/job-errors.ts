import { MediaFileError } from '../assets/media.repository';
import { InferenceError } from '../inference/inference.repository';

/** An error that will not go away by trying again (wrong dimension, corrupt preview, path outside media). */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentJobError) return false;
  if (error instanceof InferenceError) return error.retryable;
  // A missing preview may be one Immich is writing right now; one outside the media folder never works.
  if (error instanceof MediaFileError) return error.problem === 'missing' || error.problem === 'unreadable';
  return true;
}

/** Postgres: the row referenced (the asset) is gone. */
export const isForeignKeyViolation = (error: unknown): boolean => (error as { code?: string })?.code === '23503';

/** A one-line reason for people: the message, no stack, no internals of database drivers. */
export function describeJobError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0].slice(0, 500);
  return String(error).slice(0, 500);
}
