import type { Point } from './detection/geometry';

/**
 * Top-to-bottom, then left-to-right. Boxes whose vertical centre falls inside the first box of a
 * row belong to that row, so a word set a few pixels higher than its neighbour stays in line
 * (RapidOCR uses a fixed 10 px, which fails for large or small text).
 */
export function readingOrder<T extends { points: Point[] }>(boxes: T[]): T[] {
  const span = (b: T) => {
    const ys = b.points.map((p) => p[1]);
    const xs = b.points.map((p) => p[0]);
    return {
      top: Math.min(...ys),
      bottom: Math.max(...ys),
      left: Math.min(...xs),
      mid: (Math.min(...ys) + Math.max(...ys)) / 2,
    };
  };
  const items = boxes.map((box) => ({ box, ...span(box) })).sort((a, b) => a.top - b.top || a.left - b.left);
  const rows: (typeof items)[] = [];
  for (const item of items) {
    const row = rows[rows.length - 1];
    const head = row?.[0];
    if (head && item.mid >= head.top && item.mid <= head.bottom && item.top < head.mid) row.push(item);
    else rows.push([item]);
  }
  return rows.flatMap((row) => row.sort((a, b) => a.left - b.left).map((item) => item.box));
}
