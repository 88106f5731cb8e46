import type { DetectedBox } from './db-postprocess';
import type { Point } from './geometry';

interface Upright {
  box: DetectedBox;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/**
 * Vertical text whose characters stand apart (wide letter-spacing, large type) comes out of the
 * detector as one box per character; read as they stand, row by row, they make nonsense across the
 * columns. This joins a box to the one below it into one column box when both are upright
 * characters or columns (less than verticalRatio times wider than tall), they share the column
 * (overlap by half the narrower width), the gap between them is at most maxGap times the column's
 * width, and no box beside either of them is as close as that gap (which would make them part of
 * horizontal text set in a grid). The column box is then read as vertical text.
 */
export function mergeColumnChars(boxes: DetectedBox[], verticalRatio: number, maxGap: number): DetectedBox[] {
  if (!(maxGap > 0) || boxes.length < 2) return boxes;
  const upright = boxes.map(uprightOf);
  const candidates = upright.filter(
    (u): u is Upright => !!u && (u.right - u.left) / (u.bottom - u.top) < verticalRatio,
  );
  const sideGap = (a: Upright) => nearestBeside(a, upright);
  const below = new Map<Upright, Upright>();
  const above = new Set<Upright>();
  for (const a of candidates) {
    const width = a.right - a.left;
    let best: Upright | undefined;
    for (const b of candidates) {
      if (b === a || b.top < a.top) continue;
      const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      if (overlap < 0.5 * Math.min(width, b.right - b.left)) continue;
      const gap = b.top - a.bottom;
      if (gap > maxGap * Math.max(width, b.right - b.left) || gap < -0.5 * (b.bottom - b.top)) continue;
      if (!best || b.top < best.top) best = b;
    }
    if (!best || above.has(best)) continue;
    const gap = Math.max(0, best.top - a.bottom);
    if (Math.min(sideGap(a), sideGap(best)) <= gap) continue;
    below.set(a, best);
    above.add(best);
  }
  if (!below.size) return boxes;
  const merged = new Set<DetectedBox>();
  const columns: DetectedBox[] = [];
  for (const head of candidates) {
    if (above.has(head) || !below.has(head)) continue;
    const chain = [head];
    for (let next = below.get(head); next; next = below.get(next)) chain.push(next);
    chain.forEach((u) => merged.add(u.box));
    columns.push(columnBox(chain));
  }
  return [...boxes.filter((b) => !merged.has(b)), ...columns];
}

/** The box's axis-aligned extent when it is close to axis-aligned (a tilt of 1 in 10 at most). */
function uprightOf(box: DetectedBox): Upright | undefined {
  const [tl, tr, , bl] = box.points;
  const w = Math.hypot(tr[0] - tl[0], tr[1] - tl[1]);
  const h = Math.hypot(bl[0] - tl[0], bl[1] - tl[1]);
  if (!w || !h || Math.abs(tr[1] - tl[1]) > 0.1 * w || Math.abs(bl[0] - tl[0]) > 0.1 * h) return undefined;
  const xs = box.points.map((p) => p[0]);
  const ys = box.points.map((p) => p[1]);
  return { box, left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
}

/** The horizontal gap to the nearest box beside `a` (sharing half of the lower one's height). */
function nearestBeside(a: Upright, all: Array<Upright | undefined>): number {
  let nearest = Infinity;
  for (const b of all) {
    if (!b || b === a) continue;
    const overlap = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (overlap < 0.5 * Math.min(a.bottom - a.top, b.bottom - b.top)) continue;
    const gap = b.left >= a.right ? b.left - a.right : a.left >= b.right ? a.left - b.right : 0;
    nearest = Math.min(nearest, gap);
  }
  return nearest;
}

function columnBox(chain: Upright[]): DetectedBox {
  const left = Math.min(...chain.map((u) => u.left));
  const right = Math.max(...chain.map((u) => u.right));
  const top = chain[0].top;
  const bottom = Math.max(...chain.map((u) => u.bottom));
  const points: Point[] = [
    [left, top],
    [right, top],
    [right, bottom],
    [left, bottom],
  ];
  return { points, score: chain.reduce((s, u) => s + u.box.score, 0) / chain.length };
}
