import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import type { HttpServerSettings } from '../../src/shared/http/server-settings';
import { WIRE_LIMITS } from '../../src/shared/wire/limits';
import { GatedReader, gatedEngines } from '../support/gated-reader';
import { OCR_ENTRIES } from '../support/immich-entries';
import { chunkFrame, multipartHead, rawRequest } from '../support/raw-http';
import { startApp, solidJpeg } from '../inference/helpers';
import { startGateway, startServer, json, waitFor, type TestServer } from '../gateway/support/servers';

/**
 * The same hostile and unlucky clients against both services, on real servers over loopback: a
 * Content-Length over the limit, a chunked body that never stops, a client that sends a byte at a
 * time, more connections than allowed, uploads that together exceed the memory cap. Both must answer
 * with the same statuses, and cut the client off rather than keep reading.
 */

const LIMIT = 256 * 1024;
const MEMORY = 300 * 1024;
const HTTP: HttpServerSettings = {
  headersTimeoutMs: 500,
  uploadTimeoutMs: 1_000,
  keepAliveTimeoutMs: 1_000,
  maxConnections: 4,
};

interface Service {
  url: string;
  /** Lets the requests held in the model (inference) or at the upstream (gateway) finish. */
  release(): void;
  close(): Promise<void>;
}

async function inferenceService(): Promise<Service> {
  const reader = new GatedReader();
  const app = await startApp(
    { tasks: ['ocr'], ocrWorkers: 1, queueSize: 4, maxUploadBytes: LIMIT, uploadMemoryBytes: MEMORY, http: HTTP },
    { engines: gatedEngines(reader) },
  );
  return {
    url: app.url,
    release: () => reader.release(),
    close: async () => {
      reader.release();
      await app.close();
    },
  };
}

async function gatewayService(): Promise<Service> {
  // An Immich-protocol upstream that holds every answer until released.
  const held: Array<() => void> = [];
  const upstream: TestServer = await startServer(
    (_request, res) => new Promise<void>((resolve) => held.push(() => resolve(json(res, 200, { ocr: {} })))),
  );
  const gateway = await startGateway(
    gatewayConfig({
      routes: { only: gatewayRoute([upstream.url]) },
      tasks: { default: 'only' },
      health: { intervalMs: 0, timeoutMs: 500 },
      maxUploadBytes: LIMIT,
      uploadMemoryBytes: MEMORY,
      http: HTTP,
    }),
  );
  return {
    url: gateway.url,
    release: () => held.splice(0).forEach((answer) => answer()),
    close: async () => {
      held.splice(0).forEach((answer) => answer());
      await gateway.close();
      await upstream.close();
    },
  };
}

const multipartType = 'multipart/form-data; boundary=b';
const post = (extra: string) => `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: ${multipartType}\r\n${extra}`;
const errorOf = (body: string) => (JSON.parse(body) as { error: string }).error;

describe.each([
  ['inference service', inferenceService],
  ['gateway', gatewayService],
])('%s: bounded requests', (_name, start) => {
  let service: Service;
  beforeAll(async () => {
    service = await start();
  });
  afterAll(() => service.close());

  it('refuses a Content-Length over the limit from the header: 413 before one body byte is sent', async () => {
    const answer = await rawRequest(service.url, { head: post(`Content-Length: ${LIMIT * 4}`) });
    expect(answer.status).toBe(413);
    expect(errorOf(answer.body)).toMatch(/over the limit of 262144 bytes \(MAX_UPLOAD_BYTES\)/);
    expect(answer.headers.connection).toBe('close');
    expect(answer.sent).toBe(0);
    expect(answer.closedByServer).toBe(true);
  });

  it('stops reading a chunked body as it crosses the limit: 413, connection closed, the rest never read', async () => {
    const total = 64 * 1024 * 1024;
    const frames = function* () {
      yield chunkFrame(multipartHead(OCR_ENTRIES));
      for (let sent = 0; sent < total; sent += 64 * 1024) yield chunkFrame(Buffer.alloc(64 * 1024, 0x41));
    };
    const answer = await rawRequest(service.url, { head: post('Transfer-Encoding: chunked'), body: frames() });
    expect(answer.status).toBe(413);
    expect(answer.closedByServer).toBe(true);
    // Loopback buffers take a few MB; the server read about 256 KB of the 64 MB and hung up.
    expect(answer.sent).toBeLessThan(total / 4);
  });

  it('cuts off a client that sends a byte at a time: 408 with a JSON body, not a wait', async () => {
    const started = Date.now();
    const answer = await rawRequest(service.url, {
      head: post('Content-Length: 400'),
      body: Array.from({ length: 400 }, () => 'x'),
      delayMs: 50,
    });
    expect(answer.status).toBe(408);
    expect(errorOf(answer.body)).toMatch(/did not arrive in time/);
    expect(answer.sent).toBeLessThan(400);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('cuts off a client whose headers trickle in: 408', async () => {
    const answer = await rawRequest(service.url, {
      head: 'POST /predict HTTP/1.1\r\nHost: x\r\n',
      endHead: false,
      body: Array.from({ length: 200 }, () => 'X-Slow: y\r\n'),
      delayMs: 20,
    });
    expect(answer.status).toBe(408);
  });

  it('closes connections beyond MAX_CONNECTIONS as they open', async () => {
    const idle = (ms: number) =>
      rawRequest(service.url, { head: 'GET /ping HTTP/1.1\r\nHost: x', endHead: false, timeoutMs: ms });
    const open = Array.from({ length: HTTP.maxConnections }, () => idle(400));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = await idle(3_000);
    expect(extra.closedByServer).toBe(true);
    expect(extra.status).toBeUndefined();
    await Promise.all(open);
    // The server counts a closed socket out a moment later: wait for a free place before going on.
    await waitFor(async () => (await fetch(`${service.url}/ping`).catch(() => undefined))?.ok === true);
  });

  it('answers an oversized field with 413 and a field sent twice with 400, the same in both', async () => {
    const send = async (fields: Array<[string, string]>) => {
      const form = new FormData();
      for (const [name, value] of fields) form.append(name, value);
      const response = await fetch(`${service.url}/predict`, { method: 'POST', body: form });
      return { status: response.status, error: ((await response.json()) as { error: string }).error };
    };
    const entries = JSON.stringify(OCR_ENTRIES);
    const padded = JSON.stringify({ ...OCR_ENTRIES, pad: 'x'.repeat(WIRE_LIMITS.entriesBytes) });
    expect(
      await send([
        ['entries', padded],
        ['text', 'x'],
      ]),
    ).toEqual({
      status: 413,
      error: 'the "entries" field is over 65536 bytes',
    });
    expect(
      await send([
        ['entries', entries],
        ['entries', entries],
        ['text', 'x'],
      ]),
    ).toEqual({
      status: 400,
      error: 'the "entries" field was sent more than once',
    });
  });

  it('reads the rest of a body it refused within the limit, so the answer arrives on a connection kept open', async () => {
    const entries = JSON.stringify(OCR_ENTRIES);
    const head =
      `--b\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${entries}\r\n` +
      `--b\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${entries}\r\n` +
      '--b\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n\r\n';
    const tail = '\r\n--b--\r\n';
    const image = Array.from({ length: 12 }, () => Buffer.alloc(16 * 1024, 1));
    const length = head.length + 12 * 16 * 1024 + tail.length;
    const answer = await rawRequest(service.url, {
      head: post(`Content-Length: ${length}`),
      body: [head, ...image, tail],
      delayMs: 5,
      timeoutMs: 1_500,
    });
    expect(answer.status).toBe(400);
    expect(answer.headers.connection).toBe('keep-alive');
    expect(answer.sent).toBe(length);
    expect(answer.closedByServer).toBe(false);
  });

  it('caps upload bytes held in memory across requests: 503 + Retry-After while the cap is full', async () => {
    // Image before entries: the gateway must parse the form (and hold the image) before it can route.
    const form = (image: Buffer) => {
      const data = new FormData();
      data.append('image', new Blob([new Uint8Array(image)]));
      data.append('entries', JSON.stringify(OCR_ENTRIES));
      return data;
    };
    const image = Buffer.concat([await solidJpeg([200, 200, 200]), Buffer.alloc(200 * 1024)]);
    const first = fetch(`${service.url}/predict`, { method: 'POST', body: form(image) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await fetch(`${service.url}/predict`, { method: 'POST', body: form(image) });
    expect(second.status).toBe(503);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await second.json()) as { error: string }).error).toMatch(/UPLOAD_MEMORY_BYTES/);
    service.release();
    expect((await first).status).toBe(200);
  });
});
