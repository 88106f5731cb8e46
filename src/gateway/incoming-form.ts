import busboy from 'busboy';
import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { GatewayError, badRequest, tooLarge } from './gateway-errors';
import { RawBody, ReplayBudget } from './request-body';

/** What the request carries besides `entries`. */
export type PayloadKind = 'image' | 'text';

/** The start of a form: enough to pick a route, read before any upstream is called. */
export interface FormHead {
  /** The `entries` field as sent; undefined if the form ended without one. */
  entries?: string;
  payload?: PayloadKind;
  /** `entries` came before the image, so the raw body can be forwarded as it arrives. */
  streamable: boolean;
}

/** The whole form, parsed: one copy of the image. */
export interface FormParts {
  image?: Buffer;
  text?: string;
}

/**
 * One incoming multipart request, read once. It starts by parsing just far enough to know `entries`
 * and whether an image or a text follows (Immich sends `entries` first, so that is a few hundred
 * bytes), keeping the raw bytes. Then the caller picks one of two paths:
 * - `stream()`: the raw bytes go to one upstream as they arrive, and parsing stops: scanning every
 *   image byte for boundaries would double the gateway's CPU per request, and the upstream parses the
 *   same bytes anyway (a tail it finds malformed comes back as its own 4xx, passed through);
 * - `parts()`: the raw bytes are dropped and the form is parsed whole (to split it or convert it).
 * Whatever goes wrong with the body (malformed head, too large, client gone) rejects `failed`.
 */
export class IncomingForm {
  readonly contentType: string;
  readonly contentLength?: number;
  /** Rejects once, with the reason the body cannot be used; never resolves. */
  readonly failed: Promise<never>;

  private readonly parser: busboy.Busboy;
  private raw?: RawBody;
  private mode: 'head' | 'stream' | 'parts' = 'head';
  private received = 0;
  private failure?: GatewayError | Error;
  private rejectFailed!: (error: Error) => void;

  private entries?: string;
  private payload?: PayloadKind;
  private text?: string;
  private imageStream?: Readable;
  private image?: Buffer;
  private imagePending?: Promise<void>;
  private parsed = false;

  private headWaiter?: { resolve: (head: FormHead) => void; reject: (error: Error) => void };
  private partsWaiter?: { resolve: (parts: FormParts) => void; reject: (error: Error) => void };

  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () => {
    this.raw?.end();
    if (this.mode !== 'stream') this.parser.end();
  };
  private readonly onClose = () => {
    if (!this.request.complete) this.fail(new ClientGoneError());
  };

  constructor(
    private readonly request: IncomingMessage,
    private readonly limits: { maxUploadBytes: number },
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    // Callers race against `failed`; one that has already finished must not leave it unhandled.
    this.failed.catch(() => undefined);

    const contentType = request.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      throw badRequest(
        `expected a multipart/form-data body, got ${contentType ? `"${contentType}"` : 'no content type'}`,
      );
    }
    this.contentType = contentType;
    const length = request.headers['content-length'];
    if (length !== undefined) {
      this.contentLength = Number(length);
      if (this.contentLength > limits.maxUploadBytes) throw this.oversize();
    }

    try {
      // Text fields and `entries` are small; 1 MiB each is far above what Immich sends.
      this.parser = busboy({ headers: request.headers, limits: { fieldSize: 1024 * 1024, fields: 64, parts: 128 } });
    } catch (error) {
      throw badRequest(`malformed multipart request: ${(error as Error).message}`);
    }
    this.parser.on('field', (name, value, info) => this.onField(name, value, info.valueTruncated));
    this.parser.on('file', (name, stream) => this.onFile(name, stream));
    this.parser.on('error', (error: Error) => this.fail(badRequest(`malformed multipart body: ${error.message}`)));
    this.parser.on('close', () => {
      this.parsed = true;
      void this.onParsed();
    });

    this.raw = new RawBody(() => this.request.resume());
    request.on('data', this.onData);
    request.on('end', this.onEnd);
    request.on('close', this.onClose);
  }

  /** Resolves once `entries` and the kind of payload are known, or the form has ended. */
  head(): Promise<FormHead> {
    if (this.failure) return Promise.reject(this.failure);
    const head = this.currentHead();
    if (head) return Promise.resolve(head);
    return new Promise((resolve, reject) => (this.headWaiter = { resolve, reject }));
  }

  /**
   * The raw body, to forward as it arrives. `retain` keeps it (within the budget) so it can be sent
   * again to another upstream.
   */
  stream(retain: boolean, budget: ReplayBudget): RawBody {
    if (this.mode !== 'head' || !this.raw) throw new Error('the form is already being read another way');
    this.mode = 'stream';
    this.raw.keep(retain, budget);
    this.imageStream?.resume();
    return this.raw;
  }

  /** The whole form, parsed. The raw bytes are dropped: only the parsed image is kept. */
  parts(): Promise<FormParts> {
    if (this.mode === 'stream') throw new Error('the form is already being streamed');
    this.mode = 'parts';
    this.dropRaw();
    if (this.imageStream && !this.imagePending) this.imagePending = this.collectImage(this.imageStream);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.partsWaiter = { resolve, reject };
      void this.onParsed();
    });
  }

  /** Stops reading: the rest of the body is drained and discarded, memory and budget given back. */
  dispose(): void {
    this.request.off('data', this.onData);
    this.request.off('end', this.onEnd);
    this.request.off('close', this.onClose);
    this.dropRaw();
    this.imageStream?.resume();
    if (!this.request.complete) this.request.resume();
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    this.received += chunk.length;
    if (this.received > this.limits.maxUploadBytes) {
      this.fail(this.oversize());
      return;
    }
    if (this.raw) {
      this.raw.push(chunk);
      if (this.mode === 'stream') {
        // Only a streaming body has a reader that will catch up; before that the head must be read on.
        if (this.raw.full) this.request.pause();
        return;
      }
    }
    this.parser.write(chunk);
  }

  private onField(name: string, value: string, truncated: boolean): void {
    if (truncated) {
      this.fail(tooLarge(`the "${name}" field is over 1 MiB`));
      return;
    }
    if (name === 'entries') this.entries = value;
    else if (name === 'text') {
      this.text = value;
      this.payload ??= 'text';
    } else if (name === 'image') {
      this.fail(badRequest('"image" must be a file part (with a filename), not a text field'));
      return;
    }
    this.settleHead();
  }

  private onFile(name: string, stream: Readable): void {
    if (name !== 'image' || this.imageStream) {
      // Not ours to read; a streamed body still carries it to the upstream unchanged.
      stream.resume();
      return;
    }
    this.imageStream = stream;
    this.payload ??= 'image';
    if (this.mode === 'stream') stream.resume();
    else if (this.mode === 'parts') this.imagePending = this.collectImage(stream);
    else if (this.entries === undefined) {
      // The image came before `entries`: the route is not known yet, so keep one copy (the parsed
      // one) rather than the raw bytes and the parsed bytes both.
      this.dropRaw();
      this.imagePending = this.collectImage(stream);
    }
    // Otherwise the file stream waits, unread, for the caller to pick a path (a microtask away).
    this.settleHead();
  }

  /** The parser has seen the end of the form (or `parts()` wants to know whether it has). */
  private async onParsed(): Promise<void> {
    if (!this.parsed) return;
    this.settleHead();
    if (!this.partsWaiter || this.failure) return;
    try {
      await this.imagePending;
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.partsWaiter?.resolve({ image: this.image, text: this.text });
    this.partsWaiter = undefined;
  }

  private currentHead(): FormHead | undefined {
    const known = this.entries !== undefined && this.payload !== undefined;
    if (!known && !this.parsed) return undefined;
    return { entries: this.entries, payload: this.payload, streamable: this.raw !== undefined };
  }

  private settleHead(): void {
    if (!this.headWaiter) return;
    const head = this.currentHead();
    if (!head) return;
    this.headWaiter.resolve(head);
    this.headWaiter = undefined;
  }

  private async collectImage(stream: Readable): Promise<void> {
    // Content-Length bounds the image: one buffer of that size, filled in place, is the only copy.
    const collector = new ByteCollector(this.contentLength);
    for await (const chunk of stream) collector.add(chunk as Buffer);
    this.image = collector.bytes();
  }

  private dropRaw(): void {
    this.raw?.release();
    this.raw = undefined;
  }

  private oversize(): GatewayError {
    return tooLarge(`the request body is over the limit of ${this.limits.maxUploadBytes} bytes (MAX_UPLOAD_BYTES)`);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.raw?.fail(error);
    this.imageStream?.resume();
    this.headWaiter?.reject(error);
    this.partsWaiter?.reject(error);
    this.headWaiter = this.partsWaiter = undefined;
    this.rejectFailed(error);
    // Stop parsing; the rest of the body is read and discarded so an answer can still be sent.
    this.request.off('data', this.onData);
    if (!this.request.complete) this.request.resume();
  }
}

/** The client closed the connection before its request was complete: there is nobody to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the request was complete');
    this.name = 'ClientGoneError';
  }
}

/** Gathers a stream's chunks into one buffer, allocated once when an upper bound is known. */
class ByteCollector {
  private buffer?: Buffer;
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(capacity?: number) {
    if (capacity !== undefined && Number.isFinite(capacity) && capacity > 0) this.buffer = Buffer.allocUnsafe(capacity);
  }

  add(chunk: Buffer): void {
    if (this.buffer && this.length + chunk.length <= this.buffer.length) chunk.copy(this.buffer, this.length);
    else {
      if (this.buffer) this.chunks.push(this.buffer.subarray(0, this.length));
      this.buffer = undefined;
      this.chunks.push(chunk);
    }
    this.length += chunk.length;
  }

  bytes(): Buffer {
    if (this.buffer) return this.buffer.subarray(0, this.length);
    return Buffer.concat(this.chunks, this.length);
  }
}
