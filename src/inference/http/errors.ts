/**
 * Failures the HTTP layer knows how to answer. Engine errors (ImageInputError, the model-missing
 * errors) keep their own classes; the exception filter maps all of them to statuses.
 */

import { ClipModelMissingError } from '../clip/clip-engine';
import { OcrModelMissingError } from '../ocr/model-files';

/** A model could not be opened (files missing or corrupt): 503, and /health says the same. */
export class ModelUnavailableError extends Error {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelUnavailableError';
  }
}

/** The request is well-formed but asks for something this service does not do: 422. */
export class UnsupportedRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedRequestError';
  }
}

/**
 * What an HTTP answer (an error body, /health) may say about a model failure: the file and the
 * variable to fix, never this machine's paths; the log line has the full message.
 */
export function publicModelError(error: unknown, model: string): string {
  if (error instanceof ClipModelMissingError || error instanceof OcrModelMissingError) return error.publicMessage;
  return `the ${model} model could not be loaded (the service log says why)`;
}
