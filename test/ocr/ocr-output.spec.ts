import sharp from 'sharp';
import { ImageInputError } from '../../src/shared/image/decode';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { hugePngHeader, truncated } from '../support/bad-images';
import { withoutSpaces } from '../support/cer';
import { ocrFixture } from '../support/fixtures';

describe('OCR engine output and inputs', () => {
  let engine: OcrEngine;
  beforeAll(async () => {
    engine = await OcrEngine.open();
  });
  afterAll(() => engine.close());

  const text = async (image: Buffer) => withoutSpaces((await engine.read(image)).lines.map((l) => l.text).join(''));

  it('gives boxes in pixels of the original image, scores, and reading order', async () => {
    const out = await engine.read(ocrFixture('f01'));
    expect([out.width, out.height]).toEqual([1440, 1080]);
    expect(out.lines.map((l) => l.text)).toEqual(['今天天气很好', 'Hello World 2024', '上海市浦东新区']);
    for (const line of out.lines) {
      expect(line.box).toHaveLength(8);
      line.box.forEach((v, i) => expect(v).toBeLessThanOrEqual(i % 2 ? 1080 : 1440));
      expect(line.score).toBeGreaterThan(0.9);
      expect(line.boxScore).toBeGreaterThan(0.5);
    }
    // The first line sits in the upper-left of the photo: its box is where the text was drawn.
    const [x1, y1, x2, , , y3] = out.lines[0].box;
    expect(x1).toBeLessThan(200);
    expect(x2 - x1).toBeGreaterThan(200);
    expect(y3 - y1).toBeGreaterThan(30);
    expect(out.lines[1].box[1]).toBeGreaterThan(out.lines[0].box[5] - 5);
    expect(out.timings.totalMs).toBeGreaterThan(0);
  });

  it('keeps boxes in original pixels when the detector works on a resized copy', async () => {
    const out = await engine.read(ocrFixture('f01')); // 1440x1080, detected at 992x736
    expect(out.detector).toEqual({ width: 992, height: 736 });
    // The same photo at half size, enlarged to the same detector size: the same boxes, halved.
    const half = await engine.read(await sharp(ocrFixture('f01')).resize(720, 540).toBuffer());
    expect(half.detector).toEqual({ width: 992, height: 736 });
    // Same lines (a recovered space can differ: the crops are resampled from another size).
    expect(half.lines.map((l) => withoutSpaces(l.text))).toEqual(out.lines.map((l) => withoutSpaces(l.text)));
    expect(out.lines.length).toBe(3);
    out.lines.forEach((line, i) =>
      line.box.forEach((v, k) => expect(Math.abs(v - 2 * half.lines[i].box[k])).toBeLessThan(12)),
    );
  });

  it('enlarges a small image for the detector as RapidOCR does, at a bounded cost', async () => {
    const small = await engine.read(ocrFixture('f06')); // 800x600: detected at short side 736
    expect(small.detector).toEqual({ width: 992, height: 736 });
    expect(small.lines.map((l) => l.text)).toEqual(['订单编号 20240506123', '联系电话 021-55556666']);
    for (const size of [64, 1]) {
      const tiny = await sharp({ create: { width: size, height: size, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      const out = await engine.read(tiny, { limitSideLen: 2048 });
      expect(out.detector.width * out.detector.height).toBeLessThanOrEqual(engine.config.det.maxEnlargedPixels);
      expect(out.lines).toEqual([]);
    }
  });

  it('reads a 48 MP photo from a smaller decode and still reports boxes in its own pixels', async () => {
    const photo = await sharp(ocrFixture('f03')).resize(8000, 6000).jpeg({ quality: 90 }).toBuffer();
    const [big, small] = [await engine.read(photo), await engine.read(ocrFixture('f03'))];
    expect([big.width, big.height]).toEqual([8000, 6000]);
    // Same lines (a recovered space can differ: the crops are resampled from another size).
    expect(big.lines.map((l) => withoutSpaces(l.text))).toEqual(small.lines.map((l) => withoutSpaces(l.text)));
    const factor = 8000 / 1440;
    big.lines.forEach((line, i) =>
      line.box.forEach((v, k) => expect(Math.abs(v - small.lines[i].box[k] * factor)).toBeLessThan(6 * factor)),
    );
  });

  it('applies EXIF orientation before reading', async () => {
    // Pixels stored turned 90 degrees counter-clockwise, with EXIF orientation 6 saying "turn me back".
    const stored = await sharp(ocrFixture('f07')).rotate(-90).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const out = await engine.read(stored);
    expect([out.width, out.height]).toEqual([1440, 1080]);
    expect(withoutSpaces(out.lines.map((l) => l.text).join(''))).toContain('Meetingnotes');
  });

  it('flattens transparency onto a background the text shows on: black text on transparent', async () => {
    const grey = await sharp(ocrFixture('f07')).greyscale().raw().toBuffer({ resolveWithObject: true });
    const rgba = Buffer.alloc(grey.info.width * grey.info.height * 4);
    for (let i = 0; i < grey.data.length; i++) rgba[i * 4 + 3] = 255 - grey.data[i];
    const png = await sharp(rgba, { raw: { width: grey.info.width, height: grey.info.height, channels: 4 } })
      .png()
      .toBuffer();
    expect(await text(png)).toContain('Actionitemsfortheteam');
    // White text on transparent: the same photo's text, flattened onto white, would be a blank image.
    for (let i = 0; i < grey.data.length; i++) rgba.fill(255, i * 4, i * 4 + 3);
    const white = await sharp(rgba, { raw: { width: grey.info.width, height: grey.info.height, channels: 4 } })
      .png()
      .toBuffer();
    expect(await text(white)).toContain('Actionitemsfortheteam');
  });

  it('reads grayscale and CMYK images', async () => {
    const grey = await sharp(ocrFixture('f08')).greyscale().png().toBuffer();
    expect(await text(grey)).toContain('WestLakeHangzhou');
    const cmyk = await sharp(ocrFixture('f08')).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    expect(await text(cmyk)).toContain('WestLakeHangzhou');
  });

  it('returns no lines for a photo without text', async () => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#88aacc' } })
      .jpeg()
      .toBuffer();
    expect((await engine.read(blank)).lines).toEqual([]);
  });

  it.each([
    ['an empty file', Buffer.alloc(0), 'empty', /empty/],
    ['text that is not an image', Buffer.from('hello, not an image'), 'unsupported', /not a photo format/],
    ['an SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'), 'unsupported', /SVG/],
    ['a truncated JPEG', truncated(ocrFixture('f02')), 'undecodable', /could not be decoded|premature|truncated/i],
    ['a 30000x30000 PNG header', hugePngHeader(), 'too-large', /30000x30000.*over the limit/],
  ])('rejects %s with a clear ImageInputError', async (_name, input, kind, message) => {
    const error = await engine.read(input as Buffer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageInputError);
    expect((error as ImageInputError).kind).toBe(kind);
    expect((error as Error).message).toMatch(message as RegExp);
  });

  it('honours per-call thresholds (Immich minScore options)', async () => {
    const loose = await engine.read(ocrFixture('f03'), { textScoreMin: 0.5 });
    const scores = loose.lines.map((l) => l.score).sort((a, b) => a - b);
    expect(scores.length).toBeGreaterThanOrEqual(4);
    // A threshold between the lowest and highest score keeps some lines and drops others.
    const middle = (scores[0] + scores[scores.length - 1]) / 2;
    const strict = await engine.read(ocrFixture('f03'), { textScoreMin: middle });
    expect(strict.lines.length).toBeGreaterThan(0);
    expect(strict.lines.length).toBeLessThan(loose.lines.length);
    expect(strict.lines.every((l) => l.score >= middle)).toBe(true);
    const noBoxes = await engine.read(ocrFixture('f03'), { boxThresh: 0.99 });
    expect(noBoxes.lines).toEqual([]);
  });

  it('honours maxResolution (the detector input short side) on an image larger than it', async () => {
    const smaller = await engine.read(ocrFixture('f03'), { limitSideLen: 480 });
    expect(smaller.detector).toEqual({ width: 640, height: 480 });
    expect(smaller.lines.length).toBeGreaterThan(0);
    expect(withoutSpaces(smaller.lines.map((l) => l.text).join(''))).toContain('收银小票');
  });
});
