import { INestApplication } from '@nestjs/common';
import { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { GatewayConfig } from '../../../src/config/gateway.config';
import { createGatewayApp } from '../../../src/gateway/create-gateway-app';

/** A request an upstream in a test received, body included. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TestServer {
  url: string;
  port: number;
  server: Server;
  received: Received[];
  close(): Promise<void>;
}

type Handler = (request: Received, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

/**
 * A small real HTTP server on loopback that reads each whole request, records it, then calls `handler`.
 * `GET /ping` answers `pong` and is not recorded, like a healthy upstream, unless `ownPing` is set.
 */
export async function startServer(
  handler: Handler,
  options: { port?: number; ownPing?: boolean } = {},
): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    if (!options.ownPing && req.method === 'GET' && req.url === '/ping') {
      res.end('pong');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(request);
      void (async () => handler(request, res, req))().catch((error: Error) => {
        res.statusCode = 599;
        res.end(error.message);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    server,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A port with nothing listening on it: connections are refused. */
export async function closedPort(): Promise<string> {
  const server = await startServer(() => undefined);
  await server.close();
  return server.url;
}

export interface GatewayUnderTest {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig): Promise<GatewayUnderTest> {
  const app = await createGatewayApp({ ...config, accessLog: false }, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}

/** Posts a form the way Immich v2.4.1 does: `entries` first, then `image` as a Blob (filename "blob") or `text`. */
export async function predict(
  url: string,
  entries: unknown,
  payload: { image?: Buffer; text?: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const form = new FormData();
  form.append('entries', typeof entries === 'string' ? entries : JSON.stringify(entries));
  if (payload.image) form.append('image', new Blob([new Uint8Array(payload.image)]));
  if (payload.text !== undefined) form.append('text', payload.text);
  const response = await fetch(`${url}/predict`, { method: 'POST', body: form, headers });
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the test looks at `text`
  }
  return { status: response.status, body, text, headers: response.headers };
}

/** Splits a multipart body into its parts (name, filename, bytes), for checking what an upstream got. */
export function parseMultipart(
  headers: IncomingHttpHeaders,
  body: Buffer,
): Array<{ name: string; filename?: string; data: Buffer }> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(headers['content-type'] ?? '');
  if (!boundary) throw new Error(`no boundary in ${headers['content-type']}`);
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: Array<{ name: string; filename?: string; data: Buffer }> = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString();
    parts.push({
      name: /name="([^"]*)"/.exec(head)?.[1] ?? '',
      filename: /filename="([^"]*)"/.exec(head)?.[1],
      data: part.subarray(split + 4),
    });
    start = next;
  }
  return parts;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` is true, failing after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A multipart body built by hand, byte for byte what Immich's undici FormData sends, with a known boundary. */
export function immichBody(
  entries: unknown,
  payload: { image?: Buffer; text?: string },
  boundary = 'formdata-undici-0123456789',
) {
  const chunks: Buffer[] = [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${JSON.stringify(entries)}\r\n`,
    ),
  ];
  if (payload.image) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      payload.image,
      Buffer.from('\r\n'),
    );
  }
  if (payload.text !== undefined) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${payload.text}\r\n`));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** Posts raw bytes with the given content type. */
export async function postRaw(
  url: string,
  contentType: string | undefined,
  body: Buffer | string,
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const response = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: contentType ? { 'content-type': contentType } : {},
    body,
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}
