import type { INestApplication } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import { inferenceConfig } from '../../src/config/inference.config';
import { createInferenceApp } from '../../src/inference/http/inference-app';
import { ClipVisualResponse, OcrResponse } from '../../src/shared/wire/immich-ml';
import { writeTestClipModel } from '../support/clip-model-gen';
import { ocrFixture } from '../support/fixtures';
import { GatewayUnderTest, TestServer, json, predict, startGateway, startServer } from './support/servers';
import { CLIP_TEXTUAL, CLIP_VISUAL, OCR_ENTRIES as OCR } from '../support/immich-entries';

/**
 * The gateway in front of the real inference service (real OCR models, the generated cn-clip test
 * export): what comes through the gateway must be what the service answers directly, in Immich mode
 * byte for byte, and in MT-Photos mode after conversion. The service has API_AUTH_KEY set, so
 * /predict needs the key: the gateway sends it (INFERENCE_API_KEY), Immich does not have to.
 */

const API_KEY = 'gateway-test-key';
const OCR_FIXTURES = ['f01', 'f03'];

describe('gateway in front of the real inference service', () => {
  let clipRoot: string;
  let inference: INestApplication;
  let inferenceUrl: string;
  let faces: TestServer;
  let immichMode: GatewayUnderTest;
  let keyless: GatewayUnderTest;
  let mtMode: GatewayUnderTest;
  const callDirect = (entries: unknown, payload: { image?: Buffer; text?: string }) =>
    predict(inferenceUrl, entries, payload, { 'api-key': API_KEY });

  beforeAll(async () => {
    clipRoot = await mkdtemp(join(tmpdir(), 'gateway-clip-'));
    await writeTestClipModel(clipRoot);
    // One onnxruntime thread per run: jest runs two suites at once on two cores.
    const config = inferenceConfig({
      host: '127.0.0.1',
      port: 0,
      threads: 1,
      apiAuthKey: API_KEY,
      clip: { root: clipRoot, modelName: 'ViT-B-16' },
    });
    inference = await createInferenceApp(config, { logger: ['error'] });
    await inference.listen(0, '127.0.0.1');
    inferenceUrl = `http://127.0.0.1:${(inference.getHttpServer().address() as AddressInfo).port}`;
    faces = await startServer((_request, res) =>
      json(res, 200, { 'facial-recognition': [], imageHeight: 1, imageWidth: 1 }),
    );

    const tasks = { clip: 'inference', ocr: 'inference', default: 'immich' };
    immichMode = await startGateway(
      gatewayConfig({
        routes: { inference: gatewayRoute([inferenceUrl], { apiKey: API_KEY }), immich: gatewayRoute([faces.url]) },
        tasks,
      }),
    );
    keyless = await startGateway(
      gatewayConfig({ routes: { inference: gatewayRoute([inferenceUrl]), immich: gatewayRoute([faces.url]) }, tasks }),
    );
    mtMode = await startGateway(
      gatewayConfig({
        routes: {
          inference: gatewayRoute([inferenceUrl], { protocol: 'mt-photos', apiKey: API_KEY }),
          immich: gatewayRoute([faces.url]),
        },
        tasks,
      }),
    );
  });

  afterAll(async () => {
    await immichMode?.close();
    await keyless?.close();
    await mtMode?.close();
    await inference?.close();
    await faces?.close();
    if (clipRoot) await rm(clipRoot, { recursive: true, force: true });
  });

  const photo = () => ocrFixture('f01');

  describe('Immich protocol: the same answer as a direct call', () => {
    it('clip visual', async () => {
      const direct = await callDirect(CLIP_VISUAL, { image: photo() });
      const through = await predict(immichMode.url, CLIP_VISUAL, { image: photo() });
      expect(direct.status).toBe(200);
      expect(through.status).toBe(200);
      expect(through.text).toBe(direct.text);
      expect(JSON.parse((direct.body as ClipVisualResponse).clip)).toHaveLength(512);
    });

    it('clip textual', async () => {
      const direct = await callDirect(CLIP_TEXTUAL, { text: '红色的天空' });
      const through = await predict(immichMode.url, CLIP_TEXTUAL, { text: '红色的天空' });
      expect(through.status).toBe(200);
      expect(through.text).toBe(direct.text);
    });

    it.each(OCR_FIXTURES)('ocr on %s', async (name) => {
      const direct = await callDirect(OCR, { image: ocrFixture(name) });
      const through = await predict(immichMode.url, OCR, { image: ocrFixture(name) });
      expect(through.status).toBe(200);
      expect(through.text).toBe(direct.text);
      expect((direct.body as OcrResponse).ocr.text.length).toBeGreaterThan(0);
    });

    it('errors of the service come through unchanged (not a photo: 415)', async () => {
      const straight = await callDirect(CLIP_VISUAL, { image: Buffer.from('not an image') });
      const through = await predict(immichMode.url, CLIP_VISUAL, { image: Buffer.from('not an image') });
      expect(straight.status).toBe(415);
      expect(through.status).toBe(415);
      expect(through.text).toBe(straight.text);
    });

    it('a gateway without the service key gets its 401, and Immich never needs the key', async () => {
      const refused = await predict(keyless.url, CLIP_TEXTUAL, { text: 'sky' });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ error: 'missing api-key header' });
      expect((await predict(immichMode.url, CLIP_TEXTUAL, { text: 'sky' })).status).toBe(200);
    });
  });

  describe('MT-Photos mode: the direct Immich answer, after conversion', () => {
    it('clip visual', async () => {
      const direct = (await callDirect(CLIP_VISUAL, { image: photo() })).body as ClipVisualResponse;
      const response = await predict(mtMode.url, CLIP_VISUAL, { image: photo() });
      expect(response.status).toBe(200);
      const through = response.body as ClipVisualResponse;
      expect([through.imageWidth, through.imageHeight]).toEqual([direct.imageWidth, direct.imageHeight]);
      const [a, b] = [JSON.parse(through.clip) as number[], JSON.parse(direct.clip) as number[]];
      expect(a).toHaveLength(b.length);
      // MT-Photos prints 16 decimals: the same float32 values, to within that rounding.
      a.forEach((value, i) => expect(Math.abs(value - b[i])).toBeLessThan(1e-15));
    });

    it('clip textual', async () => {
      const direct = (await callDirect(CLIP_TEXTUAL, { text: 'a photo of the sky' })).body as {
        clip: string;
      };
      const response = await predict(mtMode.url, CLIP_TEXTUAL, { text: 'a photo of the sky' });
      expect(response.status).toBe(200);
      expect(Object.keys(response.body as object)).toEqual(['clip']);
      const [a, b] = [
        JSON.parse((response.body as { clip: string }).clip) as number[],
        JSON.parse(direct.clip) as number[],
      ];
      a.forEach((value, i) => expect(Math.abs(value - b[i])).toBeLessThan(1e-15));
    });

    it.each(OCR_FIXTURES)('ocr on %s: same texts, scores to 2 decimals, boxes = bounding rectangles', async (name) => {
      const direct = (await callDirect(OCR, { image: ocrFixture(name) })).body as OcrResponse;
      const response = await predict(mtMode.url, OCR, { image: ocrFixture(name) });
      expect(response.status).toBe(200);
      const through = response.body as OcrResponse;

      expect([through.imageWidth, through.imageHeight]).toEqual([direct.imageWidth, direct.imageHeight]);
      expect(through.ocr.text).toEqual(direct.ocr.text);
      through.ocr.textScore.forEach((score, i) =>
        expect(Math.abs(score - direct.ocr.textScore[i])).toBeLessThanOrEqual(0.005 + 1e-9),
      );
      for (let i = 0; i < direct.ocr.text.length; i++) {
        const quad = direct.ocr.box.slice(i * 8, i * 8 + 8);
        const xs = [quad[0], quad[2], quad[4], quad[6]];
        const ys = [quad[1], quad[3], quad[5], quad[7]];
        const rect = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.min(...ys)];
        rect.push(Math.max(...xs), Math.max(...ys), Math.min(...xs), Math.max(...ys));
        const converted = through.ocr.box.slice(i * 8, i * 8 + 8);
        // Pixels rounded to 2 decimals, then divided by the size: well under a thousandth.
        converted.forEach((value, j) => expect(Math.abs(value - rect[j])).toBeLessThan(1e-3));
      }
    });
  });
});
