import { mergeColumnChars } from '../../src/inference/ocr/detection/column-merge';
import type { DetectedBox } from '../../src/inference/ocr/detection/db-postprocess';
import type { Point } from '../../src/inference/ocr/detection/geometry';
import { readingOrder } from '../../src/inference/ocr/reading-order';

const rect = (x: number, y: number, w: number, h: number, score = 0.8): DetectedBox => ({
  points: [
    [x, y],
    [x + w, y],
    [x + w, y + h],
    [x, y + h],
  ] as Point[],
  score,
});

/** A grid of single-character boxes: `cols` columns `pitchX` apart, `rows` rows `pitchY` apart. */
const grid = (cols: number, rows: number, pitchX: number, pitchY: number) =>
  Array.from({ length: cols * rows }, (_, i) =>
    rect(100 + (i % cols) * pitchX, 100 + Math.floor(i / cols) * pitchY, 90, 90),
  );

describe('vertical text', () => {
  it('joins characters boxed one by one into columns when they stand closer above and below than beside', () => {
    const columns = mergeColumnChars(grid(4, 6, 200, 130), 1.5, 0.6);
    expect(columns).toHaveLength(4);
    for (const { points } of columns) expect(points[3][1] - points[0][1]).toBe(5 * 130 + 90);
  });

  it('leaves spaced-out horizontal text and lines of a page alone', () => {
    // Rows closer than the characters in them: horizontal text set in a grid.
    expect(mergeColumnChars(grid(4, 3, 130, 200), 1.5, 0.6)).toHaveLength(12);
    // Lines of text (wide boxes) one under another.
    const lines = [rect(10, 10, 400, 30), rect(10, 50, 380, 30), rect(10, 90, 200, 30)];
    expect(mergeColumnChars(lines, 1.5, 0.6)).toEqual(lines);
    // Far apart vertically (more than maxGap of the width): two separate characters.
    expect(mergeColumnChars([rect(0, 0, 90, 90), rect(0, 200, 90, 90)], 1.5, 0.6)).toHaveLength(2);
  });

  it('reads columns of CJK right to left, top to bottom; horizontal lines top to bottom', () => {
    const column = (x: number, text: string) => ({ ...rect(x, 100, 100, 900), text });
    const order = readingOrder([column(100, '三'), column(500, '一'), column(300, '二')], 1.5);
    expect(order.map((l) => l.text)).toEqual(['一', '二', '三']);
    const line = (y: number, text: string) => ({ ...rect(10, y, 400, 30), text });
    expect(readingOrder([line(90, 'c'), line(10, 'a'), line(50, 'b')], 1.5).map((l) => l.text)).toEqual([
      'a',
      'b',
      'c',
    ]);
    // Tall boxes of Latin text (a turned line on a box) keep the horizontal order.
    const turned = [
      { ...rect(300, 10, 20, 300), text: 'second' },
      { ...rect(100, 10, 20, 300), text: 'first' },
    ];
    expect(readingOrder(turned, 1.5).map((l) => l.text)).toEqual(['first', 'second']);
  });
});
