import { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import sharp from 'sharp';
import { GatewayConfig, gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import type { FacialRecognitionResponse } from '../../src/shared/wire/immich-ml';
import {
  GatewayUnderTest,
  closedPort,
  json,
  predict,
  sleep,
  startGateway,
  startServer,
  waitFor,
} from './support/servers';
import { CLIP_VISUAL, FACE_ENTRIES } from '../support/immich-entries';

const FACE_ANSWER: FacialRecognitionResponse = { 'facial-recognition': [], imageHeight: 48, imageWidth: 64 };

const errorOf = (body: unknown) => (body as { error: string }).error;

/** An upstream that takes the request and never answers; it lets go when the gateway hangs up. */
const neverAnswers = (_request: unknown, res: ServerResponse) =>
  new Promise<void>((resolve) => res.once('close', resolve));

describe('gateway faults', () => {
  let image: Buffer;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    image = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#333' } })
      .jpeg()
      .toBuffer();
  });

  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function server(handler: Parameters<typeof startServer>[0], options?: Parameters<typeof startServer>[1]) {
    const started = await startServer(handler, options);
    cleanup.push(() => started.close());
    return started;
  }

  /** A gateway whose every task goes to `upstreams` (Immich protocol). Health checks off unless asked for. */
  async function gatewayTo(
    upstreams: string[],
    overrides: Partial<GatewayConfig> = {},
    route: Parameters<typeof gatewayRoute>[1] = {},
  ): Promise<GatewayUnderTest> {
    const gateway = await startGateway(
      gatewayConfig({
        routes: { only: gatewayRoute(upstreams, route) },
        tasks: { default: 'only' },
        health: { intervalMs: 0, timeoutMs: 500 },
        ...overrides,
      }),
    );
    cleanup.push(() => gateway.close());
    return gateway;
  }

  const answering = () => server((_request, res) => json(res, 200, FACE_ANSWER));

  it('502 naming task, route and upstream (not its address) when the upstream refuses connections', async () => {
    const down = await closedPort();
    const gateway = await gatewayTo([down]);
    const response = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(response.status).toBe(502);
    expect(errorOf(response.body)).toBe('facial-recognition: upstream only#1 refused the connection');
  });

  it('504 when the upstream is slower than its timeout, without waiting for it', async () => {
    const slow = await server(neverAnswers);
    const gateway = await gatewayTo([slow.url], {}, { timeoutMs: 300 });
    // The upstream never answers: any answer at all is one that did not wait for it.
    const response = await predict(gateway.url, CLIP_VISUAL, { image });
    expect(response.status).toBe(504);
    expect(errorOf(response.body)).toBe('clip: upstream only#1 did not answer within 300 ms');
  });

  it('502 with the upstream’s message when it answers 500', async () => {
    const failing = await server((_request, res) => json(res, 500, { detail: 'model exploded' }));
    const gateway = await gatewayTo([failing.url]);
    const response = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(response.status).toBe(502);
    expect(errorOf(response.body)).toBe(
      'facial-recognition: upstream only#1 answered 500: {"detail":"model exploded"}',
    );
  });

  it('502 when the upstream drops the connection', async () => {
    const dropping = await server((_request, res) => {
      res.socket?.destroy();
    });
    const gateway = await gatewayTo([dropping.url]);
    const response = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(response.status).toBe(502);
    expect(errorOf(response.body)).toMatch(/^facial-recognition: upstream only#1 closed the connection/);
    // One upstream: the streamed body was not kept, so there is nothing to send again.
    expect(dropping.received).toHaveLength(1);
  });

  it('passes an upstream 4xx through unchanged (it is a verdict on the request)', async () => {
    const picky = await server((_request, res) => json(res, 422, { detail: 'Invalid request format.' }));
    const gateway = await gatewayTo([picky.url]);
    const response = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail: 'Invalid request format.' });
  });

  it('fails over to the second upstream when the first answers 500 (streamed body sent again)', async () => {
    const failing = await server((_request, res) => json(res, 500, { detail: 'boom' }));
    const healthy = await answering();
    const gateway = await gatewayTo([failing.url, healthy.url]);
    const response = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(response.status).toBe(200);
    expect(response.body).toEqual(FACE_ANSWER);
    expect(failing.received).toHaveLength(1);
    expect(healthy.received).toHaveLength(1);
    expect(healthy.received[0].body.equals(failing.received[0].body)).toBe(true);
  });

  it('fails over to the second upstream when the first refuses connections', async () => {
    const down = await closedPort();
    const healthy = await answering();
    const gateway = await gatewayTo([down, healthy.url]);
    for (let i = 0; i < 3; i++) {
      const response = await predict(gateway.url, FACE_ENTRIES, { image });
      expect(response.status).toBe(200);
    }
    expect(healthy.received).toHaveLength(3);
  });

  it('reports every upstream when all of them fail', async () => {
    const failing = await server((_request, res) => json(res, 503, { detail: 'overloaded' }));
    const down = await closedPort();
    const gateway = await gatewayTo([failing.url, down]);
    const response = await predict(gateway.url, CLIP_VISUAL, { image });
    expect(response.status).toBe(502);
    expect(errorOf(response.body)).toBe(
      'clip: every upstream failed: upstream only#1 answered 503: {"detail":"overloaded"}; ' +
        'upstream only#2 refused the connection',
    );
  });

  it('tries upstreams marked down anyway (panic mode): no 503 window, 200 on the first request once one is back', async () => {
    const down = await closedPort();
    const port = Number(new URL(down).port);
    // Checks every 60 s: only the request itself and the quick re-checks can find the upstream back.
    const gateway = await gatewayTo([down], { health: { intervalMs: 60_000, timeoutMs: 500 } });
    const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();
    await waitFor(async () =>
      (await metrics()).includes(`gateway_upstream_healthy{route="only",upstream="${down}"} 0`),
    );

    const refused = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(refused.status).toBe(502);
    expect(errorOf(refused.body)).toBe('facial-recognition: upstream only#1 refused the connection');

    const back = await server((_request, res) => json(res, 200, FACE_ANSWER), { port });
    const first = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(first.status).toBe(200);
    expect(back.received).toHaveLength(1);
    expect(await metrics()).toContain(`gateway_upstream_healthy{route="only",upstream="${down}"} 1`);
  });

  it('re-checks an upstream that went down within a second, long before the check interval', async () => {
    const down = await closedPort();
    const port = Number(new URL(down).port);
    const gateway = await gatewayTo([down], { health: { intervalMs: 60_000, timeoutMs: 500 } });
    const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();
    await waitFor(async () => (await metrics()).includes(`upstream="${down}"} 0`));
    let pings = 0;
    await server(
      (request, res) => {
        if (request.url === '/ping') pings++;
        res.end('pong');
      },
      { port, ownPing: true },
    );
    // No request is sent: only the backed-off re-checks (100 ms, 200 ms, ...) can find it back.
    await waitFor(async () => (await metrics()).includes(`upstream="${down}"} 1`), 3_000);
    expect(pings).toBeGreaterThanOrEqual(1);
  });

  it('sends requests to the healthy upstream first once checks have found one down', async () => {
    let healthy = true;
    const flapping = await server(
      (request, res) => {
        if (request.url === '/ping') res.writeHead(healthy ? 200 : 500).end(healthy ? 'pong' : 'down');
        else json(res, 200, { ...FACE_ANSWER, from: 'flapping' });
      },
      { ownPing: true },
    );
    const steady = await server((_request, res) => json(res, 200, { ...FACE_ANSWER, from: 'steady' }));
    const gateway = await gatewayTo([flapping.url, steady.url], { health: { intervalMs: 50, timeoutMs: 500 } });

    expect((await predict(gateway.url, FACE_ENTRIES, { image })).body).toMatchObject({ from: 'flapping' });
    healthy = false;
    await waitFor(
      async () => ((await predict(gateway.url, FACE_ENTRIES, { image })).body as { from: string }).from === 'steady',
    );
    const answers = await Promise.all([1, 2, 3].map(() => predict(gateway.url, FACE_ENTRIES, { image })));
    expect(answers.map((answer) => (answer.body as { from: string }).from)).toEqual(['steady', 'steady', 'steady']);
    healthy = true;
    await waitFor(
      async () => ((await predict(gateway.url, FACE_ENTRIES, { image })).body as { from: string }).from === 'flapping',
    );
  });

  it('cuts an upstream that stalls mid-answer instead of hanging', async () => {
    const stalling = await server((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"facial-recognition":[');
    });
    const gateway = await gatewayTo([stalling.url], {}, { timeoutMs: 300 });
    // The upstream never finishes its answer: the request ending at all shows it was cut.
    await expect(predict(gateway.url, FACE_ENTRIES, { image })).rejects.toThrow();
  });

  it('answers 408, not 504, when the client stops sending before its request is complete', async () => {
    const healthy = await answering();
    const gateway = await gatewayTo([healthy.url], { requestTimeoutMs: 300 });
    const { port } = new URL(gateway.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n' +
            '--b\r\nContent-Disposition: form-data; name="entries"\r\n\r\n{"clip":{"visual":{"modelName":"m"}}}\r\n' +
            '--b\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n\r\n' +
            'part of an image',
        );
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('"}')) socket.destroy();
      });
      const giveUp = setTimeout(() => socket.destroy(), 3_000);
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve(text);
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(answer).toContain('the request did not arrive within 300 ms (REQUEST_TIMEOUT_MS)');
  });

  it('504 when the request deadline passes while a split request waits on its upstreams', async () => {
    const slow = await server(neverAnswers);
    const gateway = await startGateway(
      gatewayConfig({
        routes: { inference: gatewayRoute([slow.url]), immich: gatewayRoute([slow.url]) },
        tasks: { clip: 'inference', default: 'immich' },
        health: { intervalMs: 0, timeoutMs: 500 },
        requestTimeoutMs: 300,
      }),
    );
    cleanup.push(() => gateway.close());
    const response = await predict(gateway.url, { ...CLIP_VISUAL, ...FACE_ENTRIES }, { image });
    expect(response.status).toBe(504);
    expect(errorOf(response.body)).toMatch(
      /^clip\+facial-recognition: no complete answer within 300 ms \(REQUEST_TIMEOUT_MS\), still waiting on upstream (inference|immich)#1$/,
    );
  });

  it('aborts the upstream request when the client goes away mid-upload', async () => {
    let aborted = false;
    const upstream = await server(() => undefined);
    // Replace the recording handler: this upstream watches the request as it streams in.
    upstream.server.removeAllListeners('request');
    upstream.server.on('request', (req) => {
      req.on('data', () => undefined);
      req.on('close', () => (aborted ||= !req.complete));
    });
    const gateway = await gatewayTo([upstream.url]);
    const { port } = new URL(gateway.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n' +
        '--b\r\nContent-Disposition: form-data; name="entries"\r\n\r\n{"clip":{"visual":{"modelName":"m"}}}\r\n' +
        '--b\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n\r\n' +
        'x'.repeat(10_000),
    );
    await sleep(200);
    socket.destroy();
    await waitFor(() => aborted);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('gateway_requests_total{tasks="clip",status="499"} 1');
  });

  it('413 for a body over MAX_UPLOAD_BYTES, without calling anyone', async () => {
    const healthy = await answering();
    const gateway = await gatewayTo([healthy.url], { maxUploadBytes: 1_000 });
    const response = await predict(gateway.url, FACE_ENTRIES, { image: Buffer.alloc(5_000, 1) });
    expect(response.status).toBe(413);
    expect(healthy.received).toHaveLength(0);
  });
});
