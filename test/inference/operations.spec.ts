import { Agent, request } from 'node:http';
import type { HealthResponse } from '../../src/inference/http/health.controller';
import type { MlErrorBody, OcrResponse } from '../../src/shared/wire/immich-ml';
import { ocrFixture } from '../support/fixtures';
import { GatedReader, gatedEngines } from '../support/gated-reader';
import {
  API_KEY,
  emptyDir,
  immichEntries,
  immichForm,
  predict,
  readJson,
  solidJpeg,
  startApp,
  testClipRoot,
  type RunningApp,
} from './helpers';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function metric(url: string, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found === undefined ? undefined : Number(found.split(' ').pop());
}

describe('bounded concurrency and queue', () => {
  let server: RunningApp;
  const reader = new GatedReader();

  beforeAll(async () => {
    server = await startApp({ tasks: ['ocr'], ocrWorkers: 1, queueSize: 1 }, { engines: gatedEngines(reader) });
  });
  afterAll(async () => {
    reader.release();
    await server.close();
  });

  it('runs one, queues one, refuses the next with 503 + Retry-After, then serves the queued one', async () => {
    const image = await solidJpeg([255, 255, 255]);
    const send = () => predict(server.url, immichForm(immichEntries.ocr(), { image }));
    const first = send();
    await until(() => reader.started === 1);
    const second = send();
    await until(async () => (await metric(server.url, /^inference_queue_depth{kind="ocr"} /)) === 1);

    const third = await send();
    expect(third.status).toBe(503);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await readJson(third)).toEqual({ error: expect.stringMatching(/busy/) });
    expect(await metric(server.url, /^inference_rejected_total{kind="ocr"} /)).toBe(1);
    expect(await metric(server.url, /^inference_in_flight{kind="ocr"} /)).toBe(1);

    reader.release();
    await until(() => reader.started === 2);
    reader.release();
    for (const response of [await first, await second]) {
      expect(response.status).toBe(200);
      expect((await readJson<OcrResponse>(response)).ocr.text).toEqual(['gated']);
    }
    expect(await metric(server.url, /^inference_queue_depth{kind="ocr"} /)).toBe(0);
  });

  it('gives up the queue place of a client that hung up', async () => {
    const image = await solidJpeg([255, 255, 255]);
    const before = reader.started;
    const running = predict(server.url, immichForm(immichEntries.ocr(), { image }));
    await until(() => reader.started === before + 1);
    const abort = new AbortController();
    const queued = fetch(`${server.url}/predict`, {
      method: 'POST',
      body: immichForm(immichEntries.ocr(), { image }),
      signal: abort.signal,
    }).catch(() => undefined);
    await until(async () => (await metric(server.url, /^inference_queue_depth{kind="ocr"} /)) === 1);
    abort.abort();
    await queued;
    await until(async () => (await metric(server.url, /^inference_queue_depth{kind="ocr"} /)) === 0);
    reader.release();
    expect((await running).status).toBe(200);
    // The abandoned request never reached the model.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reader.started).toBe(before + 1);
  });
});

describe('a queue per kind of task', () => {
  it('answers CLIP and /ping while every OCR slot and queue place is taken', async () => {
    const reader = new GatedReader();
    const clip = await testClipRoot();
    const server = await startApp(
      { ocrWorkers: 1, queueSize: 1, clip: { root: clip.root, modelName: 'ViT-B-16' } },
      { engines: gatedEngines(reader) },
    );
    try {
      const image = await solidJpeg([255, 255, 255]);
      const ocr = [1, 2].map(() => predict(server.url, immichForm(immichEntries.ocr(), { image })));
      await until(async () => (await metric(server.url, /^inference_queue_depth{kind="ocr"} /)) === 1);
      const full = await predict(server.url, immichForm(immichEntries.ocr(), { image }));
      expect(full.status).toBe(503);

      // OCR is full and stuck; CLIP has its own queue, so it is served now.
      const text = await predict(server.url, immichForm(immichEntries.clipTextual(), { text: '红色' }));
      expect(text.status).toBe(200);
      const visual = await predict(server.url, immichForm(immichEntries.clipVisual(), { image }));
      expect(visual.status).toBe(200);
      expect(await (await fetch(`${server.url}/ping`)).text()).toBe('pong');
      expect(reader.started).toBe(1);

      reader.release();
      await until(() => reader.started === 2);
      reader.release();
      expect((await Promise.all(ocr)).map((r) => r.status)).toEqual([200, 200]);
    } finally {
      reader.release();
      await server.close();
      await clip.remove();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes the request in flight, refuses new connections, then releases the models', async () => {
    const reader = new GatedReader();
    const server = await startApp({ tasks: ['ocr'] }, { engines: gatedEngines(reader) });
    const image = await solidJpeg([255, 255, 255]);
    const inFlight = predict(server.url, immichForm(immichEntries.ocr(), { image }));
    await until(() => reader.started === 1);

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    await expect(fetch(`${server.url}/ping`)).rejects.toThrow();

    reader.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect((await readJson<OcrResponse>(response)).ocr.text).toEqual(['gated']);
    await closing;
    expect(reader.closed).toBe(true);
    const httpServer = server.app.getHttpServer();
    const open = await new Promise<number>((resolve) => httpServer.getConnections((_e, n) => resolve(n)));
    expect(open).toBe(0);
  });
});

describe('200 concurrent requests on real models', () => {
  let server: RunningApp;
  let clip: Awaited<ReturnType<typeof testClipRoot>>;
  // No keep-alive: every socket must be closed by the time its answer is read, so a leak shows.
  const agent = new Agent({ keepAlive: false, maxSockets: 1000 });

  beforeAll(async () => {
    clip = await testClipRoot();
    server = await startApp({ clip: { root: clip.root, modelName: 'ViT-B-16' }, queueSize: 8 });
  });
  afterAll(async () => {
    agent.destroy();
    await server.close();
    await clip.remove();
  });

  async function post(form: FormData): Promise<{ status: number; retryAfter?: string; body: unknown }> {
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    return new Promise((resolve, reject) => {
      const req = request(`${server.url}/predict`, {
        method: 'POST',
        agent,
        headers: { 'content-type': encoded.headers.get('content-type')!, 'content-length': body.length },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            retryAfter: res.headers['retry-after'],
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        );
      });
      req.end(body);
    });
  }

  it('answers every one with a result, a 503 to retry, or the right error; no crash, no socket left', async () => {
    const images = await Promise.all([solidJpeg([200, 30, 30]), solidJpeg([30, 200, 30], 120, 90)]);
    const junk = Buffer.from('not an image');
    const small = ocrFixture('f04');
    const forms = Array.from({ length: 200 }, (_, i) => {
      if (i % 10 === 9) return { kind: 'junk', form: immichForm(immichEntries.clipVisual(), { image: junk }) };
      if (i % 25 === 0) return { kind: 'ocr', form: immichForm(immichEntries.ocr(), { image: small }) };
      if (i % 2 === 0)
        return { kind: 'visual', form: immichForm(immichEntries.clipVisual(), { image: images[(i % 4) >> 1] }) };
      return { kind: 'textual', form: immichForm(immichEntries.clipTextual(), { text: `照片 ${i}` }) };
    });
    const results = await Promise.all(forms.map(async ({ kind, form }) => ({ kind, ...(await post(form)) })));

    for (const result of results) {
      if (result.kind === 'junk') expect(result.status).toBe(415);
      else if (result.status === 503) expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
      else {
        expect(result.status).toBe(200);
        expect(result.body).toHaveProperty(result.kind === 'ocr' ? 'ocr' : 'clip');
      }
    }
    const served = results.filter((r) => r.status === 200).length;
    expect(served).toBeGreaterThanOrEqual(10);

    const httpServer = server.app.getHttpServer();
    const connections = () => new Promise<number>((resolve) => httpServer.getConnections((_e, n) => resolve(n)));
    await until(async () => (await connections()) === 0);
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });
});

/** /health once no model is still loading. */
async function waitForHealth(url: string): Promise<HealthResponse> {
  for (;;) {
    const health = await readJson<HealthResponse>(await fetch(`${url}/health`));
    if (health.status !== 'loading') return health;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('/health and /metrics', () => {
  it('PRELOAD (default: OCR) opens OCR at start: /health says loading until it is ready, and a photo sent meanwhile waits for it', async () => {
    const reader = new GatedReader();
    let opened!: () => void;
    const opening = new Promise<void>((resolve) => (opened = resolve));
    const server = await startApp(
      { preload: ['ocr'], tasks: ['ocr'] },
      { engines: { ...gatedEngines(reader), openOcr: () => opening.then(() => reader) } },
    );
    try {
      const loading = await fetch(`${server.url}/health`);
      expect(loading.status).toBe(503);
      expect(await readJson<HealthResponse>(loading)).toEqual({
        status: 'loading',
        models: [expect.objectContaining({ model: 'ocr', state: 'loading', loadable: true })],
      });
      const answer = predict(server.url, immichForm(immichEntries.ocr(), { image: ocrFixture('f04') }));
      opened();
      expect(await waitForHealth(server.url)).toEqual({
        status: 'ok',
        models: [expect.objectContaining({ model: 'ocr', state: 'ready' })],
      });
      while (reader.started === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      reader.release();
      expect((await answer).status).toBe(200);
    } finally {
      reader.release();
      await server.close();
    }
  });

  it('is unavailable while CLIP is missing, naming the file, and ready once it is installed', async () => {
    const root = await emptyDir();
    const server = await startApp({ clip: { root: root.dir, modelName: 'ViT-B-16' } });
    try {
      const response = await fetch(`${server.url}/health`);
      expect(response.status).toBe(503);
      const body = await readJson<HealthResponse>(response);
      expect(body.status).toBe('unavailable');
      expect(body.models.map((m) => m.model)).toEqual(['ocr', 'clip_image', 'clip_text']);
      expect(body.models[0]).toMatchObject({ model: 'ocr', loadable: true, state: 'unloaded' });
      expect(body.models[1]).toMatchObject({
        loadable: false,
        error: expect.stringContaining('vit-b-16.img.fp32.onnx'),
      });

      // Files put in place after start are picked up without a restart.
      const { writeTestClipModel } = await import('../support/clip-model-gen');
      await writeTestClipModel(root.dir);
      const ready = await fetch(`${server.url}/health`);
      expect(ready.status).toBe(200);
      expect((await readJson<HealthResponse>(ready)).status).toBe('ok');
    } finally {
      await server.close();
      await root.remove();
    }
  });

  it('with TASKS=ocr needs only OCR, and refuses CLIP with 422', async () => {
    const root = await emptyDir();
    const server = await startApp({ tasks: ['ocr'], clip: { root: root.dir, modelName: 'ViT-B-16' } });
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      const response = await predict(server.url, immichForm(immichEntries.clipTextual(), { text: 'x' }));
      expect(response.status).toBe(422);
      expect((await readJson<MlErrorBody>(response)).error).toMatch(/TASKS=ocr/);
    } finally {
      await server.close();
      await root.remove();
    }
  });

  it('PRELOAD loads at start; metrics count requests, task latency, queue depth and load time', async () => {
    const clip = await testClipRoot();
    const server = await startApp({
      preload: ['clip'],
      tasks: ['clip'],
      clip: { root: clip.root, modelName: 'ViT-B-16' },
    });
    try {
      const health = await waitForHealth(server.url);
      expect(health.models).toEqual([
        expect.objectContaining({
          model: 'clip_image',
          state: 'ready',
          device: 'cpu',
          loadSeconds: expect.any(Number),
        }),
        expect.objectContaining({ model: 'clip_text', state: 'ready', device: 'cpu' }),
      ]);
      const served = await predict(server.url, immichForm(immichEntries.clipTextual(), { text: 'sky' }));
      // The service's own account of the request, for clients that want to tell service time apart.
      expect(served.headers.get('server-timing')).toMatch(/^queue;dur=[\d.]+, clip_textual;dur=[\d.]+$/);
      await predict(server.url, immichForm(immichEntries.clipTextual('ViT-L-14__openai'), { text: 'sky' }));

      const response = await fetch(`${server.url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/inference_http_requests_total\{method="POST",route="\/predict",status="200"\} 1/);
      expect(text).toMatch(/inference_http_requests_total\{method="POST",route="\/predict",status="422"\} 1/);
      expect(text).toMatch(/inference_task_duration_seconds_count\{task="clip_textual",outcome="ok"\} 1/);
      expect(text).toMatch(/inference_http_request_duration_seconds_bucket\{le="[\d.]+",route="\/predict"\}/);
      expect(text).toMatch(/^inference_queue_depth{kind="clip"} 0$/m);
      expect(text).toMatch(/inference_model_load_seconds\{model="clip_image",device="cpu"\} [\d.e-]+/);
    } finally {
      await server.close();
      await clip.remove();
    }
  });
});

describe('DEVICE=cuda without a GPU', () => {
  it('falls back to CPU and /check reports the device really in use', async () => {
    const server = await startApp({ device: 'cuda', tasks: ['ocr'], apiAuthKey: API_KEY }, { logger: false });
    try {
      const response = await fetch(`${server.url}/check`, { method: 'POST', headers: { 'api-key': API_KEY } });
      expect(await readJson(response)).toMatchObject({ result: 'pass', device: 'cpu' });
    } finally {
      await server.close();
    }
  });
});
