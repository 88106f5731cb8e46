import sharp from 'sharp';
import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import { ClipVisualResponse, OcrResponse } from '../../src/shared/wire/immich-ml';
import { MtOcrResponse } from '../../src/shared/wire/mt-photos';
import {
  GatewayUnderTest,
  TestServer,
  json,
  parseMultipart,
  predict,
  startGateway,
  startServer,
  waitFor,
} from './support/servers';
import { CLIP_TEXTUAL, CLIP_VISUAL, FACE_ENTRIES } from '../support/immich-entries';

const API_KEY = 'mt_photos_ai_extra';
const OCR_ENTRIES = (detection = 0.5, recognition = 0.8) => ({
  ocr: {
    detection: { modelName: 'PP-OCRv5_mobile', options: { minScore: detection, maxResolution: 736 } },
    recognition: { modelName: 'PP-OCRv5_mobile', options: { minScore: recognition } },
  },
});

/** What an MT-Photos server (the original Python one) answers: strings everywhere, pixels, 2 decimals. */
const MT_OCR: MtOcrResponse = {
  result: {
    texts: ['今天天气很好', 'Hello World 2024', 'faint'],
    scores: ['0.98', '0.91', '0.60'],
    boxes: [
      { x: '40.00', y: '30.00', width: '320.00', height: '48.00' },
      { x: '0.00', y: '120.00', width: '800.00', height: '40.50' },
      { x: '10.00', y: '500.00', width: '100.00', height: '20.00' },
    ],
  },
};
const MT_CLIP = { result: ['0.0123000000000000', '-0.5000000000000000', '0.2500000000000000'] };

describe('gateway in MT-Photos mode', () => {
  let image: Buffer;
  let mt: TestServer;
  let faces: TestServer;
  let gateway: GatewayUnderTest;
  let mtAnswer: (path: string) => { status: number; body: unknown } | undefined;

  beforeAll(async () => {
    image = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#eee' } })
      .jpeg()
      .toBuffer();
    mt = await startServer((request, res) => {
      if (request.headers['api-key'] !== API_KEY) return json(res, 401, { detail: 'Invalid API key' });
      const override = mtAnswer(request.url);
      if (override) return json(res, override.status, override.body);
      if (request.url === '/check') return json(res, 200, { result: 'pass', title: 'fake', help: '', device: 'cpu' });
      if (request.url === '/ocr') return json(res, 200, MT_OCR);
      if (request.url === '/clip/img' || request.url === '/clip/txt') return json(res, 200, MT_CLIP);
      json(res, 404, { detail: 'Not Found' });
    });
    faces = await startServer((_request, res) =>
      json(res, 200, { 'facial-recognition': [], imageHeight: 600, imageWidth: 800 }),
    );
    gateway = await startGateway(
      gatewayConfig({
        routes: {
          inference: gatewayRoute([mt.url], { protocol: 'mt-photos', apiKey: API_KEY }),
          immich: gatewayRoute([faces.url]),
        },
        tasks: { clip: 'inference', ocr: 'inference', default: 'immich' },
      }),
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await mt?.close();
    await faces?.close();
  });

  beforeEach(() => {
    mtAnswer = () => undefined;
    mt.received.length = 0;
    faces.received.length = 0;
  });

  const calls = () => mt.received.filter((request) => request.url !== '/check');

  it('converts /clip/img to Immich’s string-encoded embedding and fills in the measured size', async () => {
    const response = await predict(gateway.url, CLIP_VISUAL, { image });
    expect(response.status).toBe(200);
    const body = response.body as ClipVisualResponse;
    expect(body).toEqual({ clip: '[0.0123,-0.5,0.25]', imageHeight: 600, imageWidth: 800 });

    const [call] = calls();
    expect(call.url).toBe('/clip/img');
    expect(call.headers['api-key']).toBe(API_KEY);
    const parts = parseMultipart(call.headers, call.body);
    expect(parts.map((part) => part.name)).toEqual(['file']);
    expect(parts[0].data.equals(image)).toBe(true);
  });

  it('sends a text query to /clip/txt as JSON', async () => {
    const response = await predict(gateway.url, CLIP_TEXTUAL, { text: '海边的日落' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ clip: '[0.0123,-0.5,0.25]' });
    const [call] = calls();
    expect(call.url).toBe('/clip/txt');
    expect(call.headers['content-type']).toBe('application/json');
    expect(JSON.parse(call.body.toString())).toEqual({ text: '海边的日落' });
  });

  it('converts /ocr: normalised 8-number boxes, numeric scores, minScore filtering', async () => {
    const response = await predict(gateway.url, OCR_ENTRIES(), { image });
    expect(response.status).toBe(200);
    const body = response.body as OcrResponse;
    expect(body.imageWidth).toBe(800);
    expect(body.imageHeight).toBe(600);
    // 'faint' (0.60) is under the recognition minScore of 0.8.
    expect(body.ocr.text).toEqual(['今天天气很好', 'Hello World 2024']);
    expect(body.ocr.textScore).toEqual([0.98, 0.91]);
    expect(body.ocr.boxScore).toEqual([0.98, 0.91]);
    const expected = [
      [40 / 800, 30 / 600, 360 / 800, 30 / 600, 360 / 800, 78 / 600, 40 / 800, 78 / 600],
      [0, 120 / 600, 1, 120 / 600, 1, 160.5 / 600, 0, 160.5 / 600],
    ].flat();
    expect(body.ocr.box).toHaveLength(16);
    body.ocr.box.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 10));
  });

  it('honours a lower recognition minScore and a higher detection minScore', async () => {
    const lenient = (await predict(gateway.url, OCR_ENTRIES(0.5, 0.5), { image })).body as OcrResponse;
    expect(lenient.ocr.text).toEqual(['今天天气很好', 'Hello World 2024', 'faint']);
    const strict = (await predict(gateway.url, OCR_ENTRIES(0.95, 0.5), { image })).body as OcrResponse;
    expect(strict.ocr.text).toEqual(['今天天气很好']);
  });

  it('measures the size after EXIF orientation, as Immich ML does', async () => {
    const rotated = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#eee' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const body = (await predict(gateway.url, OCR_ENTRIES(), { image: rotated })).body as OcrResponse;
    expect([body.imageWidth, body.imageHeight]).toEqual([600, 800]);
  });

  it('splits clip + ocr + faces: two MT-Photos calls and Immich ML, merged into one answer', async () => {
    const response = await predict(gateway.url, { ...CLIP_VISUAL, ...OCR_ENTRIES(), ...FACE_ENTRIES }, { image });
    expect(response.status).toBe(200);
    const body = response.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['clip', 'facial-recognition', 'imageHeight', 'imageWidth', 'ocr']);
    expect(
      calls()
        .map((call) => call.url)
        .sort(),
    ).toEqual(['/clip/img', '/ocr']);
    expect(faces.received).toHaveLength(1);
  });

  it('502 naming the upstream when MT-Photos answers 200 with {"result":[],"msg":...}', async () => {
    mtAnswer = (path) =>
      path === '/ocr' ? { status: 200, body: { result: [], msg: 'height or width out of range' } } : undefined;
    const response = await predict(gateway.url, OCR_ENTRIES(), { image });
    expect(response.status).toBe(502);
    expect((response.body as { error: string }).error).toBe(
      'ocr: upstream inference#1 answered with an error: height or width out of range',
    );
  });

  it('502 when MT-Photos answers a malformed result', async () => {
    mtAnswer = (path) => (path === '/clip/img' ? { status: 200, body: { result: ['0.1', 'NaN?'] } } : undefined);
    const response = await predict(gateway.url, CLIP_VISUAL, { image });
    expect(response.status).toBe(502);
    expect((response.body as { error: string }).error).toMatch(/result\[1\] is not a number/);
  });

  it('passes on a 422 from the upstream as 422 with its message', async () => {
    mtAnswer = (path) => (path === '/ocr' ? { status: 422, body: { result: [], msg: 'not an image' } } : undefined);
    const response = await predict(gateway.url, OCR_ENTRIES(), { image });
    expect(response.status).toBe(422);
    expect((response.body as { error: string }).error).toMatch(/answered 422: .*not an image/);
  });

  it('the inference service’s statuses for a bad image (415 not a photo, 422 undecodable), calling no one', async () => {
    const notPhoto = await predict(gateway.url, OCR_ENTRIES(), { image: Buffer.from('definitely not a jpeg') });
    expect(notPhoto.status).toBe(415);
    expect((notPhoto.body as { error: string }).error).toMatch(/^ocr: not a photo format/);
    const broken = Buffer.from(image);
    broken.fill(0, 4, 200); // a JPEG signature with a wrecked header
    const undecodable = await predict(gateway.url, OCR_ENTRIES(), { image: broken });
    expect(undecodable.status).toBe(422);
    expect((undecodable.body as { error: string }).error).toMatch(/^ocr: not a decodable image/);
    expect(calls()).toHaveLength(0);
  });

  it('400 for a textual clip request without text', async () => {
    const response = await predict(gateway.url, CLIP_TEXTUAL, { image });
    expect(response.status).toBe(400);
    expect(calls()).toHaveLength(0);
  });

  it('marks an MT-Photos server with a wrong api-key down (POST /check answers 401), and says 401', async () => {
    const wrongKey = await startGateway(
      gatewayConfig({
        routes: {
          inference: gatewayRoute([mt.url], { protocol: 'mt-photos', apiKey: 'wrong' }),
          immich: gatewayRoute([faces.url]),
        },
        tasks: { clip: 'inference', ocr: 'inference', default: 'immich' },
        health: { intervalMs: 100, timeoutMs: 500 },
      }),
    );
    try {
      const metrics = async () => (await fetch(`${wrongKey.url}/metrics`)).text();
      await waitFor(async () => (await metrics()).includes(`upstream="${mt.url}"} 0`));
      // Still tried (a down upstream is never skipped when it is the only one): its own 401 is the answer.
      const response = await predict(wrongKey.url, CLIP_VISUAL, { image });
      expect(response.status).toBe(502);
      expect((response.body as { error: string }).error).toMatch(/^clip: upstream inference#1 answered 401/);
    } finally {
      await wrongKey.close();
    }
  });
});
