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
  // Every test client is 127.0.0.1; the per-address cap has its own test (test/extension/availability.spec.ts).
  maxConnectionsPerClient: 0,
};

interface Service {
  url: string;
  /** Requests held in the model (inference) or at the upstream (gateway) right now. */
  holding(): number;
  /** Lets the requests held in the model (inference) or at the upstream (gateway) finish. */
  release(): void;
  close(): Promise<void>;
}

async function inferenceService(http = HTTP): Promise<Service> {
  const reader = new GatedReader();
  const app = await startApp(
    { tasks: ['ocr'], ocrWorkers: 1, queueSize: 4, maxUploadBytes: LIMIT, uploadMemoryBytes: MEMORY, http },
    { engines: gatedEngines(reader) },
  );
  return {
    url: app.url,
    holding: () => reader.held,
    release: () => reader.release(),
    close: async () => {
      reader.release();
      await app.close();
    },
  };
}

async function gatewayService(http = HTTP): Promise<Service> {
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
      http,
    }),
  );
  return {
    url: gateway.url,
    holding: () => held.length,
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
    const answer = await rawRequest(service.url, {
      head: post('Content-Length: 400'),
      body: Array.from({ length: 400 }, () => 'x'),
      delayMs: 50,
    });
    expect(answer.status).toBe(408);
    expect(errorOf(answer.body)).toMatch(/did not arrive in time/);
    // Cut off well before the 20 s the whole body would take: most of it was never sent.
    expect(answer.sent).toBeLessThan(400);
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

describe.each([
  ['inference service', inferenceService],
  ['gateway', gatewayService],
])('%s: a full house', (_name, start) => {
  let service: Service;
  beforeAll(async () => {
    // Deadlines far beyond the test, so only the connection limit decides who is closed.
    service = await start({ ...HTTP, headersTimeoutMs: 20_000, uploadTimeoutMs: 30_000 });
  });
  afterAll(() => service.close());

  it('at MAX_CONNECTIONS a newcomer replaces the oldest connection that sent no request, never one waiting for its answer', async () => {
    const form = new FormData();
    form.append('entries', JSON.stringify(OCR_ENTRIES));
    form.append('image', new Blob([new Uint8Array(await solidJpeg([255, 255, 255]))]));
    const held = fetch(`${service.url}/predict`, { method: 'POST', body: form });
    await waitFor(() => service.holding() === 1);
    const silent = () =>
      rawRequest(service.url, { head: 'GET /ping HTTP/1.1\r\nHost: x', endHead: false, timeoutMs: 15_000 });
    const oldest = silent();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const others = [silent(), silent()];
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Four connections: the held request and three silent ones. A fifth client still gets its answer.
    expect((await fetch(`${service.url}/ping`)).status).toBe(200);
    const evicted = await oldest;
    expect(evicted).toMatchObject({ closedByServer: true, status: undefined });
    service.release();
    expect((await held).status).toBe(200);
    // The other silent connections were kept (closed by the client at its own timeout).
    const kept = await Promise.race([
      Promise.all(others),
      new Promise((resolve) => setTimeout(() => resolve('open'), 300)),
    ]);
    expect(kept).toBe('open');
  });
});
