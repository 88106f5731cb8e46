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

/**
 * A one-line reason for people: the message, no stack, and no address of ours. Errors of database
 * and network drivers name hosts and ports (`connect ECONNREFUSED 172.18.0.3:5432`, `getaddrinfo
 * ENOTFOUND immich_redis`); the reason is shown to users, who need the what, not the where.
 */
export function describeJobError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactAddresses(message.split('\n')[0]).slice(0, 500);
}

export function redactAddresses(text: string): string {
  return text
    .replace(/\b(getaddrinfo|connect|read|write)\s+(E[A-Z]+)\s+\S+/g, '$1 $2 <address>')
    .replace(/\[?[0-9a-f]*:[0-9a-f:]+\]?:\d{1,5}\b/gi, (match) => (/::|\[/.test(match) ? '<address>' : match))
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b/g, '<address>')
    .replace(/\b[a-z][\w-]*(\.[\w-]+)*:\d{2,5}\b/gi, '<address>');
}
