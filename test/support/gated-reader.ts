import type { InferenceEngines } from '../../src/inference/http/engines';
import type { OcrOutput, OcrReader } from '../../src/inference/ocr/ocr-types';

/**
 * An OCR reader whose runs finish only when the test says so: the queue can be filled and a
 * shutdown started at exact moments, which a real model's timing would make flaky.
 */
export class GatedReader implements OcrReader {
  readonly device = 'cpu' as const;
  closed = false;
  started = 0;
  private gates: Array<() => void> = [];

  async read(): Promise<OcrOutput> {
    this.started++;
    await new Promise<void>((resolve) => this.gates.push(resolve));
    const line = { text: 'gated', score: 0.99, boxScore: 0.9, box: [1, 2, 11, 2, 11, 7, 1, 7] as const };
    return {
      width: 64,
      height: 48,
      lines: [{ ...line, box: [...line.box] as OcrOutput['lines'][0]['box'] }],
      timings: { decodeMs: 0, detectMs: 0, classifyMs: 0, recogniseMs: 0, totalMs: 0 },
      detector: { width: 32, height: 32 },
    };
  }

  /** Reads waiting at the gate now. */
  get held(): number {
    return this.gates.length;
  }

  release(count = Infinity): void {
    for (const open of this.gates.splice(0, count)) open();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const gatedEngines = (reader: GatedReader): Partial<InferenceEngines> => ({
  openOcr: async () => reader,
  checkOcr: () => undefined,
});
