import { HttpError } from '../shared/http/http-error';
import { ClientGoneError } from '../shared/http/incoming-form';

/**
 * One request's lifetime: its deadline (REQUEST_TIMEOUT_MS), the client going away, and what the
 * access log wants to know. Everything the request waits on is raced against `signal`.
 */
export class RequestContext {
  readonly signal: AbortSignal;
  tasks: string[] = [];
  /** Model names per task, for the access log. */
  models: Record<string, string[]> = {};
  upstreams: string[] = [];
  mode?: 'stream' | 'parsed';
  /** The upstream being waited on (its public name), named in a deadline error. */
  current?: string;

  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly aborted: Promise<never>;
  private readonly onClientGone = () => this.abort(new ClientGoneError());

  constructor(
    private readonly timeoutMs: number,
    private readonly clientGone: AbortSignal,
    /** Whether the whole request body has arrived: a deadline passing before it did is the client's (408). */
    private readonly bodyComplete: () => boolean,
  ) {
    this.signal = this.controller.signal;
    this.aborted = new Promise<never>((_, reject) =>
      this.signal.addEventListener('abort', () => reject(this.signal.reason), { once: true }),
    );
    this.aborted.catch(() => undefined);
    this.timer = setTimeout(() => this.abort(this.deadlineError()), timeoutMs);
    clientGone.addEventListener('abort', this.onClientGone, { once: true });
  }

  get label(): string {
    return this.tasks.length > 0 ? this.tasks.join('+') : 'request';
  }

  abort(reason: Error): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  race<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.aborted]);
  }

  finish(): void {
    clearTimeout(this.timer);
    this.clientGone.removeEventListener('abort', this.onClientGone);
  }

  private deadlineError(): HttpError {
    if (!this.bodyComplete()) {
      return new HttpError(
        408,
        `${this.label}: the request did not arrive within ${this.timeoutMs} ms (REQUEST_TIMEOUT_MS)`,
      );
    }
    const waiting = this.current ? `, still waiting on upstream ${this.current}` : '';
    return new HttpError(
      504,
      `${this.label}: no complete answer within ${this.timeoutMs} ms (REQUEST_TIMEOUT_MS)${waiting}`,
    );
  }
}
