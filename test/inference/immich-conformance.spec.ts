import sharp from 'sharp';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import type { ClipTextualResponse, ClipVisualResponse, OcrResponse } from '../../src/shared/wire/immich-ml';
import { lyingJpeg } from '../support/bad-images';
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

    it('textual from a urlencoded form too (curl -d, a plain HTML form), read by the same form reader', async () => {
      const body = new URLSearchParams({
        entries: JSON.stringify(immichEntries.clipTextual()),
        text: '一张红色的照片',
      });
      const urlencoded = await json<ClipTextualResponse>(
        await fetch(`${server.url}/predict`, { method: 'POST', body }),
      );
      const multipart = await json<ClipTextualResponse>(
        await predict(server.url, immichForm(immichEntries.clipTextual(), { text: '一张红色的照片' })),
      );
      expect(urlencoded.clip).toBe(multipart.clip);
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

    /** A threshold between the lowest and the highest of `scores`: some lines pass it, some do not. */
    const between = (scores: number[]) => (Math.min(...scores) + Math.max(...scores)) / 2;

    it("honours Immich's recognition minScore: keeps the lines above it, drops the others", async () => {
      const image = ocrFixture('f03');
      const all = await engine.read(image, { boxThresh: 0.5, textScoreMin: 0 });
      const threshold = between(all.lines.map((l) => l.score));
      const kept = all.lines.filter((l) => l.score >= threshold).map((l) => l.text);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(all.lines.length);
      const strict = await json<OcrResponse>(
        await predict(server.url, immichForm(immichEntries.ocr('PP-OCRv5_mobile', 0.5, threshold), { image })),
      );
      expect(strict.ocr.text).toEqual(kept);
      expect(Math.min(...strict.ocr.textScore)).toBeGreaterThanOrEqual(threshold);
    });

    it("honours Immich's detection minScore: keeps the boxes above it, drops the others", async () => {
      const image = ocrFixture('f03');
      const all = await engine.read(image, { boxThresh: 0.3, textScoreMin: 0.5 });
      const threshold = between(all.lines.map((l) => l.boxScore));
      const kept = all.lines.filter((l) => l.boxScore >= threshold).map((l) => l.text);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(all.lines.length);
      const strict = await json<OcrResponse>(
        await predict(server.url, immichForm(immichEntries.ocr('PP-OCRv5_mobile', threshold, 0.5), { image })),
      );
      expect(strict.ocr.text).toEqual(kept);
      expect(Math.min(...strict.ocr.boxScore)).toBeGreaterThanOrEqual(threshold);
    });

    it('honours maxResolution (the detector input size): the boxes of a 480 px run, not a 736 px one', async () => {
      const image = ocrFixture('f01');
      const body = await json<OcrResponse>(
        await predict(server.url, immichForm(immichEntries.ocr('PP-OCRv5_mobile', 0.5, 0.8, 480), { image })),
      );
      const at480 = await engine.read(image, { boxThresh: 0.5, textScoreMin: 0.8, limitSideLen: 480 });
      const at736 = await engine.read(image, { boxThresh: 0.5, textScoreMin: 0.8, limitSideLen: 736 });
      expect(at480.detector).toEqual({ width: 640, height: 480 });
      expect(body.ocr.text.length).toBe(3);
      expect(body.ocr.text).toEqual(at480.lines.map((l) => l.text));
      const normalised = (out: typeof at480) =>
        out.lines.flatMap((line) => line.box.map((v, i) => (i % 2 === 0 ? v / out.width : v / out.height)));
      body.ocr.box.forEach((v, i) => expect(v).toBeCloseTo(normalised(at480)[i], 6));
      expect(body.ocr.box).not.toEqual(normalised(at736));
    });

    it('refuses a JPEG whose header claims more pixels than its data holds, instead of reporting them', async () => {
      const lying = await lyingJpeg(1900, 1900);
      for (const entries of [immichEntries.ocr(), immichEntries.clipVisual()]) {
        const response = await predict(server.url, immichForm(entries, { image: lying }));
        expect(response.status).toBe(422);
        expect(((await response.json()) as { error: string }).error).toMatch(/ends before the size its header gives/);
      }
    });
  });
});
