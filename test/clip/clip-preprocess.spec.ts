import sharp from 'sharp';
import { CLIP_MEAN, CLIP_STD, preprocessClipImage, toNormalisedChw } from '../../src/inference/clip/clip-preprocess';

const expected = (value: number, channel: number) => (value / 255 - CLIP_MEAN[channel]) / CLIP_STD[channel];

/** Value of one channel at (x, y) of a [1, 3, S, S] tensor. */
const at = (data: Float32Array, size: number, channel: number, x: number, y: number) =>
  data[channel * size * size + y * size + x];

describe('preprocessClipImage', () => {
  it('normalises with the CLIP mean and std into planar RGB', async () => {
    const png = await sharp({ create: { width: 50, height: 30, channels: 3, background: { r: 255, g: 128, b: 0 } } })
      .png()
      .toBuffer();
    const tensor = await preprocessClipImage(png, 224);
    expect(tensor.data).toHaveLength(3 * 224 * 224);
    expect([tensor.size, tensor.width, tensor.height]).toEqual([224, 50, 30]);
    for (const [x, y] of [
      [0, 0],
      [111, 57],
      [223, 223],
    ]) {
      expect(at(tensor.data, 224, 0, x, y)).toBeCloseTo(expected(255, 0), 4);
      expect(at(tensor.data, 224, 1, x, y)).toBeCloseTo(expected(128, 1), 4);
      expect(at(tensor.data, 224, 2, x, y)).toBeCloseTo(expected(0, 2), 4);
    }
  });

  it('squashes the whole image into the square instead of cropping it', async () => {
    // Three vertical stripes, red | green | blue, on a 3:1 image. A centre crop would keep only green.
    const stripe = (r: number, g: number, b: number) =>
      sharp({ create: { width: 100, height: 100, channels: 3, background: { r, g, b } } })
        .raw()
        .toBuffer();
    const [red, green, blue] = await Promise.all([stripe(255, 0, 0), stripe(0, 255, 0), stripe(0, 0, 255)]);
    const wide = await sharp({ create: { width: 300, height: 100, channels: 3, background: '#000' } })
      .composite([
        { input: red, raw: { width: 100, height: 100, channels: 3 }, left: 0, top: 0 },
        { input: green, raw: { width: 100, height: 100, channels: 3 }, left: 100, top: 0 },
        { input: blue, raw: { width: 100, height: 100, channels: 3 }, left: 200, top: 0 },
      ])
      .png()
      .toBuffer();
    const { data } = await preprocessClipImage(wide, 224);
    expect(at(data, 224, 0, 5, 112)).toBeCloseTo(expected(255, 0), 3); // left edge: red
    expect(at(data, 224, 1, 112, 112)).toBeCloseTo(expected(255, 1), 3); // middle: green
    expect(at(data, 224, 2, 218, 112)).toBeCloseTo(expected(255, 2), 3); // right edge: blue
  });

  it('resizes to the size asked for', async () => {
    const jpeg = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    expect((await preprocessClipImage(jpeg, 336)).data).toHaveLength(3 * 336 * 336);
  });

  it('refuses an image over the pixel limit from its header', async () => {
    const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    await expect(preprocessClipImage(png, 224, 10_000)).rejects.toMatchObject({ kind: 'too-large' });
  });
});

describe('toNormalisedChw', () => {
  it('moves interleaved RGB into channel planes', () => {
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0); // two pixels: red, green
    const out = toNormalisedChw(rgb, 2);
    expect(Array.from(out)).toEqual(
      [expected(255, 0), expected(0, 0), expected(0, 1), expected(255, 1), expected(0, 2), expected(0, 2)].map((v) =>
        expect.closeTo(v, 5),
      ),
    );
    expect(() => toNormalisedChw(rgb, 3)).toThrow(/expected 9 bytes/);
  });
});
