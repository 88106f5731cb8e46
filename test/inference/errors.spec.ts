import { request } from 'node:http';
import sharp from 'sharp';
import { hugePngHeader, lyingJpeg, truncated } from '../support/bad-images';
import { ocrFixture } from '../support/fixtures';
import {
  API_KEY,
  emptyDir,
  immichEntries,
  immichForm,
  mtUpload,
  predict as predictWithKey,
  solidJpeg,
  startApp,
  type RunningApp,
} from './helpers';

/** This suite's service has API_AUTH_KEY set: /predict needs the key too. */
const predict = (url: string, form: FormData) => predictWithKey(url, form, API_KEY);

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

    it('415 for bytes that are not a photo format, before any decoder sees them', async () => {
      const junk = Buffer.from('this is not an image at all, just text'.repeat(10));
      expect(
        await expectError(await predict(server.url, immichForm(immichEntries.ocr(), { image: junk })), 415),
      ).toMatch(/not a photo format/);
      // libvips would render this SVG (a 20000x20000 canvas) if it were handed to it.
      const svg = Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="20000"><rect width="9" height="9"/></svg>',
      );
      for (const entries of [immichEntries.ocr(), immichEntries.clipVisual()]) {
        expect(await expectError(await predict(server.url, immichForm(entries, { image: svg })), 415)).toMatch(/SVG/);
      }
    });

    it('422 for a truncated JPEG, and for one whose header claims more pixels than its data holds', async () => {
      await expectError(
        await predict(server.url, immichForm(immichEntries.ocr(), { image: truncated(jpeg, 0.4) })),
        422,
      );
      const lying = await lyingJpeg(1900, 1900);
      expect((await sharp(lying).metadata()).width).toBe(1900);
      const message = await expectError(
        await predict(server.url, immichForm(immichEntries.ocr(), { image: lying })),
        422,
      );
      expect(message).toMatch(/ends before the size its header gives/);
    });

    it('400 for a field sent twice (entries, image or text)', async () => {
      const entries = JSON.stringify(immichEntries.clipTextual());
      const twice = new FormData();
      twice.append('entries', entries);
      twice.append('entries', entries);
      twice.append('text', 'a');
      expect(await expectError(await predict(server.url, twice), 400)).toMatch(
        /"entries" field was sent more than once/,
      );
      const texts = form({ entries, text: 'a' });
      texts.append('text', 'b');
      expect(await expectError(await predict(server.url, texts), 400)).toMatch(/"text"/);
      const small = await solidJpeg([9, 9, 9]);
      const images = immichForm(immichEntries.ocr(), { image: small });
      images.append('image', new Blob([new Uint8Array(small)]));
      expect(await expectError(await predict(server.url, images), 400)).toMatch(/"image"/);
    });

    it('401 without the key when API_AUTH_KEY is set, before the upload is read', async () => {
      const form = immichForm(immichEntries.clipTextual(), { text: 'sky' });
      expect(await expectError(await predictWithKey(server.url, form), 401)).toMatch(/missing api-key/);
      expect(await expectError(await predictWithKey(server.url, form, 'wrong'), 401)).toMatch(/wrong api-key/);
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
        headers: { 'content-type': 'multipart/form-data; boundary=xyz', 'api-key': API_KEY },
      });
      await expectError(response, 400);
    });

    it('503 naming the missing file and the variable when CLIP is not installed, not the path', async () => {
      const visual = await expectError(
        await predict(server.url, immichForm(immichEntries.clipVisual(), { image: await solidJpeg([255, 0, 0]) })),
        503,
      );
      expect(visual).toContain('vit-b-16.img.fp32.onnx is missing from $CLIP_DOWNLOAD_ROOT/ViT-B-16');
      expect(visual).not.toContain(clipRoot.dir);
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

    it('415 for a file that is not a photo, 422 for an undecodable one, 413 for a too-large one', async () => {
      await expectError(await mtUpload(server.url, '/ocr', Buffer.from('not an image')), 415, 'mt');
      await expectError(await mtUpload(server.url, '/ocr', truncated(jpeg, 0.4)), 422, 'mt');
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
