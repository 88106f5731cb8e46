import busboy from 'busboy';
import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { WIRE_LIMITS } from '../wire/limits';
import { BudgetShare, ByteBudget } from './byte-budget';
import { HttpError, badRequest, busy, tooLarge } from './http-error';
import { RawBody } from './raw-body';

/** What the request carries besides `entries`. */
export type PayloadKind = 'image' | 'text';

/** The start of a form: enough to pick a route, read before any upstream is called. */
export interface FormHead {
  /** The `entries` field as sent; undefined if the form ended without one. */
  entries?: string;
  payload?: PayloadKind;
  /** `entries` came before the file, so the raw body can be forwarded as it arrives. */
  streamable: boolean;
}

/** The whole form, parsed: one copy of the file. */
export interface FormParts {
  entries?: string;
  image?: Buffer;
  text?: string;
}

export interface FormOptions {
  /** MAX_UPLOAD_BYTES: a larger body is refused (413) from its Content-Length, or as it crosses the limit. */
  maxUploadBytes: number;
  /** UPLOAD_MEMORY_BYTES: what every request's held bytes together may use; over it, 503 + Retry-After. */
  memory: ByteBudget;
  /** The file field: `image` (Immich), `file` (MT-Photos). */
  fileField?: string;
  /** Keep the raw bytes until the caller picks `stream()` or `parts()` (the gateway); off: parse only. */
  raw?: boolean;
}

/**
 * One incoming form (multipart, or urlencoded for a text-only request), read once, with the limits
 * both services share (src/shared/wire/limits.ts). It parses just far enough to know `entries` and
 * whether an image or a text follows (Immich sends `entries` first, a few hundred bytes), keeping the
 * raw bytes if asked. Then the caller picks one of two paths:
 * - `stream()` (gateway): the raw bytes go to one upstream as they arrive, and parsing stops: scanning
 *   every image byte for boundaries would double the gateway's CPU per request, and the upstream
 *   parses the same bytes anyway (a tail it finds malformed comes back as its own 4xx, passed through);
 * - `parts()`: the raw bytes are dropped and the form is parsed whole.
 * Whatever goes wrong with the body (malformed, too large, a field twice, client gone) rejects
 * `failed`. A body over MAX_UPLOAD_BYTES is not read any further: its 413 carries `Connection: close`.
 * After any other failure the rest of the body is read and thrown away (still counted against the
 * limit), so the client gets the answer on a connection it can keep, instead of a reset mid-upload.
 */
export class IncomingForm {
  readonly contentType: string;
  readonly contentLength?: number;
  /** Rejects once, with the reason the body cannot be used; never resolves. */
  readonly failed: Promise<never>;

  private readonly parser: busboy.Busboy;
  private readonly fileField: string;
  private readonly memory: BudgetShare;
  private raw?: RawBody;
  private mode: 'head' | 'stream' | 'parts' = 'head';
  private received = 0;
  private failure?: Error;
  /** Reading stopped for good: the body is over MAX_UPLOAD_BYTES (the answer closes the connection). */
  private stopped = false;
  private rejectFailed!: (error: Error) => void;

  private entries?: string;
  private payload?: PayloadKind;
  private text?: string;
  private fileStream?: Readable;
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
    private readonly options: FormOptions,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    // Callers race against `failed`; one that has already finished must not leave it unhandled.
    this.failed.catch(() => undefined);
    this.fileField = options.fileField ?? 'image';
    this.memory = new BudgetShare(options.memory);

    const contentType = request.headers['content-type'] ?? '';
    if (!/^(multipart\/form-data\s*;|application\/x-www-form-urlencoded\b)/i.test(contentType)) {
      throw badRequest(
        `expected a multipart/form-data (or urlencoded) body, got ${contentType ? `"${contentType.slice(0, 100)}"` : 'no content type'}`,
      );
    }
    this.contentType = contentType;
    const length = request.headers['content-length'];
    if (length !== undefined) {
      this.contentLength = Number(length);
      // Refused from the header: not one byte of the body is read.
      if (this.contentLength > options.maxUploadBytes) throw this.oversize();
    }

    try {
      this.parser = busboy({
        headers: request.headers,
        limits: { fieldSize: WIRE_LIMITS.textBytes, parts: WIRE_LIMITS.parts, fieldNameSize: 100 },
      });
    } catch (error) {
      throw badRequest(`malformed multipart request: ${(error as Error).message}`);
    }
    this.parser.on('field', (name, value, info) => this.onField(name, value, info.valueTruncated));
    this.parser.on('file', (name, stream) => this.onFile(name, stream));
    this.parser.on('partsLimit', () => this.fail(tooLarge(`the form has more than ${WIRE_LIMITS.parts} parts`)));
    this.parser.on('error', (error: Error) => this.fail(badRequest(`malformed multipart body: ${error.message}`)));
    this.parser.on('close', () => {
      this.parsed = true;
      void this.onParsed();
    });

    if (options.raw) this.raw = new RawBody(() => this.request.resume(), this.memory);
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
   * The raw body, to forward as it arrives. `retain` keeps it (within `replay`) so it can be sent
   * again to another upstream.
   */
  stream(retain: boolean, replay: ByteBudget): RawBody {
    if (this.mode !== 'head' || !this.raw) throw new Error('the form is already being read another way');
    this.mode = 'stream';
    this.raw.keep(retain, replay);
    this.fileStream?.resume();
    return this.raw;
  }

  /** The whole form, parsed. The raw bytes are dropped: only the parsed file is kept. */
  parts(): Promise<FormParts> {
    if (this.mode === 'stream') throw new Error('the form is already being streamed');
    this.mode = 'parts';
    this.dropRaw();
    if (this.fileStream && !this.imagePending) this.imagePending = this.collect(this.fileStream);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.partsWaiter = { resolve, reject };
      void this.onParsed();
    });
  }

  /**
   * Gives back the memory this request held. Call once the answer is sent. A body still arriving (an
   * upstream answered early, say) is read to its end and thrown away, within MAX_UPLOAD_BYTES.
   */
  dispose(): void {
    this.request.off('end', this.onEnd);
    this.request.off('close', this.onClose);
    if (this.failure === undefined) this.failure = new Error('the form was disposed');
    this.dropRaw();
    this.fileStream?.resume();
    this.image = undefined;
    this.memory.release();
    if (this.stopped || this.request.complete) this.request.off('data', this.onData);
    else this.request.resume();
  }

  private receive(chunk: Buffer): void {
    if (this.stopped) return;
    this.received += chunk.length;
    if (this.received > this.options.maxUploadBytes) {
      if (this.failure) {
        // Over the limit while being thrown away: nothing more is read, from a client still sending.
        this.stopReading();
        this.request.socket?.destroy();
      } else this.fail(this.oversize());
      return;
    }
    if (this.failure) return; // thrown away
    if (this.raw) {
      if (!this.raw.push(chunk)) {
        this.fail(this.memoryFull());
        return;
      }
      if (this.mode === 'stream') {
        // Only a streaming body has a reader that will catch up; before that the head must be read on.
        if (this.raw.full) this.request.pause();
        return;
      }
    }
    this.parser.write(chunk);
  }

  private onField(name: string, value: string, truncated: boolean): void {
    if (this.failure) return;
    const limit = name === 'entries' ? WIRE_LIMITS.entriesBytes : WIRE_LIMITS.textBytes;
    if (truncated || Buffer.byteLength(value) > limit) {
      this.fail(tooLarge(`the "${fieldName(name)}" field is over ${limit} bytes`));
      return;
    }
    if (!this.memory.take(Buffer.byteLength(value))) {
      this.fail(this.memoryFull());
      return;
    }
    if (name === 'entries') {
      if (this.entries !== undefined) return this.fail(duplicate('entries'));
      this.entries = value;
    } else if (name === 'text') {
      if (this.text !== undefined) return this.fail(duplicate('text'));
      this.text = value;
      this.payload ??= 'text';
    } else if (name === this.fileField) {
      this.fail(badRequest(`"${this.fileField}" must be a file part (with a filename), not a text field`));
      return;
    }
    this.settleHead();
  }

  private onFile(name: string, stream: Readable): void {
    if (name !== this.fileField || this.failure) {
      // Not ours to read; a streamed body still carries it to the upstream unchanged.
      stream.resume();
      return;
    }
    if (this.fileStream) {
      stream.resume();
      this.fail(duplicate(this.fileField));
      return;
    }
    this.fileStream = stream;
    this.payload ??= 'image';
    if (this.mode === 'stream') stream.resume();
    else if (this.mode === 'parts') this.imagePending = this.collect(stream);
    else if (this.entries === undefined) {
      // The file came before `entries`: the route is not known yet, so keep one copy (the parsed
      // one) rather than the raw bytes and the parsed bytes both.
      this.dropRaw();
      this.imagePending = this.collect(stream);
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
    if (this.failure) return;
    this.partsWaiter?.resolve({ entries: this.entries, image: this.image, text: this.text });
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

  /** Gathers the file as it arrives: never a buffer of the size the client declared, only of what came. */
  private async collect(stream: Readable): Promise<void> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (this.failure) continue;
      if (!this.memory.take(chunk.length)) {
        this.fail(this.memoryFull());
        continue;
      }
      chunks.push(chunk);
      length += chunk.length;
    }
    if (!this.failure) this.image = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
  }

  private dropRaw(): void {
    this.raw?.release();
    this.raw = undefined;
  }

  private oversize(): HttpError {
    const error = tooLarge(
      `the request body is over the limit of ${this.options.maxUploadBytes} bytes (MAX_UPLOAD_BYTES)`,
    );
    // The rest of the body is never read: the answer ends the connection.
    error.headers.Connection = 'close';
    return error;
  }

  private stopReading(): void {
    this.stopped = true;
    this.request.off('data', this.onData);
    this.request.pause();
  }

  private memoryFull(): HttpError {
    return busy(
      `the service is busy: uploads held in memory are at the limit of ${this.options.memory.capacity} bytes ` +
        '(UPLOAD_MEMORY_BYTES); retry shortly',
    );
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.raw?.fail(error);
    this.fileStream?.resume();
    this.headWaiter?.reject(error);
    this.partsWaiter?.reject(error);
    this.headWaiter = this.partsWaiter = undefined;
    this.rejectFailed(error);
    this.dropRaw();
    this.image = undefined;
    this.memory.release();
    if (this.request.complete) return;
    // Over the limit: stop here (the 413 closes the connection). Otherwise read the rest and throw it away.
    if (error instanceof HttpError && error.headers.Connection === 'close') this.stopReading();
    else this.request.resume();
  }
}

/** The client closed the connection before its request was complete: there is nobody to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the request was complete');
    this.name = 'ClientGoneError';
  }
}

const duplicate = (name: string) => badRequest(`the "${name}" field was sent more than once`);

const fieldName = (name: string) => name.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
