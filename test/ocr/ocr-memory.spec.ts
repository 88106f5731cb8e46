import sharp from 'sharp';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { ocrFixture } from '../support/fixtures';

/**
 * onnxruntime's CPU arena keeps the memory of the largest detector run for the life of the session:
 * one large request would leave the process a gigabyte larger for good. The engine opens its detector
 * afresh after such a run, so the memory goes back; Immich's previews, and enlarged small images,
 * never trigger it.
 */
describe('OCR engine memory after a large request', () => {
  let engine: OcrEngine;
  beforeAll(async () => {
    engine = await OcrEngine.open({ threads: 1 });
  });
  afterAll(() => engine.close());

  const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

  it('gives back what a large detector run took; a preview-sized run keeps the arena', async () => {
    for (let i = 0; i < 2; i++) await engine.read(ocrFixture('f03')); // warm: the arena at preview size
    const preview = await engine.read(ocrFixture('f03'), { limitSideLen: 2048 });
    // Enlarged as RapidOCR would, but no further than maxEnlargedPixels, which the arena keeps.
    expect(preview.detector.width * preview.detector.height).toBeLessThanOrEqual(engine.config.det.maxEnlargedPixels);
    expect(engine.detectorReopens).toBe(0);
    const settled = rssMb();

    const large = await sharp(ocrFixture('f03')).resize(2880, 2160).jpeg({ quality: 90 }).toBuffer();
    const out = await engine.read(large, { limitSideLen: 2048 });
    expect(out.detector.width * out.detector.height).toBeGreaterThan(4_000_000);
    expect(out.lines.length).toBeGreaterThan(0);
    expect(engine.detectorReopens).toBe(1);
    // Kept by the arena, this run left the process ~620 MB larger here; given back, nothing is left.
    expect(rssMb() - settled).toBeLessThan(350);

    // The fresh detector reads as before.
    expect((await engine.read(ocrFixture('f03'))).lines.map((l) => l.text)).toEqual(
      (await engine.read(ocrFixture('f03'))).lines.map((l) => l.text),
    );
  });
});
