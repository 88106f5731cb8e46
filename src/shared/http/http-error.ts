/**
 * A failure with the HTTP status it is answered with. Both services throw these from the code they
 * share (form reading, `entries`, image checks), so the same input gets the same status from either.
 * The message goes to the client: it names what was wrong, never a path, an address or a secret.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 400: not a form, a broken form, a field twice, the wrong kind of input for the task. */
export const badRequest = (message: string) => new HttpError(400, message);
/** 413: a body, field or image over its limit. */
export const tooLarge = (message: string) => new HttpError(413, message);
/** 422: `entries` is not what Immich sends, or the image cannot be decoded. */
export const unprocessable = (message: string) => new HttpError(422, message);
/** 503 + Retry-After: busy (queue or upload memory full); the client should come back shortly. */
export const busy = (message: string, retryAfterSeconds = 1) =>
  new HttpError(503, message, { 'Retry-After': String(retryAfterSeconds) });
