import sharp from 'sharp';
import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import type { FacialRecognitionResponse } from '../../src/shared/wire/immich-ml';
import {
  GatewayUnderTest,
  TestServer,
  immichBody,
  json,
  parseMultipart,
  postRaw,
  predict,
  startGateway,
  startServer,
} from './support/servers';
import { CLIP_TEXTUAL, CLIP_VISUAL, FACE_ENTRIES, OCR_ENTRIES } from '../support/immich-entries';

/** What stock Immich ML answers for a face request, byte for byte (orjson: no spaces). */
const FACE_ANSWER = JSON.stringify({
  'facial-recognition': [
    { boundingBox: { x1: 10.5, y1: 20, x2: 110, y2: 140 }, embedding: '[0.1,-0.2]', score: 0.987 },
  ],
  imageHeight: 480,
  imageWidth: 640,
} satisfies FacialRecognitionResponse);

describe('gateway routing (Immich protocol upstreams)', () => {
  let image: Buffer;
  let faces: TestServer;
  let inference: TestServer;
  let gateway: GatewayUnderTest;

  beforeAll(async () => {
    image = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7a5' } })
      .jpeg()
      .toBuffer();
    // Stock Immich ML stand-in: records the request and answers with fixed bytes and a header of its own.
    faces = await startServer((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-immich-ml': 'yes' });
      res.end(FACE_ANSWER);
    });
    // Our inference service stand-in: answers whatever tasks it was sent.
    inference = await startServer((request, res) => {
      const parts = parseMultipart(request.headers, request.body);
      const entries = JSON.parse(parts.find((part) => part.name === 'entries')!.data.toString());
      const answer: Record<string, unknown> = {};
      if (entries.clip) answer.clip = JSON.stringify([0.25, -0.5, 0.75]);
      if (entries.ocr)
        answer.ocr = {
          text: ['你好'],
          box: [0.1, 0.1, 0.5, 0.1, 0.5, 0.2, 0.1, 0.2],
          boxScore: [0.9],
          textScore: [0.95],
        };
      if (parts.some((part) => part.name === 'image')) Object.assign(answer, { imageHeight: 480, imageWidth: 640 });
      json(res, 200, answer);
    });
    gateway = await startGateway(
      gatewayConfig({
        routes: { inference: gatewayRoute([inference.url]), immich: gatewayRoute([faces.url]) },
        tasks: { clip: 'inference', ocr: 'inference', default: 'immich' },
      }),
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await faces?.close();
    await inference?.close();
  });

  beforeEach(() => {
    faces.received.length = 0;
    inference.received.length = 0;
  });

  it('answers /ping with pong', async () => {
    const response = await fetch(`${gateway.url}/ping`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('pong');
  });

  it('forwards a face request to Immich ML byte for byte and its answer unchanged', async () => {
    const sent = immichBody(FACE_ENTRIES, { image });
    const response = await postRaw(gateway.url, sent.contentType, sent.body);

    expect(faces.received).toHaveLength(1);
    expect(inference.received).toHaveLength(0);
    const received = faces.received[0];
    expect(received.url).toBe('/predict');
    expect(received.headers['content-type']).toBe(sent.contentType);
    expect(received.headers['content-length']).toBe(String(sent.body.length));
    expect(received.body.equals(sent.body)).toBe(true);

    expect(response.status).toBe(200);
    expect(response.text).toBe(FACE_ANSWER);
    expect(response.headers.get('x-immich-ml')).toBe('yes');
    expect(response.headers.get('content-type')).toBe('application/json');
  });

  it('forwards what Immich’s own FormData client sends', async () => {
    const response = await predict(gateway.url, FACE_ENTRIES, { image });
    expect(response.status).toBe(200);
    expect(response.text).toBe(FACE_ANSWER);
    const parts = parseMultipart(faces.received[0].headers, faces.received[0].body);
    expect(parts.map((part) => part.name)).toEqual(['entries', 'image']);
    expect(JSON.parse(parts[0].data.toString())).toEqual(FACE_ENTRIES);
    expect(parts[1].data.equals(image)).toBe(true);
  });

  it('sends clip (visual and textual) and ocr to the inference service', async () => {
    const visual = await predict(gateway.url, CLIP_VISUAL, { image });
    expect(visual.status).toBe(200);
    expect(visual.body).toEqual({ clip: '[0.25,-0.5,0.75]', imageHeight: 480, imageWidth: 640 });

    const textual = await predict(gateway.url, CLIP_TEXTUAL, { text: '一只猫' });
    expect(textual.status).toBe(200);
    expect(textual.body).toEqual({ clip: '[0.25,-0.5,0.75]' });
    const textParts = parseMultipart(inference.received[1].headers, inference.received[1].body);
    expect(textParts.find((part) => part.name === 'text')!.data.toString()).toBe('一只猫');

    const ocr = await predict(gateway.url, OCR_ENTRIES, { image });
    expect(ocr.status).toBe(200);
    expect((ocr.body as { ocr: { text: string[] } }).ocr.text).toEqual(['你好']);

    expect(inference.received).toHaveLength(3);
    expect(faces.received).toHaveLength(0);
  });

  it('splits a request with several tasks per route and merges the answers', async () => {
    const entries = { ...CLIP_VISUAL, ...FACE_ENTRIES, ...OCR_ENTRIES };
    const response = await predict(gateway.url, entries, { image });
    expect(response.status).toBe(200);
    const body = response.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['clip', 'facial-recognition', 'imageHeight', 'imageWidth', 'ocr']);
    expect(body['facial-recognition']).toEqual(JSON.parse(FACE_ANSWER)['facial-recognition']);
    expect(body.clip).toBe('[0.25,-0.5,0.75]');
    expect(body.imageWidth).toBe(640);

    // Each upstream got only its own tasks, and the same image.
    const toInference = parseMultipart(inference.received[0].headers, inference.received[0].body);
    expect(Object.keys(JSON.parse(toInference[0].data.toString())).sort()).toEqual(['clip', 'ocr']);
    expect(toInference[1].data.equals(image)).toBe(true);
    const toFaces = parseMultipart(faces.received[0].headers, faces.received[0].body);
    expect(JSON.parse(toFaces[0].data.toString())).toEqual(FACE_ENTRIES);
    expect(toFaces[1].data.equals(image)).toBe(true);
  });

  it('routes an unknown task to the default route (Immich ML)', async () => {
    const response = await predict(gateway.url, { 'new-task': { thing: { modelName: 'x' } } }, { image });
    expect(response.status).toBe(200);
    expect(faces.received).toHaveLength(1);
  });

  it('forwards an image sent before entries (parsed, not streamed)', async () => {
    const boundary = 'b0undary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n`),
      image,
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="entries"\r\n\r\n`),
      Buffer.from(JSON.stringify(FACE_ENTRIES)),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const response = await postRaw(gateway.url, `multipart/form-data; boundary=${boundary}`, body);
    expect(response.status).toBe(200);
    const parts = parseMultipart(faces.received[0].headers, faces.received[0].body);
    expect(parts.find((part) => part.name === 'image')!.data.equals(image)).toBe(true);
  });

  describe('bad requests are answered by the gateway without calling anyone', () => {
    afterEach(() => {
      expect(faces.received).toHaveLength(0);
      expect(inference.received).toHaveLength(0);
    });

    it('400 for a body that is not multipart', async () => {
      const response = await postRaw(gateway.url, 'application/json', '{"entries":{}}');
      expect(response.status).toBe(400);
      expect((response.body as { error: string }).error).toMatch(/multipart\/form-data/);
    });

    it('400 for multipart without a boundary', async () => {
      const response = await postRaw(gateway.url, 'multipart/form-data; charset=utf-8', 'x');
      expect(response.status).toBe(400);
    });

    it('400 for a truncated multipart body', async () => {
      const response = await postRaw(
        gateway.url,
        'multipart/form-data; boundary=zzz',
        '--zzz\r\nContent-Disposition: form-data; name="entries"\r\n\r\n{"clip":{"visual":{"modelName":"m"}}}',
      );
      expect(response.status).toBe(400);
      expect((response.body as { error: string }).error).toMatch(/malformed multipart/);
    });

    it('400 with neither image nor text', async () => {
      const response = await predict(gateway.url, CLIP_VISUAL, {});
      expect(response.status).toBe(400);
      expect((response.body as { error: string }).error).toMatch(/image.*text/);
    });

    it('422 for entries that are not JSON', async () => {
      const response = await predict(gateway.url, '{"clip":', { image });
      expect(response.status).toBe(422);
      expect((response.body as { error: string }).error).toMatch(/entries/);
    });

    it('422 for entries without a model name', async () => {
      const response = await predict(gateway.url, { clip: { visual: {} } }, { image });
      expect(response.status).toBe(422);
      expect((response.body as { error: string }).error).toBe('entries.clip.visual needs a "modelName" string');
    });

    it('422 for entries missing', async () => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(image)]));
      const response = await fetch(`${gateway.url}/predict`, { method: 'POST', body: form });
      expect(response.status).toBe(422);
    });
  });

  it('serves Prometheus metrics that count requests by task and status', async () => {
    await predict(gateway.url, CLIP_VISUAL, { image });
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(/gateway_requests_total\{tasks="clip",status="200"\} \d+/);
    expect(text).toMatch(/gateway_request_duration_seconds_bucket\{le="[^"]+",tasks="clip",mode="stream"\}/);
    expect(text).toMatch(/gateway_process_resident_memory_bytes \d+/);
  });
});
