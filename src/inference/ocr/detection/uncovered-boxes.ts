import type { Point } from './geometry';

/**
 * Those of `more` that none of `found` covers: a box covers another when the other's centre lies
 * inside it, either way round. Used to add the lines that only a pass at the image's own size finds
 * to those the enlarged pass read (ocr-config.ts det.nativePass): a fragment of a line read whole has
 * its centre in that line, the same line boxed looser holds the line's centre, and a box over two
 * lines read apart holds both their centres; the next line of a tight page holds neither.
 */
export function uncovered<T extends { points: Point[] }>(found: { points: Point[] }[], more: T[]): T[] {
  return more.filter(
    (box) => !found.some((f) => inside(centre(box.points), f.points) || inside(centre(f.points), box.points)),
  );
}

const centre = (quad: Point[]): Point => [
  quad.reduce((s, p) => s + p[0], 0) / quad.length,
  quad.reduce((s, p) => s + p[1], 0) / quad.length,
];

/** Inside a convex quad (either winding): on the same side of every edge. */
function inside([x, y]: Point, quad: Point[]): boolean {
  let sign = 0;
  for (let i = 0; i < quad.length; i++) {
    const [ax, ay] = quad[i];
    const [bx, by] = quad[(i + 1) % quad.length];
    const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (cross === 0) continue;
    if (sign === 0) sign = Math.sign(cross);
    else if (Math.sign(cross) !== sign) return false;
  }
  return true;
}
