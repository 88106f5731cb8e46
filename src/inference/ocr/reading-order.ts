import type { Point } from './detection/geometry';

interface Span {
  /** Along the direction lines follow each other (y for rows; right-to-left x for columns). */
  top: number;
  bottom: number;
  mid: number;
  /** Along the line (x for rows, y for columns). */
  left: number;
}

/**
 * Reading order of recognised lines. Horizontal text: top to bottom, then left to right; boxes whose
 * vertical centre falls inside the first box of a row belong to that row, so a word set a few pixels
 * higher than its neighbour stays in line (RapidOCR uses a fixed 10 px, which fails for large or
 * small text). Vertical text (most lines tall boxes of CJK, read top to bottom): the same with the
 * axes turned, columns right to left, then top to bottom within a column.
 */
export function readingOrder<T extends { points: Point[]; text: string }>(lines: T[], verticalRatio: number): T[] {
  const vertical = lines.filter((l) => isVerticalCjk(l, verticalRatio)).length * 2 > lines.length;
  const span = vertical ? columnSpan : rowSpan;
  const items = lines.map((line) => ({ line, ...span(line.points) })).sort((a, b) => a.top - b.top || a.left - b.left);
  const groups: (typeof items)[] = [];
  for (const item of items) {
    const group = groups[groups.length - 1];
    const head = group?.[0];
    if (head && item.mid >= head.top && item.mid <= head.bottom && item.top < head.mid) group.push(item);
    else groups.push([item]);
  }
  return groups.flatMap((group) => group.sort((a, b) => a.left - b.left).map((item) => item.line));
}

function rowSpan(points: Point[]): Span {
  const ys = points.map((p) => p[1]);
  const top = Math.min(...ys);
  const bottom = Math.max(...ys);
  return { top, bottom, mid: (top + bottom) / 2, left: Math.min(...points.map((p) => p[0])) };
}

/** Columns: the rightmost comes first, so distances run leftwards from the right edge. */
function columnSpan(points: Point[]): Span {
  const xs = points.map((p) => -p[0]);
  const top = Math.min(...xs);
  const bottom = Math.max(...xs);
  return { top, bottom, mid: (top + bottom) / 2, left: Math.min(...points.map((p) => p[1])) };
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** A tall box (as crop-sampler turns it) whose text is at least half CJK: a column of vertical text. */
export function isVerticalCjk(line: { points: Point[]; text: string }, verticalRatio: number): boolean {
  const [p0, p1, p2, p3] = line.points;
  const width = Math.max(dist(p0, p1), dist(p2, p3));
  const height = Math.max(dist(p0, p3), dist(p1, p2));
  if (height < verticalRatio * width) return false;
  const chars = [...line.text.replace(/\s/g, '')];
  return chars.length > 0 && chars.filter((c) => CJK.test(c)).length * 2 >= chars.length;
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
