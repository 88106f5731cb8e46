import { dbPostprocess } from '../../src/inference/ocr/detection/db-postprocess';
import { detectorSize } from '../../src/inference/ocr/detection/det-preprocess';
import { convexHull, minAreaRect } from '../../src/inference/ocr/detection/geometry';
import { DEFAULT_OCR_CONFIG } from '../../src/inference/ocr/ocr-config';

const det = DEFAULT_OCR_CONFIG.det;

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
    const boxes = dbPostprocess(probMap(320, 160, [[50, 40, 150, 50, 0.9]]), 320, 160, 640, 320, det);
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
    const boxes = dbPostprocess(map, 200, 100, 200, 100, det);
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

  it('sizes the detector input: short side 736, multiples of 32, long side capped', () => {
    expect(detectorSize(1440, 1080, det)).toEqual({ w: 992, h: 736 });
    expect(detectorSize(1080, 30000, det)).toEqual({ w: 160, h: 4096 });
    expect(detectorSize(1440, 1080, { ...det, limitSideLen: 960 })).toEqual({ w: 1280, h: 960 });
  });

  it('never enlarges a small image: its sides are only rounded to multiples of 32', () => {
    expect(detectorSize(800, 600, det)).toEqual({ w: 800, h: 608 });
    expect(detectorSize(64, 64, det)).toEqual({ w: 64, h: 64 });
    expect(detectorSize(1, 1, det)).toEqual({ w: 32, h: 32 });
    // Immich's largest maxResolution on its 1440 px preview: the preview's own size, not more.
    expect(detectorSize(1440, 1080, { ...det, limitSideLen: 2048 })).toEqual({ w: 1440, h: 1088 });
  });

  it('caps the detector input at maxPixels whatever maxResolution asks', () => {
    const { w, h } = detectorSize(8000, 6000, { ...det, limitSideLen: 2048 });
    expect(w * h).toBeLessThanOrEqual(det.maxPixels * 1.05);
    expect(w / h).toBeCloseTo(8000 / 6000, 1);
  });
});
