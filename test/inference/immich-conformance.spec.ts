import sharp from 'sharp';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import type { ClipTextualResponse, ClipVisualResponse, OcrResponse } from '../../src/shared/wire/immich-ml';
import { withoutSpaces } from '../support/cer';
import { ocrFixture, ocrTruth } from '../support/fixtures';
import { dot, immichEntries, immichForm, predict, solidJpeg, startApp, testClipRoot, type RunningApp } from './helpers';

/**
 * Contract 1 as Immich v2.4.1 uses it: the exact multipart bodies its machine-learning repository
 * builds, and every field it reads from the answers, checked by value and by type.
 */
describe('Immich ML protocol conformance', () => {
  let server: RunningApp;
  let clip: Awaited<ReturnType<typeof testClipRoot>>;

  beforeAll(async () => {
    clip = await testClipRoot();
    server = await startApp({ clip: { root: clip.root, modelName: 'ViT-B-16' } });
  });
  afterAll(async () => {
    await server.close();
    await clip.remove();
  });

  /** Immich parses `clip` with its vector column: a string holding a JSON array of numbers. */
  function embedding(value: unknown): number[] {
    expect(typeof value).toBe('string');
    const parsed: unknown = JSON.parse(value as string);
    expect(Array.isArray(parsed)).toBe(true);
    const numbers = parsed as number[];
    expect(numbers).toHaveLength(512);
    expect(numbers.every((n) => typeof n === 'number' && Number.isFinite(n))).toBe(true);
    expect(Math.sqrt(dot(numbers, numbers))).toBeCloseTo(1, 4);
    return numbers;
  }

  async function json<T>(response: Response): Promise<T> {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return (await response.json()) as T;
  }

  it('GET /ping answers pong (Immich health check)', async () => {
    const response = await fetch(`${server.url}/ping`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('pong');
  });

  describe('clip', () => {
    it('visual: a string-encoded 512-d embedding plus imageHeight and imageWidth', async () => {
      const image = await solidJpeg([255, 0, 0], 80, 60);
      const body = await json<ClipVisualResponse>(
        await predict(server.url, immichForm(immichEntries.clipVisual(), { image })),
      );
      expect(Object.keys(body).sort()).toEqual(['clip', 'imageHeight', 'imageWidth']);
      embedding(body.clip);
      expect(body).toMatchObject({ imageHeight: 60, imageWidth: 80 });
    });

    it('textual: a string-encoded 512-d embedding and nothing else', async () => {
      const body = await json<ClipTextualResponse>(
        await predict(server.url, immichForm(immichEntries.clipTextual(), { text: '一张红色的照片' })),
      );
      expect(Object.keys(body)).toEqual(['clip']);
      embedding(body.clip);
    });

    it('textual without a language (Immich drops an undefined one from the JSON)', async () => {
      const entries = immichEntries.clipTextual('ViT-B-16__openai', { language: undefined });
      expect(JSON.stringify(entries)).toBe('{"clip":{"textual":{"modelName":"ViT-B-16__openai","options":{}}}}');
      embedding(
        (await json<ClipTextualResponse>(await predict(server.url, immichForm(entries, { text: 'red' })))).clip,
      );
    });

    it('serves any 512-dimension Immich name, with or without the immich-app/ prefix', async () => {
      for (const name of ['ViT-B-32__openai', 'immich-app/ViT-B-16__openai', 'XLM-Roberta-Large-Vit-B-32']) {
        const response = await predict(server.url, immichForm(immichEntries.clipTextual(name), { text: 'sky' }));
        embedding((await json<ClipTextualResponse>(response)).clip);
      }
    });

    it('image and text embeddings meet in one space: a red photo is nearest to 红色 and red', async () => {
      const colours: Array<[string, [number, number, number]]> = [
        ['红色', [220, 20, 20]],
        ['绿色', [20, 200, 20]],
        ['blue', [20, 20, 220]],
      ];
      const texts = await Promise.all(
        colours.map(async ([word]) =>
          embedding(
            (
              await json<ClipTextualResponse>(
                await predict(server.url, immichForm(immichEntries.clipTextual(), { text: word })),
              )
            ).clip,
          ),
        ),
      );
      for (const [index, [, rgb]] of colours.entries()) {
        const image = await solidJpeg(rgb);
        const body = await json<ClipVisualResponse>(
          await predict(server.url, immichForm(immichEntries.clipVisual(), { image })),
        );
        const scores = texts.map((text) => dot(embedding(body.clip), text));
        expect(scores.indexOf(Math.max(...scores))).toBe(index);
      }
    });

    it('reports the size after EXIF orientation', async () => {
      const image = await sharp({ create: { width: 80, height: 40, channels: 3, background: '#808080' } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer();
      const body = await json<ClipVisualResponse>(
        await predict(server.url, immichForm(immichEntries.clipVisual(), { image })),
      );
      expect(body).toMatchObject({ imageWidth: 40, imageHeight: 80 });
    });
  });

  describe('ocr', () => {
    let engine: OcrEngine;
    beforeAll(async () => {
      engine = await OcrEngine.open({ threads: 1 });
    });
    afterAll(() => engine.close());

    /** Immich's parseOcrResults: text i owns box[i*8 .. i*8+7] and boxScore[i], textScore[i]. */
    function immichRows(ocr: OcrResponse['ocr']) {
      return ocr.text.map((text, i) => ({
        text,
        corners: ocr.box.slice(i * 8, i * 8 + 8),
        boxScore: ocr.boxScore[i],
        textScore: ocr.textScore[i],
      }));
    }

    it.each(['f01', 'f03'])('%s: finds the fixture texts with normalised 8-number boxes', async (name) => {
      const image = ocrFixture(name);
      const body = await json<OcrResponse>(await predict(server.url, immichForm(immichEntries.ocr(), { image })));
      expect(Object.keys(body).sort()).toEqual(['imageHeight', 'imageWidth', 'ocr']);
      expect(Object.keys(body.ocr).sort()).toEqual(['box', 'boxScore', 'text', 'textScore']);
      const meta = await sharp(image).metadata();
      expect(body).toMatchObject({ imageWidth: meta.width, imageHeight: meta.height });

      const { ocr } = body;
      expect(ocr.box).toHaveLength(ocr.text.length * 8);
      expect(ocr.boxScore).toHaveLength(ocr.text.length);
      expect(ocr.textScore).toHaveLength(ocr.text.length);
      for (const row of immichRows(ocr)) {
        expect(typeof row.text).toBe('string');
        expect(row.corners.every((v) => typeof v === 'number' && v >= 0 && v <= 1)).toBe(true);
        expect(row.boxScore).toBeGreaterThanOrEqual(0.5);
        expect(row.textScore).toBeGreaterThanOrEqual(0.8);
      }
      expect(ocr.text.map(withoutSpaces)).toEqual(ocrTruth[name].map(withoutSpaces));

      // The boxes are the engine's pixel quads divided by the image size (x by width, y by height).
      const direct = await engine.read(image, { boxThresh: 0.5, textScoreMin: 0.8, limitSideLen: 736 });
      const expected = direct.lines.flatMap((line) =>
        line.box.map((v, i) => (i % 2 === 0 ? v / direct.width : v / direct.height)),
      );
      expect(ocr.box).toHaveLength(expected.length);
      ocr.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    });

    it("honours Immich's recognition and detection minScore", async () => {
      const image = ocrFixture('f01');
      const strict = await json<OcrResponse>(
        await predict(server.url, immichForm(immichEntries.ocr('PP-OCRv5_mobile', 0.5, 0.999), { image })),
      );
      expect(strict.ocr.textScore.every((s) => s >= 0.999)).toBe(true);
      const direct = await engine.read(image, { boxThresh: 0.5, textScoreMin: 0 });
      expect(strict.ocr.text.length).toBe(direct.lines.filter((l) => l.score >= 0.999).length);

      const boxes = await json<OcrResponse>(
        await predict(server.url, immichForm(immichEntries.ocr('PP-OCRv5_mobile', 0.99, 0), { image })),
      );
      expect(boxes.ocr.boxScore.every((s) => s >= 0.99)).toBe(true);
    });

    it('honours maxResolution (the detector input size)', async () => {
      const image = ocrFixture('f01');
      const small = await json<OcrResponse>(
        await predict(server.url, immichForm(immichEntries.ocr('PP-OCRv5_mobile', 0.5, 0.8, 64), { image })),
      );
      const direct = await engine.read(image, { boxThresh: 0.5, textScoreMin: 0.8, limitSideLen: 64 });
      expect(small.ocr.text).toEqual(direct.lines.map((l) => l.text));
    });
  });
});
