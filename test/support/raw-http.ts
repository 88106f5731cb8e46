import { connect, type Socket } from 'node:net';

/** What came back on a raw connection, and how much of the request got out before it did. */
export interface RawExchange {
  /** The response's status code; undefined if the server closed without answering. */
  status?: number;
  /** Headers (lower-case names) and body of the response. */
  headers: Record<string, string>;
  body: string;
  /** Request body bytes written to the socket before the answer (or the close) came. */
  sentBeforeAnswer: number;
  /** Request body bytes written in all. */
  sent: number;
  /** The server ended or reset the connection (rather than the client). */
  closedByServer: boolean;
}

export interface RawRequest {
  /** Request line and headers, without the blank line that ends them. */
  head: string;
  /** Send the blank line that ends the headers (default); off: the body chunks carry the rest. */
  endHead?: boolean;
  /** Body chunks, written one after another (each once the previous one is flushed). */
  body?: Iterable<Buffer | string>;
  /** Pause between body chunks (a slow client). */
  delayMs?: number;
  /** Give up (and close) after this long. */
  timeoutMs?: number;
  /** Connect from this loopback address (127.0.0.2, ...): another client host, as the server sees it. */
  localAddress?: string;
}

/**
 * One HTTP/1.1 request over a plain socket, so a test controls every byte and its timing: a body
 * that never ends, a byte per second, a Content-Length that lies. Resolves when the server has
 * answered and closed, or closed without answering, or after `timeoutMs`.
 */
export function rawRequest(url: string, request: RawRequest): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket: Socket = connect({ port: Number(port), host: hostname, localAddress: request.localAddress });
    let received = '';
    let sent = 0;
    let sentBeforeAnswer: number | undefined;
    let closedByServer = false;
    let stopped = false;
    const timer = setTimeout(() => finish(), request.timeoutMs ?? 10_000);

    const finish = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      socket.destroy();
      const [head, ...rest] = received.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1];
      const headers = Object.fromEntries(
        lines.slice(1).map((line) => {
          const at = line.indexOf(':');
          return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
        }),
      );
      resolve({
        status: status ? Number(status) : undefined,
        headers,
        body: rest.join('\r\n\r\n'),
        sentBeforeAnswer: sentBeforeAnswer ?? sent,
        sent,
        closedByServer,
      });
    };

    socket.on('data', (chunk: Buffer) => {
      sentBeforeAnswer ??= sent;
      received += chunk.toString('latin1');
    });
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('error', () => {
      // A reset while we were still writing: the server closed on us.
      closedByServer = true;
      finish();
    });
    socket.on('close', () => finish());

    socket.once('connect', async () => {
      socket.write(request.endHead === false ? request.head : `${request.head}\r\n\r\n`);
      for (const chunk of request.body ?? []) {
        if (stopped || socket.destroyed) return;
        if (request.delayMs) await new Promise((r) => setTimeout(r, request.delayMs));
        if (stopped || socket.destroyed) return;
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        await new Promise<void>((done) => socket.write(buffer, () => done()));
        sent += buffer.length;
      }
    });
  });
}

/** `count` chunks of `size` bytes, made lazily. */
export function* chunksOf(size: number, count: number, fill = 0x41): Generator<Buffer> {
  for (let i = 0; i < count; i++) yield Buffer.alloc(size, fill);
}

/** An HTTP/1.1 chunked-encoding frame around `data`; `last` also ends the body. */
export const chunkFrame = (data: Buffer | string, last = false): Buffer => {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const frame = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
  return last ? Buffer.concat([frame, Buffer.from('0\r\n\r\n')]) : frame;
};

/** The start of the multipart body Immich sends: `entries`, then the header of an `image` part. */
export function multipartHead(entries: unknown, boundary = 'b'): string {
  return (
    `--${boundary}\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${JSON.stringify(entries)}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n'
  );
}
