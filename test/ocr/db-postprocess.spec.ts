import { dbPostprocess } from '../../src/inference/ocr/detection/db-postprocess';
import { detectorLayout, stripPadding } from '../../src/inference/ocr/detection/det-layout';
import { convexHull, minAreaRect } from '../../src/inference/ocr/detection/geometry';
import { DEFAULT_OCR_CONFIG } from '../../src/inference/ocr/ocr-config';

const det = DEFAULT_OCR_CONFIG.det;

/** A detector input of w x h holding the image with no padding. */
const plain = (w: number, h: number) => ({ w, h, x: 0, y: 0, iw: w, ih: h });
const size = (width: number, height: number, cfg = det) => {
  const { w, h } = detectorLayout(width, height, cfg);
  return { w, h };
};

/** A probability map with `value` inside the axis-aligned rectangles given. */
function probMap(w: number, h: number, rects: [number, number, number, number, number][]): Float32Array {
  const map = new Float32Array(w * h);
  for (const [x0, y0, x1, y1, value] of rects) {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) map[y * w + x] = value;
  }
  return map;
}

describe('DB post-processing', () => {
  it('turns a text kernel into a box grown by the unclip distance, in original pixels', () => {
    // Kernel 101 x 11 px at (50,40); the original image is twice the map's size.
    const boxes = dbPostprocess(probMap(320, 160, [[50, 40, 150, 50, 0.9]]), plain(320, 160), 640, 320, det);
    expect(boxes).toHaveLength(1);
    const [tl, tr, br, bl] = boxes[0].points;
    // Scored over the dilated region (102 x 12 px), whose extra row and column have probability 0.
    expect(boxes[0].score).toBeCloseTo((0.9 * 101 * 11) / (102 * 12), 2);
    // Dilation adds a pixel right and down: rect 101 x 11 (between pixel centres), d = 101*11*1.6/224 = 7.9.
    expect(tl[0]).toBeCloseTo((50 - 7.9) * 2, -1);
    expect(tl[1]).toBeCloseTo((40 - 7.9) * 2, -1);
    expect(br[0]).toBeCloseTo((151 + 7.9) * 2, -1);
    expect(br[1]).toBeCloseTo((51 + 7.9) * 2, -1);
    expect(tr[1]).toBe(tl[1]);
    expect(bl[0]).toBe(tl[0]);
  });

  it('drops weak regions, slivers and specks, keeps separate words separate', () => {
    const map = probMap(200, 100, [
      [10, 10, 60, 20, 0.9], // word
      [100, 10, 150, 20, 0.9], // word
      [10, 60, 60, 70, 0.4], // above thresh 0.3 but below box_thresh 0.5
      [100, 60, 101, 61, 0.95], // speck under min_size
    ]);
    const boxes = dbPostprocess(map, plain(200, 100), 200, 100, det);
    expect(boxes).toHaveLength(2);
    expect(boxes.map((b) => b.points[0][0]).sort((a, b) => a - b)[1]).toBeGreaterThan(80);
  });

  it('fits rotated text with a rotated rectangle', () => {
    const pts: number[] = [];
    const angle = (20 * Math.PI) / 180;
    for (const [u, v] of [
      [0, 0],
      [100, 0],
      [100, 20],
      [0, 20],
    ]) {
      pts.push(50 + u * Math.cos(angle) - v * Math.sin(angle), 50 + u * Math.sin(angle) + v * Math.cos(angle));
    }
    const rect = minAreaRect(convexHull(pts, 4));
    expect(Math.max(rect.w, rect.h)).toBeCloseTo(100, 5);
    expect(Math.min(rect.w, rect.h)).toBeCloseTo(20, 5);
  });

  it('maps boxes out of the padding of a strip back into the image', () => {
    // A 400x40 strip padded to 400x100 (30 px above and below) and detected at 4x: 1600x400.
    const layout = { w: 1600, h: 400, x: 0, y: 120, iw: 1600, ih: 160 };
    const boxes = dbPostprocess(probMap(1600, 400, [[200, 180, 1400, 220, 0.9]]), layout, 400, 40, det);
    expect(boxes).toHaveLength(1);
    const [tl, , br] = boxes[0].points;
    expect(tl[1]).toBeGreaterThanOrEqual(0);
    expect(tl[1]).toBeLessThan(15);
    expect(br[1]).toBeGreaterThan(25);
    expect(br[1]).toBeLessThanOrEqual(39);
    expect(tl[0]).toBeLessThan(50);
    expect(br[0]).toBeGreaterThan(350);
  });

  it('sizes the detector input: short side 736, multiples of 32, long side capped', () => {
    expect(size(1440, 1080)).toEqual({ w: 992, h: 736 });
    expect(size(1080, 30000)).toEqual({ w: 160, h: 4096 });
    expect(size(1440, 1080, { ...det, limitSideLen: 960 })).toEqual({ w: 1280, h: 960 });
  });

  it('enlarges a small image to short side 736, as RapidOCR does, within maxEnlargedPixels', () => {
    expect(size(800, 600)).toEqual({ w: 992, h: 736 });
    expect(size(323, 430)).toEqual({ w: 736, h: 992 });
    expect(size(259, 133)).toEqual({ w: 1440, h: 736 });
    expect(size(64, 64)).toEqual({ w: 736, h: 736 });
    expect(size(1, 1)).toEqual({ w: 736, h: 736 });
    // Immich's largest maxResolution on its 1440 px preview: enlarged, but no further than the cap.
    const { w, h } = size(1440, 1080, { ...det, limitSideLen: 2048 });
    expect(w * h).toBeLessThanOrEqual(det.maxEnlargedPixels);
    expect(w / h).toBeCloseTo(1440 / 1080, 1);
  });

  it('pads wide strips above and below as RapidOCR does, never tall ones', () => {
    // RapidOCR: 445x39 is wider than 8:1, padded to 2 x 445/8 = 110 px tall: 35 px above and below.
    expect(stripPadding(445, 39, det)).toEqual({ x: 0, y: 35 });
    expect(stripPadding(1167, 54, det)).toEqual({ x: 0, y: 118 });
    expect(stripPadding(39, 445, det)).toEqual({ x: 0, y: 0 });
    expect(stripPadding(1440, 1080, det)).toEqual({ x: 0, y: 0 });
    expect(stripPadding(445, 39, { ...det, stripRatio: 0 })).toEqual({ x: 0, y: 0 });
    const layout = detectorLayout(445, 39, det);
    expect(layout.w * layout.h).toBeLessThanOrEqual(det.maxEnlargedPixels);
    // The strip sits in the middle, a third of the input's height, with black bands around it.
    expect(layout.y).toBeGreaterThan(0);
    expect(layout.ih / layout.h).toBeCloseTo(39 / 109, 1);
    expect(layout.iw).toBe(layout.w);
  });

  it('caps the detector input at maxPixels whatever maxResolution asks', () => {
    const { w, h } = size(8000, 6000, { ...det, limitSideLen: 2048 });
    expect(w * h).toBeLessThanOrEqual(det.maxPixels * 1.05);
    expect(w / h).toBeCloseTo(8000 / 6000, 1);
  });
});
