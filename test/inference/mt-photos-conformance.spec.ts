import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import type { MtCheckResponse, MtClipResponse, MtOcrResponse } from '../../src/shared/wire/mt-photos';
import { withoutSpaces } from '../support/cer';
import { ocrFixture, ocrTruth } from '../support/fixtures';
import { loadRealSet } from '../support/real-photos';
import { API_KEY, dot, mtUpload, readJson, solidJpeg, startApp, testClipRoot, type RunningApp } from './helpers';

/** Contract 2: the MT-Photos AI API's four routes, in the original service's shapes (strings everywhere). */
describe('MT-Photos API conformance', () => {
  let server: RunningApp;
  let clip: Awaited<ReturnType<typeof testClipRoot>>;

  beforeAll(async () => {
    clip = await testClipRoot();
    server = await startApp({ apiAuthKey: API_KEY, clip: { root: clip.root, modelName: 'ViT-B-16' } });
  });
  afterAll(async () => {
    await server.close();
    await clip.remove();
  });

  const twoDecimals = /^-?\d+\.\d{2}$/;

  async function ok<T>(response: Response): Promise<T> {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return (await response.json()) as T;
  }

  function embedding(body: MtClipResponse): number[] {
    expect(Object.keys(body)).toEqual(['result']);
    expect(body.result).toHaveLength(512);
    expect(body.result.every((v) => typeof v === 'string' && /^-?\d+\.\d{16}$/.test(v))).toBe(true);
    const values = body.result.map(Number);
    expect(Math.sqrt(dot(values, values))).toBeCloseTo(1, 4);
    return values;
  }

  it('POST /check: pass, title, help and the device in use', async () => {
    const body = await ok<MtCheckResponse>(
      await fetch(`${server.url}/check`, { method: 'POST', headers: { 'api-key': API_KEY } }),
    );
    expect(body).toEqual({ result: 'pass', title: expect.any(String), help: expect.any(String), device: 'cpu' });
  });

  it('POST /ocr: texts, 2-decimal string scores, axis-aligned pixel boxes as 2-decimal strings', async () => {
    const image = ocrFixture('f08');
    const body = await ok<MtOcrResponse>(await mtUpload(server.url, '/ocr', image));
    expect(Object.keys(body)).toEqual(['result']);
    const { texts, scores, boxes } = body.result;
    expect(texts.map(withoutSpaces)).toEqual(ocrTruth.f08.map(withoutSpaces));
    expect(scores).toHaveLength(texts.length);
    expect(scores.every((s) => twoDecimals.test(s) && Number(s) >= 0 && Number(s) <= 1)).toBe(true);
    expect(boxes).toHaveLength(texts.length);

    const engine = await OcrEngine.open({ threads: 1 });
    try {
      const direct = await engine.read(image);
      expect(direct.lines).toHaveLength(texts.length);
      direct.lines.forEach((line, i) => {
        const xs = [line.box[0], line.box[2], line.box[4], line.box[6]];
        const ys = [line.box[1], line.box[3], line.box[5], line.box[7]];
        const box = boxes[i];
        expect(Object.keys(box)).toEqual(['x', 'y', 'width', 'height']);
        expect(Object.values(box).every((v) => twoDecimals.test(v))).toBe(true);
        expect(Number(box.x)).toBeCloseTo(Math.min(...xs), 2);
        expect(Number(box.y)).toBeCloseTo(Math.min(...ys), 2);
        expect(Number(box.width)).toBeCloseTo(Math.max(...xs) - Math.min(...xs), 1);
        expect(Number(box.height)).toBeCloseTo(Math.max(...ys) - Math.min(...ys), 1);
      });
    } finally {
      await engine.close();
    }
  });

  it('POST /ocr reads real images by the same rules as the engine: white text on transparent, vertical columns', async () => {
    const real = loadRealSet('heldout');
    for (const name of ['transparent-white', 'vertical']) {
      const { buf, lines } = real.find((image) => image.name === name)!;
      const body = await ok<MtOcrResponse>(await mtUpload(server.url, '/ocr', buf));
      expect(body.result.texts.map(withoutSpaces)).toEqual(lines.map(withoutSpaces));
    }
  });

  it('POST /clip/img and /clip/txt: 512 strings each, in one space', async () => {
    const red = embedding(
      await ok<MtClipResponse>(await mtUpload(server.url, '/clip/img', await solidJpeg([230, 10, 10]))),
    );
    const text = async (value: string) =>
      embedding(
        await ok<MtClipResponse>(
          await fetch(`${server.url}/clip/txt`, {
            method: 'POST',
            headers: { 'api-key': API_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ text: value }),
          }),
        ),
      );
    const [redText, blueText] = [await text('红色'), await text('蓝色')];
    expect(dot(red, redText)).toBeGreaterThan(dot(red, blueText));
  });

  it('401 with {"result":[],"msg"} for a missing or wrong api-key', async () => {
    for (const headers of [{}, { 'api-key': 'nope' }] as Array<Record<string, string>>) {
      const response = await fetch(`${server.url}/check`, { method: 'POST', headers });
      expect(response.status).toBe(401);
      expect(await readJson(response)).toEqual({ result: [], msg: expect.any(String) });
    }
  });
});
