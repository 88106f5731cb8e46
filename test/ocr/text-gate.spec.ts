import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_OCR_CONFIG } from '../../src/inference/ocr/ocr-config';
import { loadOcrConfigFile } from '../../src/inference/ocr/ocr-config-file';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import type { OcrOutput } from '../../src/inference/ocr/ocr-types';
import { lineFound, loadLibrarySet, type LibraryPhoto } from '../support/library-set';

/**
 * The text gate (src/inference/ocr/detection/text-gate.ts) on the held-out library set
 * (test/fixtures/library-heldout), which was not used to choose its settings. Real models, no mocks.
 */
describe('OCR text gate', () => {
  const heldout = loadLibrarySet('heldout');
  const photo = (name: string) => heldout.find((p) => p.name === name)!;
  const textPhotos = heldout.filter((p) => p.text);
  const textFree = heldout.filter((p) => !p.text);
  const texts = (out: OcrOutput) => out.lines.map((l) => l.text);
  const missing = (p: LibraryPhoto, out: OcrOutput) => p.lines.filter((line) => !lineFound(line, texts(out)));

  let plain: OcrEngine;
  let gated: OcrEngine;
  /** Every held-out photo through both engines, read once. */
  const fullOut = new Map<string, OcrOutput>();
  const gatedOut = new Map<string, OcrOutput>();

  beforeAll(async () => {
    plain = await OcrEngine.open();
    gated = await OcrEngine.open({ config: { gate: { enabled: true } } });
    for (const p of heldout) {
      fullOut.set(p.name, await plain.read(p.buf));
      gatedOut.set(p.name, await gated.read(p.buf));
    }
  }, 300_000);
  afterAll(async () => {
    await plain?.close();
    await gated?.close();
  });

  it('is off by default: a read runs the full pass and carries no gate', () => {
    expect(DEFAULT_OCR_CONFIG.gate.enabled).toBe(false);
    const out = fullOut.get('home')!; // 1440x1080, no text
    expect(out.gate).toBeUndefined();
    expect(out.detector).toEqual({ width: 992, height: 736 });
  });

  it('with the default settings keeps every line of every held-out text photo, small text included', () => {
    const lost = textPhotos.flatMap((p) => missing(p, fullOut.get(p.name)!).map((line) => `${p.name}: ${line}`));
    expect(lost).toEqual([]);
    expect(textPhotos.filter((p) => (p.minTextPx ?? 99) < 25).length).toBeGreaterThanOrEqual(8);
  });

  it('skips a text-free photo: no lines, only the small pass, a fraction of the detector pixels', () => {
    const [full, fast] = [fullOut.get('home')!, gatedOut.get('home')!];
    expect(fast.gate).toMatchObject({ width: 608, height: 448, regions: 0, skipped: true });
    expect(fast.detector).toEqual({ width: 608, height: 448 });
    expect(fast.lines).toEqual([]);
    expect([fast.width, fast.height]).toEqual([1440, 1080]);
    expect([fast.timings.classifyMs, fast.timings.recogniseMs]).toEqual([0, 0]);
    // The work, not the time (one timed sample on a shared machine is noise; bench:ocr-library times it).
    const pixels = (size: { width: number; height: number }) => size.width * size.height;
    expect(pixels(fast.detector!)).toBeLessThan(pixels(full.detector!) / 2);
  });

  it('skips most text-free held-out photos', () => {
    const skipped = textFree.filter((p) => gatedOut.get(p.name)!.gate?.skipped);
    expect(textFree.length).toBeGreaterThanOrEqual(13);
    expect(skipped.length).toBeGreaterThanOrEqual(10); // measured: 10 of 13 (notebook, lightbox and desk have a region)
  });

  it('lets the full pass run where it sees text, and then answers exactly as the full pass', () => {
    // Large text (the 44-73 px photos), a photo that is all text, and 80 px on a photograph.
    const large = textPhotos.filter((p) => (p.minTextPx ?? 0) >= 40 || p.name === 'lh07');
    expect(large.length).toBeGreaterThanOrEqual(12);
    for (const p of large) {
      const out = gatedOut.get(p.name)!;
      expect({ name: p.name, gate: out.gate?.skipped, missing: missing(p, out) }).toEqual({
        name: p.name,
        gate: false,
        missing: [],
      });
      expect(texts(out)).toEqual(texts(fullOut.get(p.name)!));
      expect(out.detector).toEqual(fullOut.get(p.name)!.detector);
    }
  });

  it('misses small text the full pass reads, which is why it is off by default', () => {
    // The detector finds no text under ~10 px of its input: a 16-24 px caption, date stamp or sign in
    // a 1440 px preview is ~5 px in the gate's. If this starts to fail, the gate has learnt to see
    // small text: measure it (npm run bench:ocr-library) and reconsider the default.
    const lost = textPhotos.filter((p) => missing(p, gatedOut.get(p.name)!).length > 0);
    expect(lost.every((p) => gatedOut.get(p.name)!.gate?.skipped)).toBe(true);
    expect(lost.filter((p) => (p.minTextPx ?? 99) < 25).length).toBeGreaterThanOrEqual(3);
  });

  it('keeps a panorama its shape and follows a per-call limitSideLen', async () => {
    expect(gatedOut.get('lh08')!.gate).toMatchObject({ width: 1728, height: 448 }); // 2880x720, full pass 2880x736
    const smaller = await gated.read(photo('home').buf, { limitSideLen: 480 }); // full pass 640x480
    expect(smaller.gate).toMatchObject({ width: 384, height: 288, skipped: true });
    const page = await gated.read(photo('lh07').buf, { limitSideLen: 480 });
    expect(page.gate?.skipped).toBe(false);
    expect(page.detector).toEqual({ width: 640, height: 480 });
    expect(page.lines.length).toBeGreaterThanOrEqual(10);
  });

  it('does not run on an image the full pass reads about as cheaply (1x1, 64x64, 400x300)', async () => {
    for (const [w, h] of [
      [1, 1],
      [64, 64],
      [400, 300],
    ]) {
      const image = await sharp({ create: { width: w, height: h, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      const out = await gated.read(image, { limitSideLen: 2048 });
      expect(out.gate).toBeUndefined();
      expect(out.lines).toEqual([]);
    }
  });

  it('is switched on and off by the settings file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocr-gate-'));
    const path = (name: string, body: string) => (writeFileSync(join(dir, name), body), join(dir, name));
    expect(() => loadOcrConfigFile(path('bad.json', '{"gate": {"scale": 1.5}}'))).toThrow(/gate\.scale/);
    expect(() => loadOcrConfigFile(path('typo.json', '{"gate": {"enable": true}}'))).toThrow(/gate\.enable/);
    const off = await OcrEngine.open({
      config: { ...loadOcrConfigFile(path('off.json', '{"gate": {"enabled": false}}')) },
    });
    const on = await OcrEngine.open({
      config: loadOcrConfigFile(path('on.json', '{"gate": {"enabled": true, "scale": 0.4}}')),
    });
    try {
      const [a, b] = [await off.read(photo('home').buf), await on.read(photo('home').buf)];
      expect(a.gate).toBeUndefined();
      expect(a.detector).toEqual({ width: 992, height: 736 });
      expect(b.gate).toMatchObject({ width: 384, height: 288, skipped: true }); // 0.4 of 992x736
    } finally {
      await off.close();
      await on.close();
    }
  });
});
