/** Plane geometry for DB post-processing: the pieces OpenCV gives RapidOCR, on plain number arrays. */

export type Point = [number, number];

/** Andrew's monotone chain; input as flat [x0,y0,x1,y1,...], output counter-clockwise without repeats. */
export function convexHull(flat: ArrayLike<number>, count: number): Point[] {
  const pts: Point[] = new Array(count);
  for (let i = 0; i < count; i++) pts[i] = [flat[2 * i], flat[2 * i + 1]];
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (count < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

export interface RotatedRect {
  cx: number;
  cy: number;
  /** Side lengths along the unit direction (ux, uy) and its normal. */
  w: number;
  h: number;
  ux: number;
  uy: number;
}

/** Minimum-area enclosing rectangle of a convex polygon by rotating calipers (cv2.minAreaRect). */
export function minAreaRect(hull: Point[]): RotatedRect {
  if (hull.length === 1) return { cx: hull[0][0], cy: hull[0][1], w: 0, h: 0, ux: 1, uy: 0 };
  let best: RotatedRect | undefined;
  let bestArea = Infinity;
  const n = hull.length;
  for (let i = 0; i < n; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % n];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, ux, uy };
    }
  }
  return best!;
}

/** Corners of a rotated rect, optionally grown by `pad` on every side. */
export function rectCorners(r: RotatedRect, pad = 0): Point[] {
  const hw = r.w / 2 + pad;
  const hh = r.h / 2 + pad;
  const ax = r.ux * hw;
  const ay = r.uy * hw;
  const bx = -r.uy * hh;
  const by = r.ux * hh;
  return [
    [r.cx - ax - bx, r.cy - ay - by],
    [r.cx + ax - bx, r.cy + ay - by],
    [r.cx + ax + bx, r.cy + ay + by],
    [r.cx - ax + bx, r.cy - ay + by],
  ];
}

/**
 * RapidOCR's get_mini_boxes ordering: sort by x, then the two left points by y and the two right
 * points by y, giving top-left, top-right, bottom-right, bottom-left.
 */
export function orderBox(points: Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0]);
  const [tl, bl] = p[1][1] > p[0][1] ? [p[0], p[1]] : [p[1], p[0]];
  const [tr, br] = p[3][1] > p[2][1] ? [p[2], p[3]] : [p[3], p[2]];
  return [tl, tr, br, bl];
}

/**
 * Mean of `map` (row-major, width `w`) over the pixels inside a convex quad: RapidOCR's
 * box_score_fast, with a scanline fill in place of cv2.fillPoly.
 */
export function meanInsideQuad(map: Float32Array, w: number, h: number, quad: Point[]): number {
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const [, y] of quad) {
    if (y < yMin) yMin = y;
    if (y > yMax) yMax = y;
  }
  const y0 = Math.max(0, Math.floor(yMin));
  const y1 = Math.min(h - 1, Math.ceil(yMax));
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    let xa = Infinity;
    let xb = -Infinity;
    for (let i = 0; i < 4; i++) {
      const [ax, ay] = quad[i];
      const [bx, by] = quad[(i + 1) % 4];
      if ((ay <= y && by >= y) || (by <= y && ay >= y)) {
        const x = ay === by ? Math.min(ax, bx) : ax + ((y - ay) / (by - ay)) * (bx - ax);
        const x2 = ay === by ? Math.max(ax, bx) : x;
        if (x < xa) xa = x;
        if (x2 > xb) xb = x2;
      }
    }
    if (xa > xb) continue;
    const x0 = Math.max(0, Math.round(xa));
    const x1 = Math.min(w - 1, Math.round(xb));
    const row = y * w;
    for (let x = x0; x <= x1; x++) sum += map[row + x];
    count += Math.max(0, x1 - x0 + 1);
  }
  return count ? sum / count : 0;
}
