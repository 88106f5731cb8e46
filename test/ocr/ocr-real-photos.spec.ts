import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import type { OcrLine } from '../../src/inference/ocr/ocr-types';
import { withoutSpaces } from '../support/cer';
import { lineFound } from '../support/library-set';
import { loadRealSet, type RealSetName } from '../support/real-photos';

/**
 * Real screenshots and photographs (test/fixtures/ocr-real-*): each case the engine once missed reads
 * whole, in order, on both halves; the held-out half was not used to choose any setting.
 */
describe.each<RealSetName>(['heldout', 'tuning'])('OCR on real images, %s half', (set) => {
  const images = loadRealSet(set);
  const truth = (name: string) => images.find((i) => i.name === name)!.lines;
  const out = new Map<string, OcrLine[]>();
  const texts = (name: string) => out.get(name)!.map((l) => l.text);
  let engine: OcrEngine;

  beforeAll(async () => {
    engine = await OcrEngine.open();
    for (const image of images) out.set(image.name, (await engine.read(image.buf)).lines);
  }, 300_000);
  afterAll(() => engine?.close());

  it('reads the one word in large type of a small screenshot', () => {
    expect(withoutSpaces(texts('small-word')[0])).toBe(truth('small-word')[0]);
  });

  it('reads a one-line strip as one whole line', () => {
    expect(texts('strip-line').map(withoutSpaces)).toEqual(truth('strip-line').map(withoutSpaces));
  });

  it('reads both lines of a two-line strip, each on its own', () => {
    expect(texts('strip-two')).toHaveLength(2);
    for (const line of truth('strip-two')) expect(lineFound(line, texts('strip-two'), 0.05)).toBe(true);
  });

  it('reads every line of a dense label and nothing else', () => {
    expect(texts('dense-label')).toHaveLength(truth('dense-label').length);
    for (const line of truth('dense-label')) expect(lineFound(line, texts('dense-label'))).toBe(true);
  });

  it('reads white text on a transparent background', () => {
    for (const line of truth('transparent-white')) expect(lineFound(line, texts('transparent-white'))).toBe(true);
  });

  it.each(['vertical', 'vertical-spaced'])(
    '%s: reads each column of vertical Chinese top to bottom, columns right to left, in vertical boxes',
    (name) => {
      expect(texts(name).map(withoutSpaces)).toEqual(truth(name));
      for (const { box } of out.get(name)!) {
        const [x1, y1, x2, , , , , y4] = box;
        expect(y4 - y1).toBeGreaterThan(3 * (x2 - x1));
      }
    },
  );
});

describe('OCR on real photographs and scans (held-out half)', () => {
  const images = loadRealSet('heldout');
  let engine: OcrEngine;
  beforeAll(async () => {
    engine = await OcrEngine.open();
  });
  afterAll(() => engine?.close());

  const read = async (name: string) =>
    (await engine.read(images.find((i) => i.name === name)!.buf)).lines.map((l) => l.text);

  it('reads the white logo on transparent and every line of the scanned page', async () => {
    expect(await read('logo-white')).toEqual(['OpenCV']);
    const page = await read('book-scan');
    const truth = images.find((i) => i.name === 'book-scan')!.lines;
    expect(page).toHaveLength(truth.length);
    for (const line of truth) expect(lineFound(line, page)).toBe(true);
  });
});
