import sharp from 'sharp';
import { ImageInputError, decodeRgb, readImageInfo } from '../../src/shared/image/decode';
import { hugePngHeader, lyingJpeg } from '../support/bad-images';

/** What both services accept as an image, and what they refuse before any decoder runs. */
describe('image formats and limits (src/shared/image/decode.ts)', () => {
  const base = () => sharp({ create: { width: 40, height: 30, channels: 3, background: '#c84' } });
  const kindOf = async (work: Promise<unknown>) => ((await work.catch((e: unknown) => e)) as ImageInputError).kind;

  it.each([
    ['jpeg', () => base().jpeg().toBuffer()],
    ['png', () => base().png().toBuffer()],
    ['webp', () => base().webp().toBuffer()],
    ['gif', () => base().gif().toBuffer()],
    ['tiff', () => base().tiff().toBuffer()],
    ['heif', () => base().avif().toBuffer()],
  ])('reads and decodes %s', async (format, make) => {
    const image = await make();
    expect(await readImageInfo(image)).toEqual({ width: 40, height: 30, format });
    const rgb = await decodeRgb(image);
    expect([rgb.width, rgb.height, rgb.data.length]).toEqual([40, 30, 40 * 30 * 3]);
  });

  it.each([
    ['SVG', '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="9" height="9"/></svg>'],
    ['PDF', '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n'],
    ['BMP', `BM${'\0'.repeat(60)}`],
    ['plain text', 'hello'],
  ])('refuses %s as not a photo format, before any decoder sees it', async (_label, content) => {
    expect(await kindOf(readImageInfo(Buffer.from(content)))).toBe('unsupported');
  });

  it('holds the pixel limit for every format, counting one page of a multi-page file', async () => {
    expect(await kindOf(readImageInfo(hugePngHeader(30000, 30000)))).toBe('too-large');
    const wide = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#000' } })
      .webp()
      .toBuffer();
    expect(await kindOf(readImageInfo(wide, 5_000_000))).toBe('too-large');
    expect(await readImageInfo(wide, 6_000_000)).toMatchObject({ width: 3000, height: 2000 });
    // An animated GIF of 3 frames of 40x30: one frame is decoded, so one frame counts (1200 pixels).
    const frame = (colour: string) =>
      sharp({ create: { width: 40, height: 30, channels: 3, background: colour } })
        .png()
        .toBuffer();
    const frames = await Promise.all(['#123', '#456', '#789'].map(frame));
    const animated = await sharp(frames, { join: { animated: true } })
      .gif({ loop: 0 })
      .toBuffer();
    expect((await sharp(animated, { pages: -1 }).metadata()).pages).toBe(3);
    expect(await readImageInfo(animated, 1200)).toEqual({ width: 40, height: 30, format: 'gif' });
    const rgb = await decodeRgb(animated, 1200);
    expect([rgb.width, rgb.height]).toEqual([40, 30]);
  });

  it('refuses a JPEG whose header claims more pixels than its data holds, without decoding the claim', async () => {
    const lying = await lyingJpeg(1900, 1900);
    expect(await readImageInfo(lying)).toMatchObject({ width: 1900, height: 1900 }); // the header alone
    const error = (await decodeRgb(lying).catch((e: unknown) => e)) as ImageInputError;
    expect(error.kind).toBe('undecodable');
    expect(error.message).toMatch(/ends before the size its header gives/);
  });
});
