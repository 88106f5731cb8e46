import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ClipEngine, ClipModelMissingError, halfToFloat } from '../../src/inference/clip/clip-engine';
import { UnknownClipModelError } from '../../src/inference/clip/clip-models';
import { writeTestClipModel } from '../support/clip-model-gen';

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];

function solid([r, g, b]: Rgb, width = 64, height = 48): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

let root: string;
const engines: ClipEngine[] = [];

async function engine(modelRoot = root, extra: Partial<Parameters<typeof ClipEngine.open>[0]> = {}) {
  const opened = await ClipEngine.open({ root: modelRoot, modelName: 'ViT-B-16', threads: 1, ...extra });
  engines.push(opened);
  return opened;
}

async function freshRoot(): Promise<string> {
  return mkdtemp(join(root, 'case-'));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clip-engine-'));
  await writeTestClipModel(root);
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await rm(root, { recursive: true, force: true });
});

describe('ClipEngine on a generated cn-clip export', () => {
  it('returns unit-length 512-d embeddings and the original image size', async () => {
    const clip = await engine();
    expect(clip.modelName).toBe('ViT-B-16');
    expect(clip.dimensions).toBe(512);

    const image = await clip.encodeImage(await solid(RED, 64, 48).png().toBuffer());
    expect(image.embedding).toBeInstanceOf(Float32Array);
    expect(image.embedding).toHaveLength(512);
    expect(norm(image.embedding)).toBeCloseTo(1, 5);
    expect([image.width, image.height]).toEqual([64, 48]);

    const text = await clip.encodeText('红色');
    expect(text).toHaveLength(512);
    expect(norm(text)).toBeCloseTo(1, 5);
    expect(clip.device).toBe('cpu');
  });

  it('ranks the matching colour word first, in Chinese and in English', async () => {
    const clip = await engine();
    const words = { red: ['红色', 'red'], green: ['绿色', 'green'], blue: ['蓝色', 'blue'] };
    const texts = Object.fromEntries(
      await Promise.all(
        Object.values(words)
          .flat()
          .map(async (word) => [word, await clip.encodeText(word)] as const),
      ),
    );
    const colours: [keyof typeof words, Rgb][] = [
      ['red', RED],
      ['green', GREEN],
      ['blue', BLUE],
    ];
    for (const [name, rgb] of colours) {
      const { embedding } = await clip.encodeImage(await solid(rgb).jpeg().toBuffer());
      for (const [language, index] of [
        ['zh', 0],
        ['en', 1],
      ] as const) {
        const scores = colours.map(([other]) => dot(embedding, texts[words[other][index]]));
        const best = colours[scores.indexOf(Math.max(...scores))][0];
        expect({ image: name, language, best }).toEqual({ image: name, language, best: name });
      }
    }
    // "红色" beats "蓝色" for a red image by a clear margin, not by rounding.
    const red = (await clip.encodeImage(await solid(RED).png().toBuffer())).embedding;
    expect(dot(red, texts['红色']) - dot(red, texts['蓝色'])).toBeGreaterThan(0.5);
  });

  it('applies EXIF orientation and reports the turned size', async () => {
    const clip = await engine();
    // 40x20 pixels stored, orientation 6 (turn 90 degrees clockwise to display): 20x40 on screen.
    const jpeg = await solid(RED, 40, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const result = await clip.encodeImage(jpeg);
    expect([result.width, result.height]).toEqual([20, 40]);
    expect(dot(result.embedding, await clip.encodeText('红色'))).toBeGreaterThan(0.5);
  });

  it('flattens transparency onto white', async () => {
    const clip = await engine();
    const transparent = await sharp({
      create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const { embedding } = await clip.encodeImage(transparent);
    expect(dot(embedding, await clip.encodeText('白色'))).toBeGreaterThan(
      dot(embedding, await clip.encodeText('蓝色')),
    );

    const opaqueRed = await sharp({
      create: { width: 32, height: 32, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } },
    })
      .png()
      .toBuffer();
    const red = (await clip.encodeImage(opaqueRed)).embedding;
    expect(dot(red, await clip.encodeText('红色'))).toBeGreaterThan(dot(red, await clip.encodeText('蓝色')));
  });

  it('rejects corrupt, empty, non-photo and oversize images with ImageInputError', async () => {
    const clip = await engine(root, { maxPixels: 1000 });
    await expect(clip.encodeImage(Buffer.from('definitely not an image'))).rejects.toMatchObject({
      name: 'ImageInputError',
      kind: 'unsupported',
    });
    const jpeg = await solid(RED, 20, 20).jpeg().toBuffer();
    await expect(clip.encodeImage(jpeg.subarray(0, jpeg.length / 2))).rejects.toMatchObject({ kind: 'undecodable' });
    await expect(clip.encodeImage(Buffer.alloc(0))).rejects.toMatchObject({ kind: 'empty' });
    await expect(clip.encodeImage(await solid(RED, 100, 100).png().toBuffer())).rejects.toMatchObject({
      kind: 'too-large',
    });
  });

  it('gives the same embedding for the same input', async () => {
    const clip = await engine();
    const [a, b] = await Promise.all([clip.encodeText('一张红色的照片'), clip.encodeText('一张红色的照片')]);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('ClipEngine model files', () => {
  it('works text-only without the image model, and says which file the image side lacks', async () => {
    const textOnly = await freshRoot();
    const dir = await writeTestClipModel(textOnly, { parts: ['text'] });
    const clip = await engine(textOnly);

    expect(await clip.checkInstalled('text')).toMatchObject({ installed: true, missing: [], precision: 'fp32' });
    expect(await clip.checkInstalled('image')).toMatchObject({
      installed: false,
      dir,
      missing: [join(dir, 'vit-b-16.img.fp32.onnx')],
    });
    expect(await clip.encodeText('蓝色')).toHaveLength(512);

    const error = await clip.encodeImage(await solid(RED).png().toBuffer()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClipModelMissingError);
    expect(error).toMatchObject({ part: 'image', path: join(dir, 'vit-b-16.img.fp32.onnx') });
    expect((error as Error).message).toContain(join(dir, 'vit-b-16.img.fp32.onnx'));
    expect((error as Error).message).toContain(`put the files in ${dir}`);
    expect((error as Error).message).toContain('immich-ai models download clip ViT-B-16');
  });

  it('works image-only, and names vocab.txt when the text side lacks it', async () => {
    const imageOnly = await freshRoot();
    const dir = await writeTestClipModel(imageOnly, { parts: ['image', 'text'], vocab: false });
    await unlink(join(dir, 'vit-b-16.txt.fp32.onnx'));
    const clip = await engine(imageOnly);

    expect((await clip.encodeImage(await solid(GREEN).png().toBuffer())).embedding).toHaveLength(512);
    expect((await clip.checkInstalled('text')).missing).toEqual([
      join(dir, 'vit-b-16.txt.fp32.onnx'),
      join(dir, 'vocab.txt'),
    ]);
    await expect(clip.encodeText('绿色')).rejects.toThrow(ClipModelMissingError);

    // Put the text model in place: the next call loads it, no restart needed.
    await writeTestClipModel(imageOnly, { parts: ['text'] });
    expect(await clip.encodeText('绿色')).toHaveLength(512);
  });

  it('reports a missing model folder without creating anything', async () => {
    const empty = await freshRoot();
    const clip = await engine(empty);
    const status = await clip.checkInstalled('image');
    expect(status.installed).toBe(false);
    expect(status.dir).toBe(join(empty, 'ViT-B-16'));
    await expect(clip.encodeText('红色')).rejects.toThrow(/vit-b-16\.txt\.fp32\.onnx is missing/);
  });

  it('reads fp16 exports and converts half-precision outputs to float32', async () => {
    const fp16Root = await freshRoot();
    await writeTestClipModel(fp16Root, { precision: 'fp16' });
    const half = await engine(fp16Root);
    const full = await engine();
    expect(await half.checkInstalled('image')).toMatchObject({ installed: true, precision: 'fp16' });

    const text = await half.encodeText('red');
    expect(text).toBeInstanceOf(Float32Array);
    expect(norm(text)).toBeCloseTo(1, 5);
    expect(dot(text, await full.encodeText('red'))).toBeGreaterThan(0.999);

    const png = await solid(BLUE).png().toBuffer();
    const image = (await half.encodeImage(png)).embedding;
    expect(dot(image, (await full.encodeImage(png)).embedding)).toBeGreaterThan(0.999);
    expect(dot(image, await half.encodeText('blue'))).toBeGreaterThan(dot(image, text));
  });

  it('prefers fp32 on CPU when both precisions are present', async () => {
    const both = await freshRoot();
    await writeTestClipModel(both, { precision: 'fp16' });
    await writeTestClipModel(both, { precision: 'fp32' });
    const clip = await engine(both);
    expect(await clip.checkInstalled('text')).toMatchObject({ precision: 'fp32' });
    const cuda = await engine(both, { device: 'cuda' });
    expect(await cuda.checkInstalled('text')).toMatchObject({ precision: 'fp16' });
    // Without a GPU the CUDA request falls back to CPU and still answers.
    expect(await cuda.encodeText('red')).toHaveLength(512);
    expect(['cpu', 'cuda']).toContain(cuda.device);
  });

  it('refuses an export whose width does not match the model size', async () => {
    const wrong = await freshRoot();
    await writeTestClipModel(wrong, { dimensions: 256 });
    const clip = await engine(wrong);
    await expect(clip.encodeText('红色')).rejects.toThrow(/produced \[1, 256\], expected \[1, 512\]/);
  });

  it('accepts other spellings of the model name and refuses unknown ones', async () => {
    const clip = await ClipEngine.open({ root, modelName: 'cn-clip:vit-b-16' });
    engines.push(clip);
    expect(clip.modelName).toBe('ViT-B-16');
    expect(await clip.encodeText('红色')).toHaveLength(512);
    await expect(ClipEngine.open({ root, modelName: 'ViT-B-32' })).rejects.toThrow(UnknownClipModelError);
    await expect(ClipEngine.open({ root, modelName: 'ViT-B-32' })).rejects.toThrow(/ViT-B-16, RN50, ViT-L-14/);
  });

  it('uses the image size of the model: 336 for ViT-L-14-336', async () => {
    const large = await freshRoot();
    await writeTestClipModel(large, { modelName: 'ViT-L-14-336' });
    const clip = await ClipEngine.open({ root: large, modelName: 'ViT-L-14-336', threads: 1 });
    engines.push(clip);
    const { embedding } = await clip.encodeImage(await solid(RED).png().toBuffer());
    expect(embedding).toHaveLength(768);
    expect(dot(embedding, await clip.encodeText('红色'))).toBeGreaterThan(
      dot(embedding, await clip.encodeText('蓝色')),
    );
  });
});

describe('halfToFloat', () => {
  it('decodes IEEE binary16', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325, 5);
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 10);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });
});
