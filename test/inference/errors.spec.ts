import { request } from 'node:http';
import { hugePngHeader, truncated } from '../support/bad-images';
import { ocrFixture } from '../support/fixtures';
import {
  API_KEY,
  emptyDir,
  immichEntries,
  immichForm,
  mtUpload,
  predict,
  solidJpeg,
  startApp,
  type RunningApp,
} from './helpers';

/** Every failure is a real status with a JSON body in its contract's shape, and no stack trace. */
async function expectError(response: Response, status: number, shape: 'ml' | 'mt' = 'ml'): Promise<string> {
  const text = await response.text();
  expect({ status: response.status, text }).toEqual({ status, text: expect.any(String) });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(text).not.toMatch(/\n\s+at /);
  const body = JSON.parse(text);
  if (shape === 'ml') {
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error).toBe('string');
    return body.error;
  }
  expect(body).toEqual({ result: [], msg: expect.any(String) });
  return body.msg;
}

function form(fields: Record<string, string | Blob>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

describe('inference error answers', () => {
  let server: RunningApp;
  let clipRoot: Awaited<ReturnType<typeof emptyDir>>;
  const jpeg = ocrFixture('f04');

  beforeAll(async () => {
    clipRoot = await emptyDir();
    server = await startApp({
      apiAuthKey: API_KEY,
      clip: { root: clipRoot.dir, modelName: 'ViT-B-16' },
      maxUploadBytes: 256 * 1024,
      maxImagePixels: 4_000_000,
    });
  });
  afterAll(async () => {
    await server.close();
    await clipRoot.remove();
  });

  describe('Contract 1 (/predict)', () => {
    it('400 when neither image nor text is sent', async () => {
      const message = await expectError(
        await predict(server.url, form({ entries: JSON.stringify(immichEntries.ocr()) })),
        400,
      );
      expect(message).toMatch(/image or text/);
    });

    it('400 when the task lacks its kind of input', async () => {
      await expectError(await predict(server.url, immichForm(immichEntries.ocr(), { text: 'hello' })), 400);
      await expectError(await predict(server.url, immichForm(immichEntries.clipTextual(), { image: jpeg })), 400);
    });

    it.each([
      ['missing', undefined],
      ['not JSON', '{clip:'],
      ['an array', '[]'],
      ['empty', '{}'],
      ['a malformed clip entry', JSON.stringify({ clip: { visual: {} } })],
      ['clip with both halves', JSON.stringify({ clip: { visual: { modelName: 'a' }, textual: { modelName: 'a' } } })],
      ['an OCR score out of range', JSON.stringify(immichEntries.ocr('PP-OCRv5_mobile', 2))],
      ['an OCR entry without recognition', JSON.stringify({ ocr: { detection: { modelName: 'x' } } })],
    ])('422 for entries that are %s', async (_label, entries) => {
      const fields: Record<string, string | Blob> = { text: 'hello' };
      if (entries !== undefined) fields.entries = entries;
      const message = await expectError(await predict(server.url, form(fields)), 422);
      expect(message).toMatch(/entries/);
    });

    it('422 for an unknown task, naming it', async () => {
      const message = await expectError(
        await predict(server.url, immichForm({ 'image-captioning': { x: { modelName: 'y' } } }, { image: jpeg })),
        422,
      );
      expect(message).toContain('image-captioning');
    });

    it('422 for facial-recognition, which stays with Immich ML', async () => {
      const entries = {
        'facial-recognition': {
          detection: { modelName: 'buffalo_l', options: { minScore: 0.7 } },
          recognition: { modelName: 'buffalo_l' },
        },
      };
      const message = await expectError(await predict(server.url, immichForm(entries, { image: jpeg })), 422);
      expect(message).toMatch(/facial-recognition.*Immich/);
    });

    it('422 for a CLIP name Immich sizes other than 512', async () => {
      const message = await expectError(
        await predict(server.url, immichForm(immichEntries.clipTextual('ViT-L-14__openai'), { text: 'hi' })),
        422,
      );
      expect(message).toMatch(/512.*ViT-B-16__openai/);
    });

    it('422 for bytes that are not an image, and for a truncated JPEG', async () => {
      const junk = Buffer.from('this is not an image at all, just text'.repeat(10));
      expect(
        await expectError(await predict(server.url, immichForm(immichEntries.ocr(), { image: junk })), 422),
      ).toMatch(/decodable/);
      await expectError(
        await predict(server.url, immichForm(immichEntries.ocr(), { image: truncated(jpeg, 0.4) })),
        422,
      );
    });

    it('400 for an empty image', async () => {
      await expectError(await predict(server.url, immichForm(immichEntries.ocr(), { image: Buffer.alloc(0) })), 400);
    });

    it('413 for an image over MAX_IMAGE_PIXELS, from its header alone', async () => {
      const message = await expectError(
        await predict(server.url, immichForm(immichEntries.ocr(), { image: hugePngHeader(30000, 30000) })),
        413,
      );
      expect(message).toMatch(/30000x30000/);
    });

    it('413 for an upload over MAX_UPLOAD_BYTES', async () => {
      const big = Buffer.alloc(300 * 1024, 7);
      await expectError(await predict(server.url, immichForm(immichEntries.ocr(), { image: big })), 413);
    });

    it('400 for a malformed multipart body', async () => {
      const body = '--xyz\r\nContent-Disposition: form-data; name="entries"\r\n\r\n{"ocr":1}\r\n--xyz'; // never closed
      const response = await fetch(`${server.url}/predict`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      });
      await expectError(response, 400);
    });

    it('503 naming the missing file when CLIP is not installed', async () => {
      const visual = await expectError(
        await predict(server.url, immichForm(immichEntries.clipVisual(), { image: await solidJpeg([255, 0, 0]) })),
        503,
      );
      expect(visual).toContain(`${clipRoot.dir}/ViT-B-16/vit-b-16.img.fp32.onnx`);
      const textual = await expectError(
        await predict(server.url, immichForm(immichEntries.clipTextual(), { text: '红色' })),
        503,
      );
      expect(textual).toContain('vit-b-16.txt.fp32.onnx');
    });

    it('JSON 404 for an unknown route', async () => {
      await expectError(await fetch(`${server.url}/nope`), 404);
    });
  });

  describe('Contract 2 (MT-Photos)', () => {
    it('401 without the key or with a wrong one, on every route', async () => {
      for (const path of ['/check', '/ocr', '/clip/img', '/clip/txt']) {
        expect(await expectError(await fetch(`${server.url}${path}`, { method: 'POST' }), 401, 'mt')).toMatch(
          /missing/,
        );
        const wrong = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'api-key': `${API_KEY}x` } });
        expect(await expectError(wrong, 401, 'mt')).toMatch(/wrong/);
      }
    });

    it('400 when the file or the text is missing, or the JSON is broken', async () => {
      const headers = { 'api-key': API_KEY, 'content-type': 'application/json' };
      await expectError(
        await fetch(`${server.url}/ocr`, { method: 'POST', headers: { 'api-key': API_KEY } }),
        400,
        'mt',
      );
      await expectError(
        await fetch(`${server.url}/clip/txt`, { method: 'POST', headers, body: '{"text":' }),
        400,
        'mt',
      );
      await expectError(
        await fetch(`${server.url}/clip/txt`, { method: 'POST', headers, body: '{"q":"x"}' }),
        400,
        'mt',
      );
    });

    it('422 for an undecodable upload, 413 for a too-large one', async () => {
      await expectError(await mtUpload(server.url, '/ocr', Buffer.from('not an image')), 422, 'mt');
      await expectError(await mtUpload(server.url, '/ocr', hugePngHeader()), 413, 'mt');
    });

    it('503 naming the missing file when CLIP is not installed', async () => {
      const message = await expectError(
        await mtUpload(server.url, '/clip/img', await solidJpeg([0, 0, 255])),
        503,
        'mt',
      );
      expect(message).toContain('vit-b-16.img.fp32.onnx');
    });
  });

  it('answers a request that sends Content-Length but hangs up mid-upload without crashing', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-length': '100000' },
      });
      req.on('error', () => resolve());
      req.write('--b\r\nContent-Disposition: form-data; name="image"; filename="x"\r\n\r\nabc');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });
});

describe('MT-Photos routes without API_AUTH_KEY', () => {
  let server: RunningApp;
  beforeAll(async () => {
    server = await startApp({ apiAuthKey: undefined });
  });
  afterAll(() => server.close());

  it('refuse every request with 401 saying the key is not configured', async () => {
    const response = await fetch(`${server.url}/check`, { method: 'POST', headers: { 'api-key': 'anything' } });
    expect(await expectError(response, 401, 'mt')).toMatch(/API_AUTH_KEY is not configured/);
  });
});
