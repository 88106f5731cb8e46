/**
 * Failures of the upstream calls. What the gateway refuses itself is an HttpError
 * (src/shared/http/http-error.ts), with the same statuses as the inference service. Messages to
 * clients name the task, the route and the upstream's place in it (`inference#2`), not its address:
 * the gateway's log has the address.
 */

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
    /** The upstream's public name: route and position, `inference#1`. */
    readonly upstream: string,
    /** What went wrong, without the upstream's name (the message adds it) and without an address. */
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
