/**
 * Failures the HTTP layer knows how to answer. Engine errors (ImageInputError, the model-missing
 * errors) keep their own classes; the exception filter maps all of them to statuses.
 */

/** Every slot and queue place is taken: 503 with Retry-After, the client should come back shortly. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the service is busy: every slot and queue place is taken; retry shortly');
    this.name = 'QueueFullError';
  }
}

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

/** The service is shutting down and takes no new work: 503. */
export class ShuttingDownError extends Error {
  constructor() {
    super('the service is shutting down');
    this.name = 'ShuttingDownError';
  }
}
