import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';

/**
 * Immich reads text from its own preview: the photo re-encoded as JPEG, long side 1440. The text
 * must not depend on that: the same photo at JPEG quality 70 to 95, or resized down to 1440 from a
 * larger original, reads the same, and a space never lands inside a Latin word or next to a joiner.
 *
 * Three sets: the 8 fixtures and test/fixtures/ocr-tuning (the spacing thresholds were chosen on
 * these), and test/fixtures/ocr-heldout, photos of other texts, fonts and layouts that were not
 * looked at until the thresholds were fixed: they say whether the rules hold for new photos.
 * (test/support/render-ocr-photos.ts renders the last two.)
 */

const FIXTURES = join(__dirname, '..', 'fixtures');

interface Photo {
  set: string;
  name: string;
  image: Buffer;
  truth: string[];
}

function photos(set: string): Photo[] {
  const truth: Record<string, string[]> = JSON.parse(readFileSync(join(FIXTURES, set, 'truth.json'), 'utf8'));
  return Object.entries(truth).map(([name, lines]) => ({
    set,
    name,
    truth: lines,
    image: readFileSync(join(FIXTURES, set, `${name}.jpg`)),
  }));
}

/** What Immich's preview of the photo can be: another JPEG quality, or a larger original brought back to 1440. */
const VARIANTS: Array<[string, (image: Buffer) => Promise<Buffer>]> = [
  ['quality 70', (image) => sharp(image).jpeg({ quality: 70 }).toBuffer()],
  ['quality 95', (image) => sharp(image).jpeg({ quality: 95 }).toBuffer()],
  [
    '2880 px original resized to 1440, quality 80',
    async (image) =>
      sharp(await sharp(image).resize({ width: 2880 }).png().toBuffer())
        .resize({ width: 1440 })
        .jpeg({ quality: 80 })
        .toBuffer(),
  ],
];

const JOINERS = /[ ][_\-./@\\]|[_\-./@\\][ ]/;

describe.each(['ocr', 'ocr-tuning', 'ocr-heldout'])('OCR text stable under re-encoding: %s', (set) => {
  let engine: OcrEngine;
  const readings = new Map<string, { original: string[]; variants: Array<[string, string[]]> }>();

  beforeAll(async () => {
    engine = await OcrEngine.open({ threads: 1 });
    for (const photo of photos(set)) {
      const read = async (image: Buffer) => (await engine.read(image)).lines.map((line) => line.text);
      const variants: Array<[string, string[]]> = [];
      for (const [label, make] of VARIANTS) variants.push([label, await read(await make(photo.image))]);
      readings.set(photo.name, { original: await read(photo.image), variants });
    }
  }, 120_000);
  afterAll(() => engine.close());

  it.each(photos(set).map((photo) => [photo.name, photo] as const))(
    '%s reads the same in every variant',
    (_, photo) => {
      const { original, variants } = readings.get(photo.name)!;
      expect(original.length).toBeGreaterThan(0);
      for (const [label, lines] of variants) expect({ label, lines }).toEqual({ label, lines: original });
    },
  );

  it('never puts a space next to a joiner the photo does not have there', () => {
    for (const photo of photos(set)) {
      const { original, variants } = readings.get(photo.name)!;
      for (const line of [original, ...variants.map(([, lines]) => lines)].flat()) {
        if (JOINERS.test(line)) expect(photo.truth.join('\n')).toMatch(JOINERS);
      }
    }
  });

  it('never puts a space inside a word: no two words read side by side make one word of the photo', () => {
    for (const photo of photos(set)) {
      const tokens = photo.truth.join(' ').split(' ');
      const { original, variants } = readings.get(photo.name)!;
      for (const line of [original, ...variants.map(([, lines]) => lines)].flat()) {
        const words = line.split(' ');
        for (let i = 1; i < words.length; i++) {
          const joined = words[i - 1] + words[i];
          expect({ line, split: tokens.some((token) => token.includes(joined)) }).toEqual({ line, split: false });
        }
      }
    }
  });
});
