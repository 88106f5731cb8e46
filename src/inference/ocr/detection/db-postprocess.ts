import type { OcrConfig } from '../ocr-config';
import type { DetLayout } from './det-layout';
import { convexHull, meanInsideQuad, minAreaRect, orderBox, Point, rectCorners } from './geometry';

export interface DetectedBox {
  /** tl, tr, br, bl in pixels of the original image. */
  points: Point[];
  score: number;
}

/**
 * DB (Differentiable Binarization) post-processing as RapidOCR does it: threshold the probability
 * map, dilate, find connected regions, fit a min-area rectangle, score it on the probability map,
 * grow it by the unclip distance, and map it back to the image (out of the layout's rectangle, past
 * any strip padding, into `srcW` x `srcH` pixels).
 *
 * Regions are found as horizontal runs joined with union-find (8-connectivity), which gives each
 * region's left/right extreme per row directly: exactly the points its convex hull needs.
 */
export function dbPostprocess(
  prob: Float32Array,
  layout: DetLayout,
  srcW: number,
  srcH: number,
  cfg: OcrConfig['det'],
): DetectedBox[] {
  const { w: mapW, h: mapH } = layout;
  const bitmap = binarize(prob, mapW, mapH, cfg.thresh, cfg.useDilation);
  const regions = findRegions(bitmap, mapW, mapH).slice(0, cfg.maxCandidates);
  const sx = srcW / layout.iw;
  const sy = srcH / layout.ih;
  const boxes: DetectedBox[] = [];
  for (const region of regions) {
    const hull = convexHull(region.points, region.count);
    const rect = minAreaRect(hull);
    if (Math.min(rect.w, rect.h) < cfg.minSize) continue;
    const score = meanInsideQuad(prob, mapW, mapH, orderBox(rectCorners(rect)).map(truncPoint));
    if (score < cfg.boxThresh) continue;
    // pyclipper's round-join offset of a rectangle by d has a min-area rectangle d larger on each side.
    const area = rect.w * rect.h;
    const perimeter = 2 * (rect.w + rect.h);
    const distance = (area * cfg.unclipRatio) / perimeter;
    if (Math.min(rect.w, rect.h) + 2 * distance < cfg.minSize + 2) continue;
    const grown = orderBox(rectCorners(rect, distance)).map(
      ([x, y]) =>
        [clamp(Math.round((x - layout.x) * sx), 0, srcW), clamp(Math.round((y - layout.y) * sy), 0, srcH)] as Point,
    );
    // RapidOCR's filter_tag_det_res: clockwise order, clip to the image, drop slivers.
    const pts = orderClockwise(grown).map(([x, y]) => [clamp(x, 0, srcW - 1), clamp(y, 0, srcH - 1)] as Point);
    const width = Math.trunc(Math.hypot(pts[0][0] - pts[1][0], pts[0][1] - pts[1][1]));
    const height = Math.trunc(Math.hypot(pts[0][0] - pts[3][0], pts[0][1] - pts[3][1]));
    if (width <= 3 || height <= 3) continue;
    boxes.push({ points: pts, score });
  }
  return boxes;
}

function binarize(prob: Float32Array, w: number, h: number, thresh: number, dilate: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  if (!dilate) {
    for (let i = 0; i < out.length; i++) out[i] = prob[i] > thresh ? 1 : 0;
    return out;
  }
  // cv2.dilate with a 2x2 kernel and centre anchor: out(x,y) = max of in over x-1..x, y-1..y.
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = row - w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      out[i] =
        prob[i] > thresh ||
        (x > 0 && prob[i - 1] > thresh) ||
        (y > 0 && (prob[up + x] > thresh || (x > 0 && prob[up + x - 1] > thresh)))
          ? 1
          : 0;
    }
  }
  return out;
}

interface Region {
  /** Flat x,y pairs: both ends of every run. */
  points: number[];
  count: number;
  top: number;
}

function findRegions(bitmap: Uint8Array, w: number, h: number): Region[] {
  const runRow: number[] = [];
  const runX0: number[] = [];
  const runX1: number[] = [];
  const parent: number[] = [];
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  let prevStart = 0;
  let prevEnd = 0;
  for (let y = 0; y < h; y++) {
    const rowStart = runRow.length;
    const base = y * w;
    let x = 0;
    while (x < w) {
      if (!bitmap[base + x]) {
        x++;
        continue;
      }
      const x0 = x;
      while (x < w && bitmap[base + x]) x++;
      const id = runRow.length;
      runRow.push(y);
      runX0.push(x0);
      runX1.push(x - 1);
      parent.push(id);
      // 8-connectivity: runs in the previous row touching [x0-1, x] belong together.
      for (let p = prevStart; p < prevEnd; p++) {
        if (runX1[p] < x0 - 1) continue;
        if (runX0[p] > x) break;
        const a = find(p);
        const b = find(id);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
    prevStart = rowStart;
    prevEnd = runRow.length;
  }
  const byRoot = new Map<number, Region>();
  for (let i = 0; i < runRow.length; i++) {
    const root = find(i);
    let region = byRoot.get(root);
    if (!region) {
      region = { points: [], count: 0, top: runRow[i] };
      byRoot.set(root, region);
    }
    region.points.push(runX0[i], runRow[i], runX1[i], runRow[i]);
    region.count += 2;
  }
  return [...byRoot.values()];
}

function orderClockwise(pts: Point[]): Point[] {
  const byX = [...pts].sort((a, b) => a[0] - b[0]);
  const left = byX.slice(0, 2).sort((a, b) => a[1] - b[1]);
  const right = byX.slice(2).sort((a, b) => a[1] - b[1]);
  return [left[0], right[0], right[1], left[1]];
}

const truncPoint = ([x, y]: Point): Point => [Math.trunc(x), Math.trunc(y)];
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
