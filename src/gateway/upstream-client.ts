import { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Dispatcher, Pool } from 'undici';
import { UpstreamFailure } from './gateway-errors';

/** What one attempt sends. `body` is made fresh per attempt: undici destroys a body whose request failed. */
export interface UpstreamRequest {
  method: 'GET' | 'POST';
  /** Path under the upstream's base URL, starting with '/'. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable | Iterable<Buffer> | AsyncIterable<Buffer> | null;
  /** The request's own end (client gone, gateway deadline): aborts this attempt too. */
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Read it, pipe it or dump it: the attempt's timer runs until it closes. */
  body: Dispatcher.ResponseData['body'];
}

/** Marks an abort as the upstream's total timeout, as opposed to the caller giving up. */
class AttemptTimeout extends Error {}

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  timeoutMs: number;
  /** Public name for messages to clients: route and position (`inference#1`), never the address. */
  label: string;
  /** Headers sent with every request to this upstream (Authorization from URL credentials, api-key). */
  headers?: Record<string, string>;
}

/**
 * One upstream base URL: a pooled keep-alive connection set (undici) with a connect timeout, and a
 * total timeout per attempt that covers the answer's body too. Errors come out as UpstreamFailure,
 * already classified; a non-2xx status is not an error here (the caller decides what it means).
 */
export class UpstreamClient {
  readonly url: string;
  readonly label: string;
  private readonly basePath: string;
  private readonly pool: Pool;

  constructor(
    url: string,
    private readonly options: UpstreamClientOptions,
  ) {
    const parsed = new URL(url);
    this.url = url;
    this.label = options.label;
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.pool = new Pool(parsed.origin, {
      connect: { timeout: options.connectTimeoutMs },
      // Immich ML (gunicorn + uvicorn) closes idle keep-alive sockets after 2 s; reusing one it has just
      // closed fails the request. Idle sockets are dropped on our side well before that.
      keepAliveTimeout: 1_000,
      keepAliveMaxTimeout: 1_000,
      // The attempt's own timer is the real limit; these only stop undici's 300 s defaults cutting in first.
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async request(request: UpstreamRequest, timeoutMs = this.options.timeoutMs): Promise<UpstreamResponse> {
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(new AttemptTimeout()), timeoutMs);
    const onParentAbort = () => attempt.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onParentAbort, { once: true });
    if (request.signal?.aborted) onParentAbort();
    const settle = () => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onParentAbort);
    };

    try {
      const response = await this.pool.request({
        method: request.method,
        path: this.basePath + request.path,
        headers: { ...request.headers, ...this.options.headers },
        // undici sends (async) iterables as they are (core/request.js), its types just do not say so.
        body: (request.body ?? null) as Dispatcher.DispatchOptions['body'],
        signal: attempt.signal,
      });
      // The timer keeps running while the caller reads the body: a trickling answer is still bounded.
      response.body.once('close', settle);
      response.body.once('error', settle);
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      settle();
      throw this.classify(error, attempt.signal, timeoutMs);
    }
  }

  /** Reads a whole (small) answer as text; failures while reading are classified like the request's. */
  async text(response: UpstreamResponse, timeoutMs = this.options.timeoutMs): Promise<string> {
    try {
      return await response.body.text();
    } catch (error) {
      throw this.classify(error, undefined, timeoutMs);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** Turns undici's and the OS's errors into the kinds the gateway acts on; the caller's own abort passes through. */
  classify(error: unknown, signal: AbortSignal | undefined, timeoutMs: number): Error {
    if (error instanceof UpstreamFailure) return error;
    if (signal?.aborted && !(signal.reason instanceof AttemptTimeout)) {
      return signal.reason instanceof Error ? signal.reason : new Error('request aborted');
    }
    const code = (error as { code?: string })?.code ?? '';
    const label = this.label;
    if (error instanceof AttemptTimeout || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new UpstreamFailure('timeout', label, `did not answer within ${timeoutMs} ms`);
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new UpstreamFailure(
        'connect-timeout',
        label,
        `did not accept a connection within ${this.options.connectTimeoutMs} ms`,
      );
    }
    if (code === 'ECONNREFUSED') return new UpstreamFailure('unreachable', label, 'refused the connection');
    if (['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN'].includes(code)) {
      return new UpstreamFailure('unreachable', label, `is unreachable (${code})`);
    }
    // Only codes reach the message: the errors' own texts can carry addresses.
    if (['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED'].includes(code)) {
      return new UpstreamFailure('reset', label, `closed the connection (${code})`);
    }
    // Anything else (a body stream error, a protocol error) is still the upstream's fault, never a 500.
    return new UpstreamFailure('reset', label, `failed (${code || (error as Error)?.name || 'unknown error'})`);
  }
}
