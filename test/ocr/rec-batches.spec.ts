import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { planBatches } from '../../src/inference/ocr/recognition/recognizer';
import { ocrFixture, ocrTruth } from '../support/fixtures';

describe('recogniser batch planning', () => {
  it('runs a long line on its own instead of padding short ones to its width', () => {
    // 3 x 508 = 1524 columns in one run; 2 x 242 + 508 + one more run (32) = 1024.
    expect(planBatches([242, 266, 508], 6, 32)).toEqual([
      [0, 2],
      [2, 3],
    ]);
  });

  it('keeps crops of about the same width together, and splits when a run costs nothing', () => {
    expect(planBatches([320, 330, 340], 6, 32)).toEqual([[0, 3]]);
    expect(planBatches([320, 330, 340], 6, 0)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('never puts more than the batch size in one run, and covers every crop once', () => {
    const widths = Array.from({ length: 13 }, (_, i) => 100 + 10 * i);
    const batches = planBatches(widths, 4, 1000);
    expect(batches.every(([start, end]) => end - start <= 4 && end > start)).toBe(true);
    expect(batches.flatMap(([start, end]) => Array.from({ length: end - start }, (_, i) => start + i))).toEqual(
      widths.map((_, i) => i),
    );
    expect(batches).toHaveLength(4);
    expect(planBatches([], 6, 32)).toEqual([]);
  });
});

describe('recogniser batches on the fixture photos', () => {
  let batched: OcrEngine;
  let single: OcrEngine;
  let padded: OcrEngine;

  beforeAll(async () => {
    [batched, single, padded] = await Promise.all([
      OcrEngine.open({ threads: 1 }),
      // every crop in a run of its own
      OcrEngine.open({ threads: 1, config: { rec: { batchSize: 1 } } }),
      // RapidOCR's way: one run per six crops, all padded to the widest and to at least 320
      OcrEngine.open({ threads: 1, config: { rec: { runCostColumns: 4096, minWidth: 320 } } }),
    ]);
  });
  afterAll(() => Promise.all([batched.close(), single.close(), padded.close()]));

  it('reads every line the same whether crops run together, alone, or padded to 320', async () => {
    for (const name of Object.keys(ocrTruth)) {
      const photo = ocrFixture(name);
      const texts = async (engine: OcrEngine) => (await engine.read(photo)).lines.map((l) => l.text);
      const reference = await texts(batched);
      expect({ name, lines: await texts(single) }).toEqual({ name, lines: reference });
      expect({ name, lines: await texts(padded) }).toEqual({ name, lines: reference });
    }
  });
});
