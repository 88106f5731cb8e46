/**
 * Every failure the gateway answers itself, with the status the issue fixes for it. The message names
 * the task and the upstream, so an Immich log line alone says which service to look at.
 */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

/** 400: not multipart, a broken multipart body, or neither image nor text. */
export const badRequest = (message: string) => new GatewayError(400, message);
/** 413: the body is over MAX_UPLOAD_BYTES. */
export const tooLarge = (message: string) => new GatewayError(413, message);
/** 422: `entries` is not what Immich sends, or the image cannot be read. */
export const unprocessable = (message: string) => new GatewayError(422, message);

/** Why an attempt at one upstream failed; decides the status, failover and the health mark. */
export type FailureKind =
  /** Refused, unknown host, no route: nothing is listening. Fail over, mark down. */
  | 'unreachable'
  /** The connection did not open in time. Fail over, mark down. */
  | 'connect-timeout'
  /** The connection broke while the request was in flight. Fail over (if the body can be sent again), mark down. */
  | 'reset'
  /** No complete answer within the upstream's total timeout. No failover: the next one would be as slow. */
  | 'timeout'
  /** The upstream answered 5xx. Fail over; the upstream stays healthy (one bad image is not an outage). */
  | 'server-error'
  /** The upstream refused this request (4xx in MT-Photos mode): the request's fault, not the upstream's. */
  | 'rejected'
  /** 2xx but not the shape its protocol promises (MT-Photos `{"result":[],"msg":...}`, bad JSON). */
  | 'bad-answer';

const STATUS: Record<FailureKind, number> = {
  unreachable: 502,
  'connect-timeout': 504,
  reset: 502,
  timeout: 504,
  'server-error': 502,
  rejected: 502,
  'bad-answer': 502,
};

/** A failed attempt at one upstream. `status` is what the gateway answers if this is the last word. */
export class UpstreamFailure extends Error {
  readonly status: number;

  constructor(
    readonly kind: FailureKind,
    readonly upstream: string,
    /** What went wrong, without the upstream's name (the message adds it). */
    readonly reason: string,
    /** For 'rejected': the upstream's 4xx, passed on when it is a verdict on the request (400, 413, 422). */
    upstreamStatus?: number,
  ) {
    super(`upstream ${upstream} ${reason}`);
    this.name = 'UpstreamFailure';
    this.status =
      kind === 'rejected' && upstreamStatus && [400, 413, 422].includes(upstreamStatus) ? upstreamStatus : STATUS[kind];
  }

  /** Worth trying the next upstream (if the request body can be sent again). */
  get failover(): boolean {
    return (
      this.kind === 'unreachable' ||
      this.kind === 'connect-timeout' ||
      this.kind === 'reset' ||
      this.kind === 'server-error'
    );
  }

  /** Says the upstream itself is down, until a health check finds it back. */
  get marksDown(): boolean {
    return this.kind === 'unreachable' || this.kind === 'connect-timeout' || this.kind === 'reset';
  }
}
