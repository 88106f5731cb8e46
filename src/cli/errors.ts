import { ImageInputError } from '../shared/image/decode';

/** One line for a person: the message, never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof ImageInputError) return error.message;
  if (error instanceof Error) return error.message.split('\n')[0];
  return String(error);
}
