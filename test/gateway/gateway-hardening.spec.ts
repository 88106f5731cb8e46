import type { LoggerService } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { gatewayConfig, gatewayRoute, loadGatewayConfig, type GatewayConfig } from '../../src/config/gateway.config';
import { createGatewayApp } from '../../src/gateway/create-gateway-app';
import { accessLine } from '../../src/gateway/gateway-metrics';
import { inferenceConfig } from '../../src/config/inference.config';
import { createInferenceApp } from '../../src/inference/http/inference-app';
import { writeTestClipModel } from '../support/clip-model-gen';
import { CLIP_TEXTUAL, FACE_ENTRIES, OCR_ENTRIES } from '../support/immich-entries';
import { rawRequest } from '../support/raw-http';
import {
  closedPort,
  json,
  predict,
  startGateway,
  startServer,
  waitFor,
  type GatewayUnderTest,
  type TestServer,
} from './support/servers';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FACE_ANSWER = { 'facial-recognition': [], imageHeight: 1, imageWidth: 1 };
const image = Buffer.from('a stand-in image: the upstream answers whatever it is');

/** Captures what the app logs, per context, so a test can read the access log and the warnings. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, context?: string) {
    this.lines.push(`${context ?? ''} ${String(message)}`);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.lines.push(`error ${String(message)} ${rest.join(' ')}`);
  }
  warn(message: unknown, context?: string) {
    this.lines.push(`${context ?? ''} ${String(message)}`);
  }
}

describe('gateway hardening', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function upstream(handler: Parameters<typeof startServer>[0] = (_r, res) => json(res, 200, FACE_ANSWER)) {
    const server = await startServer(handler);
    cleanup.push(() => server.close());
    return server;
  }

  async function gateway(config: GatewayConfig, logger?: LoggerService): Promise<GatewayUnderTest> {
    if (!logger) {
      const started = await startGateway(config);
      cleanup.push(() => started.close());
      return started;
    }
    const app = await createGatewayApp(config, { logger });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    cleanup.push(() => app.close());
    return { app, url, close: () => app.close() };
  }

  const to = (urls: string[], overrides: Partial<GatewayConfig> = {}) =>
    gatewayConfig({
      routes: { only: gatewayRoute(urls) },
      tasks: { default: 'only' },
      health: { intervalMs: 0, timeoutMs: 500 },
      ...overrides,
    });

  it('never allocates a buffer of the size a client declares, only of what arrived', async () => {
    const faces = await upstream();
    const gw = await gateway(to([faces.url], { maxUploadBytes: 50 * 1024 * 1024 }));
    const before = process.memoryUsage().arrayBuffers;
    // Ten requests each declaring 40 MB, sending 64 KB of image before `entries` (so the gateway must
    // parse and hold the image), then stalling.
    const head =
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
      `Content-Length: ${40 * 1024 * 1024}`;
    const part = '--b\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n\r\n';
    const stalled = Array.from({ length: 10 }, () =>
      rawRequest(gw.url, { head, body: [part, Buffer.alloc(64 * 1024, 1)], timeoutMs: 1_500 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const grown = process.memoryUsage().arrayBuffers - before;
    await Promise.all(stalled);
    // Allocating the declared size would be 400 MB; what arrived is 640 KB.
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });

  it('sends URL credentials as Basic auth and shows them nowhere: not in errors, metrics or logs', async () => {
    const faces = await upstream();
    const logger = new CapturingLogger();
    const withSecret = faces.url.replace('http://', 'http://immich:s3cret%21@');
    const gw = await gateway({ ...to([withSecret]), accessLog: true }, logger);
    expect((await predict(gw.url, FACE_ENTRIES, { image })).status).toBe(200);
    expect(faces.received[0].headers.authorization).toBe(`Basic ${Buffer.from('immich:s3cret!').toString('base64')}`);

    const down = (await closedPort()).replace('http://', 'http://immich:s3cret%21@');
    const failing = await gateway(
      { ...to([down], { health: { intervalMs: 50, timeoutMs: 500 } }), accessLog: true },
      logger,
    );
    const refused = await predict(failing.url, FACE_ENTRIES, { image });
    expect(refused.status).toBe(502);
    await waitFor(() => logger.lines.some((line) => /is down/.test(line)));
    const metrics =
      (await (await fetch(`${gw.url}/metrics`)).text()) + (await (await fetch(`${failing.url}/metrics`)).text());
    for (const text of [refused.text, metrics, ...logger.lines]) expect(text).not.toMatch(/s3cret/);
    // The config's own messages hide it too.
    expect(() => loadGatewayConfig({ IMMICH_API: 'http://immich:s3cret@host:3003?x=1' })).toThrow(/\/\/\*\*\*@host/);
  });

  it('names no internal address in an error body, only the task, route and upstream position', async () => {
    const down = await closedPort();
    const gw = await gateway(to([down]));
    const response = await predict(gw.url, FACE_ENTRIES, { image });
    expect(response.body).toEqual({ error: 'facial-recognition: upstream only#1 refused the connection' });
    expect(response.text).not.toContain('127.0.0.1');
  });

  it('logs the model each task asked for, and escapes client strings so no line can be forged', async () => {
    const faces = await upstream();
    const logger = new CapturingLogger();
    const gw = await gateway({ ...to([faces.url]), accessLog: true }, logger);
    await predict(gw.url, OCR_ENTRIES, { image });
    const forged = { 'x\nGatewayAccess POST /predict clip 200': { m: { modelName: 'evil"\r\nname' } } };
    await predict(gw.url, forged, { image });
    const access = logger.lines.filter((line) => line.startsWith('GatewayAccess'));
    expect(access).toHaveLength(2);
    expect(access[0]).toMatch(/^GatewayAccess POST \/predict ocr\[PP-OCRv5_mobile\] http:\/\/127\.0\.0\.1:\d+ 200 /);
    expect(access[1]).not.toMatch(/[\r\n]/);
    expect(access[1]).toContain('"x\\u000aGatewayAccess POST /predict clip 200"["evil\\"\\u000d\\u000aname"]');
    expect(accessLine({ tasks: [], upstreams: [], status: 400, ms: 1 })).toBe('POST /predict - - 400 1.0ms -');
  });

  it('labels metrics with known task names only, and refuses more than 8 tasks without calling anyone', async () => {
    const faces = await upstream();
    const gw = await gateway(to([faces.url]));
    await predict(gw.url, { 'made-up-task-1': { m: { modelName: 'x' } } }, { image });
    await predict(gw.url, { 'made-up-task-2': { m: { modelName: 'x' } } }, { image });
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`t${i}`, { m: { modelName: 'x' } }]));
    const refused = await predict(gw.url, many, { image });
    expect(refused.status).toBe(422);
    expect(faces.received).toHaveLength(2);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('gateway_requests_total{tasks="other",status="200"} 2');
    expect(metrics).not.toContain('made-up');
  });

  it('refuses a field sent twice with 400, as the inference service does', async () => {
    const faces = await upstream();
    const gw = await gateway(to([faces.url]));
    const form = new FormData();
    form.append('entries', JSON.stringify(CLIP_TEXTUAL));
    form.append('entries', JSON.stringify(FACE_ENTRIES));
    form.append('text', 'x');
    const response = await fetch(`${gw.url}/predict`, { method: 'POST', body: form });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'the "entries" field was sent more than once' });
    expect(faces.received).toHaveLength(0);
  });

  it('closes within SHUTDOWN_TIMEOUT_MS on shutdown, even with a request stuck on its upstream', async () => {
    const stuck: TestServer = await upstream(
      (_request, res) => new Promise<void>((resolve) => res.once('close', resolve)),
    );
    const app = await createGatewayApp(
      { ...to([stuck.url]), accessLog: false, shutdownTimeoutMs: 300 },
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const inFlight = predict(url, FACE_ENTRIES, { image }).then(
      (response) => response.status,
      () => 'connection closed',
    );
    await waitFor(() => stuck.received.length === 1);
    // The upstream holds the request forever: close() returning shows it gave up after its deadline.
    await app.close();
    expect(await inFlight).toBe('connection closed');
  });
});

describe('gateway started before the inference service (no 503 window)', () => {
  it('answers 200 to the first request sent the moment the service answers /ping', async () => {
    const clipRoot = await mkdtemp(join(tmpdir(), 'gateway-first-'));
    await writeTestClipModel(clipRoot);
    const port = Number(new URL(await closedPort()).port);
    const faces = await startServer((_r, res) => json(res, 200, FACE_ANSWER));
    // The defaults Immich's compose runs with: checks every 5 s.
    const gw = await startGateway(
      gatewayConfig({
        routes: { inference: gatewayRoute([`http://127.0.0.1:${port}`]), immich: gatewayRoute([faces.url]) },
        tasks: { clip: 'inference', ocr: 'inference', default: 'immich' },
      }),
    );
    const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
    await waitFor(async () => (await metrics()).includes(`upstream="http://127.0.0.1:${port}"} 0`));

    const inference = await createInferenceApp(
      inferenceConfig({
        host: '127.0.0.1',
        port,
        threads: 1,
        tasks: ['clip'],
        clip: { root: clipRoot, modelName: 'ViT-B-16' },
      }),
      { logger: false },
    );
    try {
      await inference.listen(port, '127.0.0.1');
      expect((inference.getHttpServer().address() as AddressInfo).port).toBe(port);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.ok === true);
      const first = await predict(gw.url, CLIP_TEXTUAL, { text: '红色' });
      expect(first.status).toBe(200);
      expect(JSON.parse((first.body as { clip: string }).clip)).toHaveLength(512);
    } finally {
      await gw.close();
      await inference.close();
      await faces.close();
      await rm(clipRoot, { recursive: true, force: true });
    }
  });
});
